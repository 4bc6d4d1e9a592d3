//! Deterministic simulation of a download: one object served by an in-memory OSS (HEAD and
//! ranged GET with `If-Match`), a network that resets, truncates and corrupts bodies, an object
//! that may be replaced mid-download, crashes with lost local writes, and a virtual clock.
//!
//! ```
//! use std::time::Instant;
//! use oss_multipart_core::download::sim::{DownloadFaults, DownloadSim};
//! use oss_multipart_core::{Download, DownloadConfig, DownloadEvent, Target};
//!
//! let object: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
//! let mut config = DownloadConfig::default();
//! config.part_size = 64 * 1024;
//! let target = Target::new("bucket", "key").unwrap();
//! let download = Download::new(target, config, Instant::now(), 7).unwrap();
//! let mut sim = DownloadSim::new(download, object.clone(), DownloadFaults::flaky(), 7);
//! let outcome = sim.drive_bounded(100_000).unwrap();
//! assert!(matches!(outcome, Some(DownloadEvent::Completed(_))));
//! assert_eq!(sim.local(), &object[..]);
//! ```

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue, StatusCode};
use oss_model::crc64::crc64;

use super::{Download, DownloadCheckpoint, DownloadConfig, DownloadEvent, DownloadOp};
use crate::error::{FailureKind, PlanError};
use crate::request::RequestId;
use crate::rng::SplitMix64;
use crate::sim::{Livelock, Timeline, World, drive};

/// Fault probabilities (per request, 0.0..=1.0) and timing.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DownloadFaults {
    /// OSS answers 503 (HEAD or GET).
    pub server_error: f64,
    /// The connection resets before the answer's head.
    pub reset: f64,
    /// The connection resets in the middle of a GET body.
    pub reset_mid_body: f64,
    /// The GET body ends early without an error.
    pub truncate: f64,
    /// One byte of a GET body is flipped in transit (headers intact).
    pub corrupt: f64,
    /// Before a GET is served, the object is replaced by new content (another ETag).
    pub replace: f64,
    /// Latency is uniform in `0..=max_latency`.
    pub max_latency: Duration,
}

impl DownloadFaults {
    /// A perfect network.
    pub fn none() -> Self {
        Self {
            server_error: 0.0,
            reset: 0.0,
            reset_mid_body: 0.0,
            truncate: 0.0,
            corrupt: 0.0,
            replace: 0.0,
            max_latency: Duration::from_millis(50),
        }
    }

    /// Every fault but replacement at a few percent.
    pub fn flaky() -> Self {
        Self {
            server_error: 0.05,
            reset: 0.03,
            reset_mid_body: 0.05,
            truncate: 0.03,
            corrupt: 0.02,
            ..Self::none()
        }
    }
}

#[derive(Debug)]
pub(crate) enum Delivery {
    Arrive {
        id: RequestId,
        op: DownloadOp,
    },
    Answer {
        id: RequestId,
        status: StatusCode,
        headers: HeaderMap,
        body: Vec<u8>,
        /// Body bytes are at most this many, then `failure` (None: clean end).
        cut: Option<(usize, Option<FailureKind>)>,
    },
    Failure {
        id: RequestId,
        kind: FailureKind,
    },
    Verify {
        id: RequestId,
        range: Range<u64>,
    },
}

/// The simulated driver + OSS + network + clock around one [`Download`].
#[derive(Debug)]
pub struct DownloadSim {
    /// The machine under test.
    pub download: Download,
    /// Fault settings (may be changed between steps).
    pub faults: DownloadFaults,
    /// Every version the object had, by ETag (the current one is `current`).
    versions: BTreeMap<String, Vec<u8>>,
    current: String,
    /// CRC-64 of the current version.
    current_crc: u64,
    generation: u64,
    local: Vec<u8>,
    rng: SplitMix64,
    timeline: Timeline<Delivery, DownloadEvent>,
    outcome: Option<DownloadEvent>,
    checkpoint: Option<DownloadCheckpoint>,
    last_progress: u64,
    served: Vec<Range<u64>>,
}

fn etag_of(generation: u64, data: &[u8]) -> String {
    format!("\"{:016X}{generation:016X}\"", crc64(data))
}

impl World for DownloadSim {
    type Delivery = Delivery;
    type Event = DownloadEvent;

    fn timeline(&mut self) -> &mut Timeline<Delivery, DownloadEvent> {
        &mut self.timeline
    }

    fn poll_event(&mut self) -> Option<DownloadEvent> {
        self.download.poll_event()
    }

    fn start_requests(&mut self) {
        while let Some(req) = self.download.poll_request() {
            let at = self.timeline.now + self.latency();
            match req.op {
                DownloadOp::Verify { range, .. } => {
                    self.push(at, Delivery::Verify { id: req.id, range });
                }
                op => {
                    let id = req.id;
                    self.push(at, Delivery::Arrive { id, op });
                }
            }
        }
    }

