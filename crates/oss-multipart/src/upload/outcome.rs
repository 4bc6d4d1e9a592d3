//! Outcome: the machine's events turned into progress reports, checkpoint saves, and finally
//! the upload's output or error. Decides nothing about the upload itself: whether a failure is
//! resumable, aborted or kept is the machine's verdict ([`Failure::resumable`]).

use std::path::PathBuf;
use std::time::Instant;

use oss_multipart_core::{Event, Failure, FailurePolicy, RequestId, Upload, UploadError};
use oss_transport::{DigestHandle, TransportError};

use super::prepare::Prepared;
use super::{ProgressFn, UploadOutput};
use crate::checkpoint_store;
use crate::client::Client;
use crate::error::{Cancelled, Error, IntegrityError, ResponseFailure, UploadFailure};
use crate::manual::CallbackReply;
use crate::progress::{Gauge, OnTheWire, Progress, REPORT_EVERY, RateMeter};

/// What the driver learns over the upload, to report progress and build the result.
pub(super) struct Outcome {
    bucket: String,
    key: String,
    checkpoint_path: Option<PathBuf>,
    progress_fn: Option<ProgressFn>,
    meter: RateMeter,
    progress: Progress,
    /// The part requests on the wire and their byte counters.
    wire: OnTheWire,
    /// Events changed the progress since the last report.
    changed: bool,
    last_report: Instant,
    parts_reused: u32,
    /// Bytes of the parts reused: confirmed without moving.
    bytes_reused: u64,
    resumed: bool,
    aborted_upload_id: Option<String>,
    /// The upload id the checkpoint on disk names, once saved.
    journaled_upload_id: Option<String>,
    is_stream: bool,
    /// `x-oss-request-id` of the request that created the object.
    pub(super) final_request_id: Option<String>,
    /// Whether a callback was set: the reply of the request that created the object is then
    /// the callback's.
    pub(super) expects_callback: bool,
    /// That reply.
    pub(super) callback: Option<CallbackReply>,
    /// The last transport error, the detail behind an `UploadError::Transport`.
    pub(super) last_transport_error: Option<TransportError>,
    /// The failure behind an `UploadError::Local` the driver reported with `fail_local`.
    pub(super) local_cause: Option<Error>,
}

impl Outcome {
    pub(super) fn new(p: &Prepared, progress_fn: Option<ProgressFn>, now: Instant) -> Self {
        let up = &p.up;
        Self {
            bucket: p.bucket.clone(),
            key: p.key.clone(),
            checkpoint_path: p.checkpoint_path.clone(),
            progress_fn,
            meter: RateMeter::new(now, 0),
            progress: Progress::start(up.progress().total, up.plan().part_count()),
            wire: OnTheWire::default(),
            changed: false,
            last_report: now,
            parts_reused: 0,
            bytes_reused: 0,
            resumed: p.resumed,
            aborted_upload_id: p.aborted_upload_id.clone(),
            journaled_upload_id: None,
            is_stream: p.stream.is_some(),
            final_request_id: None,
            expects_callback: false,
            callback: None,
            last_transport_error: None,
            local_cause: None,
        }
    }

    /// A part request went on the wire; `gauge` counts its body's bytes as they leave.
    pub(super) fn part_started(&mut self, id: RequestId, gauge: Option<DigestHandle>) {
        self.progress.parts_in_flight += 1;
        if let Some(g) = gauge {
            self.wire.start(id, Gauge::Body(g));
        }
    }

    /// A part request's answer (or failure) reached the loop: its bytes are confirmed by the
    /// events that follow, or will be sent again. Returns the bytes its body had handed to
    /// the connection.
    pub(super) fn part_ended(&mut self, id: RequestId) -> Option<u64> {
        let n = &mut self.progress.parts_in_flight;
        *n = n.saturating_sub(1);
        self.wire.end(id)
    }

    /// When the next periodic report is due: a quarter of a second after the last report,
    /// while someone listens and bytes are moving.
    pub(super) fn next_tick(&self) -> Option<Instant> {
        (self.progress_fn.is_some() && !self.wire.is_empty())
            .then(|| self.last_report + REPORT_EVERY)
    }

    /// The periodic report while parts are on the wire.
    pub(super) fn tick(&mut self, now: Instant) {
        self.report(now);
    }

    /// Reports what the events drained since the last call changed, in one consistent report.
    pub(super) fn report_changes(&mut self, now: Instant) {
        if std::mem::take(&mut self.changed) {
            self.report(now);
        }
    }

