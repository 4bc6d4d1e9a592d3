//! The copy mode: the same machine copies an object server-side. Parts are
//! [`Op::UploadPartCopy`] requests for ranges of a [`CopySource`] and the single-request path is
//! [`Op::CopyObject`]; every one is pinned to the source's ETag. No body is read or hashed,
//! so there is no `handle_body_read`, no `HashRange` on resume (a part OSS lists under the
//! journaled ETag is reused as it is) and no `CheckSource` (the pin does that job). Everything
//! else (retries, the retry-safe Complete, abort, progress, checkpoints) is the upload's.

use super::*;

/// `config` as a copy runs it: without [`Config::adaptive`] and [`Config::hedging`]. A copy
/// moves no bytes over the client's link, so there is no throughput to adapt to, and a hedged
/// part would only make OSS copy its range twice.
fn copy_config(mut config: Config) -> Config {
    config.adaptive = None;
    config.hedging = None;
    config
}

/// What the machine knows in copy mode.
#[derive(Debug)]
pub(super) struct CopyMode {
    pub(super) source: CopySource,
    /// Whether OSS reported the CRC-64 of every part so far (their combination is then the
    /// copy's CRC-64, checked against the source's).
    pub(super) part_crcs_known: bool,
}

impl Upload {
    /// A server-side copy of `source` to `target`: one CopyObject when `plan` is a single
    /// request (see [`PlanOptions::for_copy`]), otherwise Initiate, then UploadPartCopy of each
    /// planned range, then Complete. Every copy request carries
    /// `x-oss-copy-source-if-match: <source ETag>`: a source replaced mid-copy fails the copy
    /// with [`UploadError::CopySourceChanged`] and its parts are aborted.
    ///
    /// # Errors
    /// [`PlanError::SourceChanged`] when the plan's size is not the source's,
    /// [`PlanError::NeedsKnownSize`] for a stream plan, or a config error.
    pub fn copy(
        target: Target,
        source: CopySource,
        plan: Plan,
        config: Config,
        now: Instant,
        seed: u64,
    ) -> Result<Self, PlanError> {
        check_copy_plan(&plan, &source)?;
        let mut up = Self::unstarted(target, plan, copy_config(config), now, seed)?;
        up.copy = Some(CopyMode::new(source));
        up.pump();
        Ok(up)
    }

    /// [`copy`](Self::copy) that maintains a [`Checkpoint`] recording the source
    /// ([`Event::CheckpointChanged`]); the failure policy is forced to
    /// [`FailurePolicy::Keep`] (except when the source is replaced: its parts are useless).
    ///
    /// # Errors
    /// As [`copy`](Self::copy).
    pub fn copy_with_checkpointing(
        target: Target,
        source: CopySource,
        plan: Plan,
        config: Config,
        now: Instant,
        seed: u64,
    ) -> Result<Self, PlanError> {
        check_copy_plan(&plan, &source)?;
        let mut up = Self::unstarted(target, plan, copy_config(config), now, seed)?;
        up.policy = FailurePolicy::Keep;
        up.source = Some(SourceIdentity::new(source.size()));
        up.copy = Some(CopyMode::new(source));
        up.pump();
        Ok(up)
    }

    /// Resumes a copy from its checkpoint, when `source` (as HeadObject describes it now) is
    /// the object the checkpoint's parts were copied from. Lists the server's parts, reuses
    /// those OSS still holds under the journaled ETag and copies the rest.
    ///
    /// # Errors
    /// [`PlanError::SourceChanged`] when `source` is another object or version, or has another
    /// ETag or size (start a new copy, after aborting the checkpoint's upload);
    /// [`PlanError::CheckpointInvalid`] for an upload's checkpoint; the errors of
    /// [`from_checkpoint`](Self::from_checkpoint).
    pub fn copy_from_checkpoint(
        checkpoint: &Checkpoint,
        source: &CopySource,
        config: Config,
        now: Instant,
        seed: u64,
    ) -> Result<Self, PlanError> {
        let mut up = Self::unstarted_from_checkpoint(checkpoint, copy_config(config), now, seed)?;
        let Some(recorded) = checkpoint.copy_source()? else {
            return Err(PlanError::CheckpointInvalid {
                reason: "it is the checkpoint of an upload, not of a copy",
            });
        };
        if !recorded.same_object(source) {
            return Err(PlanError::SourceChanged);
        }
        up.copy = Some(CopyMode::new(source.clone()));
        up.pump();
        Ok(up)
    }

    /// The copy source, in copy mode.
    pub fn copy_source(&self) -> Option<&CopySource> {
        self.copy.as_ref().map(|c| &c.source)
    }

    /// The kind of request `job` is, in this machine's mode.
    pub(super) fn kind_of(&self, job: Job) -> OpKind {
        match (job, self.copy.is_some()) {
            (Job::Part(_), true) => OpKind::UploadPartCopy,
            (Job::Put, true) => OpKind::CopyObject,
            (job, _) => op_kind(job),
        }
    }

