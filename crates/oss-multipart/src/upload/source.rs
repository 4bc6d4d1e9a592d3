//! Upload sources: a file (read with positional reads, any range at any time) or a stream
//! (read once, front to back; parts stay buffered until OSS confirms them).

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use oss_multipart_core::{Crc64, SourceIdentity};
use tokio::io::{AsyncRead, AsyncReadExt as _};

/// Read granularity for streams: chunks of this size are kept as they are (no part-sized
/// contiguous buffer is ever allocated).
const STREAM_CHUNK: usize = 256 * 1024;

pub(crate) enum Source {
    File(PathBuf),
    Stream(Box<dyn AsyncRead + Send + Unpin>),
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(p) => f.debug_tuple("File").field(p).finish(),
            Self::Stream(_) => f.write_str("Stream"),
        }
    }
}

impl Source {
    pub(crate) fn file(path: &Path) -> Self {
        Self::File(path.to_path_buf())
    }

    pub(crate) fn stream(reader: impl AsyncRead + Send + Unpin + 'static) -> Self {
        Self::Stream(Box::new(reader))
    }
}

/// A part read from a stream: its chunks, length and CRC-64.
#[derive(Debug, Clone)]
pub(crate) struct StreamPart {
    pub(crate) chunks: Vec<Bytes>,
    pub(crate) len: u64,
    pub(crate) crc64: u64,
    pub(crate) end_of_stream: bool,
}

/// A stream being cut into parts. Parts read but not yet confirmed stay in `buffered`.
pub(crate) struct StreamSource {
    /// In a mutex only to make the driver `Sync`-free references sendable; always accessed
    /// through `get_mut` (no locking).
    reader: std::sync::Mutex<Box<dyn AsyncRead + Send + Unpin>>,
    /// A byte read ahead to detect the end of the stream, belonging to the next part.
    lookahead: Option<u8>,
    ended: bool,
    pub(crate) buffered: HashMap<u32, StreamPart>,
}

impl StreamSource {
    pub(crate) fn new(reader: Box<dyn AsyncRead + Send + Unpin>) -> Self {
        Self {
            reader: std::sync::Mutex::new(reader),
            lookahead: None,
            ended: false,
            buffered: HashMap::new(),
        }
    }

    /// The bytes of part `n`: from the buffer (a retry) or read now, up to `max` bytes.
    pub(crate) async fn part(&mut self, n: u32, max: u64) -> io::Result<StreamPart> {
        if let Some(p) = self.buffered.get(&n) {
            return Ok(p.clone());
        }
        let reader = self
            .reader
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut chunks = Vec::new();
        let mut crc = Crc64::new();
        let mut len = 0u64;
        if let Some(b) = self.lookahead.take() {
            crc.update(&[b]);
            chunks.push(Bytes::copy_from_slice(&[b]));
            len = 1;
        }
        while len < max && !self.ended {
            let want =
                usize::try_from((max - len).min(STREAM_CHUNK as u64)).unwrap_or(STREAM_CHUNK);
            let mut buf = BytesMut::with_capacity(want);
            while buf.len() < want {
                let n = reader.read_buf(&mut buf).await?;
                if n == 0 {
                    self.ended = true;
                    break;
                }
            }
            if !buf.is_empty() {
                crc.update(&buf);
                len += buf.len() as u64;
                chunks.push(buf.freeze());
            }
        }
        if !self.ended {
            // Peek one byte: a stream that ends exactly at a part boundary must say so now.
            let mut one = [0u8; 1];
            match reader.read(&mut one).await? {
                0 => self.ended = true,
                _ => self.lookahead = Some(one[0]),
            }
        }
        let part = StreamPart {
            chunks,
            len,
            crc64: crc.finish(),
            end_of_stream: self.ended && self.lookahead.is_none(),
        };
        self.buffered.insert(n, part.clone());
        Ok(part)
    }
}

/// Read size of [`hash_range`]: small enough that the bytes `pread` just copied are still in
/// the core's L2 cache when the CRC reads them (a 1 MiB buffer fills a whole 1 MiB L2, so the
/// CRC re-reads from L3: ~10% more CPU per byte on a 10 GiB resume), large enough that the
/// syscalls cost nothing next to the copy.
const HASH_BUF: usize = 256 * 1024;

thread_local! {
    /// One read buffer per blocking-pool thread, reused by every [`hash_range`] on it: a fresh
    /// buffer per part costs page faults and kernel zeroing as large as the data itself when
    /// parts are small (10,000 × 1 MiB on a resume).
    static HASH_READ_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// CRC-64 of `len` bytes of `file` at `offset` (positional reads on the blocking pool).
pub(crate) async fn hash_range(file: Arc<File>, offset: u64, len: u64) -> io::Result<u64> {
    tokio::task::spawn_blocking(move || {
        HASH_READ_BUF.with_borrow_mut(|buf| hash_range_with(&file, offset, len, buf))
    })
    .await
    .map_err(io::Error::other)?
}

fn hash_range_with(file: &File, offset: u64, len: u64, buf: &mut Vec<u8>) -> io::Result<u64> {
    buf.resize(HASH_BUF, 0);
    let mut crc = Crc64::new();
    let mut done = 0u64;
    while done < len {
        let want = usize::try_from((len - done).min(buf.len() as u64)).unwrap_or(buf.len());
        let n = read_at(file, &mut buf[..want], offset + done)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shorter than the range",
            ));
        }
        crc.update(&buf[..n]);
        done += n as u64;
    }
    Ok(crc.finish())
}