    /// The error for a cancellation that keeps the parts (the checkpoint is saved first).
    pub(super) async fn cancelled_keeping_parts(&mut self, up: &Upload) -> Error {
        self.save_checkpoint(up).await;
        Error::Cancelled(Cancelled {
            upload_id: up.upload_id().map(str::to_owned),
            checkpoint: self.checkpoint_path.clone(),
        })
    }

    /// Saves the checkpoint when the machine has an upload id the checkpoint on disk does not
    /// name yet (just initiated, or restarted).
    pub(super) async fn journal_upload_id(&mut self, up: &Upload) {
        let Some(id) = up.upload_id().filter(|_| self.checkpoint_path.is_some()) else {
            return;
        };
        if self.journaled_upload_id.as_deref() != Some(id) {
            self.journaled_upload_id = Some(id.to_owned());
            self.save_checkpoint(up).await;
        }
    }

    /// Saves the checkpoint; a failure is reported in the progress (the next report carries
    /// it) and the upload goes on, with the last saved checkpoint on disk.
    pub(super) async fn save_checkpoint(&mut self, up: &Upload) {
        if let (Some(path), Some(cp)) = (&self.checkpoint_path, up.checkpoint()) {
            match checkpoint_store::save(path, &cp).await {
                Ok(()) => self.progress.checkpoint_error = None,
                Err(e) => {
                    tracing::warn!(error = %e, "could not save the checkpoint");
                    let why = match std::error::Error::source(&e) {
                        Some(cause) => format!("{e}: {cause}"),
                        None => e.to_string(),
                    };
                    self.progress.checkpoint_error = Some(why);
                }
            }
        }
    }

    fn report(&mut self, now: Instant) {
        self.last_report = now;
        self.progress
            .measure(&self.wire, &mut self.meter, now, self.bytes_reused);
        if let Some(f) = &self.progress_fn {
            f(&self.progress);
        }
    }

    /// Reacts to one event; `Some` ends the upload with that result.
    pub(super) async fn on_event(
        &mut self,
        up: &Upload,
        ev: Event,
        now: Instant,
    ) -> Option<Result<UploadOutput, Error>> {
        match ev {
            Event::UploadId(id) => tracing::debug!(upload_id = %id, "multipart upload id"),
            // Shown once the round's events are all in (`report_changes`): a part and its
            // bytes arrive as two events, and a report between them would disagree.
            Event::Progress(p) => {
                self.progress.bytes_done = p.confirmed;
                self.progress.bytes_total = p.total.or(self.progress.bytes_total);
                self.changed = true;
            }
            Event::PartDone { resumed, len, .. } => {
                self.progress.parts_done += 1;
                self.parts_reused += u32::from(resumed);
                if resumed {
                    self.bytes_reused += len;
                }
                self.progress.parts_total = up.plan().part_count().or(self.progress.parts_total);
                self.changed = true;
            }
            Event::Retried {
                op,
                part_number,
                attempt,
                delay,
                reason,
                ..
            } => {
                self.progress.retries += 1;
                tracing::info!(op = op.name(), ?part_number, attempt, ?delay, error = %reason, "retrying");
            }
            Event::Restarted => {
                tracing::info!("the upload was gone on the server: started a new one");
                self.resumed = false;
                self.parts_reused = 0;
                self.bytes_reused = 0;
            }
            Event::CheckpointChanged => self.save_checkpoint(up).await,
            Event::Completed(c) => {
                if let Some(p) = &self.checkpoint_path
                    && let Err(e) = checkpoint_store::remove(p).await
                {
                    tracing::debug!(error = %e, "could not remove the checkpoint");
                }
                self.progress.bytes_total = Some(c.size);
                self.progress.bytes_done = c.size;
                self.report(now);
                let parts = if self.is_stream {
                    self.progress.parts_done.max(1)
                } else {
                    up.plan()
                        .part_count()
                        .unwrap_or(self.progress.parts_done)
                        .max(1)
                };
                return Some(Ok(UploadOutput {
                    bucket: self.bucket.clone(),
                    key: self.key.clone(),
                    upload_id: c.upload_id,
                    etag: c.etag,
                    crc64: c.crc64,
                    size: c.size,
                    parts,
                    parts_reused: self.parts_reused,
                    resumed: self.resumed,
                    request_id: self.final_request_id.clone(),
                    aborted_upload_id: self.aborted_upload_id.clone(),
                    callback: self.callback.take(),
                    crc64_known: c.crc64_known,
                }));
            }
            Event::Failed(f) => return Some(Err(self.failed(up, f).await)),
            // Only our own `abort` (on cancellation) leads here.
            Event::Aborted => {
                return Some(Err(Error::Cancelled(Cancelled {
                    upload_id: None,
                    checkpoint: None,
                })));
            }
            _ => {}
        }
        None
    }

