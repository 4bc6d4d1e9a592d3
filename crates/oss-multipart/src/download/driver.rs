//! The tokio driver of a download: executes exactly what the core `Download` machine polls.
//!
//! After every input it drains requests (each GET/HEAD a task), re-arms the one timer, then
//! drains events. GET tasks send the answer's head back and wait for the machine's verdict
//! ([`Download::body_target`]) before they write a single body byte. What the driver owns:
//! bytes (positional writes or the reorder buffer), signing at send time, the temp file and its
//! atomic rename, checkpoint persistence, progress rate/ETA, cancellation and pause.

use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use oss_multipart_core::{
    ChangePolicy, Download, DownloadCheckpoint, DownloadCompleted, DownloadConfig, DownloadError,
    DownloadEvent, DownloadOp, DownloadOpKind, DownloadRequest, RequestId, Target,
};
use oss_transport::TransportError;
use tokio::io::AsyncWrite;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tracing::Instrument as _;

use super::sink::{BodyDest, Received, Sink, receive};
use super::{DownloadBuilder, DownloadOutput, OnObjectChange};
use crate::checkpoint_store;
use crate::client::{Client, MAX_XML_RESPONSE, failure_kind, seed};
use crate::error::{Cancelled, DownloadFailure, Error, IntegrityError, ResponseFailure};
use crate::progress::{Progress, RateMeter, eta};
use crate::transport::RequestBody;
use crate::upload::source::hash_range;

/// Smallest range accepted from callers.
const MIN_PART_SIZE: u64 = 4096;

/// What a task reports to the loop.
enum Msg {
    /// A HEAD answer, or the head of a GET answer (`reply` asks where its body goes).
    Head {
        id: RequestId,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        reply: Option<oneshot::Sender<Option<Range<u64>>>>,
    },
    Failed {
        id: RequestId,
        error: TransportError,
    },
    Body {
        id: RequestId,
        target: Range<u64>,
        received: Received,
    },
    Verified {
        id: RequestId,
        crc: Option<u64>,
    },
}

/// How the loop ended without success.
enum Stop {
    Core(DownloadError),
    Fatal(Error),
    Cancelled,
}

struct Loop {
    client: Client,
    /// The temp file being written (file sink), for errors and verification.
    temp: Option<(Arc<File>, PathBuf)>,
    saver: Option<Saver>,
    progress: Progress,
    progress_fn: Option<super::ProgressFn>,
    meter: RateMeter,
    last_transport: Option<TransportError>,
    span_start: u64,
}

fn config_of(b: &DownloadBuilder, ordered: bool) -> Result<DownloadConfig, Error> {
    if !(MIN_PART_SIZE..=oss_model::limits::MAX_PART_SIZE).contains(&b.part_size) {
        return Err(Error::config(
            "part_size",
            format!(
                "part size {} bytes is out of range: 4 KiB to 5 GiB per ranged GET",
                b.part_size
            ),
        ));
    }
    if !(1..=1000).contains(&b.concurrency) {
        return Err(Error::config("concurrency", "concurrency must be 1..=1000"));
    }
    let mut c = DownloadConfig::default();
    c.part_size = b.part_size;
    c.max_in_flight = b.concurrency;
    c.window = ordered.then(|| 2 * b.concurrency as u64);
    c.retry = b.client.inner.retry.policy();
    // A writer cannot take back bytes it was given: it never restarts.
    c.on_change = match b.on_change {
        OnObjectChange::Restart if !ordered => ChangePolicy::Restart,
        _ => ChangePolicy::Fail,
    };
    Ok(c)
}

fn target_of(b: &DownloadBuilder) -> Result<Target, Error> {
    Target::new(&b.bucket, &b.key).map_err(|e| Error::config("target", e.to_string()))
}

