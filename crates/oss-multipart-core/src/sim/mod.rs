//! Deterministic simulation: an in-memory OSS ([`FakeOss`]), a fault-injecting network and a
//! virtual clock that jumps to the next deadline ([`Sim`]).
//!
//! This is how the crate is tested, and how a driver author can see the contract in action: the
//! [`Sim`] plays the driver (reads the source, hashes bodies, delivers answers), the [`FakeOss`]
//! plays the service. Nothing sleeps, nothing touches a socket; a seed fixes every decision.
//!
//! ```
//! use std::time::Instant;
//! use oss_multipart_core::sim::{Faults, Sim};
//! use oss_multipart_core::{Config, Plan, PlanOptions, SourceSize, Target, Upload};
//!
//! let source: Vec<u8> = (0..400_000u32).map(|i| (i % 251) as u8).collect();
//! let opts = PlanOptions::default().with_part_size(102_400).with_single_put_threshold(0);
//! let plan = Plan::new(SourceSize::Known(source.len() as u64), &opts).unwrap();
//! let target = Target::new("bucket", "key").unwrap();
//! let upload = Upload::new(target, plan, Config::default(), Instant::now(), 7).unwrap();
//! let mut sim = Sim::new(upload, source.clone(), Faults::flaky(), 7);
//! let outcome = sim.drive_bounded(10_000).unwrap();
//! assert!(outcome.is_completed());
//! assert_eq!(sim.oss.object("bucket", "key"), Some(&source[..]));
//! ```

pub(crate) mod drive;
mod oss;
mod world;

use std::time::{Duration, Instant};

use http::StatusCode;

pub(crate) use self::drive::{Timeline, World};
pub use self::oss::{FakeOss, SimResponse};
use crate::checkpoint::{Checkpoint, SourceIdentity};
use crate::config::Config;
use crate::error::{FailureKind, PlanError};
use crate::event::{Completed, Event, Failure};
use crate::inflight::BodyRead;
use oss_model::OssRequest;
use oss_model::crc64::crc64;

use crate::request::{Op, OpKind, RequestId};
use crate::rng::SplitMix64;
use crate::upload::Upload;

/// Fault probabilities (each 0.0..=1.0, per request) and network timing.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Faults {
    /// OSS answers 500/503 without acting.
    pub server_error: f64,
    /// The connection resets before OSS acts.
    pub reset: f64,
    /// The request times out before OSS acts.
    pub timeout: f64,
    /// OSS acts but the answer is lost (the driver times out).
    pub lost_response: f64,
    /// The answer is delivered twice.
    pub duplicate: f64,
    /// One byte of a part body is flipped in transit (OSS stores the damaged bytes).
    pub corrupt_body: f64,
    /// OSS answers 403 RequestTimeTooSkewed.
    pub skew: f64,
    /// Latency is uniform in `0..=max_latency` (so answers arrive out of order).
    pub max_latency: Duration,
    /// The driver's request timeout.
    pub request_timeout: Duration,
}

impl Faults {
    /// A perfect network.
    pub fn none() -> Self {
        Self {
            server_error: 0.0,
            reset: 0.0,
            timeout: 0.0,
            lost_response: 0.0,
            duplicate: 0.0,
            corrupt_body: 0.0,
            skew: 0.0,
            max_latency: Duration::from_millis(50),
            request_timeout: Duration::from_secs(30),
        }
    }

    /// Every fault at a few percent.
    pub fn flaky() -> Self {
        Self {
            server_error: 0.05,
            reset: 0.03,
            timeout: 0.02,
            lost_response: 0.03,
            duplicate: 0.05,
            corrupt_body: 0.03,
            skew: 0.01,
            ..Self::none()
        }
    }
}

/// A fault scripted for the next request of one kind ([`Sim::inject`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// OSS answers 503 without acting.
    ServerError,
    /// The connection resets before OSS acts.
    Reset,
    /// The request times out before OSS acts.
    Timeout,
    /// OSS acts; the answer is lost and the driver times out.
    LostResponse,
    /// OSS acts; the answer arrives twice.
    Duplicate,
    /// One byte of the body is flipped in transit.
    CorruptBody,
    /// OSS answers with this status and error code without acting.
    Error(u16, &'static str),
}

/// How a simulated upload ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// [`Event::Completed`].
    Completed(Completed),
    /// [`Event::Failed`].
    Failed(Failure),
    /// [`Event::Aborted`].
    Aborted,
    /// Nothing left to do but no terminal event (a bug in the machine).
    Stalled,
}

impl Outcome {
    /// True for [`Outcome::Completed`].
    pub fn is_completed(&self) -> bool {
        matches!(self, Self::Completed(_))
    }
}

/// [`Sim::drive_bounded`] ran out of steps: the machine keeps working without finishing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no terminal event after {steps} steps (livelock?)")]
#[non_exhaustive]
pub struct Livelock {
    /// Steps taken.
    pub steps: u64,
}

#[derive(Debug)]
pub(crate) enum Delivery {
    /// The answer to `Op::CheckSource`: whether the source differs from when the machine
    /// started (tests change it with [`Sim::source_mut`]).
    SourceChecked {
        id: RequestId,
        changed: Option<String>,
    },
    Arrive {
        id: RequestId,
        req: OssRequest,
        body: Vec<u8>,
        fault: Option<Fault>,
    },
    Response {
        id: RequestId,
        resp: SimResponse,
    },
    Failure {
        id: RequestId,
        kind: FailureKind,
    },
    Hash {
        id: RequestId,
        crc: Option<u64>,
    },
}

