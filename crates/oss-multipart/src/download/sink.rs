//! Where downloaded bytes go: positional writes into a file, or an in-order writer fed through
//! a reorder buffer. Bodies are received here, CRC-64 computed over exactly the bytes kept.

use std::collections::BTreeMap;
use std::io;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use oss_model::ContentMd5;
use oss_model::crc64::Crc64;
use oss_transport::RateLimiter;
use tokio::io::{AsyncWrite, AsyncWriteExt as _};

use super::file::{AlignedBuf, DownloadFile};
use super::race::Gate;
use crate::transport::ResponseBody;

/// Bytes gathered before one positional write: enough that the blocking-pool hop is amortised,
/// little enough that memory stays bounded (two batches per GET in flight).
const WRITE_BATCH: usize = 1024 * 1024;

/// What the GET tasks of one file download share for writing.
///
/// Buffers: one goes back to the pool after its write, so its pages are reused instead of
/// being faulted in again (a fresh 1 MiB buffer costs 256 page faults and the kernel's zeroing
/// of it, per MiB downloaded).
///
/// The fence: a write runs only under the epoch it was started in. Aborting a GET task does
/// not stop a positional write already handed to the blocking pool, so when GETs are dropped
/// (a restart, the end) [`fence`](Self::fence) waits for the writes in progress and makes
/// every later write of the dropped GETs a no-op: a stale body never lands over a newer one,
/// nor in a file already renamed or removed.
#[derive(Debug, Clone, Default)]
pub(crate) struct BufferPool {
    free: Arc<std::sync::Mutex<Vec<AlignedBuf>>>,
    epoch: Arc<std::sync::RwLock<u64>>,
}

impl BufferPool {
    /// Drops every write of the GETs started so far (see the type docs); blocks for at most
    /// the writes in progress.
    pub(crate) fn fence(&self) {
        if let Ok(mut e) = self.epoch.write() {
            *e += 1;
        }
    }

    fn epoch(&self) -> u64 {
        self.epoch.read().map_or(0, |e| *e)
    }

    /// Runs `write` unless the epoch moved past `epoch` (then the bytes are dropped).
    fn write_in(&self, epoch: u64, write: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
        match self.epoch.read() {
            Ok(e) if *e == epoch => write(),
            _ => Ok(()),
        }
    }

    /// Buffers kept for reuse; more are dropped (two per GET in flight is the steady state).
    const KEEP: usize = 64;

    fn get(&self) -> AlignedBuf {
        let reused = self.free.lock().ok().and_then(|mut f| f.pop());
        reused.unwrap_or_else(|| AlignedBuf::with_capacity(WRITE_BATCH))
    }

    fn put(&self, mut buf: AlignedBuf) {
        buf.clear();
        if let Ok(mut free) = self.free.lock()
            && free.len() < Self::KEEP
        {
            free.push(buf);
        }
    }
}

/// Where a GET task puts its body.
#[derive(Debug, Clone)]
pub(crate) enum BodyDest {
    /// Positional writes at the object offset.
    File(Arc<DownloadFile>, BufferPool),
    /// Kept in memory for the reorder buffer.
    Memory,
}

/// What a GET task received.
#[derive(Debug)]
pub(crate) struct Received {
    /// Bytes kept (written, or held in `data`), from the start of the target range.
    pub(crate) len: u64,
    /// CRC-64 of those bytes.
    pub(crate) crc64: u64,
    /// The body ended in a transport failure.
    pub(crate) failure: Option<oss_transport::TransportError>,
    /// Writing the file failed (fatal: the disk is full, the file is gone...).
    pub(crate) write_error: Option<io::Error>,
    /// The bytes, for [`BodyDest::Memory`].
    pub(crate) data: Option<Vec<u8>>,
}

/// Receives `body` into `target` (never past its end), paced by `limiter` when set, adding
/// the bytes kept to `moved` as they arrive (the progress of the bytes on the wire, and what a
/// cancelled loser moved). File writes happen under `gate`: once it is closed (another GET of
/// the range won), nothing more is written.
///
/// The body's chunks are hashed as they arrive (still hot in the cache from the socket read)
/// and gathered into batches of [`WRITE_BATCH`] bytes from a [`BufferPool`] (so the
/// connection's own buffer is free again at once, and no page is faulted in twice); each batch
/// is written by one positional-write job on the blocking pool while the next one fills, so
/// the socket and the disk work at the same time.
pub(crate) async fn receive(
    mut body: ResponseBody,
    target: Range<u64>,
    dest: BodyDest,
    limiter: Option<RateLimiter>,
    gate: Gate,
    moved: &AtomicU64,
) -> Received {
    let cap = target.end - target.start;
    let mut crc = Crc64::new();
    let mut taken = 0u64;
    let mut failure = None;
    let mut writer = match &dest {
        BodyDest::File(f, pool) => Some(Batches::new(f.clone(), pool.clone(), gate, target.start)),
        BodyDest::Memory => None,
    };
    let mut data: Vec<u8> = Vec::new();
    while taken < cap {
        let chunk = match body.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        let room = usize::try_from(cap - taken).unwrap_or(usize::MAX);
        let chunk = chunk.slice(..room.min(chunk.len()));
        crc.update(&chunk);
        taken += chunk.len() as u64;
        let len = chunk.len();
        moved.fetch_add(len as u64, Ordering::Relaxed);
        match &mut writer {
            Some(w) => {
                if w.push(chunk).await.is_err() {
                    break;
                }
            }
            None => data.extend_from_slice(&chunk),
        }
        if let Some(limiter) = &limiter {
            limiter.acquire(len).await;
        }
    }
    let (write_error, data) = match writer {
        Some(w) => (w.finish().await.err(), None),
        None => (None, Some(data)),
    };
    Received {
        len: taken,
        crc64: crc.finish(),
        failure,
        write_error,
        data,
    }
}