/// The error a failed download reports, from the machine's reason.
fn core_error(e: DownloadError, last_transport: Option<TransportError>) -> Error {
    let op_name = |op: DownloadOpKind| match op {
        DownloadOpKind::Head => "HeadObject",
        _ => "GetObject",
    };
    match e {
        DownloadError::Service { op, error } => Error::service(op_name(op), error),
        DownloadError::Transport { op, kind } => match last_transport {
            Some(t) => Error::transport(op_name(op), t, 1),
            None => Error::io(
                "the connection failed",
                None,
                std::io::Error::other(format!("{kind:?}")),
            ),
        },
        DownloadError::ShortBody { expected, received } => {
            Error::Integrity(IntegrityError::Length {
                expected,
                actual: received,
            })
        }
        DownloadError::ObjectChanged { expected } => {
            Error::Integrity(IntegrityError::ObjectChanged { etag: expected })
        }
        DownloadError::CrcMismatch { expected, received } => {
            Error::Integrity(IntegrityError::Crc64Mismatch {
                what: "object".to_owned(),
                local: received,
                server: expected,
            })
        }
        DownloadError::InvalidResponse { op, reason } => Error::Response(ResponseFailure {
            operation: op_name(op),
            what: reason,
            source: None,
        }),
        DownloadError::RetriesExhausted { last } => core_error(*last, last_transport),
        other => Error::Response(ResponseFailure {
            operation: "GetObject",
            what: "the object cannot be downloaded",
            source: Some(Box::new(other)),
        }),
    }
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |e| Error::io(action, Some(path), e)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(std::io::Error::other)?
}

pub(super) async fn run_to_file(
    b: DownloadBuilder,
    path: PathBuf,
) -> Result<DownloadOutput, Error> {
    let span = tracing::info_span!("oss_download", bucket = %b.bucket, key = %b.key);
    run_file(b, path).instrument(span).await
}

async fn run_file(b: DownloadBuilder, path: PathBuf) -> Result<DownloadOutput, Error> {
    let config = config_of(&b, false)?;
    let target = target_of(&b)?;
    if b.range.is_some() {
        return Err(Error::config(
            "range",
            "a range downloads to a writer or to memory, not to a file",
        ));
    }
    let meta = tokio::fs::metadata(&path).await;
    if meta.as_ref().is_ok_and(std::fs::Metadata::is_dir) {
        return Err(Error::io(
            "the target is a directory",
            Some(&path),
            std::io::ErrorKind::IsADirectory.into(),
        ));
    }
    if b.no_clobber && meta.is_ok() {
        return Err(Error::io(
            "refusing to replace an existing file (no-clobber)",
            Some(&path),
            std::io::ErrorKind::AlreadyExists.into(),
        ));
    }
    let name = path
        .file_name()
        .ok_or_else(|| Error::config("path", "the target path has no file name"))?
        .to_string_lossy()
        .into_owned();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let rt = b.client.inner.runtime.clone();
    let seed = seed(rt.system_time());
    let checkpoint_path = b.checkpoint_dir.as_ref().map(|cp_dir| {
        let abs = std::path::absolute(&path).unwrap_or_else(|_| path.clone());
        // The `download:` prefix keeps a download of `key` to a file apart from an upload of
        // the same file to `key`; the target's identity is its path.
        let key = format!("download:{}", b.key);
        checkpoint_store::checkpoint_path(cp_dir, &b.bucket, &key, &abs)
    });
    // A resumable temp file has a stable name so the next run finds it; otherwise a unique one.
    let temp = match &checkpoint_path {
        Some(_) => dir.join(format!(".{name}.ossmp-download")),
        None => dir.join(format!(".{name}.{:016x}.ossmp-download", seed)),
    };
    let temp_name = temp.to_string_lossy().into_owned();
    let existing: Option<DownloadCheckpoint> = match (&checkpoint_path, b.no_resume) {
        (Some(p), false) => checkpoint_store::load(p).await?,
        _ => None,
    };
    let resumable = existing.filter(|cp| {
        cp.local() == temp_name
            && cp.target().is_ok_and(|t| t == target)
            && std::fs::metadata(&temp).is_ok_and(|m| m.is_file())
    });
    let now = rt.now();
    let (file, up, resumed) = match resumable {
        Some(cp) => {
            let t = temp.clone();
            let file = blocking(move || std::fs::OpenOptions::new().read(true).write(true).open(t))
                .await
                .map_err(io_err("could not open the partial download", &temp))?;
            let up = Download::from_checkpoint(&cp, config, now, seed)
                .map_err(|e| Error::config("checkpoint", e.to_string()))?;
            (file, up, true)
        }
        None => {
            let t = temp.clone();
            let file = blocking(move || {
                std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(t)
            })
            .await
            .map_err(io_err("could not create a temp file beside", &path))?;
            let up = Download::new(target, config, now, seed)
                .map_err(|e| Error::config("download", e.to_string()))?;
            let up = match &checkpoint_path {
                Some(_) => up.with_checkpointing(temp_name.clone()),
                None => up,
            };
            (file, up, false)
        }
    };
    let file = Arc::new(file);
    let mut guard = TempGuard {
        path: Some(temp.clone()),
    };
    let mut lp = Loop::new(
        &b,
        Some((file.clone(), temp.clone())),
        checkpoint_path.clone(),
    );
    let mut sink = Sink::File(file.clone());
    let result = lp.drive(&b, up, &mut sink).await;
    let fail = |source: Error, kept: bool| {
        Error::Download(Box::new(DownloadFailure {
            bucket: b.bucket.clone(),
            key: b.key.clone(),
            path: Some(path.clone()),
            temp: kept.then(|| temp.clone()),
            checkpoint: if kept { checkpoint_path.clone() } else { None },
            source: Box::new(source),
        }))
    };
    let done = match result {
        Ok(done) => done,
        Err(stop) => {
            let keep = checkpoint_path.is_some();
            let (error, keep) = match stop {
                Stop::Cancelled => {
                    if !keep {
                        guard.remove().await;
                    } else {
                        guard.disarm();
                    }
                    return Err(Error::Cancelled(Cancelled {
                        upload_id: None,
                        checkpoint: checkpoint_path.filter(|_| keep),
                    }));
                }
                Stop::Core(e) => {
                    // A changed or missing object cannot be continued: start over next time.
                    let dead =
                        e.is_object_changed() || !e.is_retryable() && e.service_error().is_some();
                    let kt = lp.last_transport.take();
                    (core_error(e, kt), keep && !dead)
                }
                Stop::Fatal(e) => {
                    let integrity = e.is_integrity();
                    (e, keep && !integrity)
                }
            };
            if keep {
                guard.disarm();
            } else {
                guard.remove().await;
                if let Some(p) = &checkpoint_path {
                    let _ = checkpoint_store::remove(p).await;
                }
            }
            return Err(fail(error, keep));
        }
    };
    // Every byte is verified: size the file exactly, make it durable, move it into place.
    let size = done.range.end - done.range.start;
    let (f, t, p, no_clobber) = (file.clone(), temp.clone(), path.clone(), b.no_clobber);
    let finish = blocking(move || {
        f.set_len(size)?;
        f.sync_all()?;
        if no_clobber {
            // Atomic no-replace: a link fails if the target appeared meanwhile.
            std::fs::hard_link(&t, &p)?;
            std::fs::remove_file(&t)?;
        } else {
            std::fs::rename(&t, &p)?;
        }
        sync_dir(&p);
        Ok(())
    })
    .await;
    if let Err(e) = finish {
        guard.remove().await;
        if let Some(cp) = &checkpoint_path {
            let _ = checkpoint_store::remove(cp).await;
        }
        return Err(fail(
            Error::io("could not move the download into place", Some(&path), e),
            false,
        ));
    }
    guard.disarm();
    if let Some(cp) = &checkpoint_path {
        let _ = checkpoint_store::remove(cp).await;
    }
    Ok(lp.output(&b, done, Some(path), resumed))
}

