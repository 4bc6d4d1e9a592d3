//! The tokio driver: executes exactly what the `oss-multipart-core` machine polls.
//!
//! The loop follows the machine's contract: after every input, drain requests (start each as a
//! task in a `JoinSet`), re-arm the one timer from `poll_timeout`, then drain events. It makes
//! no decision of its own about concurrency, retries, backoff or resume: those come from the
//! machine. What it does own: bytes (file ranges streamed with positional reads, stream parts
//! buffered until confirmed), signing at send time, checkpoint persistence, progress rate/ETA,
//! cancellation/pause plumbing and the drop guard.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue};
use oss_model::Operation as _;
use oss_model::OssRequest;
use oss_model::ops::InitiateMultipartUpload;
use oss_multipart_core::{
    BodyRead, Checkpoint, Config as CoreConfig, Event, FailureKind,
    FailurePolicy as CoreFailurePolicy, Op, Plan, PlanError, PlanOptions, Request, RequestId,
    RetryPolicy, SourceIdentity, SourceSize, Target, Upload, UploadError,
};
use oss_transport::{Digests, FileRange, RateLimiter, TransportError};
use tokio::task::JoinSet;
use tracing::Instrument as _;

use super::source::{StreamSource, hash_range, md5_chunks, md5_range};
use super::{FailurePolicy, ProgressFn, Source, Start, UploadBuilder, UploadOutput};
use crate::checkpoint_store::{self, SourceIdentity as FileIdentity};
use crate::client::{Client, MAX_XML_RESPONSE, RawResponse};
use crate::error::{Cancelled, Error, IntegrityError, UploadFailure};
use crate::progress::{Progress, RateMeter, eta};
use crate::transport::RequestBody;

/// Stream parts per doubling step of the part size (see `run_inner`).
const STREAM_PARTS_PER_STEP: u32 = 1000;

/// What a finished task reports back to the loop.
enum Done {
    Http {
        id: RequestId,
        op: &'static str,
        result: Result<RawResponse, TransportError>,
        /// For part bodies: what was read and sent (known once the body ended).
        body_read: Option<BodyRead>,
        is_part: bool,
    },
    Hash {
        id: RequestId,
        crc: Option<u64>,
    },
}

