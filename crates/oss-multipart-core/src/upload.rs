//! The upload state machine.

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
use crate::plan::{PartRange, Plan, Shape};
use crate::request::{CompletePart, ObjectHeaders, Op, OpKind, Request, RequestId};
use crate::retry::Tries;
use crate::scheduler::Scheduler;
use crate::target::Target;
use crate::wire::{self, ListedPart};
use oss_model::crc64::crc64_combine;

/// Why [`Upload::poll_timeout`] wants to be woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutReason {
    /// A retry's backoff delay ends.
    RetryBackoff,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Single,
    Initiating,
    Listing,
    ResumeHead,
    Parts,
    Completing,
    ConfirmingComplete,
    Aborting,
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
    list_marker: u32,
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
    abort_requested: bool,
    failing: Option<UploadError>,
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
        let parts: Vec<Part> = plan
            .parts()
            .map(|range| Part {
                range,
                state: PartState::Pending,
                attempts: Tries::default(),
                etag: String::new(),
                crc64: 0,
                resumed: false,
                expect: None,
                read_len: None,
            })
            .collect();
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
            list_marker: 0,
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
            abort_requested: false,
            failing: None,
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

    fn start_listing(&mut self, upload_id: String) {
        self.events.push_back(Event::UploadId(upload_id.clone()));
        self.upload_id = Some(upload_id);
        self.phase = Phase::Listing;
        self.list_marker = 0;
        self.ready_single = Some(Job::List(0));
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
        if matches!(self.phase, Phase::Listing | Phase::ResumeHead) || !self.journal.is_empty() {
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
        if self.phase == Phase::Done || self.abort_requested {
            return;
        }
        self.abort_requested = true;
        self.failing = None;
        self.drop_work();
        if self.upload_id.is_some() {
            self.start_abort();
        } else if !self.in_flight.has(Job::Initiate) {
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
        if matches!(self.phase, Phase::Done | Phase::Aborting) || self.failing.is_some() {
            return;
        }
        let initiating = self.upload_id.is_none() && self.in_flight.has(Job::Initiate);
        if initiating && self.policy == FailurePolicy::Abort {
            // The Initiate's answer starts the abort (see `abort`), then reports `error`.
            self.abort_requested = true;
            self.failing = Some(error);
            self.drop_work();
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
                    if self.abort_requested {
                        self.start_abort();
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
                Err(_) if self.abort_requested => self.aborted(),
                Err(err) => self.on_error(Job::Initiate, err),
            },
            Job::List(marker) => self.on_list(marker, wire::parse_list(&t, &r)),
            Job::Part(n) => match wire::parse_part(&t, &r) {
                Ok((etag, crc)) => self.on_part_ok(n, flight.read, etag, crc),
                Err(err) => self.on_error(Job::Part(n), err),
            },
            Job::Put => match wire::parse_put(&t, &r) {
                Ok((etag, crc)) => self.on_put_ok(flight.read, etag, crc),
                Err(err) => self.on_error(Job::Put, err),
            },
            Job::Complete => match wire::parse_complete(&t, &r) {
                Ok((etag, crc)) => self.on_complete_ok(etag, crc),
                Err(err) if err.is_no_such_upload() => {
                    // A previous Complete may have succeeded: confirm with HeadObject.
                    self.complete_gone = true;
                    self.confirm_complete();
                }
                Err(err) if err.is_retryable() => self.confirm_complete(),
                Err(err) => self.fail(err),
            },
            Job::Head => self.on_head(wire::parse_head(&t, &r)),
            Job::Abort => match wire::parse_abort(&t, &r) {
                Ok(()) => self.aborted(),
                Err(err) if err.is_no_such_upload() => self.aborted(),
                Err(err) => self.on_error(Job::Abort, err),
            },
            Job::Hash(_) | Job::CheckSource => {}
        }
        self.pump();
    }

    // ----- response handlers -----------------------------------------------------------------

    fn on_list(&mut self, marker: u32, page: Result<wire::ListPage, UploadError>) {
        if self.phase != Phase::Listing {
            return;
        }
        let page = match page {
            Ok(page) => page,
            Err(err) if err.is_no_such_upload() => return self.upload_lost(),
            Err(err) => return self.on_error(Job::List(marker), err),
        };
        for p in page.parts {
            if p.part_number > marker {
                self.listed.insert(p.part_number, p);
            }
        }
        if page.truncated {
            if page.next_marker <= marker || page.next_marker >= MAX_PART_COUNT {
                let reason = "ListParts marker does not advance";
                self.on_error(
                    Job::List(marker),
                    UploadError::InvalidResponse {
                        op: OpKind::ListParts,
                        reason,
                    },
                );
                return;
            }
            self.attempts.list = Tries::default();
            self.list_marker = page.next_marker;
            self.ready_single = Some(Job::List(page.next_marker));
        } else {
            self.reconcile();
        }
    }

    /// Decides, part by part, what to re-verify and what to upload again.
    fn reconcile(&mut self) {
        let listed = std::mem::take(&mut self.listed);
        let journal = std::mem::take(&mut self.journal);
        for p in &mut self.parts {
            let n = p.range.part_number;
            let candidate = listed.get(&n).and_then(|s| {
                if s.size != p.range.len {
                    return None;
                }
                match journal.get(&n) {
                    Some(j) => {
                        let crc_ok = s.crc64.is_none_or(|c| c == j.crc64);
                        (wire::etag_eq(&j.etag, &s.etag) && crc_ok)
                            .then(|| (s.etag.clone(), j.crc64))
                    }
                    None => s.crc64.map(|c| (s.etag.clone(), c)),
                }
            });
            match candidate {
                Some(expect) => {
                    p.expect = Some(expect);
                    p.state = PartState::Hashing;
                    self.hash_queue.push_back(n);
                }
                None => {
                    p.state = PartState::Pending;
                    self.ready_parts.insert(n);
                }
            }
        }
        self.phase = Phase::Parts;
        self.checkpoint_changed();
        self.after_part_change();
    }

    /// NoSuchUpload while resuming.
    fn upload_lost(&mut self) {
        let all_journaled = self
            .plan
            .part_count()
            .is_some_and(|c| self.journal.len() == c as usize);
        if all_journaled && self.phase == Phase::Listing {
            // Maybe it was completed before the crash: check the object first.
            self.phase = Phase::ResumeHead;
            self.ready_single = Some(Job::Head);
            return;
        }
        self.restart();
    }

    fn restart(&mut self) {
        self.upload_id = None;
        self.journal.clear();
        self.listed.clear();
        self.hash_queue.clear();
        self.ready_parts.clear();
        for p in &mut self.parts {
            p.state = PartState::Pending;
            p.expect = None;
            p.attempts = Tries::default();
        }
        self.attempts = Attempts::default();
        self.events.push_back(Event::Restarted);
        self.phase = Phase::Initiating;
        self.ready_single = Some(Job::Initiate);
    }

    fn on_part_ok(&mut self, n: u32, read: Option<BodyRead>, etag: String, stored: Option<u64>) {
        if self.phase != Phase::Parts {
            return;
        }
        let Some(read) = read else {
            self.fail(UploadError::MissingBodyRead { part_number: n });
            return;
        };
        let Some(planned) = self.part_mut(n).map(|p| p.read_len.unwrap_or(p.range.len)) else {
            return;
        };
        if read.len != planned {
            self.fail(UploadError::SourceChanged {
                part_number: n,
                expected: planned,
                read: read.len,
            });
            return;
        }
        if let Some(stored) = stored.filter(|&c| c != read.crc64) {
            let err = UploadError::PartCrcMismatch {
                part_number: n,
                sent: read.crc64,
                stored,
            };
            self.on_error(Job::Part(n), err);
            return;
        }
        let Some(p) = self.part_mut(n) else { return };
        p.etag = etag;
        p.crc64 = read.crc64;
        p.resumed = false;
        p.range.len = read.len;
        self.part_done(n);
        self.after_part_change();
    }

    fn on_put_ok(&mut self, read: Option<BodyRead>, etag: String, stored: Option<u64>) {
        let Some(read) = read else {
            self.fail(UploadError::MissingBodyRead { part_number: 1 });
            return;
        };
        let size = self.plan.total_size().unwrap_or(0);
        if read.len != size {
            self.fail(UploadError::SourceChanged {
                part_number: 1,
                expected: size,
                read: read.len,
            });
            return;
        }
        if let Some(stored) = stored.filter(|&c| c != read.crc64) {
            // The object now holds damaged bytes; a retried PUT overwrites it.
            let err = UploadError::PartCrcMismatch {
                part_number: 1,
                sent: read.crc64,
                stored,
            };
            self.on_error(Job::Put, err);
            return;
        }
        self.add_progress(size);
        self.finish(Event::Completed(Completed {
            etag,
            crc64: read.crc64,
            size,
            upload_id: None,
            confirmed_by_head: false,
        }));
    }

    fn combined(&self) -> (u64, u64) {
        self.parts.iter().fold((0, 0), |(crc, size), p| {
            (crc64_combine(crc, p.crc64, p.range.len), size + p.range.len)
        })
    }

    fn on_complete_ok(&mut self, etag: String, reported: Option<u64>) {
        let (crc, size) = self.combined();
        match reported {
            Some(reported) if reported != crc => {
                self.upload_id_consumed();
                self.fail(UploadError::ObjectCrcMismatch {
                    expected: crc,
                    reported,
                });
            }
            _ => self.completed(etag, crc, size, false),
        }
    }

    fn on_head(&mut self, head: Result<(u64, Option<u64>, String), UploadError>) {
        if self.phase == Phase::ResumeHead {
            // Compare with the journal (parts are not filled in yet).
            let journal: Vec<_> = self.journal.values().cloned().collect();
            let (jcrc, jsize) = journal.iter().fold((0, 0), |(c, s), e| {
                (crc64_combine(c, e.crc64, e.len), s + e.len)
            });
            match head {
                Ok((len, Some(crc), etag)) if len == jsize && crc == jcrc => {
                    for e in journal {
                        if let Some(p) = self.part_mut(e.part_number) {
                            p.etag = e.etag;
                            p.crc64 = e.crc64;
                            p.state = PartState::Done;
                        }
                    }
                    self.done_parts = self.parts.len() as u32;
                    self.completed(etag, jcrc, jsize, true);
                }
                Err(err) if err.is_retryable() => self.on_error(Job::Head, err),
                _ => self.restart(),
            }
            return;
        }
        if self.phase != Phase::ConfirmingComplete {
            return;
        }
        let (crc, size) = self.combined();
        let reason = match head {
            Ok((len, Some(got), etag)) if len == size && got == crc => {
                self.completed(etag, crc, size, true);
                return;
            }
            Ok(_) => UploadError::CompletionUnconfirmed,
            Err(err)
                if err
                    .service_error()
                    .is_some_and(|e| e.status() == StatusCode::NOT_FOUND) =>
            {
                if self.complete_gone {
                    UploadError::CompletionUnconfirmed
                } else {
                    err
                }
            }
            Err(err) => return self.on_error(Job::Head, err),
        };
        // The object is not (yet) ours: try Complete again after a backoff.
        self.phase = Phase::Completing;
        let tries = self.attempts.complete;
        let attempt = tries.count();
        match self.scheduler.next_delay(tries, self.now) {
            Some(delay) => {
                self.events.push_back(Event::Retried {
                    op: OpKind::Complete,
                    part_number: None,
                    attempt,
                    delay,
                    rewound: 0,
                    reason,
                });
                self.scheduler.schedule(self.now + delay, Job::Complete);
            }
            None => {
                if self.complete_gone {
                    self.upload_id_consumed();
                    self.fail(UploadError::CompletionUnconfirmed);
                } else {
                    self.fail(UploadError::RetriesExhausted {
                        last: Box::new(reason),
                    });
                }
            }
        }
    }

    fn confirm_complete(&mut self) {
        self.phase = Phase::ConfirmingComplete;
        self.attempts.head = Tries::default();
        self.ready_single = Some(Job::Head);
    }

    /// After Complete took effect (or the id is gone), there is nothing left to abort or resume.
    fn upload_id_consumed(&mut self) {
        self.policy = FailurePolicy::Keep;
        self.complete_gone = true;
    }

    fn completed(&mut self, etag: String, crc64: u64, size: u64, confirmed_by_head: bool) {
        let total = self.total().unwrap_or(size);
        self.add_progress(total.saturating_sub(self.confirmed));
        let upload_id = self.upload_id.clone();
        self.finish(Event::Completed(Completed {
            etag,
            crc64,
            size,
            upload_id,
            confirmed_by_head,
        }));
    }

    // ----- errors, retries, termination ------------------------------------------------------

    fn on_error(&mut self, job: Job, err: UploadError) {
        if self.phase == Phase::Done {
            return;
        }
        if self.abort_requested && job != Job::Abort {
            // Only an Initiate can still be tracked: it failed, so there is nothing to abort.
            if self.upload_id.is_none() {
                self.aborted();
            }
            return;
        }
        if !err.is_retryable() {
            if job == Job::Abort {
                self.abort_failed(err);
            } else {
                self.fail(err);
            }
            return;
        }
        let (tries, part_number, rewound) = match job {
            Job::Part(n) => match self.part_mut(n) {
                Some(p) => (p.attempts, Some(n), p.read_len.unwrap_or(p.range.len)),
                None => return,
            },
            Job::Put => (
                self.attempts.put,
                Some(1),
                self.plan.total_size().unwrap_or(0),
            ),
            Job::Initiate => (self.attempts.initiate, None, 0),
            Job::List(_) => (self.attempts.list, None, 0),
            Job::Complete => (self.attempts.complete, None, 0),
            Job::Head => (self.attempts.head, None, 0),
            Job::Abort => (self.attempts.abort, None, 0),
            Job::Hash(_) | Job::CheckSource => return,
        };
        let attempt = tries.count();
        let reconnecting = self.answered
            && matches!(
                err,
                UploadError::Transport {
                    kind: FailureKind::Connect,
                    ..
                }
            );
        let delay = if reconnecting {
            self.scheduler.next_delay_reconnecting(tries, self.now)
        } else {
            self.scheduler.next_delay(tries, self.now)
        };
        match delay {
            Some(delay) => {
                if let Job::Part(n) = job {
                    if let Some(p) = self.part_mut(n) {
                        p.state = PartState::Backoff;
                    }
                }
                self.events.push_back(Event::Retried {
                    op: op_kind(job),
                    part_number,
                    attempt,
                    delay,
                    rewound,
                    reason: err,
                });
                self.scheduler.schedule(self.now + delay, job);
            }
            None => {
                let err = UploadError::RetriesExhausted {
                    last: Box::new(err),
                };
                if job == Job::Abort {
                    self.abort_failed(err)
                } else {
                    self.fail(err)
                }
            }
        }
    }

    /// Forgets queued and outstanding work (answers to forgotten ids are ignored).
    fn drop_work(&mut self) {
        self.ready_parts.clear();
        self.hash_queue.clear();
        self.ready_single = None;
        self.scheduler.clear();
        self.in_flight.retain(|j| j == Job::Initiate);
    }

    fn fail(&mut self, err: UploadError) {
        if self.phase == Phase::Done || self.phase == Phase::Aborting {
            return;
        }
        self.drop_work();
        self.in_flight.retain(|_| false);
        let abort =
            self.policy == FailurePolicy::Abort && self.upload_id.is_some() && !self.complete_gone;
        if abort {
            self.failing = Some(err);
            self.start_abort();
            return;
        }
        let resumable = match self.phase {
            Phase::Single => true,
            _ => {
                self.upload_id.is_some()
                    && self.policy == FailurePolicy::Keep
                    && !self.complete_gone
                    && self.plan.part_count().is_some()
            }
        };
        let upload_id = self.upload_id.clone();
        self.finish(Event::Failed(Failure {
            error: err,
            resumable,
            upload_id,
        }));
    }

    fn start_abort(&mut self) {
        self.drop_work();
        self.in_flight.retain(|_| false);
        self.phase = Phase::Aborting;
        self.attempts.abort = Tries::default();
        self.ready_single = Some(Job::Abort);
    }

    fn aborted(&mut self) {
        match self.failing.take() {
            Some(error) => {
                let upload_id = self.upload_id.clone();
                self.finish(Event::Failed(Failure {
                    error,
                    resumable: false,
                    upload_id,
                }));
            }
            None => self.finish(Event::Aborted),
        }
    }

    fn abort_failed(&mut self, err: UploadError) {
        // The parts may remain; report the original failure if there was one.
        let error = self.failing.take().unwrap_or(err);
        let upload_id = self.upload_id.clone();
        self.finish(Event::Failed(Failure {
            error,
            resumable: false,
            upload_id,
        }));
    }

    fn finish(&mut self, event: Event) {
        self.drop_work();
        self.in_flight.retain(|_| false);
        self.requests.clear();
        self.phase = Phase::Done;
        self.events.push_back(event);
    }

    // ----- parts -----------------------------------------------------------------------------

    fn part_mut(&mut self, n: u32) -> Option<&mut Part> {
        let i = usize::try_from(n).ok()?.checked_sub(1)?;
        self.parts.get_mut(i)
    }

    fn part_done(&mut self, n: u32) {
        let Some(p) = self.part_mut(n) else { return };
        if p.state == PartState::Done {
            return;
        }
        p.state = PartState::Done;
        let (len, event) = (
            p.range.len,
            Event::PartDone {
                part_number: n,
                offset: p.range.offset,
                len: p.range.len,
                etag: p.etag.clone(),
                crc64: p.crc64,
                resumed: p.resumed,
            },
        );
        self.done_parts += 1;
        self.events.push_back(event);
        self.add_progress(len);
        self.checkpoint_changed();
    }

    fn add_progress(&mut self, bytes: u64) {
        if bytes == 0 {
            return;
        }
        let total = self.total();
        let next = self.confirmed.saturating_add(bytes);
        self.confirmed = total.map_or(next, |t| next.min(t));
        self.events.push_back(Event::Progress(Progress {
            confirmed: self.confirmed,
            total,
        }));
    }

    fn checkpoint_changed(&mut self) {
        if self.source.is_some() && self.upload_id.is_some() {
            self.events.push_back(Event::CheckpointChanged);
        }
    }

    /// Moves to Complete when every part is done.
    fn after_part_change(&mut self) {
        if self.phase != Phase::Parts {
            return;
        }
        let all_known = match self.plan.shape {
            Shape::Stream { .. } => self
                .stream
                .end
                .is_some_and(|(last, _)| self.parts.len() as u32 == last),
            _ => true,
        };
        if all_known && self.done_parts as usize == self.parts.len() && self.in_flight.is_empty() {
            self.phase = Phase::Completing;
            self.ready_single = Some(if self.config.check_source {
                Job::CheckSource
            } else {
                Job::Complete
            });
        }
    }

    // ----- issuing ---------------------------------------------------------------------------

    fn issue(&mut self, job: Job, op: Op, bytes: u64) {
        self.next_id += 1;
        let id = RequestId(self.next_id);
        self.in_flight.insert(id, job, bytes);
        self.requests.push_back(Request {
            id,
            op,
            target: self.target.clone(),
            object: self.object.clone(),
        });
    }

    fn pump(&mut self) {
        if self.phase == Phase::Done {
            return;
        }
        if self.paused && self.phase != Phase::Aborting {
            return;
        }
        if let Some(job) = self.ready_single.take() {
            self.issue_single(job);
        }
        if self.phase == Phase::Parts {
            self.issue_parts();
        }
    }

    fn issue_single(&mut self, job: Job) {
        let upload_id = self.upload_id.clone().unwrap_or_default();
        let relevant = matches!(
            (self.phase, job),
            (Phase::Initiating, Job::Initiate)
                | (Phase::Single, Job::Put)
                | (Phase::Listing, Job::List(_))
                | (Phase::ResumeHead | Phase::ConfirmingComplete, Job::Head)
                | (Phase::Completing, Job::Complete | Job::CheckSource)
                | (Phase::Aborting, Job::Abort)
        );
        if !relevant {
            return;
        }
        match job {
            Job::Initiate => {
                self.attempts.initiate.start(self.now);
                self.issue(job, Op::Initiate, 0);
            }
            Job::Put => {
                self.attempts.put.start(self.now);
                let size = self.plan.total_size().unwrap_or(0);
                self.issue(
                    job,
                    Op::PutObject {
                        range: 0..size,
                        content_md5: self.config.content_md5,
                    },
                    size,
                );
            }
            Job::List(marker) => {
                self.attempts.list.start(self.now);
                self.issue(job, Op::ListParts { upload_id, marker }, 0);
            }
            Job::Head => {
                self.attempts.head.start(self.now);
                self.issue(job, Op::HeadObject, 0);
            }
            Job::Complete => {
                self.attempts.complete.start(self.now);
                let parts = self
                    .parts
                    .iter()
                    .map(|p| CompletePart {
                        part_number: p.range.part_number,
                        etag: p.etag.clone(),
                    })
                    .collect();
                self.issue(job, Op::Complete { upload_id, parts }, 0);
            }
            Job::Abort => {
                self.attempts.abort.start(self.now);
                self.issue(job, Op::Abort { upload_id }, 0);
            }
            Job::CheckSource => self.issue(job, Op::CheckSource, 0),
            Job::Part(_) | Job::Hash(_) => {}
        }
    }

    fn has_room(&self, bytes: u64) -> bool {
        if self.in_flight.len() >= self.config.slots() {
            return false;
        }
        self.in_flight.is_empty()
            || self.in_flight.bytes().saturating_add(bytes) <= self.plan.memory_budget()
    }

    fn issue_parts(&mut self) {
        let Some(upload_id) = self.upload_id.clone() else {
            return;
        };
        while self.in_flight.len() < self.config.slots() {
            if let Some(n) = self.hash_queue.pop_front() {
                let Some(range) = self.part_mut(n).map(|p| p.range) else {
                    continue;
                };
                self.issue(
                    Job::Hash(n),
                    Op::HashRange {
                        part_number: n,
                        range: range.range(),
                    },
                    0,
                );
                continue;
            }
            // Sequential mode keeps strict part order: nothing new while a part waits to retry.
            if self.config.sequential && self.parts.iter().any(|p| p.state == PartState::Backoff) {
                break;
            }
            if let Some(&n) = self.ready_parts.iter().next() {
                let Some(p) = self.part_mut(n) else {
                    self.ready_parts.remove(&n);
                    continue;
                };
                let len = p.read_len.unwrap_or(p.range.len);
                let range = p.range.offset..p.range.offset + len;
                if !self.has_room(len) {
                    break;
                }
                self.ready_parts.remove(&n);
                let now = self.now;
                if let Some(p) = self.part_mut(n) {
                    p.state = PartState::Uploading;
                    p.attempts.start(now);
                }
                let op = Op::UploadPart {
                    part_number: n,
                    range,
                    upload_id: upload_id.clone(),
                    content_md5: self.config.content_md5,
                };
                self.issue(Job::Part(n), op, len);
                continue;
            }
            if !self.issue_stream_part(&upload_id) {
                break;
            }
        }
    }

    /// Issues the next stream part if the previous one was read and the stream has not ended.
    fn issue_stream_part(&mut self, upload_id: &str) -> bool {
        if !self.plan.is_stream() || self.stream.read_pending || self.stream.end.is_some() {
            return false;
        }
        if self.config.sequential && !self.in_flight.is_empty() {
            return false;
        }
        let n = self.stream.next;
        let Some(range) = self.plan.part(n) else {
            return false;
        };
        if !self.has_room(range.len) {
            return false;
        }
        let mut attempts = Tries::default();
        attempts.start(self.now);
        self.parts.push(Part {
            range,
            state: PartState::Uploading,
            attempts,
            etag: String::new(),
            crc64: 0,
            resumed: false,
            expect: None,
            read_len: None,
        });
        self.stream.next += 1;
        self.stream.read_pending = true;
        let op = Op::UploadPart {
            part_number: n,
            range: range.range(),
            upload_id: upload_id.to_owned(),
            content_md5: self.config.content_md5,
        };
        self.issue(Job::Part(n), op, range.len);
        true
    }
}

fn op_kind(job: Job) -> OpKind {
    match job {
        Job::Initiate => OpKind::Initiate,
        Job::List(_) => OpKind::ListParts,
        Job::Part(_) => OpKind::UploadPart,
        Job::Hash(_) => OpKind::HashRange,
        Job::Put => OpKind::PutObject,
        Job::Complete => OpKind::Complete,
        Job::Head => OpKind::HeadObject,
        Job::Abort => OpKind::Abort,
        Job::CheckSource => OpKind::CheckSource,
    }
}