    /// The request intent of part `n` (`range` of the source) in copy mode.
    pub(super) fn part_copy_op(
        &self,
        n: u32,
        range: std::ops::Range<u64>,
        upload_id: String,
    ) -> Option<Op> {
        let source = self.copy.as_ref()?.source.clone();
        Some(Op::UploadPartCopy {
            part_number: n,
            range,
            upload_id,
            source,
        })
    }

    /// The single-request intent in copy mode.
    pub(super) fn copy_object_op(&self) -> Option<Op> {
        let source = self.copy.as_ref()?.source.clone();
        Some(Op::CopyObject { source })
    }

    /// An UploadPartCopy's answer: the ETag of the `CopyPartResult`, the CRC-64 from the
    /// headers when OSS sent one.
    pub(super) fn on_part_copy_answer(&mut self, n: u32, r: &wire::Response<'_>) {
        let Some(copy) = &self.copy else { return };
        match wire::parse_part_copy(&copy.source, r) {
            Ok((etag, crc)) => self.on_part_copied(n, etag, crc),
            Err(err) => self.on_error(Job::Part(n), err),
        }
    }

    fn on_part_copied(&mut self, n: u32, etag: String, crc: Option<u64>) {
        if self.phase != Phase::Parts {
            return;
        }
        if let Some(copy) = &mut self.copy {
            copy.part_crcs_known &= crc.is_some();
        }
        let Some(p) = self.part_mut(n) else { return };
        p.etag = etag;
        p.crc64 = crc.unwrap_or(0);
        p.resumed = false;
        self.part_done(n);
        self.after_part_change();
    }

    /// CopyObject's answer.
    pub(super) fn on_copy_object_answer(&mut self, r: &wire::Response<'_>) {
        let Some(copy) = &self.copy else { return };
        let source_crc = copy.source.crc64();
        let size = copy.source.size();
        match wire::parse_copy_object(&copy.source, r) {
            Ok((_, Some(got))) if source_crc.is_some_and(|want| want != got) => {
                // The object now holds other bytes than the source's; a retry overwrites it.
                let err = UploadError::ObjectCrcMismatch {
                    expected: source_crc.unwrap_or_default(),
                    reported: got,
                };
                self.on_error(Job::Put, err);
            }
            Ok((etag, crc)) => {
                self.add_progress(size);
                self.finish(Event::Completed(Completed {
                    etag,
                    crc64: crc.or(source_crc).unwrap_or_default(),
                    crc64_known: crc.or(source_crc).is_some(),
                    size,
                    upload_id: None,
                    confirmed_by_head: false,
                }));
            }
            Err(err) => self.on_error(Job::Put, err),
        }
    }

    /// The CRC-64 the object must have: the combination of the parts' for an upload (and for
    /// a copy whose every part CRC OSS reported), else the copy source's when known.
    pub(super) fn expected_crc(&self, combined: u64) -> Option<u64> {
        match &self.copy {
            None => Some(combined),
            Some(c) if c.part_crcs_known => Some(combined),
            Some(c) => c.source.crc64(),
        }
    }

    /// Before a copy's parts are combined: their CRC-64s, when all known, must combine to the
    /// source's (when known). `false` after failing the copy.
    pub(super) fn copy_parts_match_source(&mut self) -> bool {
        let Some(copy) = &self.copy else { return true };
        let want = copy.source.crc64().filter(|_| copy.part_crcs_known);
        let (got, _) = self.combined();
        match want {
            Some(want) if want != got => {
                self.fail(UploadError::ObjectCrcMismatch {
                    expected: want,
                    reported: got,
                });
                false
            }
            _ => true,
        }
    }

    /// On resume in copy mode, a listed part is reused as OSS lists it; its CRC-64 is known
    /// only if the listing has one.
    pub(super) fn reuse_copied_part(&mut self, n: u32, etag: String, listed_crc: Option<u64>) {
        if let Some(copy) = &mut self.copy {
            copy.part_crcs_known &= listed_crc.is_some();
        }
        let Some(p) = self.part_mut(n) else { return };
        p.etag = etag;
        p.crc64 = listed_crc.unwrap_or(0);
        p.resumed = true;
        self.part_done(n);
    }

    /// A replaced copy source makes the parts copied so far worthless: they are aborted
    /// whatever the failure policy (a resume could not use them).
    pub(super) fn abort_parts_of_a_replaced_source(&mut self, err: &UploadError) {
        if matches!(err, UploadError::CopySourceChanged { .. }) {
            self.policy = FailurePolicy::Abort;
        }
    }
}

impl CopyMode {
    fn new(source: CopySource) -> Self {
        Self {
            source,
            part_crcs_known: true,
        }
    }
}

fn check_copy_plan(plan: &Plan, source: &CopySource) -> Result<(), PlanError> {
    if plan.is_stream() {
        return Err(PlanError::NeedsKnownSize);
    }
    if plan.total_size() != Some(source.size()) {
        return Err(PlanError::SourceChanged);
    }
    Ok(())
}
