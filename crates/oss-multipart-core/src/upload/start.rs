//! Starting an upload: a new one, or resuming from a checkpoint or an upload id.

use super::*;

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
        if let Some(s) = &source
            && plan.total_size() != Some(s.size)
        {
            return Err(PlanError::SourceChanged);
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
}
