//! Where downloaded bytes go: positional writes into a file, or an in-order writer fed through
//! a reorder buffer. Bodies are received here, CRC-64 computed over exactly the bytes kept.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::ops::Range;
use std::sync::Arc;

use oss_model::crc64::Crc64;
use tokio::io::{AsyncWrite, AsyncWriteExt as _};

use crate::transport::ResponseBody;

/// Bytes gathered before one positional write (bounds memory per GET in flight).
const WRITE_CHUNK: usize = 1024 * 1024;

/// Where a GET task puts its body.
#[derive(Debug, Clone)]
pub(crate) enum BodyDest {
    /// Positional writes at the object offset.
    File(Arc<File>),
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

/// Receives `body` into `target` (never past its end).
pub(crate) async fn receive(
    mut body: ResponseBody,
    target: Range<u64>,
    dest: BodyDest,
) -> Received {
    let cap = target.end - target.start;
    let mut crc = Crc64::new();
    let mut kept = 0u64;
    let mut buf: Vec<u8> = Vec::new();
    let mut failure = None;
    let mut write_error = None;
    let file = match &dest {
        BodyDest::File(f) => Some(f.clone()),
        BodyDest::Memory => None,
    };
    loop {
        let room = cap - kept - buf.len() as u64;
        if room == 0 {
            break;
        }
        match body.chunk().await {
            Ok(Some(chunk)) => {
                let take = usize::try_from(room).unwrap_or(usize::MAX).min(chunk.len());
                buf.extend_from_slice(&chunk[..take]);
            }
            Ok(None) => break,
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
        if let Some(file) = &file
            && buf.len() >= WRITE_CHUNK
        {
            match write_at(file.clone(), std::mem::take(&mut buf), target.start + kept).await {
                Ok(written) => {
                    crc.update(&written);
                    kept += written.len() as u64;
                    buf = written;
                    buf.clear();
                }
                Err(e) => {
                    write_error = Some(e);
                    break;
                }
            }
        }
    }
    let mut data = None;
    if write_error.is_none() && !buf.is_empty() {
        match &file {
            Some(file) => match write_at(file.clone(), buf, target.start + kept).await {
                Ok(written) => {
                    crc.update(&written);
                    kept += written.len() as u64;
                }
                Err(e) => write_error = Some(e),
            },
            None => {
                crc.update(&buf);
                kept += buf.len() as u64;
                data = Some(buf);
            }
        }
    }
    if file.is_none() && data.is_none() {
        data = Some(Vec::new());
    }
    Received {
        len: kept,
        crc64: crc.finish(),
        failure,
        write_error,
        data,
    }
}

/// Writes `buf` at `offset` on the blocking pool; gives the buffer back for reuse.
async fn write_at(file: Arc<File>, buf: Vec<u8>, offset: u64) -> io::Result<Vec<u8>> {
    tokio::task::spawn_blocking(move || write_all_at(&file, &buf, offset).map(|()| buf))
        .await
        .map_err(io::Error::other)?
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

/// The destination of a whole download.
pub(crate) enum Sink<'w> {
    /// A temp file written at object offsets.
    File(Arc<File>),
    /// An in-order writer, fed from a reorder buffer keyed by object offset.
    Writer {
        writer: &'w mut (dyn AsyncWrite + Unpin + Send),
        reorder: BTreeMap<u64, Vec<u8>>,
        /// Object offset of the next byte the writer expects.
        next: u64,
    },
}

impl Sink<'_> {
    pub(crate) fn dest(&self) -> BodyDest {
        match self {
            Self::File(f) => BodyDest::File(f.clone()),
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
            writer.write_all(&bytes).await?;
            *next += bytes.len() as u64;
        }
        Ok(())
    }

    /// Sets where the writer starts (the first byte of the span).
    pub(crate) fn start_at(&mut self, offset: u64) {
        if let Self::Writer { next, reorder, .. } = self
            && reorder.is_empty()
        {
            *next = offset;
        }
    }

    /// Bytes handed to the writer so far beyond `start` (the file case counts nothing).
    pub(crate) fn has_written_since(&self, start: u64) -> bool {
        matches!(self, Self::Writer { next, .. } if *next > start)
    }

    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Writer { writer, .. } => writer.flush().await,
            Self::File(_) => Ok(()),
        }
    }
}
