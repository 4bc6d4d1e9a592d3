//! The temp file a download writes: its disk space reserved before the first byte arrives, and
//! whole aligned blocks written with direct I/O where the file system takes it.
//!
//! Why direct I/O: a download is made durable (fsynced) before it is moved into place anyway,
//! so keeping its bytes in the page cache buys nothing, while putting them there costs a copy
//! into freshly allocated pages for every byte. On the 2-core VM of docs/PERFORMANCE.md that
//! copy was most of a download's CPU (2.3 core-s per GiB written through the page cache, 0.1
//! with direct I/O), enough to make the client, not the link, set the pace. A large download
//! also no longer pushes everything else out of the page cache.
//!
//! What cannot be written directly (a tail that is not a whole block, a body held in memory, a
//! range that does not start on a block boundary) is written through the page cache, as is
//! everything on a file system or platform without direct I/O; the two kinds of write never
//! share a block, and the final `fsync` makes both durable.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Alignment of direct writes, in memory, in the file and in length: the largest logical block
/// size in common use, so it suits 512-byte devices too.
pub(crate) const ALIGN: usize = 4096;

/// A download's temp file.
#[derive(Debug)]
pub(crate) struct DownloadFile {
    /// Reads (verification), unaligned writes, sizing and `fsync`.
    file: Arc<File>,
    /// The same file opened for direct I/O, when the file system accepts it.
    direct: Option<File>,
    /// Set when a direct write was refused: everything after goes through the page cache.
    direct_refused: AtomicBool,
}

impl DownloadFile {
    /// Wraps `file` (open for reading and writing at `path`) and opens `path` again for direct
    /// writes where the file system allows it.
    pub(crate) fn new(file: File, path: &Path) -> Self {
        Self {
            file: Arc::new(file),
            direct: open_direct(path),
            direct_refused: AtomicBool::new(false),
        }
    }

    /// The file for reads, sizing and `fsync`.
    pub(crate) fn file(&self) -> &Arc<File> {
        &self.file
    }

    /// Whether whole aligned blocks are being written with direct I/O.
    pub(crate) fn is_direct(&self) -> bool {
        self.direct.is_some() && !self.direct_refused.load(Ordering::Relaxed)
    }

    /// Writes all of `buf` at `offset`: directly when `buf` is whole aligned blocks at an
    /// aligned offset, through the page cache otherwise.
    pub(crate) fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        if let Some(direct) = &self.direct
            && !self.direct_refused.load(Ordering::Relaxed)
            && is_aligned(buf, offset)
        {
            match write_all_at(direct, buf, offset) {
                // `EINVAL`: this file system wants another alignment after all. The bytes
                // go through the page cache instead, now and from here on.
                Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
                    tracing::debug!(error = %e, "direct write refused; writing through the page cache");
                    self.direct_refused.store(true, Ordering::Relaxed);
                }
                result => return result,
            }
        }
        write_all_at(&self.file, buf, offset)
    }

    /// Reserves `len` bytes of disk for the file before any of them arrives, so that a
    /// download that cannot fit fails at once instead of after minutes with a partial file,
    /// and writes land in allocated blocks.
    ///
    /// `Ok(false)` where the file system or platform cannot reserve (nothing is emulated:
    /// glibc's `posix_fallocate` would write zeros, doubling the writes); `Err` only when the
    /// space is not there (`ENOSPC`, `EDQUOT`, `EFBIG`).
    pub(crate) fn reserve(&self, len: u64) -> io::Result<bool> {
        #[cfg(target_os = "linux")]
        {
            use rustix::io::Errno;
            if len == 0 {
                return Ok(false);
            }
            match rustix::fs::fallocate(&*self.file, rustix::fs::FallocateFlags::empty(), 0, len) {
                Ok(()) => Ok(true),
                Err(e @ (Errno::NOSPC | Errno::DQUOT | Errno::FBIG)) => Err(e.into()),
                Err(_) => Ok(false),
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = len;
            Ok(false)
        }
    }
}

fn is_aligned(buf: &[u8], offset: u64) -> bool {
    (buf.as_ptr() as usize).is_multiple_of(ALIGN)
        && buf.len().is_multiple_of(ALIGN)
        && offset.is_multiple_of(ALIGN as u64)
        && !buf.is_empty()
}

#[cfg(target_os = "linux")]
fn open_direct(path: &Path) -> Option<File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let flag = i32::try_from(rustix::fs::OFlags::DIRECT.bits()).ok()?;
    // tmpfs and some network file systems refuse the flag (`EINVAL`): no direct writes then.
    File::options()
        .write(true)
        .custom_flags(flag)
        .open(path)
        .inspect_err(|e| tracing::debug!(error = %e, "no direct I/O for the download file"))
        .ok()
}

#[cfg(not(target_os = "linux"))]
fn open_direct(_: &Path) -> Option<File> {
    None
}

#[cfg(unix)]
fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