/// Aborts the multipart upload when the upload future is dropped mid-way (unless disarmed).
struct DropGuard {
    client: Client,
    bucket: String,
    key: String,
    upload_id: Option<String>,
    armed: bool,
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
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

/// Everything the loop needs besides the machine.
struct Driver {
    client: Client,
    bucket: String,
    key: String,
    file: Option<Arc<File>>,
    stream: Option<StreamSource>,
    /// Headers added to Initiate/PutObject (metadata, storage class, SSE, tagging...).
    object_headers: HeaderMap,
    /// Headers added to Complete/PutObject (ACL, callback).
    complete_headers: HeaderMap,
    limiter: Option<RateLimiter>,
    checkpoint_path: Option<PathBuf>,
    progress_fn: Option<ProgressFn>,
    meter: RateMeter,
    progress: Progress,
    parts_reused: u32,
    parts_in_flight: u32,
    resumed: bool,
    upload_id: Option<String>,
    final_request_id: Option<String>,
    last_transport_error: Option<TransportError>,
    /// Size and modification time of the open source file when the upload started: the
    /// source must still match them when its parts are combined.
    source_stamp: Option<(u64, Option<SystemTime>)>,
    /// Whether the failure policy keeps the parts (so a driver-side failure does not abort).
    keep_parts: bool,
    /// A failure the driver ran into (a source read error, a changed source) while the
    /// machine aborts the upload; reported once the abort ended.
    fatal: Option<Error>,
}

pub(super) async fn run(b: UploadBuilder) -> Result<UploadOutput, Error> {
    let span = tracing::info_span!("oss_upload", bucket = %b.bucket, key = %b.key);
    run_inner(b).instrument(span).await
}

fn plan_error(e: PlanError) -> Error {
    match e {
        PlanError::SourceChanged => Error::Integrity(IntegrityError::SourceChanged {
            reason: "the source differs from the checkpoint".to_owned(),
        }),
        other => Error::config("upload", other.to_string()),
    }
}

fn core_identity(meta: &std::fs::Metadata) -> SourceIdentity {
    let mut id = SourceIdentity::new(meta.len());
    id.mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .and_then(|d| i128::try_from(d.as_nanos()).ok());
    id
}

async fn run_inner(mut b: UploadBuilder) -> Result<UploadOutput, Error> {
    let client = b.client.clone();
    let rt = client.inner.runtime.clone();
    let now = rt.now();
    let seed = seed_from(rt.system_time());
    let checkpointing = b.checkpoint_dir.is_some();
    if let Some(p) = b.part_size {
        let range = oss_model::limits::MIN_PART_SIZE..=oss_model::limits::MAX_PART_SIZE;
        if !range.contains(&p) {
            return Err(Error::config(
                "part_size",
                format!(
                    "part size {p} bytes is out of range: OSS accepts 102,400 bytes (100 KiB) \
                     to 5 GiB"
                ),
            ));
        }
    }

    // Open the source.
    let (file, file_meta, stream) =
        match std::mem::replace(&mut b.source, Source::Stream(Box::new(tokio::io::empty()))) {
            Source::File(path) => {
                let p = path.clone();
                let (f, meta) = tokio::task::spawn_blocking(move || {
                    let f = File::open(&p)?;
                    let m = f.metadata()?;
                    Ok::<_, std::io::Error>((f, m))
                })
                .await
                .map_err(|e| {
                    Error::io(
                        "could not open the source",
                        Some(&path),
                        std::io::Error::other(e),
                    )
                })?
                .map_err(|e| Error::io("could not open the source", Some(&path), e))?;
                if !meta.is_file() {
                    return Err(Error::config(
                        "source",
                        "the source path is not a regular file",
                    ));
                }
                (Some((Arc::new(f), path)), Some(meta), None)
            }
            Source::Stream(r) => {
                if checkpointing || !matches!(b.start, Start::Fresh) {
                    return Err(Error::config(
                        "checkpoint_dir",
                        "stream sources cannot be checkpointed or resumed",
                    ));
                }
                (None, None, Some(StreamSource::new(r)))
            }
        };

    let part_size = match (b.part_size, &b.start) {
        (Some(p), _) => p,
        (None, Start::UploadId(id)) => first_part_size(&client, &b.bucket, &b.key, id)
            .await
            .unwrap_or(super::DEFAULT_PART_SIZE),
        (None, _) => super::DEFAULT_PART_SIZE,
    };
    let concurrency = if b.sequential { 1 } else { b.concurrency };
    // Default budget: one part per slot. For files the part size may be grown by the plan
    // (more than 10,000 parts), and file parts are streamed rather than buffered, so count
    // the grown size: the budget must not silently cut concurrency there.
    let effective_part = match &file_meta {
        Some(m) => part_size.max(
            m.len()
                .div_ceil(u64::from(oss_model::limits::MAX_PART_COUNT)),
        ),
        None => part_size,
    };
    let memory_budget = b
        .memory_budget
        .unwrap_or_else(|| effective_part.saturating_mul(concurrency as u64));

    let mut options = PlanOptions::default();
    options.part_size = part_size;
    options.stream_initial_part_size = part_size;
    // Streams keep the configured part size for 1000 parts before doubling (up to the
    // budget): growing early would make single parts fill the whole budget and serialise
    // reading and sending. Capacity stays in the hundreds of GB with the default budget.
    options.stream_parts_per_step = STREAM_PARTS_PER_STEP;
    // One part or less goes up as a single PutObject; anything larger is multipart.
    options.single_put_threshold = part_size.min(5 * 1024 * 1024 * 1024);
    options.memory_budget = memory_budget.max(part_size);

    let mut config = CoreConfig::default();
    config.max_in_flight = concurrency.clamp(1, 1000);
    config.sequential = b.sequential;
    let mut retry = RetryPolicy::default();
    let rc = &client.inner.retry;
    retry.base_delay = rc.initial_backoff.min(rc.max_backoff);
    retry.max_delay = rc.max_backoff;
    retry.max_attempts = rc.max_retries.saturating_add(1);
    config.retry = retry;
    config.on_failure = match (b.on_failure, checkpointing) {
        (FailurePolicy::KeepParts, _) | (_, true) => CoreFailurePolicy::Keep,
        _ => CoreFailurePolicy::Abort,
    };
    if let Some(ct) = &b.attributes.content_type {
        config.content_type = ct.clone();
    }
    config.forbid_overwrite = b.attributes.forbid_overwrite.unwrap_or(false);

    // Build the machine for the requested start.
    let mut checkpoint_path = None;
    let mut resumed = false;
    let (mut bucket, mut key) = (b.bucket.clone(), b.key.clone());
    let mut up = match &b.start {
        Start::Checkpoint(cp_path) => {
            let meta = file_meta
                .as_ref()
                .ok_or_else(|| Error::config("source", "resume needs a file"))?;
            let cp: Checkpoint = checkpoint_store::load(cp_path)
                .await?
                .ok_or_else(|| Error::config("checkpoint", "no checkpoint at this path"))?;
            let target = cp.target().map_err(plan_error)?;
            bucket = target.bucket().to_owned();
            key = target.key().to_owned();
            checkpoint_path = Some(cp_path.clone());
            resumed = true;
            Upload::from_checkpoint(&cp, &core_identity(meta), config, now, seed)
                .map_err(plan_error)?
        }
        Start::UploadId(id) => {
            let meta = file_meta
                .as_ref()
                .ok_or_else(|| Error::config("source", "resume needs a file"))?;
            let target = Target::new(&bucket, &key).map_err(plan_error)?;
            let plan = Plan::new(SourceSize::Known(meta.len()), &options).map_err(plan_error)?;
            let ident = checkpointing.then(|| core_identity(meta));
            if let (Some(dir), Some((_, path))) = (&b.checkpoint_dir, &file) {
                checkpoint_path = Some(checkpoint_store::checkpoint_path(
                    dir,
                    &bucket,
                    &key,
                    &FileIdentity::of_file(path, meta),
                ));
            }
            resumed = true;
            Upload::resume_upload_id(target, id.clone(), plan, config, ident, now, seed)
                .map_err(plan_error)?
        }
        Start::Fresh => {
            let target = Target::new(&bucket, &key).map_err(plan_error)?;
            let size = file_meta
                .as_ref()
                .map_or(SourceSize::Unknown, |m| SourceSize::Known(m.len()));
            let plan = Plan::new(size, &options).map_err(plan_error)?;
            match (&b.checkpoint_dir, &file, &file_meta) {
                (Some(dir), Some((_, path)), Some(meta)) => {
                    let cp_path = checkpoint_store::checkpoint_path(
                        dir,
                        &bucket,
                        &key,
                        &FileIdentity::of_file(path, meta),
                    );
                    let existing: Option<Checkpoint> = if b.no_resume {
                        None
                    } else {
                        checkpoint_store::load(&cp_path).await?
                    };
                    checkpoint_path = Some(cp_path);
                    let from_cp = existing.and_then(|cp| {
                        Upload::from_checkpoint(
                            &cp,
                            &core_identity(meta),
                            config.clone(),
                            now,
                            seed,
                        )
                        .ok()
                    });
                    match from_cp {
                        Some(up) => {
                            resumed = true;
                            up
                        }
                        None if plan.is_single_put() => {
                            Upload::new(target, plan, config, now, seed).map_err(plan_error)?
                        }
                        None => Upload::with_checkpointing(
                            target,
                            plan,
                            config,
                            core_identity(meta),
                            now,
                            seed,
                        )
                        .map_err(plan_error)?,
                    }
                }
                _ => Upload::new(target, plan, config, now, seed).map_err(plan_error)?,
            }
        }
    };

    let mut object_headers = HeaderMap::new();
    {
        let mut init = InitiateMultipartUpload::new(
            crate::names::bucket_name(&bucket)?,
            crate::names::object_key(&key)?,
        );
        init.attributes = b.attributes.clone();
        let req = init
            .to_request()
            .map_err(crate::client::encode_error::<InitiateMultipartUpload>)?;
        for (name, value) in &req.headers {
            object_headers.insert(name.clone(), value.clone());
        }
    }
    let mut complete_headers = HeaderMap::new();
    if let Some(acl) = &b.object_acl {
        let v = HeaderValue::from_str(acl)
            .map_err(|_| Error::config("object_acl", "invalid header value"))?;
        complete_headers.insert("x-oss-object-acl", v);
    }
    if let Some(cb) = &b.callback {
        let v = HeaderValue::from_str(cb)
            .map_err(|_| Error::config("callback", "invalid header value"))?;
        complete_headers.insert("x-oss-callback", v);
    }

    let total = up.progress().total;
    let mut d = Driver {
        client: client.clone(),
        bucket: bucket.clone(),
        key: key.clone(),
        file: file.map(|(f, _)| f),
        stream,
        object_headers,
        complete_headers,
        limiter: b.bandwidth_limit.map(RateLimiter::new),
        checkpoint_path,
        progress_fn: b.progress.clone(),
        meter: RateMeter::new(now, 0),
        progress: Progress {
            bytes_done: 0,
            bytes_total: total,
            parts_done: 0,
            parts_in_flight: 0,
            parts_total: up.plan().part_count(),
            retries: 0,
            rate_bytes_per_sec: 0.0,
            eta: None,
        },
        parts_reused: 0,
        parts_in_flight: 0,
        resumed,
        upload_id: up.upload_id().map(str::to_owned),
        final_request_id: None,
        last_transport_error: None,
        source_stamp: file_meta.as_ref().map(|m| (m.len(), m.modified().ok())),
        keep_parts: false,
        fatal: None,
    };
    let keep_parts = matches!(config_policy(&b, checkpointing), CoreFailurePolicy::Keep);
    d.keep_parts = keep_parts;
    let mut guard = DropGuard {
        client: client.clone(),
        bucket: bucket.clone(),
        key: key.clone(),
        upload_id: d.upload_id.clone(),
        armed: !keep_parts,
    };

    let cancel = b.cancellation.clone().unwrap_or_default();
    let mut pause_rx = b.pause.as_ref().map(super::PauseHandle::subscribe);
    let mut tasks: JoinSet<Done> = JoinSet::new();
    let mut cancelled = false;
    let mut cancel_armed = true;

    // Stream parts are read only after the events of the same round were handled: a part
    // confirmed in this round frees its buffer first, so buffered bytes never exceed the
    // budget by one part.
    let mut deferred_reads: Vec<Request> = Vec::new();
    loop {
        // The drop guard must know the upload id as soon as the machine does: any early
        // return from here on leaves a multipart upload on the server otherwise.
        if let Some(id) = up.upload_id() {
            if guard.upload_id.as_deref() != Some(id) {
                guard.upload_id = Some(id.to_owned());
            }
        }
        // 1. Requests.
        while let Some(req) = up.poll_request() {
            let stream_part = d.stream.is_some()
                && matches!(req.op, Op::UploadPart { .. } | Op::PutObject { .. });
            if stream_part {
                deferred_reads.push(req);
            } else if let Err(e) = d.start(&mut up, &mut tasks, req).await {
                if let Some(result) = d.stop(&mut up, e).await {
                    guard.armed = false;
                    return result;
                }
            }
        }
        // 2. Timer.
        let timeout = up.poll_timeout().map(|t| t.at);
        // 3. Events.
        while let Some(ev) = up.poll_event() {
            if let Some(result) = d.on_event(&up, ev, cancelled).await {
                guard.armed = false;
                return result;
            }
        }
        guard.upload_id.clone_from(&d.upload_id);
        if !deferred_reads.is_empty() {
            for req in std::mem::take(&mut deferred_reads) {
                if let Err(e) = d.start(&mut up, &mut tasks, req).await {
                    if let Some(result) = d.stop(&mut up, e).await {
                        guard.armed = false;
                        return result;
                    }
                    // The machine is aborting: the other reads were dropped with its work.
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
                cancelled = true;
                tracing::info!("upload cancelled");
                if keep_parts {
                    tasks.abort_all();
                    d.save_checkpoint(&up).await;
                    guard.armed = false;
                    return Err(Error::Cancelled(Cancelled {
                        upload_id: d.upload_id.clone(),
                        checkpoint: d.checkpoint_path.clone(),
                    }));
                }
                up.abort(rt.now());
            }
            Some(joined) = tasks.join_next() => {
                match joined {
                    Ok(done) => {
                        if let Some(e) = d.feed(&mut up, done, rt.now()) {
                            if let Some(result) = d.stop(&mut up, e).await {
                                guard.armed = false;
                                return result;
                            }
                        }
                    }
                    Err(e) => {
                        // A task panicked or was aborted: nothing to feed; the machine will
                        // never get its answer, so fail loudly rather than hang.
                        guard.armed = !keep_parts;
                        return Err(Error::io("an upload task failed", None, std::io::Error::other(e.to_string())));
                    }
                }
            }
            () = sleep => up.handle_timeout(rt.now()),
            ok = pause_changed => {
                if ok {
                    let paused = pause_rx.as_ref().is_some_and(|rx| *rx.borrow());
                    if paused { up.pause() } else { up.resume(rt.now()) }
                } else {
                    pause_rx = None;
                }
            }
        }
    }
}

fn config_policy(b: &UploadBuilder, checkpointing: bool) -> CoreFailurePolicy {
    match (b.on_failure, checkpointing) {
        (FailurePolicy::KeepParts, _) | (_, true) => CoreFailurePolicy::Keep,
        _ => CoreFailurePolicy::Abort,
    }
}

/// Size of the server's part 1 of `upload_id` (to plan a stateless resume the same way).
async fn first_part_size(client: &Client, bucket: &str, key: &str, upload_id: &str) -> Option<u64> {
    use futures::StreamExt as _;
    let mut parts = std::pin::pin!(client.list_parts(bucket, key, upload_id));
    match parts.next().await {
        Some(Ok(p)) if p.part_number.get() == 1 && p.size >= oss_model::limits::MIN_PART_SIZE => {
            Some(p.size)
        }
        _ => None,
    }
}

pub(crate) fn seed_from(t: SystemTime) -> u64 {
    let n = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    (n as u64) ^ ((n >> 64) as u64) ^ u64::from(std::process::id()).rotate_left(32)
}

pub(crate) fn failure_kind(e: &TransportError) -> FailureKind {
    if e.is_body() {
        FailureKind::SourceRead
    } else if e.is_connect() {
        FailureKind::Connect
    } else if e.is_timeout() {
        FailureKind::Timeout
    } else if e.is_io() {
        FailureKind::ConnectionReset
    } else {
        FailureKind::Other
    }
}

impl Driver {
    /// Starts one request intent (signing happens here, at send time).
    async fn start(
        &mut self,
        up: &mut Upload,
        tasks: &mut JoinSet<Done>,
        req: Request,
    ) -> Result<(), Error> {
        let id = req.id;
        let op_name = op_label(&req.op);
        if let Op::HashRange { part_number, range } = &req.op {
            let Some(file) = self.file.clone() else {
                up.handle_hash(id, self.client.inner.runtime.now(), None);
                return Ok(());
            };
            let (off, len) = (range.start, range.end.saturating_sub(range.start));
            let span = tracing::debug_span!("oss_part_verify", part = part_number);
            tasks.spawn(
                async move {
                    let crc = hash_range(file, off, len).await.ok();
                    Done::Hash { id, crc }
                }
                .instrument(span),
            );
            return Ok(());
        }
        let mut oss = match req.to_oss_request() {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(()),
            Err(e) => return Err(Error::config("upload", e.to_string())),
        };

        let mut is_part = false;
        let mut part_number = None;
        let (body, digest, known_read) = match &req.op {
            Op::UploadPart {
                part_number: n,
                range,
                content_md5,
                ..
            } => {
                is_part = true;
                part_number = Some(*n);
                self.part_body(up, id, *n, range.clone(), *content_md5, &mut oss)
                    .await?
            }
            Op::PutObject { range, content_md5 } => {
                is_part = true;
                part_number = Some(1);
                for (k, v) in &self.object_headers {
                    oss.headers.entry(k.clone()).or_insert_with(|| v.clone());
                }
                for (k, v) in &self.complete_headers {
                    oss.headers.insert(k.clone(), v.clone());
                }
                self.part_body(up, id, 1, range.clone(), *content_md5, &mut oss)
                    .await?
            }
            Op::Initiate => {
                for (k, v) in &self.object_headers {
                    oss.headers.entry(k.clone()).or_insert_with(|| v.clone());
                }
                (RequestBody::from_bytes(oss.body.clone()), None, None)
            }
            Op::Complete { .. } => {
                // Parts were read over time: a file modified meanwhile would be completed
                // as a mixture of old and new bytes (or as its old-size prefix).
                if let Some(reason) = self.source_change() {
                    return Err(source_changed(&reason));
                }
                for (k, v) in &self.complete_headers {
                    oss.headers.insert(k.clone(), v.clone());
                }
                (RequestBody::from_bytes(oss.body.clone()), None, None)
            }
            _ => (RequestBody::from_bytes(oss.body.clone()), None, None),
        };
        let body = match (&self.limiter, is_part) {
            (Some(l), true) => body.rate_limited(l.clone()),
            _ => body,
        };
        if is_part {
            self.parts_in_flight += 1;
        }
        let creds = self.client.credentials().await?;
        let time = self.client.inner.runtime.system_time();
        let request = self
            .client
            .sign_request(&oss, &creds, time, body.len())?
            .body(body)
            .map_err(|_| Error::config("request", "could not build the HTTP request"))?;
        let http_client = self.client.inner.http.clone();
        let span = match part_number {
            Some(n) => tracing::debug_span!("oss_part", part = n, op = op_name),
            None => tracing::debug_span!("oss_op", op = op_name),
        };
        tasks.spawn(
            async move {
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
                let body_read = known_read.or_else(|| {
                    digest.and_then(|h| h.result()).and_then(|r| {
                        r.crc64().map(|crc64| BodyRead {
                            len: r.len(),
                            crc64,
                            end_of_stream: false,
                        })
                    })
                });
                Done::Http {
                    id,
                    op: op_name,
                    result,
                    body_read,
                    is_part,
                }
            }
            .instrument(span),
        );
        Ok(())
    }

    /// The body of a part: a digested file range, or buffered stream chunks (reported to the
    /// machine right away, since it issues the next stream part only then).
    async fn part_body(
        &mut self,
        up: &mut Upload,
        id: RequestId,
        n: u32,
        range: std::ops::Range<u64>,
        content_md5: bool,
        oss: &mut OssRequest,
    ) -> Result<
        (
            RequestBody,
            Option<oss_transport::DigestHandle>,
            Option<BodyRead>,
        ),
        Error,
    > {
        let len = range.end.saturating_sub(range.start);
        if let Some(file) = &self.file {
            if content_md5 {
                let md5 = md5_range(file.clone(), range.start, len)
                    .await
                    .map_err(|e| Error::io("could not read the source", None, e))?;
                if let Ok(v) = HeaderValue::from_str(&md5) {
                    oss.headers
                        .insert(http::HeaderName::from_static("content-md5"), v);
                }
            }
            let body = RequestBody::file_range(FileRange::new(file.clone(), range.start, len));
            let (body, handle) = body.digested(Digests::Crc64);
            return Ok((body, Some(handle), None));
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(Error::config("source", "no source"));
        };
        let part = stream
            .part(n, len)
            .await
            .map_err(|e| Error::io("could not read the source stream", None, e))?;
        if content_md5 {
            if let Ok(v) = HeaderValue::from_str(&md5_chunks(&part.chunks)) {
                oss.headers
                    .insert(http::HeaderName::from_static("content-md5"), v);
            }
        }
        let read = BodyRead {
            len: part.len,
            crc64: part.crc64,
            end_of_stream: part.end_of_stream,
        };
        up.handle_body_read(id, self.client.inner.runtime.now(), read);
        Ok((RequestBody::from_chunks(part.chunks), None, None))
    }

    /// Hands a finished task's outcome to the machine, or returns the failure that ends the
    /// upload when the outcome shows the source file changed.
    fn feed(&mut self, up: &mut Upload, done: Done, now: Instant) -> Option<Error> {
        match done {
            Done::Hash { id, crc } => up.handle_hash(id, now, crc),
            Done::Http {
                id,
                op,
                result,
                body_read,
                is_part,
            } => {
                if is_part {
                    self.parts_in_flight = self.parts_in_flight.saturating_sub(1);
                }
                match result {
                    Ok(raw) => {
                        if let Some(read) = body_read.filter(|_| self.stream.is_none()) {
                            up.handle_body_read(id, now, read);
                        }
                        if matches!(op, "CompleteMultipartUpload" | "PutObject")
                            && raw.status.is_success()
                        {
                            self.final_request_id = raw
                                .headers
                                .get("x-oss-request-id")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned);
                        }
                        up.handle_response(id, now, raw.status, &raw.headers, &raw.body);
                    }
                    Err(e) => {
                        tracing::debug!(op, error = %e, "request failed in transport");
                        // A file range that cannot be read to its end: the file shrank. That
                        // is a changed source, not a network failure worth retrying.
                        if is_part && e.is_body() {
                            if let Some(reason) = self.source_change() {
                                return Some(source_changed(&reason));
                            }
                        }
                        let kind = failure_kind(&e);
                        self.last_transport_error = Some(e);
                        up.handle_failure(id, now, kind);
                    }
                }
            }
        }
        None
    }

    /// How the open source file differs from when the upload started, if it does.
    fn source_change(&self) -> Option<String> {
        let (file, (len, mtime)) = (self.file.as_ref()?, self.source_stamp?);
        let now = match file.metadata() {
            Ok(m) => m,
            Err(e) => return Some(format!("it could not be checked again ({e})")),
        };
        if now.len() != len {
            Some(format!(
                "its size went from {len} to {} bytes during the upload",
                now.len()
            ))
        } else if now.modified().ok() != mtime {
            Some("it was modified during the upload (same size, new modification time)".to_owned())
        } else {
            None
        }
    }

    /// Ends the upload because of a failure found by the driver (the machine never saw it).
    /// When the policy keeps the parts, the upload ends now with its id and checkpoint;
    /// otherwise the machine aborts the multipart upload (waiting for an Initiate still in
    /// flight) and the failure is reported when the abort ends. `Some` ends the upload.
    async fn stop(&mut self, up: &mut Upload, e: Error) -> Option<Result<UploadOutput, Error>> {
        tracing::info!(error = %e, "upload stopped by a local failure");
        if let Some(first) = self.fatal.take() {
            // The abort itself could not be started: the parts may remain.
            return Some(Err(self.failure(
                first,
                up.upload_id().map(str::to_owned),
                None,
            )));
        }
        if self.keep_parts {
            self.save_checkpoint(up).await;
            let upload_id = if self.stream.is_none() {
                up.upload_id().map(str::to_owned)
            } else {
                None
            };
            let checkpoint = upload_id.as_ref().and(self.checkpoint_path.clone());
            return Some(Err(self.failure(e, upload_id, checkpoint)));
        }
        self.fatal = Some(e);
        up.abort(self.client.inner.runtime.now());
        None
    }

    fn failure(
        &self,
        cause: Error,
        upload_id: Option<String>,
        checkpoint: Option<PathBuf>,
    ) -> Error {
        Error::Upload(UploadFailure {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            upload_id,
            checkpoint,
            parts_done: self.progress.parts_done,
            source: Box::new(cause),
        })
    }

    async fn save_checkpoint(&self, up: &Upload) {
        if let (Some(path), Some(cp)) = (&self.checkpoint_path, up.checkpoint()) {
            if let Err(e) = checkpoint_store::save(path, &cp).await {
                tracing::warn!(error = %e, "could not save the checkpoint");
            }
        }
    }

    fn report(&mut self) {
        let now = self.client.inner.runtime.now();
        let rate = self.meter.record(now, self.progress.bytes_done);
        self.progress.rate_bytes_per_sec = rate;
        self.progress.parts_in_flight = self.parts_in_flight;
        self.progress.eta = eta(
            self.progress
                .bytes_total
                .map(|t| t.saturating_sub(self.progress.bytes_done)),
            rate,
        );
        if let Some(f) = &self.progress_fn {
            f(&self.progress);
        }
    }

    /// Reacts to one event; `Some` ends the upload with that result.
    async fn on_event(
        &mut self,
        up: &Upload,
        ev: Event,
        cancelled: bool,
    ) -> Option<Result<UploadOutput, Error>> {
        match ev {
            Event::UploadId(id) => {
                tracing::debug!(upload_id = %id, "multipart upload id");
                self.upload_id = Some(id);
            }
            Event::Progress(p) => {
                self.progress.bytes_done = p.confirmed;
                self.progress.bytes_total = p.total.or(self.progress.bytes_total);
                self.report();
            }
            Event::PartDone {
                part_number,
                resumed,
                ..
            } => {
                self.progress.parts_done += 1;
                if resumed {
                    self.parts_reused += 1;
                }
                if let Some(s) = self.stream.as_mut() {
                    s.buffered.remove(&part_number);
                }
                self.progress.parts_total = up.plan().part_count().or(self.progress.parts_total);
                self.report();
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
                tracing::info!(?op, ?part_number, attempt, ?delay, error = %reason, "retrying");
            }
            Event::Restarted => {
                tracing::info!("the upload was gone on the server: started a new one");
                self.resumed = false;
                self.parts_reused = 0;
            }
            Event::CheckpointChanged => self.save_checkpoint(up).await,
            Event::Completed(c) => {
                if let Some(p) = &self.checkpoint_path {
                    let _ = checkpoint_store::remove(p).await;
                }
                self.progress.bytes_total = Some(c.size);
                self.progress.bytes_done = c.size;
                self.report();
                let parts = up
                    .plan()
                    .part_count()
                    .unwrap_or(self.progress.parts_done)
                    .max(1);
                return Some(Ok(UploadOutput {
                    bucket: self.bucket.clone(),
                    key: self.key.clone(),
                    upload_id: c.upload_id,
                    etag: c.etag,
                    crc64: c.crc64,
                    size: c.size,
                    parts: if self.stream.is_some() {
                        self.progress.parts_done.max(1)
                    } else {
                        parts
                    },
                    parts_reused: self.parts_reused,
                    resumed: self.resumed,
                    request_id: self.final_request_id.clone(),
                }));
            }
            Event::Failed(f) if self.fatal.is_some() => {
                // Aborting after a local failure did not succeed: the parts may remain.
                let cause = self.fatal.take()?;
                return Some(Err(self.failure(cause, f.upload_id, None)));
            }
            Event::Aborted if self.fatal.is_some() => {
                let cause = self.fatal.take()?;
                return Some(Err(self.failure(cause, None, None)));
            }
            Event::Failed(f) => {
                let upload_id = if f.resumable {
                    f.upload_id.clone()
                } else {
                    None
                };
                if f.resumable {
                    self.save_checkpoint(up).await;
                }
                let cause = self.map_upload_error(f.error);
                return Some(Err(Error::Upload(UploadFailure {
                    bucket: self.bucket.clone(),
                    key: self.key.clone(),
                    upload_id,
                    checkpoint: if f.resumable {
                        self.checkpoint_path.clone()
                    } else {
                        None
                    },
                    parts_done: self.progress.parts_done,
                    source: Box::new(cause),
                })));
            }
            Event::Aborted => {
                // Only our own `abort` (on cancellation) leads here.
                let _ = cancelled;
                return Some(Err(Error::Cancelled(Cancelled {
                    upload_id: None,
                    checkpoint: None,
                })));
            }
            _ => {}
        }
        None
    }

    fn map_upload_error(&mut self, e: UploadError) -> Error {
        match e {
            UploadError::Service { op, error } => Error::service(kind_label(op), error),
            UploadError::Transport { op, .. } => match self.last_transport_error.take() {
                Some(t) => Error::transport(kind_label(op), t, 1),
                None => Error::io(
                    "transport failure",
                    None,
                    std::io::Error::other(format!("{op:?} failed")),
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
            UploadError::RetriesExhausted { last } => self.map_upload_error(*last),
            other => Error::Response(crate::error::ResponseFailure {
                operation: "upload",
                what: "the upload failed",
                source: Some(Box::new(other)),
            }),
        }
    }
}

/// The failure for a source file that changed while it was uploaded.
fn source_changed(reason: &str) -> Error {
    Error::Integrity(IntegrityError::SourceChanged {
        reason: format!(
            "{reason}; the object was not completed: upload the file again once nothing \
             modifies it"
        ),
    })
}

fn op_label(op: &Op) -> &'static str {
    match op {
        Op::Initiate => "InitiateMultipartUpload",
        Op::UploadPart { .. } => "UploadPart",
        Op::PutObject { .. } => "PutObject",
        Op::ListParts { .. } => "ListParts",
        Op::Complete { .. } => "CompleteMultipartUpload",
        Op::Abort { .. } => "AbortMultipartUpload",
        Op::HeadObject => "HeadObject",
        Op::HashRange { .. } => "HashRange",
        _ => "Unknown",
    }
}

fn kind_label(k: oss_multipart_core::OpKind) -> &'static str {
    use oss_multipart_core::OpKind;
    match k {
        OpKind::Initiate => "InitiateMultipartUpload",
        OpKind::UploadPart => "UploadPart",
        OpKind::PutObject => "PutObject",
        OpKind::ListParts => "ListParts",
        OpKind::Complete => "CompleteMultipartUpload",
        OpKind::Abort => "AbortMultipartUpload",
        OpKind::HeadObject => "HeadObject",
        _ => "HashRange",
    }
}
