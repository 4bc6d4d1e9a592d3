//! The upload state machine: its type, its state and its outputs. The rest is split by stage:
//! [`start`] (constructors), [`inputs`] (every `handle_*` and command), [`resume`], [`parts`],
//! [`complete`], [`issue`] and [`fail`]; [`copy`] is the copy mode (UploadPartCopy, CopyObject).

mod complete;
mod copy;
mod fail;
mod hedge;
mod inputs;
mod issue;
mod parts;
mod resume;
mod start;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use http::{HeaderMap, StatusCode};

use crate::adapt::Limit;
use crate::checkpoint::{Checkpoint, JournalEntry, SourceIdentity};
use crate::config::{Config, FailurePolicy};
use crate::copy::CopySource;
use crate::error::{FailureKind, PlanError, UploadError};
use crate::event::{Completed, Event, Failure, Progress};
use crate::hedge::{Hedger, TransferStats};
use crate::inflight::{BodyRead, Flight, InFlight, Job};
use crate::limits::MAX_PART_COUNT;
use crate::plan::{PartRange, Plan, PlanOptions, Shape, SourceSize};
use crate::request::{CompletePart, ObjectHeaders, Op, OpKind, Request, RequestId};
use crate::retry::Tries;
use crate::scheduler::Scheduler;
use crate::target::Target;
use crate::wire::{self, ListedPart};
use issue::op_kind;

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
    Completing {
        /// See [`Phase::ConfirmingComplete`]; kept across Complete's retries.
        upload_gone: bool,
    },
    /// Complete's answer was lost or failed: HeadObject tells whether it took effect.
    ConfirmingComplete {
        /// OSS no longer knows the upload id (a Complete was answered NoSuchUpload, or one
        /// took effect): there is nothing left to abort or resume, and an object that is
        /// missing or different means the completion cannot be confirmed.
        upload_gone: bool,
    },
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
/// `Failed`. `poll_timeout` reports retry backoffs and straggler deadlines
/// ([`TimeoutReason::Hedge`]): transport deadlines are the driver's (report them with
/// [`FailureKind::Timeout`]).
///
/// **Concurrency and hedging** ([`Config::adaptive`], [`Config::hedging`]): the parts in
/// flight follow the measured throughput within `max_in_flight` and the memory budget. A part
/// that straggles near the end is sent again under a new id; the first verified answer wins
/// and [`Event::Cancel`] names each loser: abort it (its answer, if one still comes, is
/// ignored) and, optionally, report the bytes it sent with
/// [`handle_cancelled`](Self::handle_cancelled). A copy uses neither: it moves no bytes.
///
/// **Termination**: exactly one terminal event is emitted — [`Event::Completed`],
/// [`Event::Failed`] or [`Event::Aborted`]; afterwards no request is issued and
/// [`is_finished`](Self::is_finished) is true. Progress ([`Event::Progress`]) counts only bytes
/// OSS confirmed: it never decreases and never exceeds the total.
///
/// A stream part's bytes must stay buffered by the driver until its [`Event::PartDone`] (a retry
/// re-sends them); [`Plan::memory_budget`] bounds how many such bytes are in flight at once.
///
/// **Copy mode** ([`copy`](Self::copy), [`copy_with_checkpointing`](Self::copy_with_checkpointing),
/// [`copy_from_checkpoint`](Self::copy_from_checkpoint)): the same contract, with
/// [`Op::UploadPartCopy`] in place of `UploadPart` and [`Op::CopyObject`] in place of
/// `PutObject`. Neither has a body, so `handle_body_read` is never needed, and no `HashRange`
/// or `CheckSource` is ever issued.
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
    /// Part requests allowed in flight (hedges come on top, within their budget).
    limit: Limit,
    hedger: Hedger,
    scheduler: Scheduler<Job>,
    attempts: Attempts,
    requests: VecDeque<Request>,
    events: VecDeque<Event>,
    next_id: u64,
    confirmed: u64,
    done_parts: u32,
    stream: StreamState,
    paused: bool,
    /// Set in copy mode: parts are copied server-side from this source (see [`copy`]).
    copy: Option<copy::CopyMode>,
    now: Instant,
}

impl Upload {
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
            return Some(
                Checkpoint::build(
                    upload_id,
                    &self.target,
                    source,
                    part_size,
                    self.plan.memory_budget(),
                    self.journal.values().cloned(),
                )
                .with_copy_source(self.copy_source()),
            );
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
        Some(
            Checkpoint::build(
                upload_id,
                &self.target,
                source,
                part_size,
                self.plan.memory_budget(),
                journal,
            )
            .with_copy_source(self.copy_source()),
        )
    }

    #[cfg(feature = "sim")]
    pub(crate) fn now(&self) -> Instant {
        self.now
    }

    pub(super) fn total(&self) -> Option<u64> {
        self.plan.total_size().or(self.stream.end.map(|(_, t)| t))
    }

    // ----- outputs ---------------------------------------------------------------------------

    /// The next request to start, if any.
    #[must_use]
    pub fn poll_request(&mut self) -> Option<Request> {
        self.requests.pop_front()
    }

    /// The earliest deadline, if any: a retry backoff, or a part becoming a straggler to hedge.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Timeout> {
        if self.phase == Phase::Done {
            return None;
        }
        let retry = self.scheduler.poll_timeout().map(|at| Timeout {
            at,
            reason: TimeoutReason::RetryBackoff,
        });
        let hedge = self.next_hedge().map(|(at, _)| Timeout {
            at,
            reason: TimeoutReason::Hedge,
        });
        match (retry, hedge) {
            (Some(r), Some(h)) if h.at < r.at => Some(h),
            (r, h) => r.or(h),
        }
    }

    /// The next event, if any.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }
}