#[cfg(windows)]
fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_write(file, buf, offset)?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        buf = &buf[n..];
        offset += n as u64;
    }
    Ok(())
}

/// A write buffer whose bytes start on an [`ALIGN`] boundary in memory and that never grows
/// past its capacity (so the start stays aligned): what a direct write needs.
#[derive(Debug)]
pub(crate) struct AlignedBuf {
    buf: Vec<u8>,
    /// Bytes skipped at the front of `buf` to reach the boundary.
    pad: usize,
    capacity: usize,
}

impl AlignedBuf {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        let mut buf: Vec<u8> = Vec::with_capacity(capacity + ALIGN);
        // `align_offset` may give up (`usize::MAX`) on exotic targets: then unaligned, and the
        // buffer's writes simply go through the page cache.
        let pad = match buf.as_ptr().align_offset(ALIGN) {
            pad if pad < ALIGN => pad,
            _ => 0,
        };
        buf.resize(pad, 0);
        Self { buf, pad, capacity }
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len() - self.pad
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Room left before the buffer is full.
    pub(crate) fn room(&self) -> usize {
        self.capacity - self.len()
    }

    /// Appends as much of `bytes` as fits and returns how much that was.
    pub(crate) fn fill(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(self.room());
        self.buf.extend_from_slice(&bytes[..n]);
        n
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.buf[self.pad..]
    }

    pub(crate) fn clear(&mut self) {
        self.buf.truncate(self.pad);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(dir: &tempfile::TempDir, content: &[u8]) -> (File, std::path::PathBuf) {
        let path = dir.path().join("f");
        std::fs::write(&path, content).unwrap();
        let file = File::options().read(true).write(true).open(&path).unwrap();
        (file, path)
    }

    #[test]
    fn an_aligned_buffer_starts_on_a_boundary_and_never_outgrows_its_capacity() {
        let mut b = AlignedBuf::with_capacity(3 * ALIGN);
        let start = b.as_slice().as_ptr();
        assert!((start as usize).is_multiple_of(ALIGN));
        assert_eq!(b.fill(&[1; 2 * ALIGN]), 2 * ALIGN);
        assert_eq!(b.fill(&[2; 2 * ALIGN]), ALIGN, "only what fits");
        assert_eq!((b.len(), b.room()), (3 * ALIGN, 0));
        assert_eq!(b.as_slice().as_ptr(), start, "no reallocation");
        assert_eq!(b.as_slice()[2 * ALIGN], 2);
        b.clear();
        assert!(b.is_empty());
        assert_eq!(b.as_slice().as_ptr(), start);
    }

    #[test]
    fn aligned_and_unaligned_writes_land_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let (file, path) = temp_file(&dir, &[]);
        let f = DownloadFile::new(file, &path);
        let mut block = AlignedBuf::with_capacity(2 * ALIGN);
        block.fill(&[7; 2 * ALIGN]);
        // Aligned (direct where the file system allows), then an unaligned tail, then bytes at
        // an unaligned offset from an unaligned buffer.
        f.write_all_at(block.as_slice(), ALIGN as u64).unwrap();
        f.write_all_at(&[8; 100], 3 * ALIGN as u64).unwrap();
        f.write_all_at(&[9; 10], 5).unwrap();
        f.file().sync_all().unwrap();
        assert_eq!(
            f.is_direct(),
            f.direct.is_some(),
            "a direct write was refused"
        );
        let got = std::fs::read(&path).unwrap();
        assert_eq!(got.len(), 3 * ALIGN + 100);
        assert_eq!(&got[5..15], &[9; 10]);
        assert!(got[15..ALIGN].iter().all(|&b| b == 0));
        assert!(got[ALIGN..3 * ALIGN].iter().all(|&b| b == 7));
        assert!(got[3 * ALIGN..].iter().all(|&b| b == 8));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reserving_allocates_the_blocks_and_a_size_that_cannot_fit_is_an_error() {
        use std::os::unix::fs::MetadataExt as _;
        let dir = tempfile::tempdir().unwrap();
        let (file, path) = temp_file(&dir, b"kept");
        let f = DownloadFile::new(file, &path);
        let len = 3 << 20;
        if !f.reserve(len).unwrap() {
            return; // a file system without fallocate: nothing to check
        }
        let meta = f.file().metadata().unwrap();
        assert_eq!(meta.len(), len);
        assert!(meta.blocks() * 512 >= len, "{} blocks", meta.blocks());
        // Bytes already there stay (a resumed download reserves over its partial file).
        assert_eq!(&std::fs::read(&path).unwrap()[..4], b"kept");
        let error = f.reserve(1 << 62).unwrap_err();
        assert!(
            matches!(
                error.kind(),
                io::ErrorKind::StorageFull
                    | io::ErrorKind::FileTooLarge
                    | io::ErrorKind::QuotaExceeded
            ),
            "{error:?}"
        );
        assert!(!f.reserve(0).unwrap());
    }
}
