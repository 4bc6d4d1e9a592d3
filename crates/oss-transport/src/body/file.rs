//! Streaming a byte range of a file with positional reads on the blocking pool.
//!
//! Positional reads (`pread`) never move a shared cursor, so many bodies can stream different ranges of one
//! open file at once, and a retry just makes a new body over the same range.
//!
//! Where the page cache already holds the bytes (the common case for an upload of a file just written or
//! re-read, and always for a benchmark), a hop to the blocking pool per chunk costs more than the read itself:
//! two thread wake-ups, and the chunk is read and hashed on one core and sent from another. So on Linux a chunk
//! is first read right where the body is polled with `preadv2(RWF_NOWAIT)`, which never waits for the disk:
//! it returns what is cached and fails with `EAGAIN` otherwise. The read, the CRC-64 and the connection's copy
//! into the socket then run back to back on one core while the chunk is hot in its cache. Only when the kernel
//! would have to wait (or elsewhere) does the body fall back to the blocking pool, and from then on it keeps one
//! read in flight ahead of the connection (double buffering) so disk and network overlap. A chunk handed to the connection is kept
//! (as a cheap `Bytes` clone) and reused once the connection has written and dropped it, so a body holds at most
//! a few chunks whatever the range length. A reused chunk is still initialised, so it is read into without the
//! zero-fill a fresh buffer needs; when a body ends its chunks go to a small process-wide spare list, so the next
//! part starts with warm buffers too (no allocation, no page faults, no memset in the steady state).

use std::fs::File;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use tokio::task::JoinHandle;

use super::digest::DigestState;

/// Default chunk size: large enough that per-chunk overhead (a blocking-pool hop) is negligible, small enough
/// that a body holds little memory.
pub const DEFAULT_CHUNK_SIZE: usize = 512 * 1024;
const MIN_CHUNK_SIZE: usize = 4 * 1024;
const MAX_CHUNK_SIZE: usize = 8 * 1024 * 1024;
/// Chunks alive at once: one being written by the connection, one being read, one spare for reclaim lag.
const POOL_SIZE: usize = 3;
/// Chunks kept between bodies (a few parts' worth at the default chunk size; 16 × 512 KiB = 8 MiB at most).
const SPARE_MAX: usize = 16;

/// Chunks of finished bodies, for the next body. Entries may still be referenced by a connection that has not
/// written them yet; they are only reused once unique.
static SPARE: std::sync::Mutex<Vec<Bytes>> = std::sync::Mutex::new(Vec::new());

/// A byte range of an open file, to be sent as a request body with
/// [`RequestBody::file_range`](crate::RequestBody::file_range).
///
/// Cheap to clone (the file is shared), so a retry clones the range and builds a new body.
#[derive(Debug, Clone)]
pub struct FileRange {
    file: Arc<File>,
    offset: u64,
    len: u64,
    chunk_size: usize,
}

impl FileRange {
    /// `len` bytes of `file` starting at `offset`. The file must hold them when the body is streamed; a file
    /// that turns out shorter fails the body ([`TransportError::is_body`](crate::TransportError::is_body)).
    pub fn new(file: Arc<File>, offset: u64, len: u64) -> Self {
        Self {
            file,
            offset,
            len,
            chunk_size: DEFAULT_CHUNK_SIZE,
        }
    }

    /// Read in chunks of this many bytes (default 512 KiB, clamped to 4 KiB..=8 MiB).
    pub fn with_chunk_size(mut self, chunk_size: usize) -> Self {
        self.chunk_size = chunk_size.clamp(MIN_CHUNK_SIZE, MAX_CHUNK_SIZE);
        self
    }

    /// First byte of the range.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Length of the range in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the range is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The chunk size in use.
    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }
}

type ReadOutcome = io::Result<(Bytes, Option<DigestState>)>;

/// Cleared the first time `preadv2(RWF_NOWAIT)` fails for another reason than "not cached" (an old kernel, a
/// file system or sandbox without it), so that no later body tries again.
static NOWAIT_WORKS: AtomicBool = AtomicBool::new(cfg!(target_os = "linux"));

pub(crate) struct FileReader {
    file: Arc<File>,
    next_offset: u64,
    /// Bytes not yet asked of the disk.
    to_read: u64,
    /// Bytes not yet returned to the caller.
    to_yield: u64,
    chunk_size: usize,
    in_flight: Option<JoinHandle<ReadOutcome>>,
    /// Chunks handed to the connection; each becomes a buffer again once the connection drops its clone.
    pool: Vec<Bytes>,
    /// The digest state when no read holds it.
    digest: Option<DigestState>,
    /// Try each chunk on the polling thread first (cleared once the page cache misses, or for a costly digest).
    inline: bool,
}

