//! The upload state machine: its type, constructors, accessors and inputs; the handling is
//! split by stage into [`resume`], [`parts`], [`complete`], [`issue`] and [`fail`].

mod complete;
mod fail;
mod issue;
mod parts;
mod resume;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use http::{HeaderMap, StatusCode};

use crate::checkpoint::{Checkpoint, JournalEntry, SourceIdentity};
use crate::config::{Config, FailurePolicy};
use crate::error::{FailureKind, PlanError, UploadError};
use crate::event::{Completed, Event, Failure, Progress};
use crate::inflight::{BodyRead, InFlight, Job};
use crate::limits::MAX_PART_COUNT;
use crate::plan::{PartRange, Plan, PlanOptions, Shape, SourceSize};
use crate::request::{CompletePart, ObjectHeaders, Op, OpKind, Request, RequestId};
use crate::retry::Tries;
use crate::scheduler::Scheduler;
use crate::target::Target;
use crate::wire::{self, ListedPart};
use issue::op_kind;
use oss_model::crc64::crc64_combine;

/// Why [`Upload::poll_timeout`] wants to be woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutReason {
    /// A retry's backoff delay ends.
    RetryBackoff,
    /// A transfer becomes a straggler: time to send it again on another connection.
    Hedge,
}

/// The next deadline of the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeout {
    /// Call [`Upload::handle_timeout`] at (or after) this instant.
    pub at: Instant,
    /// Why.
    pub reason: TimeoutReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PartState {
    Pending,
    Hashing,
    Uploading,
    Backoff,
    Done,
}

#[derive(Debug, Clone)]
struct Part {
    range: PartRange,
    state: PartState,
    attempts: Tries,
    etag: String,
    crc64: u64,
    resumed: bool,
    /// During resume: (server ETag, CRC the local bytes must hash to).
    expect: Option<(String, u64)>,
    /// Streams: bytes actually read (known after the first body read).
    read_len: Option<u64>,
}

impl Part {
    fn pending(range: PartRange) -> Self {
        Self {
            range,
            state: PartState::Pending,
            attempts: Tries::default(),
            etag: String::new(),
            crc64: 0,
            resumed: false,
            expect: None,
            read_len: None,
        }
    }
}

/// Where the upload stands, with the data that only matters there.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// One PutObject.
    Single,
    Initiating,
    /// Abort was asked for (or a local failure happened) while Initiate is in flight: its
    /// answer starts the abort, so the upload it creates is not leaked.
    AbortAfterInitiate {
        /// The failure to report once aborted; `None` reports [`Event::Aborted`].
        then_fail: Option<UploadError>,
    },
    /// Resuming: reading ListParts pages.
    Listing {
        /// Parts above this number are on the page being read.
        marker: u32,
    },
    /// Resuming an upload OSS no longer knows, whose parts were all journaled: was it
    /// completed before the crash?
    ResumeHead,
    Parts,
    /// Checking the source, then sending Complete.
    Completing,
    /// Complete's answer was lost or failed: HeadObject tells whether it took effect.
    ConfirmingComplete,
    Aborting {
        /// The failure to report once aborted; `None` reports [`Event::Aborted`].
        then_fail: Option<UploadError>,
    },
    Done,
}

#[derive(Debug, Default)]
struct StreamState {
    /// Next part number to issue.
    next: u32,
    /// A part was issued whose body read has not been reported yet.
    read_pending: bool,
    /// Last part number and total size, once the stream ended.
    end: Option<(u32, u64)>,
}

#[derive(Debug, Default)]
struct Attempts {
    initiate: Tries,
    list: Tries,
    put: Tries,
    complete: Tries,
    head: Tries,
    abort: Tries,
}

