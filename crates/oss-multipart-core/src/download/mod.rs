//! The download state machine ([`Download`]): HEAD, then ranged GETs pinned to the ETag, with
//! partial-body resumption, whole-object CRC-64 verification and a resumable journal.

mod checkpoint;
mod config;
mod error;
mod event;
mod request;
#[cfg(feature = "sim")]
pub mod sim;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::Range;
use std::time::Instant;

use http::{HeaderMap, StatusCode};
use oss_model::crc64::crc64_combine;

use self::checkpoint::RangeV1;
pub use self::checkpoint::{DOWNLOAD_CHECKPOINT_VERSION, DownloadCheckpoint};
pub use self::config::{ChangePolicy, DownloadConfig};
pub use self::error::{DownloadError, DownloadOpKind};
pub use self::event::{DownloadCompleted, DownloadEvent, DownloadProgress, ObjectInfo};
pub use self::request::{DownloadOp, DownloadRequest};
use crate::error::{FailureKind, PlanError};
use crate::request::RequestId;
use crate::retry::Tries;
use crate::scheduler::Scheduler;
use crate::target::Target;
use crate::upload::{Timeout, TimeoutReason};
use crate::wire::etag_eq;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Job {
    Head,
    Get(u64),
    Verify(u64),
    /// Start again from HEAD (after a change or a whole-object CRC mismatch).
    Restart,
}

#[derive(Debug)]
struct Flight {
    job: Job,
    /// Object bytes requested by this GET.
    requested: Range<u64>,
    /// Set once the answer's head was accepted: the body may be written here.
    accepted: bool,
}

/// A range with bytes in flight, waiting for a retry, or partly received.
#[derive(Debug, Clone, Copy, Default)]
struct Partial {
    /// Bytes of the range received and written (a prefix).
    received: u64,
    /// CRC-64 of that prefix.
    crc: u64,
    /// Attempts since the last progress.
    tries: Tries,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Head,
    Ranges,
    Backoff,
    Done,
}

/// What a resumed download starts from.
#[derive(Debug)]
struct Resume {
    object: ObjectInfo,
    span: Range<u64>,
    journal: Vec<RangeV1>,
}

/// One object download as a sans-IO state machine.
///
/// # Contract
///
/// Like [`Upload`](crate::Upload), the machine performs no I/O, reads no clock and owns no
/// randomness: `now` and a seed are inputs, the driver moves bytes.
///
/// **Inputs** (all take `now`):
/// * [`handle_response`](Self::handle_response) — the answer to a [`DownloadOp::Head`], or the
///   head (status and headers, empty body) of a [`DownloadOp::Get`] answer; for an error status
///   pass the (bounded) error body;
/// * [`handle_body`](Self::handle_body) — after a GET head was accepted
///   ([`body_target`](Self::body_target) returned a range): how many body bytes were written
///   from the start of that range, their CRC-64, and whether the body ended in a transport
///   failure;
/// * [`handle_failure`](Self::handle_failure) — the request failed before its head arrived;
/// * [`handle_verify`](Self::handle_verify) — the answer to a [`DownloadOp::Verify`];
/// * [`handle_timeout`](Self::handle_timeout) — the deadline from [`poll_timeout`](Self::poll_timeout) passed;
/// * commands [`abort`](Self::abort), [`pause`](Self::pause), [`resume`](Self::resume).
///
/// **Outputs**, drained after **every** input in this order:
/// 1. [`poll_request`](Self::poll_request) until `None`;
/// 2. [`poll_timeout`](Self::poll_timeout) — arm one timer (replacing the previous one);
/// 3. [`poll_event`](Self::poll_event) until `None`.
///
/// **Time**: `now` must never go backwards; an earlier `now` is treated as the latest seen.
/// **Answers** to unknown ids (late, duplicated, or forgotten after a restart or the end) are
/// ignored.
///
/// **Bytes**: every GET is pinned with `If-Match` to the ETag HEAD returned; a 412 or another
/// ETag means the object changed, handled by [`ChangePolicy`]. A body is written only into the
/// range [`body_target`](Self::body_target) names (never past its end); a body cut short keeps
/// its received prefix and only the rest is requested again. When every range is complete the
/// CRC-64s are combined and compared with the object's `x-oss-hash-crc64ecma` (whole-object
/// downloads); a mismatch drops everything and starts again within the retry budget. Objects
/// without a CRC-64, and partial spans, are checked by size only
/// ([`DownloadCompleted::crc_verified`]).
///
/// **Termination**: exactly one terminal event — [`DownloadEvent::Completed`],
/// [`DownloadEvent::Failed`] or [`DownloadEvent::Aborted`]. Progress never goes backwards.
#[derive(Debug)]
pub struct Download {
    target: Target,
    config: DownloadConfig,
    /// The span the caller asked for (`None`: the whole object).
    wanted: Option<Range<u64>>,
    local: Option<String>,
    resume: Option<Resume>,
    object: Option<ObjectInfo>,
    span: Range<u64>,
    count: u64,
    phase: Phase,
    next_index: u64,
    /// First range index not complete (the in-order window starts here).
    low: u64,
    ready: BTreeSet<u64>,
    partial: BTreeMap<u64, Partial>,
    done: BTreeMap<u64, (u64, u64)>,
    verifying: BTreeMap<u64, u64>,
    verify_queue: VecDeque<u64>,
    reused: u64,
    in_flight: BTreeMap<RequestId, Flight>,
    scheduler: Scheduler<Job>,
    head_tries: Tries,
    whole_tries: Tries,
    head_ready: bool,
    requests: VecDeque<DownloadRequest>,
    events: VecDeque<DownloadEvent>,
    next_id: u64,
    /// Bytes of the span received (complete ranges and prefixes of partial ones).
    received: u64,
    reported: u64,
    paused: bool,
    now: Instant,
}