/// MD5 (base64, for `Content-MD5`) of a file range.
pub(crate) async fn md5_range(file: Arc<File>, offset: u64, len: u64) -> io::Result<String> {
    tokio::task::spawn_blocking(move || {
        let mut h = oss_model::ContentMd5::new();
        let mut buf = vec![0u8; 1024 * 1024];
        let mut done = 0u64;
        while done < len {
            let want = usize::try_from((len - done).min(buf.len() as u64)).unwrap_or(buf.len());
            let n = read_at(&file, &mut buf[..want], offset + done)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "file shorter than the range",
                ));
            }
            h.update(&buf[..n]);
            done += n as u64;
        }
        Ok(h.finish())
    })
    .await
    .map_err(io::Error::other)?
}

/// MD5 (base64) of in-memory chunks.
pub(crate) fn md5_chunks(chunks: &[Bytes]) -> String {
    let mut h = oss_model::ContentMd5::new();
    for c in chunks {
        h.update(c);
    }
    h.finish()
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

/// The identity of a file source: its size and modification time (Unix nanoseconds). The one
/// description of "the same file" for checkpoints, their names and the source check.
pub(crate) fn file_identity(meta: &std::fs::Metadata) -> SourceIdentity {
    let mut id = SourceIdentity::new(meta.len());
    id.mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .and_then(|d| i128::try_from(d.as_nanos()).ok());
    id
}

/// What a file's metadata says about its content when the upload starts: size, modification
/// time and, on Unix, the change time. A writer can put the modification time back (`touch -r`,
/// `cp -p`, `rsync -t`); the change time is set by the kernel on every write and cannot be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileStamp {
    len: u64,
    mtime: Option<SystemTime>,
    /// `(seconds, nanoseconds)` of the inode change time.
    ctime: Option<(i64, i64)>,
}

impl FileStamp {
    pub(crate) fn of(meta: &std::fs::Metadata) -> Self {
        #[cfg(unix)]
        let ctime = {
            use std::os::unix::fs::MetadataExt as _;
            Some((meta.ctime(), meta.ctime_nsec()))
        };
        #[cfg(not(unix))]
        let ctime = None;
        Self {
            len: meta.len(),
            mtime: meta.modified().ok(),
            ctime,
        }
    }
}

/// How the open source `file` differs from `then` (its stamp when the upload started), if it
/// does: the answer to `Op::CheckSource`.
pub(crate) fn source_change(file: &File, then: FileStamp) -> Option<String> {
    let now = match file.metadata() {
        Ok(m) => FileStamp::of(&m),
        Err(e) => return Some(format!("it could not be checked again ({e})")),
    };
    if now.len != then.len {
        Some(format!(
            "its size went from {} to {} bytes during the upload",
            then.len, now.len
        ))
    } else if now.mtime != then.mtime {
        Some("it was modified during the upload (same size, new modification time)".to_owned())
    } else if now.ctime != then.ctime {
        Some(
            "it was modified during the upload (same size and modification time, new change \
             time: something wrote it and put its modification time back)"
                .to_owned(),
        )
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn crc(b: &[u8]) -> u64 {
        oss_multipart_core::crc64(b)
    }

    #[tokio::test]
    async fn stream_parts_detect_the_end_exactly() {
        let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        let mut s = StreamSource::new(Box::new(Cursor::new(data.clone())));
        let p1 = s.part(1, 500).await.unwrap();
        assert_eq!((p1.len, p1.end_of_stream), (500, false));
        let p2 = s.part(2, 500).await.unwrap();
        assert_eq!((p2.len, p2.end_of_stream), (500, true));
        assert_eq!(p2.crc64, crc(&data[500..]));
        let joined: Vec<u8> = p1
            .chunks
            .iter()
            .chain(&p2.chunks)
            .flat_map(|c| c.to_vec())
            .collect();
        assert_eq!(joined, data);
        // A retry gets the same bytes back from the buffer.
        assert_eq!(s.part(1, 500).await.unwrap().crc64, crc(&data[..500]));
    }

    #[tokio::test]
    async fn short_stream_and_empty_stream() {
        let mut s = StreamSource::new(Box::new(Cursor::new(vec![1u8; 10])));
        let p = s.part(1, 500).await.unwrap();
        assert_eq!((p.len, p.end_of_stream), (10, true));
        let mut e = StreamSource::new(Box::new(Cursor::new(Vec::<u8>::new())));
        let p = e.part(1, 500).await.unwrap();
        assert_eq!((p.len, p.end_of_stream, p.crc64), (0, true, 0));
    }

    #[tokio::test]
    async fn file_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let f = Arc::new(File::open(&path).unwrap());
        assert_eq!(
            hash_range(f.clone(), 10, 2_500_000).await.unwrap(),
            crc(&data[10..2_500_010])
        );
        assert!(hash_range(f.clone(), 2_999_000, 5000).await.is_err());
        assert_eq!(
            md5_range(f, 0, 0).await.unwrap(),
            "1B2M2Y8AsgTpgAmY7PhCfg=="
        );
        // Base64 MD5 of "hello world", from Python's hashlib.
        let chunks = [Bytes::from_static(b"hello "), Bytes::from_static(b"world")];
        assert_eq!(md5_chunks(&chunks), "XrY7u+Ae7tCTyyK7j1rNww==");
    }
}