/// One multipart (or single-PUT) upload as a sans-IO state machine.
///
/// # Contract
///
/// The machine never performs I/O, never reads a clock and owns no randomness: time (`now`) and a
/// seed are inputs, the driver moves bytes.
///
/// **Inputs** (all take `now`):
/// * [`handle_response`](Self::handle_response) — the HTTP answer to a request id (status, headers,
///   body bytes of XML replies);
/// * [`handle_failure`](Self::handle_failure) — the request failed in transport ([`FailureKind`]);
/// * [`handle_body_read`](Self::handle_body_read) — for [`Op::UploadPart`] / [`Op::PutObject`]: how
///   many bytes the driver read and their CRC-64, computed while streaming; call it before answering
///   that request (streams: as soon as the part is read, since the next part is issued only then);
/// * [`handle_hash`](Self::handle_hash) — the answer to an [`Op::HashRange`] (local re-read on resume);
/// * [`handle_timeout`](Self::handle_timeout) — the deadline from [`poll_timeout`](Self::poll_timeout) passed;
/// * commands [`abort`](Self::abort), [`pause`](Self::pause), [`resume`](Self::resume).
///
/// **Outputs**, drained after **every** input in this order (str0m's rule: one mutation, then drain):
/// 1. [`poll_request`](Self::poll_request) until `None` — start each request; answer each id exactly once;
/// 2. [`poll_timeout`](Self::poll_timeout) — arm one timer for the returned instant (replacing the previous one);
/// 3. [`poll_event`](Self::poll_event) until `None`.
///
/// **Time**: `now` must never go backwards; an earlier `now` is treated as the latest seen.
///
/// **Answers** to unknown ids (duplicates, requests forgotten after `abort` or a failure) are
/// ignored, so a driver may deliver late or twice without harm.
///
/// **What each call may produce**: `new`/`with_checkpointing` queue Initiate (or PutObject);
/// `from_checkpoint`/`resume_upload_id` queue ListParts (all pages, then HashRange requests for
/// candidate parts, then UploadPart for the rest; Initiate again after NoSuchUpload, HeadObject
/// when every part was journaled). Part answers produce `PartDone`/`Progress`/`CheckpointChanged`
/// or `Retried` plus a backoff deadline; the last part queues Complete; a lost or failed Complete
/// queues HeadObject. A fatal error queues Abort (policy [`FailurePolicy::Abort`]) before
/// `Failed`. `poll_timeout` only ever reports retry backoffs: transport deadlines are the driver's
/// (report them with [`FailureKind::Timeout`]).
///
/// **Termination**: exactly one terminal event is emitted — [`Event::Completed`],
/// [`Event::Failed`] or [`Event::Aborted`]; afterwards no request is issued and
/// [`is_finished`](Self::is_finished) is true. Progress ([`Event::Progress`]) counts only bytes
/// OSS confirmed: it never decreases and never exceeds the total.
///
/// A stream part's bytes must stay buffered by the driver until its [`Event::PartDone`] (a retry
/// re-sends them); [`Plan::memory_budget`] bounds how many such bytes are in flight at once.
#[derive(Debug)]
pub struct Upload {
    target: Target,
    plan: Plan,
    config: Config,
    object: Arc<ObjectHeaders>,
    policy: FailurePolicy,
    source: Option<SourceIdentity>,
    upload_id: Option<String>,
    phase: Phase,
    parts: Vec<Part>,
    ready_parts: BTreeSet<u32>,
    hash_queue: VecDeque<u32>,
    ready_single: Option<Job>,
    journal: BTreeMap<u32, JournalEntry>,
    /// Whether the server answered any request of this transfer: from then on a refused
    /// connection is an outage to wait out, not a wrong endpoint (see `on_error`).
    answered: bool,
    listed: BTreeMap<u32, ListedPart>,
    /// Re-plan with the part size of the server's part 1 once listing ends.
    adopt_part_size: bool,
    in_flight: InFlight,
    scheduler: Scheduler<Job>,
    attempts: Attempts,
    requests: VecDeque<Request>,
    events: VecDeque<Event>,
    next_id: u64,
    confirmed: u64,
    done_parts: u32,
    stream: StreamState,
    paused: bool,
    complete_gone: bool,
    now: Instant,
}

impl Upload {
    fn base(
        target: Target,
        plan: Plan,
        config: Config,
        now: Instant,
        seed: u64,
    ) -> Result<Self, PlanError> {
        config.validate()?;
        let parts: Vec<Part> = plan.parts().map(Part::pending).collect();
        let policy = config.on_failure;
        let retry = config.retry;
        let object = Arc::new(ObjectHeaders::new(&config));
        Ok(Self {
            target,
            plan,
            config,
            object,
            policy,
            source: None,
            upload_id: None,
            phase: Phase::Initiating,
            parts,
            ready_parts: BTreeSet::new(),
            hash_queue: VecDeque::new(),
            ready_single: None,
            journal: BTreeMap::new(),
            answered: false,
            listed: BTreeMap::new(),
            adopt_part_size: false,
            in_flight: InFlight::default(),
            scheduler: Scheduler::new(retry, seed),
            attempts: Attempts::default(),
            requests: VecDeque::new(),
            events: VecDeque::new(),
            next_id: 0,
            confirmed: 0,
            done_parts: 0,
            stream: StreamState {
                next: 1,
                ..StreamState::default()
            },
            paused: false,
            complete_gone: false,
            now,
        })
    }