/// Writes checkpoints in the background, always the latest one offered, so the download never
/// waits for a checkpoint's fsync and a kill loses at most the checkpoint being written.
struct Saver {
    slot: Arc<std::sync::Mutex<Option<DownloadCheckpoint>>>,
    wake: Arc<tokio::sync::Notify>,
    closing: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Saver {
    fn start(path: PathBuf) -> Self {
        let slot: Arc<std::sync::Mutex<Option<DownloadCheckpoint>>> = Arc::default();
        let wake = Arc::new(tokio::sync::Notify::new());
        let closing = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (s, w, c) = (slot.clone(), wake.clone(), closing.clone());
        let task = tokio::spawn(async move {
            loop {
                let next = s.lock().ok().and_then(|mut g| g.take());
                match next {
                    Some(cp) => {
                        if let Err(e) = checkpoint_store::save(&path, &cp).await {
                            tracing::warn!(error = %e, "could not save the download checkpoint");
                        }
                    }
                    None if c.load(std::sync::atomic::Ordering::Acquire) => return,
                    None => w.notified().await,
                }
            }
        });
        Self {
            slot,
            wake,
            closing,
            task,
        }
    }

    fn offer(&self, force: bool, build: impl FnOnce() -> Option<DownloadCheckpoint>) {
        let Ok(mut slot) = self.slot.lock() else {
            return;
        };
        if (force || slot.is_none())
            && let Some(cp) = build()
        {
            *slot = Some(cp);
            self.wake.notify_one();
        }
    }

    /// Writes what is pending (unless `discard`: the download succeeded and the checkpoint is
    /// about to be removed) and stops.
    async fn close(self, discard: bool) {
        if discard && let Ok(mut slot) = self.slot.lock() {
            *slot = None;
        }
        self.closing
            .store(true, std::sync::atomic::Ordering::Release);
        self.wake.notify_one();
        let _ = self.task.await;
    }
}

/// Makes the rename durable (best effort: not every platform can open a directory).
fn sync_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Removes the temp file if the download future is dropped or fails without resumable state.
struct TempGuard {
    path: Option<PathBuf>,
}

impl TempGuard {
    fn disarm(&mut self) {
        self.path = None;
    }

