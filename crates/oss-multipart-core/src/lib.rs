//! # oss-multipart-core
//!
//! The whole multipart-upload logic for Alibaba Cloud OSS as a pure, deterministic, sans-IO state
//! machine ([`Upload`]) that any runtime can drive: tokio, a blocking loop, a simulation.
//!
//! **It does:** plan parts ([`Plan`]: ≤ 10,000 parts of 100 KiB..=5 GiB, single PutObject for small
//! sources, growing part sizes for streams of unknown length under a memory budget); decide
//! concurrency (adapted to the measured throughput by default, or fixed, or strict sequential
//! order) and hedge straggling parts near the end; classify failures and schedule full-jitter exponential
//! retries from an injected seed; verify every part's CRC-64 against OSS and the combined CRC
//! against Complete's; make Complete and Abort safe to retry (HeadObject confirms a Complete whose
//! answer was lost, NoSuchUpload on Abort counts as done); keep a versioned serde [`Checkpoint`]
//! and resume from it, or from a bare upload id, reusing only parts whose server ETag/CRC match
//! and whose local bytes still hash to that CRC; report progress that never goes backwards.
//! The same machine copies objects server-side ([`Upload::copy`], a [`CopySource`]):
//! UploadPartCopy parts pinned to the source's ETag, or one CopyObject, with no byte through
//! the driver.
//!
//! Downloads have their own machine, [`Download`] (module [`download`]), with the same contract:
//! HEAD, ranged GETs pinned to the ETag with `If-Match`, only the missing rest of a cut body
//! fetched again, per-range CRC-64s combined and compared with the object's, a versioned
//! [`DownloadCheckpoint`] whose ranges are re-hashed before they are trusted on resume.
//!
//! **It does not:** open sockets or files, read clocks, generate randomness, sign requests,
//! choose endpoints or addressing, compute `Content-MD5` (it asks the driver to), or buffer part
//! bytes. Time and a seed are inputs; the driver reads bytes and reports their CRC-64.
//!
//! The façade crate `oss-multipart` drives this with tokio; this crate's API may move faster.
//!
//! ## Example: a complete upload against the in-memory fake
//!
//! ```
//! use std::time::Instant;
//! use oss_multipart_core::sim::{Faults, Outcome, Sim};
//! use oss_multipart_core::{Config, Event, Plan, PlanOptions, SourceSize, Target, Upload};
//!
//! // 1 MiB + 5 bytes, 256 KiB parts => 5 parts.
//! let source: Vec<u8> = (0..1_048_581u32).map(|i| (i * 7 % 256) as u8).collect();
//! let opts = PlanOptions::default().with_part_size(256 * 1024).with_single_put_threshold(0);
//! let plan = Plan::new(SourceSize::Known(source.len() as u64), &opts)?;
//! assert_eq!(plan.part_count(), Some(5));
//!
//! let target = Target::new("my-bucket", "backups/db.dump")?;
//! let upload = Upload::new(target, plan, Config::default(), Instant::now(), /* seed */ 42)?;
//!
//! // The Sim is the driver: it polls requests, "sends" them to a FakeOss over a network that
//! // loses, duplicates and corrupts a few percent of messages, and jumps a virtual clock.
//! let mut sim = Sim::new(upload, source.clone(), Faults::flaky(), 42);
//! let Outcome::Completed(done) = sim.drive_bounded(100_000)? else { panic!("upload failed") };
//!
//! assert_eq!(done.size, source.len() as u64);
//! assert_eq!(done.crc64, oss_multipart_core::crc64(&source));
//! assert_eq!(sim.oss.object("my-bucket", "backups/db.dump"), Some(&source[..]));
//! assert!(sim.events().iter().any(|e| matches!(e, Event::PartDone { part_number: 5, .. })));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Driving contract
//!
//! See [`Upload`]: after every `handle_*` call or command, drain [`Upload::poll_request`], then
//! [`Upload::poll_timeout`], then [`Upload::poll_event`]; `now` never goes backwards. Request
//! intents ([`Request`]) carry an [`Op`] and build their transport-independent
//! `oss_model::OssRequest` with [`Request::to_oss_request`]; part bodies are byte ranges of the
//! caller's source. Answers are read with `oss-model`'s operation parsers; OSS errors arrive as
//! `oss_model::ServiceError` inside [`UploadError::Service`].
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]
// Public types that may grow are `#[non_exhaustive]` (as in rustls): the lints make that a
// decision per type, and an exception carries its reason.
#![warn(clippy::exhaustive_enums, clippy::exhaustive_structs)]

mod adapt;
mod checkpoint;
mod classify;
mod config;
mod confirm;
mod copy;
pub mod download;
mod error;
mod event;
#[cfg(any(fuzzing, feature = "sim"))]
pub mod fuzz;
mod hedge;
mod inflight;
pub mod limits;
mod plan;
mod request;
mod retry;
mod rng;
mod scheduler;
#[cfg(feature = "sim")]
pub mod sim;
mod target;
mod upload;
mod wire;

pub use adapt::{AdaptiveConcurrency, DEFAULT_INITIAL_IN_FLIGHT, DEFAULT_MAX_IN_FLIGHT};
pub use checkpoint::{CHECKPOINT_VERSION, Checkpoint, JournalEntry, SourceIdentity};
pub use classify::{FailedAttempt, Retryability, classify, is_throttling};
pub use config::{Config, ExtraHeaders, FailurePolicy};
pub use confirm::ExpectedObject;
pub use copy::CopySource;
pub use error::{FailureKind, PlanError, ServiceError, UploadError};
pub use event::{Completed, Event, Failure, Progress};
pub use hedge::{Hedging, TransferStats};
pub use inflight::BodyRead;
/// CRC-64/XZ helpers, re-exported from [`oss_model::crc64`] (one implementation for the
/// workspace) so drivers need not depend on `oss-model` for them.
pub use oss_model::crc64::{Crc64, crc64, crc64_combine};
pub use plan::{PartRange, Plan, PlanOptions, STREAM_PARTS_PER_STEP, SourceSize};
pub use request::{CompletePart, Op, OpKind, Request, RequestId};
pub use retry::{Backoff, RetryPolicy};
pub use target::Target;
pub use upload::{Timeout, TimeoutReason, Upload};

// Downloads (the `download` module): the machine and its types at the crate root, like `Upload`.
pub use download::{
    ChangePolicy, DOWNLOAD_CHECKPOINT_VERSION, Download, DownloadCheckpoint, DownloadCompleted,
    DownloadConfig, DownloadError, DownloadEvent, DownloadOp, DownloadOpKind, DownloadProgress,
    DownloadRequest, ObjectInfo,
};