    /// A new upload: Initiate (or a single PutObject) is issued right away.
    ///
    /// # Errors
    /// [`PlanError::ConfigOutOfBounds`] for an invalid `config`.
    pub fn new(
        target: Target,
        plan: Plan,
        config: Config,
        now: Instant,
        seed: u64,
    ) -> Result<Self, PlanError> {
        let mut up = Self::base(target, plan, config, now, seed)?;
        if up.plan.is_single_put() {
            up.phase = Phase::Single;
            up.ready_single = Some(Job::Put);
        } else {
            up.ready_single = Some(Job::Initiate);
        }
        up.pump();
        Ok(up)
    }

    /// A new upload that maintains a [`Checkpoint`] ([`Event::CheckpointChanged`]); the failure
    /// policy is forced to [`FailurePolicy::Keep`].
    ///
    /// # Errors
    /// [`PlanError::NeedsKnownSize`] for a stream, [`PlanError::SourceChanged`] when `source.size`
    /// differs from the plan, or a config error.
    pub fn with_checkpointing(
        target: Target,
        plan: Plan,
        config: Config,
        source: SourceIdentity,
        now: Instant,
        seed: u64,
    ) -> Result<Self, PlanError> {
        if plan.is_stream() {
            return Err(PlanError::NeedsKnownSize);
        }
        if plan.total_size() != Some(source.size) {
            return Err(PlanError::SourceChanged);
        }
        let mut up = Self::new(target, plan, config, now, seed)?;
        up.policy = FailurePolicy::Keep;
        up.source = Some(source);
        Ok(up)
    }

    /// Resumes from a checkpoint. `current` is the source as it is now; it must match the one
    /// recorded. The machine lists the server's parts (all pages), asks the driver to re-hash every
    /// part that OSS still holds with the journaled ETag and CRC, reuses those whose local bytes
    /// still match, and uploads the rest. If OSS lost the upload (NoSuchUpload), a new one starts
    /// ([`Event::Restarted`]). The failure policy is forced to [`FailurePolicy::Keep`].
    ///
    /// # Errors
    /// [`PlanError::CheckpointVersion`], [`PlanError::CheckpointInvalid`],
    /// [`PlanError::SourceChanged`] or a config error.
    pub fn from_checkpoint(
        checkpoint: &Checkpoint,
        current: &SourceIdentity,
        config: Config,
        now: Instant,
        seed: u64,
    ) -> Result<Self, PlanError> {
        let (target, plan) = checkpoint.validate()?;
        if checkpoint.source() != *current {
            return Err(PlanError::SourceChanged);
        }
        let mut up = Self::base(target, plan, config, now, seed)?;
        for e in checkpoint.parts() {
            let matches_plan = up
                .plan
                .part(e.part_number)
                .is_some_and(|r| r.offset == e.offset && r.len == e.len);
            if matches_plan {
                up.journal.insert(e.part_number, e);
            }
        }
        up.policy = FailurePolicy::Keep;
        up.source = Some(current.clone());
        up.start_listing(checkpoint.upload_id().to_owned());
        up.pump();
        Ok(up)
    }

    /// Stateless resume: takes over an existing upload from its id alone. Parts OSS holds are
    /// reused when their size matches the plan and the local bytes hash to the CRC OSS lists.
    /// Pass `source` to also maintain a checkpoint. The failure policy is forced to
    /// [`FailurePolicy::Keep`].
    ///
    /// # Errors
    /// [`PlanError::NeedsKnownSize`] unless `plan` is a multipart plan of known size;
    /// [`PlanError::CheckpointInvalid`] for an empty id; config errors.
    pub fn resume_upload_id(
        target: Target,
        upload_id: impl Into<String>,
        plan: Plan,
        config: Config,
        source: Option<SourceIdentity>,
        now: Instant,
        seed: u64,
    ) -> Result<Self, PlanError> {
        if plan.part_count().is_none() {
            return Err(PlanError::NeedsKnownSize);
        }
        let upload_id = upload_id.into();
        if upload_id.is_empty() {
            return Err(PlanError::CheckpointInvalid {
                reason: "empty upload id",
            });
        }
        if let Some(s) = &source {
            if plan.total_size() != Some(s.size) {
                return Err(PlanError::SourceChanged);
            }
        }
        let mut up = Self::base(target, plan, config, now, seed)?;
        up.policy = FailurePolicy::Keep;
        up.source = source;
        up.start_listing(upload_id);
        up.pump();
        Ok(up)
    }