impl FileReader {
    pub(crate) fn new(range: FileRange) -> Self {
        Self {
            file: range.file,
            next_offset: range.offset,
            to_read: range.len,
            to_yield: range.len,
            chunk_size: range.chunk_size,
            in_flight: None,
            pool: Vec::with_capacity(POOL_SIZE),
            digest: None,
            inline: NOWAIT_WORKS.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn remaining(&self) -> u64 {
        self.to_yield
    }

    /// Hash as the chunks are read (on the blocking thread when a chunk is read there).
    pub(crate) fn set_digest(&mut self, digest: DigestState) {
        // MD5 runs at ~0.5 GiB/s: a chunk's worth would hold a runtime worker for a millisecond.
        if !digest.is_cheap() {
            self.inline = false;
        }
        self.digest = Some(digest);
    }

    /// The digest state after the last chunk was returned.
    pub(crate) fn take_digest(&mut self) -> Option<DigestState> {
        self.digest.take()
    }

    pub(crate) fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        if self.to_yield == 0 {
            return Poll::Ready(None);
        }
        if self.in_flight.is_none() {
            let n = self.next_len();
            let mut buf = self.take_buffer(n);
            prepare(&mut buf, n);
            let filled = if self.inline {
                read_cached(&self.file, &mut buf, self.next_offset)
            } else {
                0
            };
            if filled == n {
                self.advance(n);
                if let Some(d) = &mut self.digest {
                    d.update(&buf);
                }
                return Poll::Ready(Some(Ok(self.deliver(buf.freeze()))));
            }
            // Not (all) in the page cache: the disk is involved, so read ahead on the blocking pool from now on.
            self.inline = false;
            if let Err(e) = self.start_read(buf, filled) {
                return Poll::Ready(Some(Err(e)));
            }
        }
        let Some(handle) = self.in_flight.as_mut() else {
            return Poll::Ready(Some(Err(io::Error::other("file body: no read in flight"))));
        };
        let joined = ready!(std::pin::Pin::new(handle).poll(cx));
        self.in_flight = None;
        let (chunk, digest) = match joined {
            Ok(Ok(done)) => done,
            Ok(Err(e)) => {
                self.to_yield = 0;
                return Poll::Ready(Some(Err(e)));
            }
            Err(join) => {
                self.to_yield = 0;
                return Poll::Ready(Some(Err(io::Error::other(join))));
            }
        };
        self.digest = digest;
        let chunk = self.deliver(chunk);
        // Prefetch: the next read runs while the connection writes this chunk.
        if self.to_read > 0 {
            let n = self.next_len();
            let mut buf = self.take_buffer(n);
            prepare(&mut buf, n);
            if let Err(e) = self.start_read(buf, 0) {
                return Poll::Ready(Some(Err(e)));
            }
        }
        Poll::Ready(Some(Ok(chunk)))
    }

    /// Size of the next chunk to read.
    fn next_len(&self) -> usize {
        usize::try_from(self.to_read.min(self.chunk_size as u64)).unwrap_or(self.chunk_size)
    }

    /// Moves the read position past `n` bytes.
    fn advance(&mut self, n: usize) {
        self.next_offset += n as u64;
        self.to_read -= n as u64;
    }

    /// Keeps a clone of `chunk` for reuse and counts it as returned.
    fn deliver(&mut self, chunk: Bytes) -> Bytes {
        if self.pool.len() < POOL_SIZE {
            self.pool.push(chunk.clone());
        }
        self.to_yield -= chunk.len() as u64;
        chunk
    }

    /// Reads the next chunk into `buf` (of the chunk's length, its first `filled` bytes already read) on the
    /// blocking pool, hashing it there.
    fn start_read(&mut self, buf: BytesMut, filled: usize) -> io::Result<()> {
        let offset = self.next_offset;
        self.advance(buf.len());
        let file = self.file.clone();
        let digest = self.digest.take();
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| io::Error::other("file body polled outside a tokio runtime"))?;
        self.in_flight =
            Some(runtime.spawn_blocking(move || read_chunk(&file, offset, buf, filled, digest)));
        Ok(())
    }

    /// A chunk the connection has dropped (from this body, else from the spare list), else a fresh buffer.
    fn take_buffer(&mut self, n: usize) -> BytesMut {
        if let Some(buf) = reclaim(&mut self.pool, n) {
            return buf;
        }
        let mut spare = SPARE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        reclaim(&mut spare, n).unwrap_or_else(|| BytesMut::with_capacity(n))
    }
}

/// Takes out of `pool` the first chunk nobody else references any more and that can hold `n` bytes.
fn reclaim(pool: &mut Vec<Bytes>, n: usize) -> Option<BytesMut> {
    let mut i = 0;
    while i < pool.len() {
        if pool[i].is_unique() {
            match pool.swap_remove(i).try_into_mut() {
                Ok(buf) if buf.capacity() >= n => return Some(buf),
                // Too small (a range's short last chunk): let it go.
                Ok(_) => continue,
                Err(shared) => pool.push(shared),
            }
        }
        i += 1;
    }
    None
}

impl Drop for FileReader {
    fn drop(&mut self) {
        // The blocking read cannot be cancelled; it finishes and its result is discarded.
        if let Some(h) = self.in_flight.take() {
            h.abort();
        }
        let mut spare = SPARE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let room = SPARE_MAX.saturating_sub(spare.len());
        spare.extend(self.pool.drain(..).take(room));
    }
}