    async fn remove(&mut self) {
        if let Some(p) = self.path.take() {
            let _ = tokio::fs::remove_file(p).await;
        }
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

pub(super) async fn run_to_writer<W: AsyncWrite + Unpin + Send>(
    b: DownloadBuilder,
    writer: &mut W,
) -> Result<DownloadOutput, Error> {
    let span = tracing::info_span!("oss_download", bucket = %b.bucket, key = %b.key);
    async {
        let config = config_of(&b, true)?;
        let target = target_of(&b)?;
        let rt = b.client.inner.runtime.clone();
        let seed = seed(rt.system_time());
        let up = match &b.range {
            Some(r) => Download::for_range(target, r.clone(), config, rt.now(), seed),
            None => Download::new(target, config, rt.now(), seed),
        }
        .map_err(|e| Error::config("download", e.to_string()))?;
        let mut lp = Loop::new(&b, None, None);
        let mut sink = Sink::Writer {
            writer,
            reorder: std::collections::BTreeMap::new(),
            next: 0,
        };
        let fail = |source: Error| {
            Error::Download(Box::new(DownloadFailure {
                bucket: b.bucket.clone(),
                key: b.key.clone(),
                path: None,
                temp: None,
                checkpoint: None,
                source: Box::new(source),
            }))
        };
        let done = match lp.drive(&b, up, &mut sink).await {
            Ok(done) => done,
            Err(Stop::Cancelled) => {
                return Err(Error::Cancelled(Cancelled {
                    upload_id: None,
                    checkpoint: None,
                }));
            }
            Err(Stop::Core(e)) => return Err(fail(core_error(e, lp.last_transport.take()))),
            Err(Stop::Fatal(e)) => return Err(fail(e)),
        };
        sink.flush()
            .await
            .map_err(|e| Error::io("could not write the download", None, e))?;
        Ok(lp.output(&b, done, None, false))
    }
    .instrument(span)
    .await
}

impl Loop {
    fn new(
        b: &DownloadBuilder,
        temp: Option<(Arc<File>, PathBuf)>,
        checkpoint_path: Option<PathBuf>,
    ) -> Self {
        let now = b.client.inner.runtime.now();
        Self {
            client: b.client.clone(),
            temp,
            saver: checkpoint_path.map(Saver::start),
            progress: Progress {
                bytes_done: 0,
                bytes_total: None,
                parts_done: 0,
                parts_in_flight: 0,
                parts_total: None,
                retries: 0,
                rate_bytes_per_sec: 0.0,
                eta: None,
                checkpoint_error: None,
            },
            progress_fn: b.progress.clone(),
            meter: RateMeter::new(now, 0),
            last_transport: None,
            span_start: b.range.as_ref().map_or(0, |r| r.start),
        }
    }

    fn output(
        &self,
        b: &DownloadBuilder,
        done: DownloadCompleted,
        path: Option<PathBuf>,
        resumed: bool,
    ) -> DownloadOutput {
        let size = done.range.end - done.range.start;
        DownloadOutput {
            bucket: b.bucket.clone(),
            key: b.key.clone(),
            path,
            size,
            object_size: done.object.size,
            etag: done.object.etag,
            crc64: done.crc64,
            crc_verified: done.crc_verified,
            ranges: size.div_ceil(b.part_size),
            ranges_reused: done.ranges_reused,
            resumed,
        }
    }

    fn report(&mut self) {
        let now = self.client.inner.runtime.now();
        let rate = self.meter.record(now, self.progress.bytes_done);
        self.progress.rate_bytes_per_sec = rate;
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

    /// Hands the current checkpoint to the saver: always when `force` (the final state after a
    /// stop), otherwise only when the saver has written the previous one (building a
    /// checkpoint is linear in the journal, so it is not rebuilt faster than the disk takes it).
    fn save(&self, up: &Download, force: bool) {
        if let Some(saver) = &self.saver {
            saver.offer(force, || up.checkpoint());
        }
    }

    /// Runs the machine to its end.
    async fn drive(
        &mut self,
        b: &DownloadBuilder,
        mut up: Download,
        sink: &mut Sink<'_>,
    ) -> Result<DownloadCompleted, Stop> {
        let rt = self.client.inner.runtime.clone();
        let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
        let mut tasks: JoinSet<()> = JoinSet::new();
        let cancel = b.cancellation.clone().unwrap_or_default();
        let mut pause_rx = b.pause.as_ref().map(crate::upload::PauseHandle::subscribe);
        let result = loop {
            while let Some(req) = up.poll_request() {
                if let Err(e) = self.start(req, &tx, &mut tasks, sink.dest()).await {
                    break_with(&mut up, &rt);
                    return Err(Stop::Fatal(e));
                }
            }
            let timeout = up.poll_timeout().map(|t| t.at);
            let mut end = None;
            while let Some(ev) = up.poll_event() {
                if let Some(stop) = self.on_event(&up, ev, sink, &mut tasks).await {
                    end = Some(stop);
                    break;
                }
            }
            if let Some(end) = end {
                break end;
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
                () = cancel.cancelled() => {
                    tracing::info!("download cancelled");
                    self.save(&up, true);
                    break Err(Stop::Cancelled);
                }
                Some(msg) = rx.recv() => {
                    if let Err(e) = self.feed(&mut up, msg, sink).await {
                        self.save(&up, true);
                        break Err(Stop::Fatal(e));
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
        };
        tasks.abort_all();
        // Let aborted writers stop before the caller renames or removes the file, and the
        // saver write its last checkpoint before the caller removes or reports it.
        while tasks.join_next().await.is_some() {}
        if let Some(saver) = self.saver.take() {
            saver.close(result.is_ok()).await;
        }
        result
    }

    async fn on_event(
        &mut self,
        up: &Download,
        ev: DownloadEvent,
        sink: &mut Sink<'_>,
        tasks: &mut JoinSet<()>,
    ) -> Option<Result<DownloadCompleted, Stop>> {
        match ev {
            DownloadEvent::Object(info) => {
                tracing::debug!(size = info.size, etag = %info.etag, crc64 = ?info.crc64, "object");
                let start = self.span_start.min(info.size);
                sink.start_at(start);
                self.progress.bytes_total = up.progress().total;
                self.progress.parts_total = up
                    .range_count()
                    .map(|n| u32::try_from(n).unwrap_or(u32::MAX));
                self.report();
            }
            DownloadEvent::Progress(p) => {
                self.progress.bytes_done = p.received;
                self.progress.bytes_total = p.total;
                self.report();
            }
            DownloadEvent::RangeDone { .. } => {
                self.progress.parts_done = self.progress.parts_done.saturating_add(1);
                self.report();
            }
            DownloadEvent::Retried {
                op,
                index,
                attempt,
                delay,
                reason,
            } => {
                self.progress.retries = self.progress.retries.saturating_add(1);
                tracing::info!(?op, ?index, attempt, ?delay, error = %reason, "retrying");
            }
            DownloadEvent::Restarted { reason } => {
                if sink.has_written_since(self.span_start) {
                    return Some(Err(Stop::Core(reason)));
                }
                tracing::warn!(error = %reason, "starting the download again");
                // Writes of the dropped requests must not land after the new ones.
                tasks.abort_all();
                self.progress.parts_done = 0;
            }
            DownloadEvent::CheckpointChanged => self.save(up, false),
            DownloadEvent::Completed(c) => return Some(Ok(c)),
            DownloadEvent::Failed(e) => {
                self.save(up, true);
                return Some(Err(Stop::Core(e)));
            }
            DownloadEvent::Aborted => return Some(Err(Stop::Cancelled)),
            _ => {}
        }
        None
    }

    async fn feed(
        &mut self,
        up: &mut Download,
        msg: Msg,
        sink: &mut Sink<'_>,
    ) -> Result<(), Error> {
        let now = self.client.inner.runtime.now();
        match msg {
            Msg::Head {
                id,
                status,
                headers,
                body,
                reply,
            } => {
                up.handle_response(id, now, status, &headers, &body);
                if let Some(reply) = reply {
                    let _ = reply.send(up.body_target(id));
                }
            }
            Msg::Failed { id, error } => {
                let kind = failure_kind(&error);
                self.last_transport = Some(error);
                up.handle_failure(id, now, kind);
            }
            Msg::Verified { id, crc } => up.handle_verify(id, now, crc),
            Msg::Body {
                id,
                target,
                received,
            } => {
                if let Some(e) = received.write_error {
                    let path = self.temp.as_ref().map(|(_, p)| p.as_path());
                    return Err(Error::io("could not write the download file", path, e));
                }
                if let Some(data) = received.data
                    && up.body_target(id).as_ref() == Some(&target)
                {
                    sink.accept(target.start, data)
                        .await
                        .map_err(|e| Error::io("could not write the download", None, e))?;
                }
                let kind = received.failure.map(|e| {
                    let k = failure_kind(&e);
                    self.last_transport = Some(e);
                    k
                });
                up.handle_body(id, now, received.len, received.crc64, kind);
            }
        }
        Ok(())
    }

    /// Starts one request intent (signing happens here, at send time).
    async fn start(
        &mut self,
        req: DownloadRequest,
        tx: &mpsc::UnboundedSender<Msg>,
        tasks: &mut JoinSet<()>,
        dest: BodyDest,
    ) -> Result<(), Error> {
        let id = req.id;
        if let DownloadOp::Verify { index, range } = &req.op {
            let tx = tx.clone();
            let (off, len) = (range.start, range.end - range.start);
            let file = self.temp.as_ref().map(|(f, _)| f.clone());
            let span = tracing::debug_span!("oss_range_verify", range = index);
            tasks.spawn(
                async move {
                    let crc = match file {
                        Some(f) => hash_range(f, off, len).await.ok(),
                        None => None,
                    };
                    let _ = tx.send(Msg::Verified { id, crc });
                }
                .instrument(span),
            );
            return Ok(());
        }
        let oss = match req.to_oss_request() {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(()),
            Err(e) => return Err(Error::config("download", e.to_string())),
        };
        let creds = self.client.credentials().await?;
        let time = self.client.inner.runtime.system_time();
        let request = self
            .client
            .sign_request(&oss, &creds, time, None)?
            .body(RequestBody::empty())
            .map_err(|_| Error::config("request", "could not build the HTTP request"))?;
        let http = self.client.inner.http.clone();
        let is_get = matches!(req.op, DownloadOp::Get { .. });
        let span = match &req.op {
            DownloadOp::Get { index, .. } => tracing::debug_span!("oss_range", range = index),
            _ => tracing::debug_span!("oss_op", op = "HeadObject"),
        };
        let tx = tx.clone();
        tasks.spawn(
            async move {
                let resp = match http.send(request).await {
                    Ok(r) => r,
                    Err(error) => {
                        let _ = tx.send(Msg::Failed { id, error });
                        return;
                    }
                };
                let (parts, body) = resp.into_parts();
                if !is_get || !parts.status.is_success() {
                    match body.collect_bounded(MAX_XML_RESPONSE).await {
                        Ok(bytes) => {
                            let _ = tx.send(Msg::Head {
                                id,
                                status: parts.status,
                                headers: parts.headers,
                                body: bytes,
                                reply: None,
                            });
                        }
                        Err(error) => {
                            let _ = tx.send(Msg::Failed { id, error });
                        }
                    }
                    return;
                }
                let (reply, verdict) = oneshot::channel();
                let head = Msg::Head {
                    id,
                    status: parts.status,
                    headers: parts.headers,
                    body: Bytes::new(),
                    reply: Some(reply),
                };
                if tx.send(head).is_err() {
                    return;
                }
                // Not one byte is written before the machine accepted this answer.
                let Ok(Some(target)) = verdict.await else {
                    return;
                };
                let received = receive(body, target.clone(), dest).await;
                let _ = tx.send(Msg::Body {
                    id,
                    target,
                    received,
                });
            }
            .instrument(span),
        );
        Ok(())
    }
}

/// A request could not even be started (credentials, signing): nothing more will be.
fn break_with(up: &mut Download, rt: &Arc<dyn crate::runtime::Runtime>) {
    up.abort(rt.now());
}
