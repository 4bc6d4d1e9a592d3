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
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use oss_multipart_core::{
    ChangePolicy, Download, DownloadCheckpoint, DownloadCompleted, DownloadConfig, DownloadError,
    DownloadEvent, DownloadOp, DownloadOpKind, DownloadRequest, RequestId, Target,
};
use oss_transport::{RateLimiter, RetireSlowConnections, TransportError};
use tokio::io::AsyncWrite;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tracing::Instrument as _;

use super::file::DownloadFile;
use super::race::Races;
use super::saver::Saver;
use super::sink::{BodyDest, BufferPool, Received, Sink, receive, write_at};
use super::{DownloadBuilder, DownloadOutput, OnObjectChange};
use crate::checkpoint_store;
use crate::client::{Client, MAX_XML_RESPONSE, failure_kind, seed};
use crate::error::{Cancelled, DownloadFailure, Error, IntegrityError, ResponseFailure};
use crate::progress::{Gauge, OnTheWire, Progress, REPORT_EVERY, RateMeter};
use crate::transport::RequestBody;
use crate::upload::source::{hash_range, md5_range};

/// The default adaptive ceiling of downloads to a writer (their reorder buffer holds up to
/// twice this many ranges).
const WRITER_MAX_CONCURRENCY: usize = 8;

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
    /// The MD5 of the local copy (`None`: it could not be read).
    Md5 {
        id: RequestId,
        md5: Option<String>,
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
    temp: Option<(Arc<DownloadFile>, PathBuf)>,
    saver: Option<Saver>,
    /// The download's bandwidth cap, shared by every GET.
    limiter: Option<RateLimiter>,
    progress: Progress,
    /// The GETs on the wire and their byte counters.
    wire: OnTheWire,
    /// Events changed the progress since the last report.
    changed: bool,
    /// Bytes of the ranges reused: accounted without moving.
    bytes_reused: u64,
    last_report: Instant,
    progress_fn: Option<super::ProgressFn>,
    meter: RateMeter,
    last_transport: Option<TransportError>,
    span_start: u64,
    /// GETs in flight, their write gates (straggler hedging).
    races: Races<RequestId>,
    /// Carried by every GET: a connection that took longer than the machine's straggler
    /// threshold for a range is not handed to the next one.
    retire: RetireSlowConnections,
    /// GETs the machine cancelled while its events were drained.
    cancels: Vec<RequestId>,
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
    let mut p = b.parallelism;
    if ordered && p.adaptive && !b.max_set {
        // The reorder buffer holds up to 2 × the ceiling of ranges.
        p.max = p.max.min(WRITER_MAX_CONCURRENCY);
    }
    let ceiling = p.ceiling();
    if !(1..=1000).contains(&ceiling) {
        return Err(Error::config("concurrency", "concurrency must be 1..=1000"));
    }
    let mut c = DownloadConfig::default();
    c.part_size = b.part_size;
    c.max_in_flight = ceiling;
    c.adaptive = p.core_adaptive();
    c.hedging = p.core_hedging();
    c.window = ordered.then(|| 2 * ceiling as u64);
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
        DownloadError::Md5Mismatch { expected, received } => {
            Error::Integrity(IntegrityError::Md5Mismatch {
                what: "object".to_owned(),
                local: received,
                server: expected,
            })
        }
        DownloadError::LocalRead { .. } => Error::io(
            "could not read the downloaded file back to check its MD5",
            None,
            std::io::ErrorKind::Other.into(),
        ),
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
    let file = Arc::new(DownloadFile::new(file, &temp));
    let mut guard = TempGuard {
        path: Some(temp.clone()),
    };
    let mut lp = Loop::new(
        &b,
        Some((file.clone(), temp.clone())),
        checkpoint_path.clone(),
    );
    let mut sink = Sink::File(file.clone(), BufferPool::default());
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
    let (f, t, p, no_clobber) = (
        file.file().clone(),
        temp.clone(),
        path.clone(),
        b.no_clobber,
    );
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
            md5: None,
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
        temp: Option<(Arc<DownloadFile>, PathBuf)>,
        checkpoint_path: Option<PathBuf>,
    ) -> Self {
        let now = b.client.inner.runtime.now();
        Self {
            client: b.client.clone(),
            temp,
            saver: checkpoint_path.map(Saver::start),
            limiter: b.bandwidth_limit.map(RateLimiter::new),
            progress: Progress::start(None, None),
            wire: OnTheWire::default(),
            changed: false,
            bytes_reused: 0,
            last_report: now,
            progress_fn: b.progress.clone(),
            meter: RateMeter::new(now, 0),
            last_transport: None,
            span_start: b.range.as_ref().map_or(0, |r| r.start),
            races: Races::default(),
            retire: RetireSlowConnections::default(),
            cancels: Vec::new(),
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
            md5_verified: done.md5_verified,
            ranges: size.div_ceil(b.part_size),
            ranges_reused: done.ranges_reused,
            resumed,
        }
    }

    fn report(&mut self) {
        let now = self.client.inner.runtime.now();
        self.last_report = now;
        self.progress.parts_in_flight = u32::try_from(self.wire.len()).unwrap_or(u32::MAX);
        self.progress
            .measure(&self.wire, &mut self.meter, now, self.bytes_reused);
        self.progress.checkpoint_error = self.saver.as_ref().and_then(Saver::error);
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
            // Read by the transport as each GET ends.
            self.retire.set(up.straggler_threshold());
            while let Some(req) = up.poll_request() {
                if let (DownloadOp::Md5 { .. }, Some(md5)) = (&req.op, sink.md5()) {
                    // A writer hashed the bytes as it wrote them; answered on the next turn.
                    let _ = tx.send(Msg::Md5 {
                        id: req.id,
                        md5: Some(md5),
                    });
                    continue;
                }
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
            // One report per round: a range and its bytes arrive as two events, and a report
            // between them would disagree.
            if std::mem::take(&mut self.changed) {
                self.report();
            }
            if let Some(end) = end {
                break end;
            }
            if !self.cancels.is_empty() {
                for id in std::mem::take(&mut self.cancels) {
                    if let Some(moved) = self.races.cancel(id).await {
                        up.handle_cancelled(id, rt.now(), moved);
                    }
                }
                continue; // an input: drain again
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
            // Reports of the bytes on the wire between the machine's events.
            // A quarter of a second after the last report, while someone listens and bytes move.
            let tick_at = (self.progress_fn.is_some() && !self.wire.is_empty())
                .then(|| self.last_report + REPORT_EVERY);
            let tick = async {
                match tick_at {
                    Some(at) => rt.sleep_until(at).await,
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
                () = tick => self.report(),
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
        sink.fence();
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
                sink.hash_md5(up.checks_md5());
                if let Err(e) = sink.reserve(info.size).await {
                    let path = self.temp.as_ref().map(|(_, p)| p.as_path());
                    return Some(Err(Stop::Fatal(Error::io(
                        "not enough disk space for the download at",
                        path,
                        e,
                    ))));
                }
                self.progress.bytes_total = up.progress().total;
                self.progress.parts_total = up
                    .range_count()
                    .map(|n| u32::try_from(n).unwrap_or(u32::MAX));
                self.changed = true;
            }
            DownloadEvent::Progress(p) => {
                self.progress.bytes_done = p.received;
                self.progress.bytes_total = p.total;
                self.changed = true;
            }
            DownloadEvent::RangeDone { resumed, len, .. } => {
                self.progress.parts_done = self.progress.parts_done.saturating_add(1);
                if resumed {
                    self.bytes_reused += len;
                }
                self.changed = true;
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
                self.wire.clear();
                self.bytes_reused = 0;
                sink.fence();
                self.progress.parts_done = 0;
            }
            DownloadEvent::CheckpointChanged => self.save(up, false),
            DownloadEvent::Cancel { id, index } => {
                tracing::debug!(index, "GET cancelled: another GET of its range won");
                self.cancels.push(id);
            }
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
                let target = up.body_target(id);
                if reply.is_none() || target.is_none() {
                    // No body will be received for this answer.
                    self.wire.end(id);
                    self.races.forget(id);
                }
                if let Some(reply) = reply {
                    let _ = reply.send(target);
                }
            }
            Msg::Failed { id, error } => {
                self.wire.end(id);
                self.races.forget(id);
                let kind = failure_kind(&error);
                self.last_transport = Some(error);
                up.handle_failure(id, now, kind);
            }
            Msg::Verified { id, crc } => up.handle_verify(id, now, crc),
            Msg::Md5 { id, md5 } => up.handle_md5(id, now, md5.as_deref()),
            Msg::Body {
                id,
                target,
                received,
            } => {
                self.wire.end(id);
                if let Some(e) = received.write_error {
                    let path = self.temp.as_ref().map(|(_, p)| p.as_path());
                    return Err(Error::io("could not write the download file", path, e));
                }
                let live = up.body_target(id).as_ref() == Some(&target);
                let mut len = received.len;
                if let Some(data) = received.data {
                    match sink.dest() {
                        // A hedge into a file: written only complete, after the other GETs
                        // of its range can no longer write.
                        BodyDest::File(file, _) => {
                            let complete = received.failure.is_none()
                                && data.len() as u64 == target.end - target.start;
                            if live && complete {
                                self.races.fence_others(id).await;
                                write_at(file, data, target.start).await.map_err(|e| {
                                    let path = self.temp.as_ref().map(|(_, p)| p.as_path());
                                    Error::io("could not write the download file", path, e)
                                })?;
                            } else {
                                len = 0;
                            }
                        }
                        BodyDest::Memory if live => {
                            sink.accept(target.start, data)
                                .await
                                .map_err(|e| Error::io("could not write the download", None, e))?;
                        }
                        BodyDest::Memory => {}
                    }
                }
                self.races.forget(id);
                let kind = received.failure.map(|e| {
                    let k = failure_kind(&e);
                    self.last_transport = Some(e);
                    k
                });
                let crc = if len == received.len {
                    received.crc64
                } else {
                    0
                };
                up.handle_body(id, now, len, crc, kind);
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
            let file = self.temp.as_ref().map(|(f, _)| f.file().clone());
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
        if let DownloadOp::Md5 { range } = &req.op {
            let tx = tx.clone();
            let (off, len) = (range.start, range.end - range.start);
            let file = self.temp.as_ref().map(|(f, _)| f.file().clone());
            tasks.spawn(async move {
                let md5 = match file {
                    Some(f) => md5_range(f, off, len).await.ok(),
                    None => None,
                };
                let _ = tx.send(Msg::Md5 { id, md5 });
            });
            return Ok(());
        }
        let oss = match req.to_oss_request() {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(()),
            Err(e) => return Err(Error::config("download", e.to_string())),
        };
        let creds = self.client.credentials().await?;
        let time = self.client.inner.runtime.system_time();
        let mut request = self
            .client
            .sign_request(&oss, &creds, time, None)?
            .body(RequestBody::empty())
            .map_err(|_| Error::config("request", "could not build the HTTP request"))?;
        let http = self.client.inner.http.clone();
        let is_get = matches!(req.op, DownloadOp::Get { .. });
        if is_get {
            request.extensions_mut().insert(self.retire.clone());
        }
        let (gate, moved) = match &req.op {
            DownloadOp::Get { index, .. } => self.races.register(id, *index),
            _ => Default::default(),
        };
        if is_get {
            self.wire.start(id, Gauge::Received(moved.clone()));
        }
        // A hedge keeps its body in memory until it is known complete (see `race`).
        let dest = match (&req.op, dest) {
            (DownloadOp::Get { hedge: true, .. }, BodyDest::File(..)) => BodyDest::Memory,
            (_, dest) => dest,
        };
        let span = match &req.op {
            DownloadOp::Get { index, .. } => tracing::debug_span!("oss_range", range = index),
            _ => tracing::debug_span!("oss_op", op = "HeadObject"),
        };
        let tx = tx.clone();
        let limiter = self.limiter.clone();
        let task = tasks.spawn(
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
                let received = receive(body, target.clone(), dest, limiter, gate, &moved).await;
                let _ = tx.send(Msg::Body {
                    id,
                    target,
                    received,
                });
            }
            .instrument(span),
        );
        if is_get {
            self.races.set_task(id, task);
        }
        Ok(())
    }
}

/// A request could not even be started (credentials, signing): nothing more will be.
fn break_with(up: &mut Download, rt: &Arc<dyn crate::runtime::Runtime>) {
    up.abort(rt.now());
}