    fn observe(&mut self, ev: &DownloadEvent) {
        match ev {
            DownloadEvent::Progress(p) => {
                assert!(p.received >= self.last_progress, "progress went backwards");
                assert!(
                    p.total.is_none_or(|t| p.received <= t),
                    "progress over total"
                );
                self.last_progress = p.received;
            }
            DownloadEvent::CheckpointChanged => self.checkpoint = self.download.checkpoint(),
            DownloadEvent::Completed(done) => {
                // What a driver does: cut the local copy to the object size.
                self.local.resize(done.object.size as usize, 0);
                assert!(self.outcome.is_none(), "two terminal events");
                self.outcome = Some(ev.clone());
            }
            DownloadEvent::Failed(_) | DownloadEvent::Aborted => {
                assert!(self.outcome.is_none(), "two terminal events");
                self.outcome = Some(ev.clone());
            }
            _ => {}
        }
    }

    fn deadline(&self) -> Option<Instant> {
        self.download.poll_timeout().map(|t| t.at)
    }

    fn deliver(&mut self, d: Delivery) {
        let now = self.timeline.now;
        match d {
            Delivery::Arrive { id, op } => self.serve(id, op),
            Delivery::Failure { id, kind } => self.download.handle_failure(id, now, kind),
            Delivery::Verify { id, range } => {
                let crc = self
                    .local
                    .get(range.start as usize..range.end as usize)
                    .map(crc64);
                self.download.handle_verify(id, now, crc);
            }
            Delivery::Answer {
                id,
                status,
                headers,
                body,
                cut,
            } => {
                let err_body: &[u8] = if status.is_success() { &[] } else { &body };
                self.download
                    .handle_response(id, now, status, &headers, err_body);
                let Some(target) = self.download.body_target(id) else {
                    return;
                };
                let (n, failure) = cut.unwrap_or((body.len(), None));
                let cap = (target.end - target.start) as usize;
                let written = &body[..n.min(body.len()).min(cap)];
                let start = target.start as usize;
                if self.local.len() < start + written.len() {
                    self.local.resize(start + written.len(), 0);
                }
                self.local[start..start + written.len()].copy_from_slice(written);
                let crc = crc64(written);
                self.download
                    .handle_body(id, now, written.len() as u64, crc, failure);
            }
        }
    }

    fn timeout(&mut self, now: Instant) {
        self.download.handle_timeout(now);
    }
}

impl DownloadSim {
    /// A simulation of `download` fetching `object`; `seed` drives latency and faults.
    pub fn new(download: Download, object: Vec<u8>, faults: DownloadFaults, seed: u64) -> Self {
        let current = etag_of(0, &object);
        let now = download.now;
        Self {
            download,
            faults,
            current_crc: crc64(&object),
            versions: BTreeMap::from([(current.clone(), object)]),
            current,
            generation: 0,
            local: Vec::new(),
            rng: SplitMix64::new(seed ^ 0x5A5A_5A5A_5A5A_5A5A),
            timeline: Timeline::new(now),
            outcome: None,
            checkpoint: None,
            last_progress: 0,
            served: Vec::new(),
        }
    }

    /// The local copy as written so far.
    pub fn local(&self) -> &[u8] {
        &self.local
    }

    /// Mutable local copy (simulate writes lost in a crash, or a file edited between runs).
    pub fn local_mut(&mut self) -> &mut Vec<u8> {
        &mut self.local
    }

    /// The object version with `etag` (every version ever served is kept).
    pub fn version(&self, etag: &str) -> Option<&[u8]> {
        self.versions.get(etag).map(Vec::as_slice)
    }

    /// The object as OSS holds it now.
    pub fn object(&self) -> &[u8] {
        self.versions.get(&self.current).map_or(&[], Vec::as_slice)
    }

    /// Replaces the object now (a new ETag).
    pub fn replace_object(&mut self, data: Vec<u8>) {
        self.generation += 1;
        self.current = etag_of(self.generation, &data);
        self.current_crc = crc64(&data);
        self.versions.insert(self.current.clone(), data);
    }

    /// Object byte ranges served by 2xx GETs, in order (for "nothing verified is fetched
    /// again" assertions).
    pub fn served(&self) -> &[Range<u64>] {
        &self.served
    }

    /// Every event seen.
    pub fn events(&self) -> &[DownloadEvent] {
        &self.timeline.events
    }

    /// The checkpoint last persisted (on [`DownloadEvent::CheckpointChanged`]).
    pub fn last_checkpoint(&self) -> Option<&DownloadCheckpoint> {
        self.checkpoint.as_ref()
    }

    /// Virtual now.
    pub fn now(&self) -> Instant {
        self.timeline.now
    }

    /// Simulates a crash: everything in transit is lost, and a new machine resumes from the last
    /// persisted checkpoint (or starts afresh with checkpointing when none was persisted).
    ///
    /// # Errors
    /// Whatever the resume constructor reports.
    pub fn crash_and_resume(&mut self, config: DownloadConfig, seed: u64) -> Result<(), PlanError> {
        self.timeline.clear();
        self.timeline.now += Duration::from_secs(1);
        self.download = match &self.checkpoint {
            Some(cp) => Download::from_checkpoint(cp, config, self.timeline.now, seed)?,
            None => Download::new(
                self.download.target().clone(),
                config,
                self.timeline.now,
                seed,
            )?
            .with_checkpointing("local"),
        };
        self.outcome = None;
        self.last_progress = 0;
        Ok(())
    }