impl Download {
    /// A download of the whole object: HEAD is issued right away.
    ///
    /// # Errors
    /// [`PlanError::ConfigOutOfBounds`] for an invalid `config`.
    pub fn new(
        target: Target,
        config: DownloadConfig,
        now: Instant,
        seed: u64,
    ) -> Result<Self, PlanError> {
        config.validate()?;
        let retry = config.retry;
        let mut d = Self {
            target,
            config,
            wanted: None,
            local: None,
            resume: None,
            object: None,
            span: 0..0,
            count: 0,
            phase: Phase::Head,
            next_index: 0,
            low: 0,
            ready: BTreeSet::new(),
            partial: BTreeMap::new(),
            done: BTreeMap::new(),
            verifying: BTreeMap::new(),
            verify_queue: VecDeque::new(),
            reused: 0,
            in_flight: BTreeMap::new(),
            scheduler: Scheduler::new(retry, seed),
            head_tries: Tries::default(),
            whole_tries: Tries::default(),
            head_ready: true,
            requests: VecDeque::new(),
            events: VecDeque::new(),
            next_id: 0,
            received: 0,
            reported: 0,
            paused: false,
            now,
        };
        d.pump();
        Ok(d)
    }

    /// A download of `range` of the object only (clipped to the object's size). Only the size
    /// can be verified ([`DownloadCompleted::crc_verified`] is false unless the range covers
    /// the whole object).
    ///
    /// # Errors
    /// [`PlanError::ConfigOutOfBounds`] for an invalid `config` or an empty `range`.
    pub fn for_range(
        target: Target,
        range: Range<u64>,
        config: DownloadConfig,
        now: Instant,
        seed: u64,
    ) -> Result<Self, PlanError> {
        if range.start >= range.end {
            return Err(PlanError::ConfigOutOfBounds { name: "range" });
        }
        let mut d = Self::new(target, config, now, seed)?;
        d.wanted = Some(range);
        Ok(d)
    }

    /// Maintains a [`DownloadCheckpoint`] naming the local copy `local` (the driver's choice,
    /// e.g. the temp file's path): [`DownloadEvent::CheckpointChanged`] is then emitted.
    #[must_use]
    pub fn with_checkpointing(mut self, local: impl Into<String>) -> Self {
        self.local = Some(local.into());
        self
    }