/// Positional writes of a body's bytes, one batch being written while the next fills.
struct Batches {
    file: Arc<DownloadFile>,
    pool: BufferPool,
    /// The epoch this GET's writes belong to.
    epoch: u64,
    /// Closed when another GET of the range won the race (see `race`).
    gate: Gate,
    /// File offset of the next batch.
    offset: u64,
    batch: AlignedBuf,
    writing: Option<tokio::task::JoinHandle<io::Result<AlignedBuf>>>,
    /// The first write failure (nothing more is written after it).
    error: Option<io::Error>,
}

impl Batches {
    fn new(file: Arc<DownloadFile>, pool: BufferPool, gate: Gate, offset: u64) -> Self {
        let batch = pool.get();
        Self {
            file,
            epoch: pool.epoch(),
            gate,
            pool,
            offset,
            batch,
            writing: None,
            error: None,
        }
    }

    /// Adds a chunk; starts writing a batch each time one is full. `Err` after a write failed
    /// or the race was lost (not one more byte is written then).
    ///
    /// Batches are exactly [`WRITE_BATCH`] bytes (the last of a body may be shorter), so the
    /// writes of a range that starts on a block boundary are whole blocks: direct writes.
    async fn push(&mut self, chunk: Bytes) -> Result<(), ()> {
        let mut rest = &chunk[..];
        loop {
            rest = &rest[self.batch.fill(rest)..];
            if self.batch.room() == 0 {
                self.flush().await;
            }
            if self.error.is_some() || self.gate.is_closed() {
                return Err(());
            }
            if rest.is_empty() {
                return Ok(());
            }
        }
    }

    /// Waits for the write in progress, then starts writing the current batch.
    async fn flush(&mut self) {
        self.wait().await;
        if self.error.is_some() || self.batch.is_empty() {
            return;
        }
        let (file, offset, pool, epoch, gate) = (
            self.file.clone(),
            self.offset,
            self.pool.clone(),
            self.epoch,
            self.gate.clone(),
        );
        let next = self.pool.get();
        let batch = std::mem::replace(&mut self.batch, next);
        self.offset += batch.len() as u64;
        self.writing = Some(tokio::task::spawn_blocking(move || {
            gate.write_blocking(|| {
                pool.write_in(epoch, || file.write_all_at(batch.as_slice(), offset))
            })
            .unwrap_or(Ok(()))
            .map(|()| batch)
        }));
    }

    async fn wait(&mut self) {
        if let Some(job) = self.writing.take() {
            match job.await.map_err(io::Error::other).and_then(|r| r) {
                Ok(buf) => self.pool.put(buf),
                Err(e) => {
                    self.error.get_or_insert(e);
                }
            }
        }
    }

    /// Writes what is left and waits for every write.
    async fn finish(mut self) -> io::Result<()> {
        self.flush().await;
        self.wait().await;
        self.pool.put(self.batch);
        self.error.map_or(Ok(()), Err)
    }
}

/// Writes `buf` at `offset` on the blocking pool (a hedge's complete body).
pub(crate) async fn write_at(file: Arc<DownloadFile>, buf: Vec<u8>, offset: u64) -> io::Result<()> {
    tokio::task::spawn_blocking(move || file.write_all_at(&buf, offset))
        .await
        .map_err(io::Error::other)?
}

/// The destination of a whole download.
pub(crate) enum Sink<'w> {
    /// A temp file written at object offsets, and the write buffers of its GETs.
    File(Arc<DownloadFile>, BufferPool),
    /// An in-order writer, fed from a reorder buffer keyed by object offset.
    Writer {
        writer: &'w mut (dyn AsyncWrite + Unpin + Send),
        reorder: BTreeMap<u64, Vec<u8>>,
        /// Object offset of the next byte the writer expects.
        next: u64,
        /// MD5 of the bytes written, when the download ends with an MD5 check.
        md5: Option<ContentMd5>,
    },
}

