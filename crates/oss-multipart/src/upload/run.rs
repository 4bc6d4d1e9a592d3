//! Run: the tokio loop that executes exactly what the `oss-multipart-core` machine polls.
//!
//! After every input it drains requests (each started as a task in a `JoinSet`), re-arms the
//! one timer from `poll_timeout`, then drains events into the [`Outcome`]. It makes no decision
//! about concurrency, retries, backoff, resume or failure policy: failures it finds itself (a
//! source that cannot be read or changed) go to the machine through `fail_local`, which
//! applies the policy. What it owns: bytes (file ranges streamed with positional reads, stream
//! parts buffered until confirmed), signing at send time, cancellation/pause plumbing and the
//! drop guard.

use std::collections::HashMap;
use std::fs::File;
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use http::{HeaderName, HeaderValue};
use oss_model::OssRequest;
use oss_multipart_core::{
    BodyRead, Event, FailureKind, FailurePolicy, Op, OpKind, Request, RequestId, Upload,
    UploadError,
};
use oss_transport::{
    DigestHandle, Digests, FileRange, RateLimiter, RetireSlowConnections, TransportError,
};
use tokio::task::{AbortHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::outcome::{AbortOnDrop, Outcome};
use super::prepare::{Prepared, prepare};
use super::source::{FileStamp, StreamSource, hash_range, md5_chunks, md5_range, source_change};
use super::{PauseHandle, ProgressFn, UploadBuilder, UploadOutput};
use crate::client::{Client, MAX_XML_RESPONSE, RawResponse, failure_kind, log_attempt, seed};
use crate::error::Error;
use crate::manual::CallbackReply;
use crate::transport::RequestBody;

pub(super) async fn run(b: UploadBuilder) -> Result<UploadOutput, Error> {
    let span = tracing::info_span!("oss_upload", bucket = %b.bucket, key = %b.key);
    run_inner(b).instrument(span).await
}

/// What a finished task reports back to the loop.
enum Done {
    Http {
        id: RequestId,
        op: OpKind,
        result: Result<RawResponse, TransportError>,
        /// For file part bodies: what was read and sent (known once the body ended).
        body_read: Option<BodyRead>,
    },
    Hash {
        id: RequestId,
        crc: Option<u64>,
    },
}

/// Executes request intents: bodies, signing, tasks.
struct Driver {
    client: Client,
    file: Option<Arc<File>>,
    stream: Option<StreamSource>,
    limiter: Option<RateLimiter>,
    source_stamp: Option<FileStamp>,
    tasks: JoinSet<Done>,
    /// Part requests in flight, to stop one the machine cancels (its hedge won).
    parts: HashMap<RequestId, AbortHandle>,
    /// Carried by every part: a connection that took longer than the machine's straggler
    /// threshold for a part is not handed to the next one.
    retire: RetireSlowConnections,
}

async fn run_inner(mut b: UploadBuilder) -> Result<UploadOutput, Error> {
    let client = b.client.clone();
    let rt = client.inner.runtime.clone();
    let prepared = prepare(&mut b, rt.now(), seed(rt.system_time())).await?;
    let hooks = Hooks {
        progress: b.progress.clone(),
        expects_callback: b.options.has_callback(),
        bandwidth_limit: b.bandwidth_limit,
        cancellation: b.cancellation.clone(),
        pause: b.pause.clone(),
    };
    drive(client, prepared, hooks).await
}

/// What the loop takes from a builder besides the started machine.
pub(crate) struct Hooks {
    pub(crate) progress: Option<ProgressFn>,
    /// A callback is set: the reply of the request that creates the object is the callback's.
    pub(crate) expects_callback: bool,
    pub(crate) bandwidth_limit: Option<u64>,
    pub(crate) cancellation: Option<CancellationToken>,
    pub(crate) pause: Option<PauseHandle>,
}

/// Runs a started machine to its end: an upload of local bytes or a server-side copy (whose
/// intents carry no body).
pub(crate) async fn drive(
    client: Client,
    prepared: Prepared,
    hooks: Hooks,
) -> Result<UploadOutput, Error> {
    let rt = client.inner.runtime.clone();
    let mut out = Outcome::new(&prepared, hooks.progress.clone(), rt.now());
    out.expects_callback = hooks.expects_callback;
    let Prepared {
        mut up,
        bucket,
        key,
        file,
        stream,
        source_stamp,
        ..
    } = prepared;
    let is_stream = stream.is_some();
    let mut d = Driver {
        client: client.clone(),
        file,
        stream,
        limiter: hooks.bandwidth_limit.map(RateLimiter::new),
        source_stamp,
        tasks: JoinSet::new(),
        parts: HashMap::new(),
        retire: RetireSlowConnections::default(),
    };
    let mut guard = AbortOnDrop::new(client, bucket, key);
    let cancel = hooks.cancellation.clone().unwrap_or_default();
    let mut cancel_armed = true;
    let mut pause_rx = hooks.pause.as_ref().map(PauseHandle::subscribe);
    // Stream parts are read only after the events of the same round were handled: a part
    // confirmed in this round frees its buffer first, so buffered bytes never exceed the
    // budget by one part.
    let mut deferred_reads: Vec<Request> = Vec::new();
    // Losers of part races and the bytes each had sent, reported after the events.
    let mut cancelled: Vec<(RequestId, u64)> = Vec::new();

    let result = 'run: loop {
        // The guard must know the upload id as soon as the machine does.
        guard.track(&up);
        // Read by the transport as each part ends.
        d.retire.set(up.straggler_threshold());
        // A new upload id is journaled before any of its parts is sent: a crash from then on
        // leaves a checkpoint that resumes (or aborts) the upload instead of leaking it.
        out.journal_upload_id(&up).await;
        // 1. Requests.
        while let Some(req) = up.poll_request() {
            if is_stream && req.op.kind().sends_source_bytes() {
                deferred_reads.push(req);
            } else {
                d.start(&mut up, &mut out, req).await;
            }
        }
        // 2. Timer.
        let timeout = up.poll_timeout().map(|t| t.at);
        // 3. Events.
        while let Some(ev) = up.poll_event() {
            if let (Event::PartDone { part_number, .. }, Some(s)) = (&ev, d.stream.as_mut()) {
                s.buffered.remove(part_number);
            }
            if let Event::Cancel { id, part_number } = &ev {
                tracing::debug!(
                    part = part_number,
                    "part attempt cancelled: another attempt of the part won"
                );
                if let Some(sent) = d.cancel(*id, &mut out) {
                    cancelled.push((*id, sent));
                }
            }
            if let Some(result) = out.on_event(&up, ev, rt.now()).await {
                break 'run result;
            }
        }
        out.report_changes(rt.now());
        guard.track(&up);
        if !cancelled.is_empty() {
            for (id, sent) in std::mem::take(&mut cancelled) {
                up.handle_cancelled(id, rt.now(), sent);
            }
            continue; // an input: drain again
        }
        if !deferred_reads.is_empty() {
            for req in std::mem::take(&mut deferred_reads) {
                // After a failure the machine forgot the other reads.
                if !d.start(&mut up, &mut out, req).await {
                    break;
                }
            }
            // Reading reported the body to the machine (an input): drain again.
            continue;
        }

        let sleep = async {
            match timeout {
                Some(at) => rt.sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        // Reports of the bytes on the wire between the machine's events.
        let tick_at = out.next_tick();
        let tick = async {
            match tick_at {
                Some(at) => rt.sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let pause_changed = async {
            match pause_rx.as_mut() {
                Some(rx) => rx.changed().await.is_ok(),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            () = cancel.cancelled(), if cancel_armed => {
                cancel_armed = false;
                tracing::info!("upload cancelled");
                if up.failure_policy() == FailurePolicy::Keep {
                    d.tasks.abort_all();
                    break 'run Err(out.cancelled_keeping_parts(&up).await);
                }
                up.abort(rt.now());
            }
            Some(joined) = d.tasks.join_next() => match joined {
                Ok(done) => d.feed(&mut up, &mut out, done, rt.now()),
                // A part the machine cancelled: it knows, nothing to report.
                Err(e) if e.is_cancelled() => {}
                // A task panicked: its request will never be answered.
                Err(e) => {
                    let e = Error::io("an upload task failed", None, std::io::Error::other(e.to_string()));
                    fail_local(&mut up, &mut out, rt.now(), e);
                }
            },
            () = sleep => up.handle_timeout(rt.now()),
            () = tick => out.tick(rt.now()),
            ok = pause_changed => {
                if ok {
                    let paused = pause_rx.as_ref().is_some_and(|rx| *rx.borrow());
                    if paused { up.pause(rt.now()) } else { up.resume(rt.now()) }
                } else {
                    pause_rx = None;
                }
            }
        }
    };
    guard.disarm();
    result
}

/// Hands a failure found by the driver to the machine, which applies the failure policy;
/// `out` keeps the detailed error to report.
fn fail_local(up: &mut Upload, out: &mut Outcome, now: Instant, e: Error) {
    tracing::info!(error = %e, "upload stopped by a local failure");
    let reason = e.to_string();
    out.local_cause.get_or_insert(e);
    up.fail_local(now, UploadError::Local { reason });
}

impl Driver {
    fn source_change(&self) -> Option<String> {
        source_change(self.file.as_deref()?, self.source_stamp?)
    }

    /// Starts one request intent (signing happens here, at send time). A request that cannot
    /// be started fails the upload through the machine; returns whether it started.
    async fn start(&mut self, up: &mut Upload, out: &mut Outcome, req: Request) -> bool {
        let id = req.id;
        match self.try_start(up, out, req).await {
            Ok(()) => true,
            Err(e) => {
                let now = self.client.inner.runtime.now();
                fail_local(up, out, now, e);
                // The id is answered, whatever the machine still expects of it.
                up.handle_failure(id, now, FailureKind::Other);
                false
            }
        }
    }

    async fn try_start(
        &mut self,
        up: &mut Upload,
        out: &mut Outcome,
        req: Request,
    ) -> Result<(), Error> {
        let id = req.id;
        let op = req.op.kind();
        let now = self.client.inner.runtime.now();
        match &req.op {
            Op::HashRange { part_number, range } => {
                let Some(file) = self.file.clone() else {
                    up.handle_hash(id, now, None);
                    return Ok(());
                };
                let (off, len) = (range.start, range.end.saturating_sub(range.start));
                let span = tracing::debug_span!("oss_part_verify", part = part_number);
                self.tasks.spawn(
                    async move {
                        let crc = hash_range(file, off, len).await.ok();
                        Done::Hash { id, crc }
                    }
                    .instrument(span),
                );
                return Ok(());
            }
            Op::CheckSource => {
                up.handle_source_check(id, now, self.source_change());
                return Ok(());
            }
            _ => {}
        }
        let mut oss = match req.to_oss_request() {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(()),
            Err(e) => return Err(Error::config("upload", e.to_string())),
        };
        let (body, digest, part_number) = match &req.op {
            Op::UploadPart {
                part_number: n,
                range,
                content_md5,
                ..
            } => {
                let (body, digest) = self
                    .part_body(up, id, *n, range.clone(), *content_md5, &mut oss)
                    .await?;
                (body, digest, Some(*n))
            }
            Op::PutObject { range, content_md5 } => {
                let (body, digest) = self
                    .part_body(up, id, 1, range.clone(), *content_md5, &mut oss)
                    .await?;
                (body, digest, Some(1))
            }
            _ => (RequestBody::from_bytes(oss.body.clone()), None, None),
        };
        let body = match (&self.limiter, op.sends_source_bytes()) {
            (Some(l), true) => body.rate_limited(l.clone()),
            _ => body,
        };
        let mut request = self.client.signed(&oss, body).await?;
        if op.sends_source_bytes() {
            request.extensions_mut().insert(self.retire.clone());
        }
        if op.is_part() {
            out.part_started(id, digest.clone());
        }
        let http_client = self.client.inner.http.clone();
        let span = match part_number {
            Some(n) => {
                tracing::debug_span!("oss_part", part = n, op = op.name(), method = %oss.method)
            }
            None => tracing::debug_span!("oss_op", op = op.name(), method = %oss.method),
        };
        let runtime = self.client.inner.runtime.clone();
        let task = self.tasks.spawn(
            async move {
                let sent = runtime.now();
                let result = match http_client.send(request).await {
                    Ok(resp) => {
                        let (parts, body) = resp.into_parts();
                        body.collect_bounded(MAX_XML_RESPONSE)
                            .await
                            .map(|b| RawResponse {
                                status: parts.status,
                                headers: parts.headers,
                                body: b,
                            })
                    }
                    Err(e) => Err(e),
                };
                log_attempt(&result, 1, runtime.now().saturating_duration_since(sent));
                let body_read = digest.and_then(|h| h.result()).and_then(|r| {
                    r.crc64().map(|crc64| BodyRead {
                        len: r.len(),
                        crc64,
                        end_of_stream: false,
                    })
                });
                Done::Http {
                    id,
                    op,
                    result,
                    body_read,
                }
            }
            .instrument(span),
        );
        if op.sends_source_bytes() {
            self.parts.insert(id, task);
        }
        Ok(())
    }

    /// Stops part request `id` (another attempt of its part won): its future is aborted, so
    /// its connection closes mid-body and OSS stores nothing of it.
    /// Stops part attempt `id` (another attempt of its part won); returns the bytes it had
    /// sent, which is all the hedge budget is charged for it.
    fn cancel(&mut self, id: RequestId, out: &mut Outcome) -> Option<u64> {
        let task = self.parts.remove(&id)?;
        task.abort();
        out.part_ended(id)
    }

    /// The body of a part: a digested file range, or buffered stream chunks (reported to the
    /// machine right away, since it issues the next stream part only then).
    async fn part_body(
        &mut self,
        up: &mut Upload,
        id: RequestId,
        n: u32,
        range: Range<u64>,
        content_md5: bool,
        oss: &mut OssRequest,
    ) -> Result<(RequestBody, Option<DigestHandle>), Error> {
        let len = range.end.saturating_sub(range.start);
        if let Some(file) = &self.file {
            if content_md5 {
                let md5 = md5_range(file.clone(), range.start, len)
                    .await
                    .map_err(|e| Error::io("could not read the source", None, e))?;
                set_content_md5(oss, &md5);
            }
            let body = RequestBody::file_range(FileRange::new(file.clone(), range.start, len));
            let (body, handle) = body.digested(Digests::Crc64);
            return Ok((body, Some(handle)));
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(Error::config("source", "no source"));
        };
        let part = stream
            .part(n, len)
            .await
            .map_err(|e| Error::io("could not read the source stream", None, e))?;
        if content_md5 {
            set_content_md5(oss, &md5_chunks(&part.chunks));
        }
        let read = BodyRead {
            len: part.len,
            crc64: part.crc64,
            end_of_stream: part.end_of_stream,
        };
        up.handle_body_read(id, self.client.inner.runtime.now(), read);
        // Counted only (the CRC is known already): a gauge of the bytes on the wire.
        let (body, gauge) = RequestBody::from_chunks(part.chunks).counted();
        Ok((body, Some(gauge)))
    }

    /// Hands a finished task's outcome to the machine.
    fn feed(&mut self, up: &mut Upload, out: &mut Outcome, done: Done, now: Instant) {
        let (id, op, result, body_read) = match done {
            Done::Hash { id, crc } => return up.handle_hash(id, now, crc),
            Done::Http {
                id,
                op,
                result,
                body_read,
            } => (id, op, result, body_read),
        };
        if op.is_part() {
            self.parts.remove(&id);
            out.part_ended(id);
        }
        match result {
            Ok(raw) => {
                if let Some(read) = body_read {
                    up.handle_body_read(id, now, read);
                }
                let creates_object = matches!(
                    op,
                    OpKind::Complete | OpKind::PutObject | OpKind::CopyObject
                );
                if creates_object && raw.status.is_success() {
                    out.final_request_id = raw
                        .headers
                        .get("x-oss-request-id")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    if out.expects_callback {
                        out.callback = Some(CallbackReply::from_raw(&raw));
                    }
                }
                self.client.observe_skew(&raw);
                up.handle_response(id, now, raw.status, &raw.headers, &raw.body);
            }
            Err(e) => {
                tracing::debug!(op = op.name(), error = %e, "request failed in transport");
                // A file range that cannot be read to its end: the file shrank. That is a
                // changed source, not a network failure worth retrying.
                if op.sends_source_bytes()
                    && e.is_body()
                    && let Some(reason) = self.source_change()
                {
                    up.fail_local(now, UploadError::SourceModified { reason });
                }
                let kind = failure_kind(&e);
                out.last_transport_error = Some(e);
                up.handle_failure(id, now, kind);
            }
        }
    }
}

fn set_content_md5(oss: &mut OssRequest, md5: &str) {
    if let Ok(v) = HeaderValue::from_str(md5) {
        oss.headers
            .insert(HeaderName::from_static("content-md5"), v);
    }
}