    /// Resumes from a checkpoint (checkpointing stays on, with the same local name). HEAD
    /// re-checks the object: if its ETag, size and CRC-64 are unchanged, every journaled range
    /// is re-hashed from the local copy ([`DownloadOp::Verify`]) and kept if it still matches;
    /// the rest is fetched. If the object changed, everything starts again
    /// ([`DownloadEvent::Restarted`]). The part size is the checkpoint's.
    ///
    /// # Errors
    /// [`PlanError::CheckpointVersion`], [`PlanError::CheckpointInvalid`] or a config error.
    pub fn from_checkpoint(
        checkpoint: &DownloadCheckpoint,
        mut config: DownloadConfig,
        now: Instant,
        seed: u64,
    ) -> Result<Self, PlanError> {
        let (target, journal) = checkpoint.validate()?;
        config.part_size = checkpoint.part_size();
        let object = checkpoint.object();
        let span = checkpoint.span();
        let whole = span.start == 0 && span.end == object.size;
        let mut d = Self::new(target, config, now, seed)?;
        d.wanted = (!whole).then(|| span.clone());
        d.local = Some(checkpoint.local().to_owned());
        d.resume = Some(Resume {
            object,
            span,
            journal: journal.to_vec(),
        });
        Ok(d)
    }

    // ----- accessors -------------------------------------------------------------------------

    /// The object.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The object's identity, once HEAD answered.
    pub fn object(&self) -> Option<&ObjectInfo> {
        self.object.as_ref()
    }

    /// Current progress.
    pub fn progress(&self) -> DownloadProgress {
        DownloadProgress {
            received: self.reported,
            total: self.object.as_ref().map(|_| self.span_len()),
        }
    }

    /// The number of ranges, once HEAD answered.
    pub fn range_count(&self) -> Option<u64> {
        self.object.as_ref().map(|_| self.count)
    }