    /// Stateless resume when the part size the upload was started with is unknown: like
    /// [`resume_upload_id`](Self::resume_upload_id), but once the server's parts are listed,
    /// the plan takes the size of the server's part 1 (when it is a valid part size), so the
    /// parts already uploaded can be reused; `plan`'s part size is the fallback.
    ///
    /// # Errors
    /// As [`resume_upload_id`](Self::resume_upload_id).
    pub fn resume_upload_id_adopting_part_size(
        target: Target,
        upload_id: impl Into<String>,
        plan: Plan,
        config: Config,
        source: Option<SourceIdentity>,
        now: Instant,
        seed: u64,
    ) -> Result<Self, PlanError> {
        let mut up = Self::resume_upload_id(target, upload_id, plan, config, source, now, seed)?;
        up.adopt_part_size = true;
        Ok(up)
    }

    fn start_listing(&mut self, upload_id: String) {
        self.events.push_back(Event::UploadId(upload_id.clone()));
        self.upload_id = Some(upload_id);
        self.phase = Phase::Listing { marker: 0 };
        self.ready_single = Some(Job::List);
    }

    // ----- accessors -------------------------------------------------------------------------

    /// The target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The multipart upload id, once known.
    pub fn upload_id(&self) -> Option<&str> {
        self.upload_id.as_deref()
    }

    /// Current progress.
    pub fn progress(&self) -> Progress {
        Progress {
            confirmed: self.confirmed,
            total: self.total(),
        }
    }