/// Sizes `buf` to `n` bytes. A reused chunk is initialised already; only a fresh buffer pays the zero-fill
/// (which keeps the crate free of `unsafe`).
fn prepare(buf: &mut BytesMut, n: usize) {
    if buf.len() < n {
        buf.resize(n, 0);
    }
    buf.truncate(n);
}

/// Reads `buf[filled..]` at `offset + filled` (blocking), then hashes the whole of `buf`.
fn read_chunk(
    file: &File,
    offset: u64,
    mut buf: BytesMut,
    mut filled: usize,
    mut digest: Option<DigestState>,
) -> ReadOutcome {
    while filled < buf.len() {
        match read_at(file, &mut buf[filled..], offset + filled as u64) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "file ended before the end of the requested range",
                ));
            }
            Ok(k) => filled += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if let Some(d) = &mut digest {
        d.update(&buf);
    }
    Ok((buf.freeze(), digest))
}

/// Fills as much of `buf` from `offset` as the page cache holds, without ever waiting for the disk; returns how
/// much. Errors and end of file just stop it: the blocking read that follows reports them.
#[cfg(target_os = "linux")]
fn read_cached(file: &File, buf: &mut [u8], offset: u64) -> usize {
    use rustix::io::{Errno, ReadWriteFlags, preadv2};
    let mut filled = 0;
    while filled < buf.len() {
        let mut slices = [io::IoSliceMut::new(&mut buf[filled..])];
        match preadv2(
            file,
            &mut slices,
            offset + filled as u64,
            ReadWriteFlags::NOWAIT,
        ) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) => break,
            Err(_) => {
                // Not supported here (kernel, file system or sandbox): use the blocking pool from now on.
                NOWAIT_WORKS.store(false, Ordering::Relaxed);
                break;
            }
        }
    }
    filled
}

#[cfg(not(target_os = "linux"))]
fn read_cached(_file: &File, _buf: &mut [u8], _offset: u64) -> usize {
    0
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    // `seek_read` moves the handle's cursor, which nothing here relies on.
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::Digests;

    fn file_of(data: &[u8]) -> Arc<File> {
        use std::io::Write as _;
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(data).unwrap();
        Arc::new(f)
    }

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 253) as u8).collect()
    }

    async fn drain(mut reader: FileReader) -> (Vec<u8>, u64) {
        reader.set_digest(DigestState::new(Digests::Crc64));
        let mut out = Vec::new();
        while let Some(chunk) = std::future::poll_fn(|cx| reader.poll_chunk(cx)).await {
            out.extend_from_slice(&chunk.unwrap());
        }
        let crc = reader.take_digest().unwrap().finish().crc64().unwrap();
        (out, crc)
    }

    #[tokio::test]
    async fn cached_and_blocking_reads_give_the_same_bytes_and_crc() {
        let data = pattern(1_300_000);
        let file = file_of(&data);
        let range = FileRange::new(file, 1234, 1_200_000).with_chunk_size(64 * 1024);
        let expected = &data[1234..1_201_234];
        let want_crc = oss_crc64::crc64(expected);

        let (cached, crc) = drain(FileReader::new(range.clone())).await;
        assert_eq!(cached, expected);
        assert_eq!(crc, want_crc);

        let mut blocking = FileReader::new(range);
        blocking.inline = false;
        let (read, crc) = drain(blocking).await;
        assert_eq!(read, expected);
        assert_eq!(crc, want_crc);
    }

    #[test]
    fn a_read_finished_on_the_blocking_pool_hashes_the_whole_chunk() {
        // The part a cached read already filled is kept, the rest is read, all of it is hashed.
        let data = pattern(10_000);
        let file = file_of(&data);
        let mut buf = BytesMut::new();
        prepare(&mut buf, 4000);
        buf[..1500].copy_from_slice(&data[100..1600]);
        let digest = Some(DigestState::new(Digests::Crc64));
        let (chunk, digest) = read_chunk(&file, 100, buf, 1500, digest).unwrap();
        assert_eq!(&chunk[..], &data[100..4100]);
        assert_eq!(
            digest.unwrap().finish().crc64(),
            Some(oss_crc64::crc64(&data[100..4100]))
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn cached_read_stops_at_end_of_file() {
        let data = pattern(5000);
        let file = file_of(&data);
        let mut buf = vec![0u8; 8192];
        let got = read_cached(&file, &mut buf, 1000);
        // Whatever the page cache gave is exact; it never goes past the end.
        assert!(got <= 4000);
        assert_eq!(&buf[..got], &data[1000..1000 + got]);
    }

    #[test]
    fn md5_keeps_reads_off_the_runtime() {
        let mut reader = FileReader::new(FileRange::new(file_of(b"abc"), 0, 3));
        reader.set_digest(DigestState::new(Digests::Crc64AndMd5));
        assert!(!reader.inline);
    }
}