/// The simulated driver + network + clock around one [`Upload`] and a [`FakeOss`].
#[derive(Debug)]
pub struct Sim {
    /// The fake service (inspect objects, forget uploads, tamper parts).
    pub oss: FakeOss,
    /// Fault settings (may be changed between steps).
    pub faults: Faults,
    /// The machine under test.
    pub upload: Upload,
    source: Vec<u8>,
    /// CRC-64 of the source when the machine started, to answer `Op::CheckSource`.
    source_crc: u64,
    rng: SplitMix64,
    timeline: Timeline<Delivery, Event>,
    outcome: Option<Outcome>,
    checkpoint: Option<Checkpoint>,
    last_confirmed: u64,
    script: Vec<(OpKind, Fault)>,
    trace: Vec<String>,
}

impl Sim {
    /// A simulation of `upload` sending `source`; `seed` drives latency and faults.
    pub fn new(upload: Upload, source: Vec<u8>, faults: Faults, seed: u64) -> Self {
        let sim = Self {
            oss: FakeOss::new(),
            faults,
            timeline: Timeline::new(upload_now(&upload)),
            upload,
            source_crc: crc64(&source),
            source,
            rng: SplitMix64::new(seed ^ 0xA5A5_A5A5_A5A5_A5A5),
            outcome: None,
            checkpoint: None,
            last_confirmed: 0,
            script: Vec::new(),
            trace: Vec::new(),
        };
        // Nothing is polled yet, so faults can still be scripted for the first request.
        sim
    }

    /// A compact, deterministic log of requests started (`> …`), answers delivered (`< …`) and
    /// events (`! …`), for snapshot tests.
    pub fn trace(&self) -> &[String] {
        &self.trace
    }

    /// Scripts `fault` for the next request of kind `op` (in addition to random faults).
    pub fn inject(&mut self, op: OpKind, fault: Fault) {
        self.script.push((op, fault));
    }

    fn scripted(&mut self, op: OpKind) -> Option<Fault> {
        let i = self.script.iter().position(|(k, _)| *k == op)?;
        Some(self.script.remove(i).1)
    }

    /// Mutable source bytes (simulate a local file edited between runs).
    pub fn source_mut(&mut self) -> &mut Vec<u8> {
        &mut self.source
    }

    /// Virtual now.
    pub fn now(&self) -> Instant {
        self.timeline.now
    }

    /// Every event seen so far.
    pub fn events(&self) -> &[Event] {
        &self.timeline.events
    }

    /// The terminal outcome, once reached.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// The checkpoint last persisted (on [`Event::CheckpointChanged`]).
    pub fn last_checkpoint(&self) -> Option<&Checkpoint> {
        self.checkpoint.as_ref()
    }

    /// Source bytes.
    pub fn source(&self) -> &[u8] {
        &self.source
    }

    /// Simulates a crash of the driver: everything in transit is lost (requests not yet arrived
    /// never reach OSS), and a new machine resumes from the last persisted checkpoint, or starts
    /// from scratch (with checkpointing, unless the source is a stream) when none was persisted.
    ///
    /// # Errors
    /// Whatever the resume constructor reports.
    pub fn crash_and_resume(&mut self, config: Config, seed: u64) -> Result<(), PlanError> {
        self.timeline.clear();
        self.timeline.now += Duration::from_secs(1);
        let identity = SourceIdentity::new(self.source.len() as u64);
        let upload = match &self.checkpoint {
            Some(cp) => Upload::from_checkpoint(cp, &identity, config, self.timeline.now, seed)?,
            None if self.upload.plan().is_stream() => {
                let plan = self.upload.plan().clone();
                Upload::new(
                    self.upload.target().clone(),
                    plan,
                    config,
                    self.timeline.now,
                    seed,
                )?
            }
            None => {
                let plan = self.upload.plan().clone();
                let target = self.upload.target().clone();
                Upload::with_checkpointing(target, plan, config, identity, self.timeline.now, seed)?
            }
        };
        self.upload = upload;
        self.source_crc = crc64(&self.source);
        self.outcome = None;
        self.last_confirmed = 0;
        Ok(())
    }

    fn push(&mut self, at: Instant, d: Delivery) {
        self.timeline.push(at, d);
    }

    fn latency(&mut self) -> Duration {
        drive::latency(&mut self.rng, self.faults.max_latency)
    }

    fn read(&self, range: &std::ops::Range<u64>) -> (Vec<u8>, bool) {
        let len = self.source.len() as u64;
        let start = range.start.min(len) as usize;
        let end = range.end.min(len) as usize;
        (self.source[start..end].to_vec(), end as u64 == len)
    }

    /// One step: jump the clock to the earliest delivery or machine deadline and process it, then
    /// drain. Returns `false` when nothing is pending.
    ///
    /// # Panics
    /// When the machine breaks an invariant: progress decreasing or exceeding the total. That is
    /// the point of the harness.
    pub fn step(&mut self) -> bool {
        drive::step(self)
    }

    /// Runs until a terminal event and nothing is pending (late duplicates are delivered too).
    pub fn drive(&mut self) -> Outcome {
        while drive::step(self) {}
        self.outcome.clone().unwrap_or(Outcome::Stalled)
    }

    /// Like [`drive`](Self::drive) but fails after `max_steps` steps.
    ///
    /// # Errors
    /// [`Livelock`] when the bound is hit.
    pub fn drive_bounded(&mut self, max_steps: u64) -> Result<Outcome, Livelock> {
        drive::drive_bounded(self, max_steps)?;
        Ok(self.outcome.clone().unwrap_or(Outcome::Stalled))
    }

    /// Runs at most `steps` steps (for crash tests). Returns `true` if work remains.
    pub fn run_for(&mut self, steps: u64) -> bool {
        drive::run_for(self, steps)
    }
}

fn upload_now(upload: &Upload) -> Instant {
    upload.now()
}