    /// True after the terminal event was queued.
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Done
    }

    /// True while paused.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// What happens to uploaded parts on failure (the config's, or [`FailurePolicy::Keep`]
    /// when checkpointing or resuming). A driver that is dropped mid-way aborts the upload
    /// only under [`FailurePolicy::Abort`].
    pub fn failure_policy(&self) -> FailurePolicy {
        self.policy
    }

    /// The current checkpoint: `Some` when checkpointing and a multipart upload id is known. Only
    /// parts OSS confirmed (or that were re-verified on resume) are journaled.
    pub fn checkpoint(&self) -> Option<Checkpoint> {
        let source = self.source.as_ref()?;
        let upload_id = self.upload_id.as_deref()?;
        let part_size = self.plan.part_size()?;
        // Still reconciling, or stopped before reconciling (a ListParts that failed): the
        // journal we resumed from is the best knowledge. Parts are never dropped from it
        // because the server could not be asked.
        if matches!(self.phase, Phase::Listing { .. } | Phase::ResumeHead)
            || !self.journal.is_empty()
        {
            return Some(Checkpoint::build(
                upload_id,
                &self.target,
                source,
                part_size,
                self.plan.memory_budget(),
                self.journal.values().cloned(),
            ));
        }
        let journal = self
            .parts
            .iter()
            .filter(|p| p.state == PartState::Done)
            .map(|p| JournalEntry {
                part_number: p.range.part_number,
                offset: p.range.offset,
                len: p.range.len,
                etag: p.etag.clone(),
                crc64: p.crc64,
            });
        Some(Checkpoint::build(
            upload_id,
            &self.target,
            source,
            part_size,
            self.plan.memory_budget(),
            journal,
        ))
    }

    #[cfg(feature = "sim")]
    pub(crate) fn now(&self) -> Instant {
        self.now
    }

    fn total(&self) -> Option<u64> {
        self.plan.total_size().or(self.stream.end.map(|(_, t)| t))
    }

    // ----- outputs ---------------------------------------------------------------------------

    /// The next request to start, if any.
    #[must_use]
    pub fn poll_request(&mut self) -> Option<Request> {
        self.requests.pop_front()
    }

    /// The earliest deadline, if any.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Timeout> {
        if self.phase == Phase::Done {
            return None;
        }
        self.scheduler.poll_timeout().map(|at| Timeout {
            at,
            reason: TimeoutReason::RetryBackoff,
        })
    }

    /// The next event, if any.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    // ----- inputs ----------------------------------------------------------------------------

    fn tick(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
    }

    /// The deadline from [`poll_timeout`](Self::poll_timeout) passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.tick(now);
        if self.phase == Phase::Done {
            return;
        }
        for job in self.scheduler.take_due(self.now) {
            match job {
                Job::Part(n) => {
                    if let Some(p) = self.part_mut(n) {
                        if p.state == PartState::Backoff {
                            p.state = PartState::Pending;
                            self.ready_parts.insert(n);
                        }
                    }
                }
                job => self.ready_single = Some(job),
            }
        }
        self.pump();
    }

    /// Pauses: no new request is issued (answers are still processed, Abort still goes out).
    pub fn pause(&mut self, now: Instant) {
        self.tick(now);
        self.paused = true;
    }

    /// Resumes issuing requests after [`pause`](Self::pause).
    pub fn resume(&mut self, now: Instant) {
        self.tick(now);
        self.paused = false;
        self.pump();
    }

    /// Stops the upload: outstanding answers are ignored, the multipart upload is aborted (an
    /// in-flight Initiate is waited for so its upload is not leaked), then [`Event::Aborted`].
    /// A single PutObject already in flight may still create the object.
    pub fn abort(&mut self, now: Instant) {
        self.tick(now);
        // A second abort changes nothing; an abort after a failure reports the abort.
        if matches!(
            self.phase,
            Phase::Done | Phase::AbortAfterInitiate { .. } | Phase::Aborting { then_fail: None }
        ) {
            return;
        }
        self.drop_work();
        if self.upload_id.is_some() {
            self.start_abort(None);
        } else if self.in_flight.has(Job::Initiate) {
            self.phase = Phase::AbortAfterInitiate { then_fail: None };
        } else {
            self.finish(Event::Aborted);
        }
        self.pump();
    }

    /// Reports the bytes read for an [`Op::UploadPart`] / [`Op::PutObject`] request.
    pub fn handle_body_read(&mut self, id: RequestId, now: Instant, read: BodyRead) {
        self.tick(now);
        let Some(flight) = self.in_flight.get_mut(id) else {
            return;
        };
        flight.read = Some(read);
        let Job::Part(n) = flight.job else { return };
        if !self.plan.is_stream() {
            return;
        }
        let Some(p) = self.part_mut(n) else { return };
        if p.read_len.is_some() {
            return; // a retry of an already-read stream part
        }
        let planned = p.range.len;
        let len = read.len.min(planned);
        p.read_len = Some(len);
        let end = p.range.offset + len;
        self.stream.read_pending = false;
        if read.end_of_stream || len < planned {
            self.stream.end = Some((n, end));
        } else if n >= MAX_PART_COUNT {
            let max = self.plan.max_object_size();
            self.fail(UploadError::StreamTooLong { max });
        }
        self.pump();
    }

    /// The answer to an [`Op::HashRange`]: the CRC-64 of the range, or `None` when it could not
    /// be read (the part is then uploaded again).
    pub fn handle_hash(&mut self, id: RequestId, now: Instant, crc64: Option<u64>) {
        self.tick(now);
        let Some(flight) = self.in_flight.remove(id) else {
            return;
        };
        let Job::Hash(n) = flight.job else { return };
        if self.phase != Phase::Parts {
            return;
        }
        let Some(p) = self.part_mut(n) else { return };
        if p.state != PartState::Hashing {
            return;
        }
        match (p.expect.take(), crc64) {
            (Some((etag, want)), Some(got)) if want == got => {
                p.etag = etag;
                p.crc64 = got;
                p.resumed = true;
                self.part_done(n);
            }
            _ => {
                p.state = PartState::Pending;
                self.ready_parts.insert(n);
            }
        }
        self.after_part_change();
        self.pump();
    }

    /// The answer to an [`Op::CheckSource`]: `None` when the source is unchanged, otherwise
    /// what changed (the upload then fails with [`UploadError::SourceModified`] and its parts
    /// are not combined).
    pub fn handle_source_check(&mut self, id: RequestId, now: Instant, changed: Option<String>) {
        self.tick(now);
        let Some(flight) = self.in_flight.remove(id) else {
            return;
        };
        if flight.job != Job::CheckSource || self.phase != Phase::Completing {
            return;
        }
        match changed {
            None => self.ready_single = Some(Job::Complete),
            Some(reason) => self.fail(UploadError::SourceModified { reason }),
        }
        self.pump();
    }

    /// Ends the upload with a failure the driver found and the machine cannot see (the source
    /// changed or could not be read). The failure policy applies as for any other failure: the
    /// multipart upload is aborted (waiting for an Initiate still in flight, so its upload is
    /// not leaked) before [`Event::Failed`], or kept and reported resumable.
    pub fn fail_local(&mut self, now: Instant, error: UploadError) {
        self.tick(now);
        if matches!(
            self.phase,
            Phase::Done | Phase::Aborting { .. } | Phase::AbortAfterInitiate { .. }
        ) {
            return;
        }
        let initiating = self.upload_id.is_none() && self.in_flight.has(Job::Initiate);
        if initiating && self.policy == FailurePolicy::Abort {
            self.drop_work();
            self.phase = Phase::AbortAfterInitiate {
                then_fail: Some(error),
            };
            return;
        }
        self.fail(error);
        self.pump();
    }

    /// A transport failure for request `id`.
    pub fn handle_failure(&mut self, id: RequestId, now: Instant, kind: FailureKind) {
        self.tick(now);
        let Some(flight) = self.in_flight.remove(id) else {
            return;
        };
        if self.phase == Phase::Done {
            return;
        }
        let op = op_kind(flight.job);
        let err = UploadError::Transport { op, kind };
        match flight.job {
            Job::Hash(n) => {
                if let Some(p) = self.part_mut(n) {
                    if p.state == PartState::Hashing {
                        p.state = PartState::Pending;
                        p.expect = None;
                        self.ready_parts.insert(n);
                    }
                }
                self.after_part_change();
            }
            // The server may have completed: ask HeadObject before retrying.
            Job::Complete => self.confirm_complete(),
            Job::CheckSource => self.fail(UploadError::SourceModified {
                reason: "it could not be checked again".to_owned(),
            }),
            job => self.on_error(job, err),
        }
        self.pump();
    }

    /// The HTTP answer to request `id`.
    pub fn handle_response(
        &mut self,
        id: RequestId,
        now: Instant,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) {
        self.tick(now);
        let Some(flight) = self.in_flight.remove(id) else {
            return;
        };
        self.answered = true;
        if self.phase == Phase::Done {
            return;
        }
        let r = wire::Response {
            status,
            headers,
            body,
        };
        let t = self.target.clone();
        match flight.job {
            Job::Initiate => match wire::parse_initiate(&t, &r) {
                Ok(upload_id) => {
                    self.events.push_back(Event::UploadId(upload_id.clone()));
                    self.upload_id = Some(upload_id);
                    if let Phase::AbortAfterInitiate { then_fail } = &mut self.phase {
                        let then_fail = then_fail.take();
                        self.start_abort(then_fail);
                    } else {
                        self.phase = Phase::Parts;
                        for p in &mut self.parts {
                            if p.state == PartState::Pending {
                                self.ready_parts.insert(p.range.part_number);
                            }
                        }
                        self.checkpoint_changed();
                        self.after_part_change();
                    }
                }
                Err(_) if matches!(self.phase, Phase::AbortAfterInitiate { .. }) => self.aborted(),
                Err(err) => self.on_error(Job::Initiate, err),
            },
            Job::List => self.on_list(wire::parse_list(&t, &r)),
            Job::Part(n) => match wire::parse_part(&t, &r) {
                Ok((etag, crc)) => self.on_part_ok(n, flight.read, etag, crc),
                Err(err) => self.on_error(Job::Part(n), err),
            },
            Job::Put => match wire::parse_put(&t, &r) {
                Ok((etag, crc)) => self.on_put_ok(flight.read, etag, crc),
                Err(err) => self.on_error(Job::Put, err),
            },
            Job::Complete => match wire::parse_complete(&t, &r, self.object.expects_callback()) {
                Ok((etag, crc)) => self.on_complete_ok(etag, crc),
                Err(err) if err.is_no_such_upload() => {
                    // A previous Complete may have succeeded: confirm with HeadObject.
                    self.complete_gone = true;
                    self.confirm_complete();
                }
                Err(err) if err.is_retryable() => self.confirm_complete(),
                Err(err) => self.fail(err),
            },
            Job::Head if self.phase == Phase::ResumeHead => {
                self.on_resume_head(wire::parse_head(&t, &r))
            }
            Job::Head => self.on_confirm_head(wire::parse_head(&t, &r)),
            Job::Abort => match wire::parse_abort(&t, &r) {
                Ok(()) => self.aborted(),
                Err(err) if err.is_no_such_upload() => self.aborted(),
                Err(err) => self.on_error(Job::Abort, err),
            },
            Job::Hash(_) | Job::CheckSource => {}
        }
        self.pump();
    }
}
