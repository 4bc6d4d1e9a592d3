//! Streaming a byte range of a file with positional reads on the blocking pool.
//!
//! Positional reads (`pread`) never move a shared cursor, so many bodies can stream different ranges of one
//! open file at once, and a retry just makes a new body over the same range. One read is kept in flight ahead
//! of the connection (double buffering) so disk and network overlap. A chunk handed to the connection is kept
//! (as a cheap `Bytes` clone) and reused once the connection has written and dropped it, so a body holds at most
//! a few chunks whatever the range length. A reused chunk is still initialised, so it is read into without the
//! zero-fill a fresh buffer needs; when a body ends its chunks go to a small process-wide spare list, so the next
//! part starts with warm buffers too (no allocation, no page faults, no memset in the steady state).

use std::fs::File;
use std::io;
use std::sync::Arc;
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
        }
    }

    pub(crate) fn remaining(&self) -> u64 {
        self.to_yield
    }

    /// Hash on the blocking thread as the chunks are read.
    pub(crate) fn set_digest(&mut self, digest: DigestState) {
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
            if let Err(e) = self.start_read() {
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
        if self.pool.len() < POOL_SIZE {
            self.pool.push(chunk.clone());
        }
        self.digest = digest;
        self.to_yield -= chunk.len() as u64;
        // Prefetch: the next read runs while the connection writes this chunk.
        if self.to_read > 0 {
            if let Err(e) = self.start_read() {
                return Poll::Ready(Some(Err(e)));
            }
        }
        Poll::Ready(Some(Ok(chunk)))
    }

    fn start_read(&mut self) -> io::Result<()> {
        let n =
            usize::try_from(self.to_read.min(self.chunk_size as u64)).unwrap_or(self.chunk_size);
        let offset = self.next_offset;
        self.next_offset += n as u64;
        self.to_read -= n as u64;
        let buf = self.take_buffer(n);
        let file = self.file.clone();
        let digest = self.digest.take();
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| io::Error::other("file body polled outside a tokio runtime"))?;
        self.in_flight =
            Some(runtime.spawn_blocking(move || read_chunk(&file, offset, n, buf, digest)));
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

fn read_chunk(
    file: &File,
    offset: u64,
    n: usize,
    mut buf: BytesMut,
    mut digest: Option<DigestState>,
) -> ReadOutcome {
    // A reused chunk is initialised already; only a fresh buffer pays the zero-fill (which keeps the crate
    // free of `unsafe`).
    if buf.len() < n {
        buf.resize(n, 0);
    }
    buf.truncate(n);
    let mut filled = 0;
    while filled < n {
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

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    // `seek_read` moves the handle's cursor, which nothing here relies on.
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}