    /// True after the terminal event was queued.
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Done
    }

    /// True while paused.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Where the body of GET `id` goes: the object (= local file) range its bytes fill, from
    /// the start, once [`handle_response`](Self::handle_response) accepted the answer's head.
    /// `None`: do not write the body (error, unknown id, or not accepted).
    #[must_use]
    pub fn body_target(&self, id: RequestId) -> Option<Range<u64>> {
        self.in_flight
            .get(&id)
            .filter(|f| f.accepted)
            .map(|f| f.requested.clone())
    }

    /// The current checkpoint: `Some` when checkpointing and HEAD answered.
    pub fn checkpoint(&self) -> Option<DownloadCheckpoint> {
        let local = self.local.as_deref()?;
        let ps = self.config.part_size;
        if let (None, Some(r)) = (&self.object, &self.resume) {
            // Still reconciling: the journal we resumed from is the best knowledge.
            return Some(DownloadCheckpoint::build(
                &self.target,
                &r.span,
                &r.object,
                ps,
                local,
                r.journal.clone(),
            ));
        }
        let object = self.object.as_ref()?;
        let mut ranges: Vec<RangeV1> = self
            .done
            .iter()
            .map(|(&i, &(len, crc))| RangeV1 { i, len, crc })
            .collect();
        ranges.extend(self.verifying.iter().map(|(&i, &crc)| RangeV1 {
            i,
            len: self.range_of(i).end - self.range_of(i).start,
            crc,
        }));
        ranges.sort_by_key(|r| r.i);
        Some(DownloadCheckpoint::build(
            &self.target,
            &self.span,
            object,
            ps,
            local,
            ranges,
        ))
    }

    fn span_len(&self) -> u64 {
        self.span.end - self.span.start
    }

    /// Object bytes of range `i` (`i < count`, so no overflow: `i × part_size < span length`).
    fn range_of(&self, i: u64) -> Range<u64> {
        let ps = self.config.part_size;
        let start = self.span.start + i.saturating_mul(ps).min(self.span_len());
        let len = ps.min(self.span.end - start);
        start..start + len
    }

    // ----- outputs ---------------------------------------------------------------------------

    /// The next request to start, if any.
    #[must_use]
    pub fn poll_request(&mut self) -> Option<DownloadRequest> {
        self.requests.pop_front()
    }

    /// The earliest deadline, if any (retry backoffs only; transport deadlines are the driver's).
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
    pub fn poll_event(&mut self) -> Option<DownloadEvent> {
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
                Job::Head => self.head_ready = true,
                Job::Get(i) => {
                    if self.partial.contains_key(&i) {
                        self.ready.insert(i);
                    }
                }
                Job::Restart => self.restart(),
                Job::Verify(_) => {}
            }
        }
        self.pump();
    }

    /// Pauses: no new request is issued (answers are still processed).
    pub fn pause(&mut self) {
        self.paused = true;
    }

    /// Resumes issuing requests after [`pause`](Self::pause).
    pub fn resume(&mut self, now: Instant) {
        self.tick(now);
        self.paused = false;
        self.pump();
    }

    /// Stops the download: outstanding answers are ignored, then [`DownloadEvent::Aborted`].
    pub fn abort(&mut self, now: Instant) {
        self.tick(now);
        if self.phase != Phase::Done {
            self.finish(DownloadEvent::Aborted);
        }
    }

    /// The request failed before its answer's head arrived.
    pub fn handle_failure(&mut self, id: RequestId, now: Instant, kind: FailureKind) {
        self.tick(now);
        let Some(flight) = self.in_flight.remove(&id) else {
            return;
        };
        match flight.job {
            Job::Head => self.on_error(
                Job::Head,
                DownloadError::Transport {
                    op: DownloadOpKind::Head,
                    kind,
                },
            ),
            Job::Get(i) => self.on_error(
                Job::Get(i),
                DownloadError::Transport {
                    op: DownloadOpKind::Get,
                    kind,
                },
            ),
            Job::Verify(i) => self.verified(i, None),
            Job::Restart => {}
        }
        self.pump();
    }

    /// The answer to a HEAD, or the head of a GET answer (`body` empty for a 2xx GET; the
    /// error document otherwise). After a 2xx GET, ask [`body_target`](Self::body_target).
    pub fn handle_response(
        &mut self,
        id: RequestId,
        now: Instant,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) {
        self.tick(now);
        let Some(flight) = self.in_flight.get(&id) else {
            return;
        };
        match flight.job {
            Job::Head => {
                self.in_flight.remove(&id);
                match request::parse_head(status, headers, body) {
                    Ok(info) => self.on_head(info),
                    Err(err) => self.on_error(Job::Head, err),
                }
            }
            Job::Get(i) => {
                let requested = flight.requested.clone();
                match self.check_get(status, headers, body, &requested) {
                    Ok(()) => {
                        if let Some(f) = self.in_flight.get_mut(&id) {
                            f.accepted = true;
                        }
                    }
                    Err(err) => {
                        self.in_flight.remove(&id);
                        if err.is_object_changed() {
                            self.on_changed(err);
                        } else {
                            self.on_error(Job::Get(i), err);
                        }
                    }
                }
            }
            Job::Verify(_) | Job::Restart => {}
        }
        self.pump();
    }

    /// The body of GET `id` ended: `len` bytes were written from the start of
    /// [`body_target`](Self::body_target), with CRC-64 `crc64`; `failure` says how the body
    /// ended if not cleanly. A body shorter than its range (cut, truncated) keeps its prefix and
    /// the rest is requested again.
    pub fn handle_body(
        &mut self,
        id: RequestId,
        now: Instant,
        len: u64,
        crc64: u64,
        failure: Option<FailureKind>,
    ) {
        self.tick(now);
        let Some(flight) = self.in_flight.remove(&id) else {
            return;
        };
        let Job::Get(i) = flight.job else { return };
        let expected = flight.requested.end - flight.requested.start;
        if !flight.accepted || len > expected {
            // Bytes we did not ask for may have been written into the range: refetch it all.
            if let Some(p) = self.partial.get_mut(&i) {
                self.received = self.received.saturating_sub(p.received);
                p.received = 0;
                p.crc = 0;
            }
            let err = DownloadError::InvalidResponse {
                op: DownloadOpKind::Get,
                reason: "body reported for a range not accepted, or longer than requested",
            };
            self.on_error(Job::Get(i), err);
            self.pump();
            return;
        }
        let range = self.range_of(i);
        let Some(p) = self.partial.get_mut(&i) else {
            return;
        };
        if range.start + p.received != flight.requested.start {
            // A stale answer from before a restart of this range: its bytes were not counted.
            return;
        }
        p.crc = crc64_combine(p.crc, crc64, len);
        p.received += len;
        if len > 0 {
            p.tries = Tries::default();
        }
        let complete = p.received == range.end - range.start;
        let crc = p.crc;
        self.received = self.received.saturating_add(len);
        self.report_progress();
        if complete {
            self.partial.remove(&i);
            self.range_done(i, crc, false);
        } else {
            let err = match failure {
                Some(kind) => DownloadError::Transport {
                    op: DownloadOpKind::Get,
                    kind,
                },
                None => DownloadError::ShortBody {
                    expected,
                    received: len,
                },
            };
            self.on_error(Job::Get(i), err);
        }
        self.pump();
    }

    /// The answer to a [`DownloadOp::Verify`]: the CRC-64 of the local range, or `None` when
    /// it could not be read (the range is then fetched again).
    pub fn handle_verify(&mut self, id: RequestId, now: Instant, crc64: Option<u64>) {
        self.tick(now);
        let Some(flight) = self.in_flight.remove(&id) else {
            return;
        };
        if let Job::Verify(i) = flight.job {
            self.verified(i, crc64);
        }
        self.pump();
    }

    // ----- handlers --------------------------------------------------------------------------

    fn check_get(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
        requested: &Range<u64>,
    ) -> Result<(), DownloadError> {
        let object = self.object.as_ref().ok_or(DownloadError::InvalidResponse {
            op: DownloadOpKind::Get,
            reason: "GET before HEAD",
        })?;
        let changed = || DownloadError::ObjectChanged {
            expected: object.etag.clone(),
        };
        if status == StatusCode::PRECONDITION_FAILED {
            return Err(changed());
        }
        if !status.is_success() {
            return Err(request::get_error(status, headers, body));
        }
        if request::etag(headers).is_some_and(|e| !etag_eq(e, &object.etag)) {
            return Err(changed());
        }
        let whole = requested.start == 0 && requested.end == object.size;
        let range_ok = match request::content_range(headers) {
            Some((first, last, total)) => {
                if total != object.size {
                    return Err(changed());
                }
                first == requested.start && last.checked_add(1) == Some(requested.end)
            }
            None => status == StatusCode::OK && whole,
        };
        if !range_ok {
            return Err(DownloadError::InvalidResponse {
                op: DownloadOpKind::Get,
                reason: "Content-Range differs from the requested range",
            });
        }
        Ok(())
    }

    fn on_head(&mut self, info: ObjectInfo) {
        if self.phase != Phase::Head {
            return;
        }
        if info.object_type.as_deref() == Some("Symlink") {
            return self.fail(DownloadError::Unsupported {
                reason: "HEAD describes a symlink, not its target",
            });
        }
        let size = info.size;
        self.span = match &self.wanted {
            Some(r) => r.start.min(size)..r.end.min(size),
            None => 0..size,
        };
        self.count = self.span_len().div_ceil(self.config.part_size);
        if let Some(r) = self.resume.take() {
            let same = etag_eq(&r.object.etag, &info.etag)
                && r.object.size == info.size
                && r.object.crc64 == info.crc64
                && r.span == self.span;
            if same {
                for e in r.journal {
                    self.verifying.insert(e.i, e.crc);
                    self.verify_queue.push_back(e.i);
                }
            } else {
                self.events.push_back(DownloadEvent::Restarted {
                    reason: DownloadError::ObjectChanged {
                        expected: r.object.etag,
                    },
                });
            }
        }
        self.events.push_back(DownloadEvent::Object(info.clone()));
        self.object = Some(info);
        self.phase = Phase::Ranges;
        self.checkpoint_changed();
        self.check_complete();
    }

    fn verified(&mut self, i: u64, got: Option<u64>) {
        let Some(want) = self.verifying.remove(&i) else {
            return;
        };
        if got == Some(want) {
            self.reused += 1;
            let r = self.range_of(i);
            self.received = self.received.saturating_add(r.end - r.start);
            self.range_done(i, want, true);
            self.report_progress();
        } else {
            self.partial.insert(i, Partial::default());
            self.ready.insert(i);
            self.checkpoint_changed();
        }
    }

    fn range_done(&mut self, i: u64, crc64: u64, resumed: bool) {
        let r = self.range_of(i);
        let len = r.end - r.start;
        self.done.insert(i, (len, crc64));
        while self.done.contains_key(&self.low) {
            self.low += 1;
        }
        self.events.push_back(DownloadEvent::RangeDone {
            index: i,
            offset: r.start,
            len,
            crc64,
            resumed,
        });
        self.checkpoint_changed();
        self.check_complete();
    }

    fn check_complete(&mut self) {
        if self.phase != Phase::Ranges
            || self.done.len() as u64 != self.count
            || !self.in_flight.is_empty()
        {
            return;
        }
        let Some(object) = self.object.clone() else {
            return;
        };
        let crc = self
            .done
            .values()
            .fold(0, |acc, &(len, crc)| crc64_combine(acc, crc, len));
        let whole = self.span.start == 0 && self.span.end == object.size;
        let expected = object.crc64.filter(|_| whole);
        if let Some(expected) = expected.filter(|&e| e != crc) {
            let err = DownloadError::CrcMismatch {
                expected,
                received: crc,
            };
            return self.start_over(err);
        }
        self.report_progress();
        let completed = DownloadCompleted {
            range: self.span.clone(),
            crc64: crc,
            crc_verified: expected.is_some(),
            ranges_reused: self.reused,
            object,
        };
        self.finish(DownloadEvent::Completed(completed));
    }

    fn on_changed(&mut self, err: DownloadError) {
        match self.config.on_change {
            ChangePolicy::Fail => self.fail(err),
            ChangePolicy::Restart => self.start_over(err),
        }
    }

    /// Drops everything fetched and schedules a new start from HEAD, within the budget.
    fn start_over(&mut self, reason: DownloadError) {
        self.whole_tries.start(self.now);
        match self.scheduler.next_delay(self.whole_tries, self.now) {
            Some(delay) => {
                self.drop_work();
                self.phase = Phase::Backoff;
                self.events.push_back(DownloadEvent::Restarted { reason });
                self.scheduler.schedule(self.now + delay, Job::Restart);
            }
            None => self.fail(DownloadError::RetriesExhausted {
                last: Box::new(reason),
            }),
        }
    }

    fn restart(&mut self) {
        self.drop_work();
        self.object = None;
        self.phase = Phase::Head;
        self.head_tries = Tries::default();
        self.head_ready = true;
        self.checkpoint_changed();
    }

    /// Forgets every range, request and timer (answers to forgotten ids are ignored).
    fn drop_work(&mut self) {
        self.in_flight.clear();
        self.scheduler.clear();
        self.ready.clear();
        self.partial.clear();
        self.done.clear();
        self.verifying.clear();
        self.verify_queue.clear();
        self.next_index = 0;
        self.low = 0;
        self.reused = 0;
        self.received = 0;
        self.head_ready = false;
    }

    fn on_error(&mut self, job: Job, err: DownloadError) {
        if self.phase == Phase::Done {
            return;
        }
        if !err.is_retryable() {
            return self.fail(err);
        }
        let tries = match job {
            Job::Head => self.head_tries,
            Job::Get(i) => self.partial.get(&i).map(|p| p.tries).unwrap_or_default(),
            Job::Verify(_) | Job::Restart => return,
        };
        match self.scheduler.next_delay(tries, self.now) {
            Some(delay) => {
                self.events.push_back(DownloadEvent::Retried {
                    op: match job {
                        Job::Head => DownloadOpKind::Head,
                        _ => DownloadOpKind::Get,
                    },
                    index: match job {
                        Job::Get(i) => Some(i),
                        _ => None,
                    },
                    attempt: tries.count(),
                    delay,
                    reason: err,
                });
                self.scheduler.schedule(self.now + delay, job);
            }
            None => self.fail(DownloadError::RetriesExhausted {
                last: Box::new(err),
            }),
        }
    }

    fn fail(&mut self, err: DownloadError) {
        if self.phase != Phase::Done {
            self.finish(DownloadEvent::Failed(err));
        }
    }

    fn finish(&mut self, event: DownloadEvent) {
        self.in_flight.clear();
        self.scheduler.clear();
        self.ready.clear();
        self.verify_queue.clear();
        self.requests.clear();
        self.phase = Phase::Done;
        self.events.push_back(event);
    }

    fn report_progress(&mut self) {
        let next = self.received.min(self.span_len());
        if next > self.reported {
            self.reported = next;
            self.events
                .push_back(DownloadEvent::Progress(self.progress()));
        }
    }

    fn checkpoint_changed(&mut self) {
        if self.local.is_some() {
            self.events.push_back(DownloadEvent::CheckpointChanged);
        }
    }

    // ----- issuing ---------------------------------------------------------------------------

    fn issue(&mut self, job: Job, op: DownloadOp, requested: Range<u64>) {
        self.next_id += 1;
        let id = RequestId(self.next_id);
        self.in_flight.insert(
            id,
            Flight {
                job,
                requested,
                accepted: false,
            },
        );
        self.requests.push_back(DownloadRequest {
            id,
            op,
            target: self.target.clone(),
        });
    }

    fn pump(&mut self) {
        if self.phase == Phase::Done || self.paused {
            return;
        }
        if self.phase == Phase::Head {
            if self.head_ready && self.in_flight.is_empty() {
                self.head_ready = false;
                self.head_tries.start(self.now);
                self.issue(Job::Head, DownloadOp::Head, 0..0);
            }
            return;
        }
        if self.phase != Phase::Ranges {
            return;
        }
        while self.in_flight.len() < self.config.max_in_flight {
            if let Some(i) = self.verify_queue.pop_front() {
                let range = self.range_of(i);
                self.issue(
                    Job::Verify(i),
                    DownloadOp::Verify {
                        index: i,
                        range: range.clone(),
                    },
                    range,
                );
                continue;
            }
            let Some(i) = self.next_range() else { break };
            let Some(etag) = self.object.as_ref().map(|o| o.etag.clone()) else {
                break;
            };
            let range = self.range_of(i);
            let now = self.now;
            let p = self.partial.entry(i).or_default();
            p.tries.start(now);
            let requested = range.start + p.received..range.end;
            self.issue(
                Job::Get(i),
                DownloadOp::Get {
                    index: i,
                    range: requested.clone(),
                    if_match: etag,
                },
                requested,
            );
        }
    }

    /// The next range to request: a retry first (lowest index), then the next fresh one.
    fn next_range(&mut self) -> Option<u64> {
        let limit = self
            .config
            .window
            .map_or(u64::MAX, |w| self.low.saturating_add(w));
        if let Some(&i) = self.ready.first() {
            if i >= limit {
                return None;
            }
            self.ready.remove(&i);
            return Some(i);
        }
        while self.next_index < self.count
            && (self.done.contains_key(&self.next_index)
                || self.verifying.contains_key(&self.next_index)
                || self.partial.contains_key(&self.next_index))
        {
            self.next_index += 1;
        }
        if self.next_index >= self.count || self.next_index >= limit {
            return None;
        }
        let i = self.next_index;
        self.next_index += 1;
        Some(i)
    }
}