impl Sink<'_> {
    pub(crate) fn dest(&self) -> BodyDest {
        match self {
            Self::File(f, pool) => BodyDest::File(f.clone(), pool.clone()),
            Self::Writer { .. } => BodyDest::Memory,
        }
    }

    /// Accepts the bytes of a body that start at object offset `at`, and writes out whatever
    /// became contiguous.
    pub(crate) async fn accept(&mut self, at: u64, data: Vec<u8>) -> io::Result<()> {
        let Self::Writer {
            writer,
            reorder,
            next,
            md5,
        } = self
        else {
            return Ok(());
        };
        if !data.is_empty() {
            reorder.insert(at, data);
        }
        while let Some(entry) = reorder.first_entry() {
            if *entry.key() != *next {
                break;
            }
            let bytes = entry.remove();
            if let Some(md5) = md5 {
                md5.update(&bytes);
            }
            writer.write_all(&bytes).await?;
            *next += bytes.len() as u64;
        }
        Ok(())
    }

    /// Drops the writes of every GET started so far (files; see [`BufferPool::fence`]).
    pub(crate) fn fence(&self) {
        if let Self::File(_, pool) = self {
            pool.fence();
        }
    }

    /// Sets where the writer starts (the first byte of the span).
    pub(crate) fn start_at(&mut self, offset: u64) {
        if let Self::Writer { next, reorder, .. } = self
            && reorder.is_empty()
        {
            *next = offset;
        }
    }

    /// Hashes what the writer is given (it cannot be read back for the MD5 check).
    pub(crate) fn hash_md5(&mut self, yes: bool) {
        if let Self::Writer { md5, .. } = self {
            *md5 = yes.then(ContentMd5::new);
        }
    }

    /// The MD5 of what the writer was given, if hashed; `None` for files (read back instead).
    pub(crate) fn md5(&self) -> Option<String> {
        match self {
            Self::Writer { md5: Some(m), .. } => Some(m.clone().finish()),
            _ => None,
        }
    }

    /// Bytes handed to the writer so far beyond `start` (the file case counts nothing).
    pub(crate) fn has_written_since(&self, start: u64) -> bool {
        matches!(self, Self::Writer { next, .. } if *next > start)
    }

    /// Reserves disk for a file of `len` bytes (see [`DownloadFile::reserve`]); nothing for a
    /// writer.
    pub(crate) async fn reserve(&self, len: u64) -> io::Result<()> {
        let Self::File(file, _) = self else {
            return Ok(());
        };
        let f = file.clone();
        let reserved = tokio::task::spawn_blocking(move || f.reserve(len))
            .await
            .map_err(io::Error::other)??;
        tracing::debug!(
            len,
            reserved,
            direct = file.is_direct(),
            "the download file"
        );
        Ok(())
    }

    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Writer { writer, .. } => writer.flush().await,
            Self::File(..) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs::File;

    use super::*;

    #[tokio::test]
    async fn chunks_of_any_size_become_whole_batches_at_their_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"").unwrap();
        let file = File::options().read(true).write(true).open(&path).unwrap();
        let file = Arc::new(DownloadFile::new(file, &path));
        let body: Vec<u8> = (0..(5 * WRITE_BATCH / 2) as u32)
            .map(|i| (i % 251) as u8)
            .collect();
        let start = WRITE_BATCH as u64; // a second range
        let mut writer = Batches::new(file.clone(), BufferPool::default(), Gate::default(), start);
        for chunk in body.chunks(1000) {
            writer.push(Bytes::copy_from_slice(chunk)).await.unwrap();
        }
        writer.finish().await.unwrap();
        let got = std::fs::read(&path).unwrap();
        assert_eq!(got.len() as u64, start + body.len() as u64);
        assert!(got[..WRITE_BATCH].iter().all(|&b| b == 0));
        assert!(got[WRITE_BATCH..] == body[..], "bytes differ");
    }

    #[tokio::test]
    async fn a_fenced_get_never_writes_over_a_newer_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = Arc::new(DownloadFile::new(
            File::options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)
                .unwrap(),
            &path,
        ));
        let pool = BufferPool::default();
        let mut stale = Batches::new(file.clone(), pool.clone(), Gate::default(), 0);
        stale.push(Bytes::from(vec![1u8; 10])).await.unwrap();
        // The GET above is dropped (a restart); a new one writes the same range.
        pool.fence();
        let mut fresh = Batches::new(file.clone(), pool.clone(), Gate::default(), 0);
        fresh.push(Bytes::from(vec![2u8; 10])).await.unwrap();
        fresh.finish().await.unwrap();
        // The stale GET's write would land last: it must be dropped.
        stale.finish().await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), vec![2u8; 10]);
    }

    #[tokio::test]
    async fn a_get_that_lost_its_race_writes_nothing_more() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, [0u8; 8]).unwrap();
        let file = Arc::new(DownloadFile::new(
            File::options().write(true).open(&path).unwrap(),
            &path,
        ));
        let gate = Gate::default();
        let mut loser = Batches::new(file, BufferPool::default(), gate.clone(), 0);
        loser.push(Bytes::from(vec![7u8; 8])).await.unwrap();
        gate.close().await; // the hedge of this range won
        assert!(loser.push(Bytes::from(vec![7u8; 8])).await.is_err());
        loser.finish().await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), vec![0u8; 8]);
    }
}