    fn push(&mut self, at: Instant, d: Delivery) {
        self.timeline.push(at, d);
    }

    fn latency(&mut self) -> Duration {
        drive::latency(&mut self.rng, self.faults.max_latency)
    }

    /// Queues an OSS error document as the answer to `id`.
    fn answer_error(&mut self, at: Instant, id: RequestId, status: StatusCode, code: &str) {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>sim</Message><RequestId>sim</RequestId><HostId>sim.oss</HostId></Error>"
        )
        .into_bytes();
        let (headers, cut) = (HeaderMap::new(), None);
        self.push(
            at,
            Delivery::Answer {
                id,
                status,
                headers,
                body,
                cut,
            },
        );
    }

    fn object_headers(&self, h: &mut HeaderMap) {
        let crc = self.current_crc;
        let pairs = [
            ("etag", self.current.clone()),
            ("x-oss-hash-crc64ecma", crc.to_string()),
            ("x-oss-object-type", "Normal".to_owned()),
            ("last-modified", "Wed, 02 Dec 2026 10:00:00 GMT".to_owned()),
        ];
        for (k, v) in pairs {
            if let Ok(v) = HeaderValue::from_str(&v) {
                h.insert(k, v);
            }
        }
    }

    /// OSS acting on one request.
    fn serve(&mut self, id: RequestId, op: DownloadOp) {
        let at = self.timeline.now + self.latency();
        if self.rng.chance(self.faults.reset) {
            let kind = FailureKind::ConnectionReset;
            return self.push(at, Delivery::Failure { id, kind });
        }
        if self.rng.chance(self.faults.server_error) {
            return self.answer_error(
                at,
                id,
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
            );
        }
        let DownloadOp::Get {
            range, if_match, ..
        } = op
        else {
            let mut headers = HeaderMap::new();
            self.object_headers(&mut headers);
            headers.insert(
                http::header::CONTENT_LENGTH,
                HeaderValue::from(self.object().len() as u64),
            );
            let (status, body, cut) = (StatusCode::OK, Vec::new(), None);
            return self.push(
                at,
                Delivery::Answer {
                    id,
                    status,
                    headers,
                    body,
                    cut,
                },
            );
        };
        if self.rng.chance(self.faults.replace) {
            let mut data = self.object().to_vec();
            if let Some(b) = data.first_mut() {
                *b = b.wrapping_add(1);
            } else {
                data.push(1);
            }
            self.replace_object(data);
        }
        if if_match != self.current {
            return self.answer_error(
                at,
                id,
                StatusCode::PRECONDITION_FAILED,
                "PreconditionFailed",
            );
        }
        let size = self.object().len() as u64;
        if range.start >= range.end || range.end > size {
            return self.answer_error(at, id, StatusCode::RANGE_NOT_SATISFIABLE, "InvalidRange");
        }
        let mut body = self.object()[range.start as usize..range.end as usize].to_vec();
        self.served.push(range.clone());
        let mut headers = HeaderMap::new();
        self.object_headers(&mut headers);
        let content_range = format!("bytes {}-{}/{size}", range.start, range.end - 1);
        if let Ok(v) = HeaderValue::from_str(&content_range) {
            headers.insert(http::header::CONTENT_RANGE, v);
        }
        if self.rng.chance(self.faults.corrupt) {
            let i = self.rng.below_inclusive(body.len() as u64 - 1) as usize;
            body[i] ^= 0x40;
        }
        let len = body.len() as u64;
        let cut = if self.rng.chance(self.faults.reset_mid_body) {
            let n = self.rng.below_inclusive(len - 1) as usize;
            Some((n, Some(FailureKind::ConnectionReset)))
        } else if self.rng.chance(self.faults.truncate) {
            Some((self.rng.below_inclusive(len - 1) as usize, None))
        } else {
            None
        };
        let status = StatusCode::PARTIAL_CONTENT;
        self.push(
            at,
            Delivery::Answer {
                id,
                status,
                headers,
                body,
                cut,
            },
        );
    }

    /// One step: jump to the earliest delivery or deadline, process it, drain. `false` when
    /// nothing is pending.
    ///
    /// # Panics
    /// When the machine breaks an invariant (progress backwards, two terminal events).
    pub fn step(&mut self) -> bool {
        drive::step(self)
    }

    /// Runs until nothing is pending; returns the terminal event (`None`: the machine stalled).
    ///
    /// # Errors
    /// [`Livelock`] after `max_steps` steps.
    pub fn drive_bounded(&mut self, max_steps: u64) -> Result<Option<DownloadEvent>, Livelock> {
        drive::drive_bounded(self, max_steps)?;
        Ok(self.outcome.clone())
    }

    /// Runs at most `steps` steps (for crash tests). Returns `true` if work remains.
    pub fn run_for(&mut self, steps: u64) -> bool {
        drive::run_for(self, steps)
    }
}