    async fn failed(&mut self, up: &Upload, f: Failure) -> Error {
        if f.resumable {
            self.save_checkpoint(up).await;
        }
        let Failure {
            error,
            resumable,
            upload_id,
            ..
        } = f;
        Error::Upload(UploadFailure {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            upload_id: if resumable { upload_id } else { None },
            checkpoint: if resumable {
                self.checkpoint_path.clone()
            } else {
                None
            },
            parts_done: self.progress.parts_done,
            source: Box::new(self.cause(error)),
        })
    }

    /// The façade error behind a core error.
    fn cause(&mut self, e: UploadError) -> Error {
        match e {
            UploadError::Service { op, error } => Error::service(op.name(), error),
            UploadError::Transport { op, .. } => match self.last_transport_error.take() {
                Some(t) => Error::transport(op.name(), t, 1),
                None => Error::io(
                    "transport failure",
                    None,
                    std::io::Error::other(format!("{} failed", op.name())),
                ),
            },
            UploadError::PartCrcMismatch {
                part_number,
                sent,
                stored,
            } => Error::Integrity(IntegrityError::Crc64Mismatch {
                what: format!("part {part_number}"),
                local: sent,
                server: stored,
            }),
            UploadError::ObjectCrcMismatch { expected, reported } => {
                Error::Integrity(IntegrityError::Crc64Mismatch {
                    what: "object".to_owned(),
                    local: expected,
                    server: reported,
                })
            }
            UploadError::SourceChanged {
                part_number,
                expected,
                read,
            } => Error::Integrity(IntegrityError::SourceChanged {
                reason: format!("part {part_number}: read {read} bytes, expected {expected}"),
            }),
            UploadError::SourceModified { reason } => {
                Error::Integrity(IntegrityError::SourceChanged {
                    reason: format!(
                        "{reason}; the object was not completed: upload the file again once \
                         nothing modifies it"
                    ),
                })
            }
            UploadError::CopySourceChanged { etag } => {
                Error::Integrity(IntegrityError::CopySourceChanged { etag })
            }
            UploadError::Local { reason } => self.local_cause.take().unwrap_or_else(|| {
                Error::io(
                    "the upload failed locally",
                    None,
                    std::io::Error::other(reason),
                )
            }),
            UploadError::RetriesExhausted { last } => self.cause(*last),
            other => Error::Response(ResponseFailure {
                operation: "upload",
                what: "the upload failed",
                source: Some(Box::new(other)),
            }),
        }
    }
}

/// Aborts the multipart upload when the upload future is dropped mid-way, under the
/// machine's [`FailurePolicy::Abort`]. Disarmed at the loop's one exit.
pub(super) struct AbortOnDrop {
    client: Client,
    bucket: String,
    key: String,
    upload_id: Option<String>,
}

impl AbortOnDrop {
    /// Disarmed until [`track`](Self::track) sees an upload id under the Abort policy.
    pub(super) fn new(client: Client, bucket: String, key: String) -> Self {
        Self {
            client,
            bucket,
            key,
            upload_id: None,
        }
    }
}

impl AbortOnDrop {
    /// Follows the machine: its upload id, and whether its parts are to be kept.
    pub(super) fn track(&mut self, up: &Upload) {
        self.upload_id = match up.failure_policy() {
            FailurePolicy::Abort => up.upload_id().map(str::to_owned),
            _ => None,
        };
    }

    pub(super) fn disarm(mut self) {
        self.upload_id = None;
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        let Some(id) = self.upload_id.take() else {
            return;
        };
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let client = self.client.clone();
        let (bucket, key) = (
            std::mem::take(&mut self.bucket),
            std::mem::take(&mut self.key),
        );
        tracing::info!(bucket = %bucket, key = %key, upload_id = %id, "upload dropped: aborting it");
        handle.spawn(async move {
            if let Err(e) = client.abort_upload(&bucket, &key, &id).await {
                tracing::warn!(error = %e, "best-effort abort after drop failed");
            }
        });
    }
}
