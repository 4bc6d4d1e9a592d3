//! The download ceiling: ranged GETs of one object into a file, `jobs` at once.
//!
//! Each job is one OS thread with one keep-alive TCP connection and one reused buffer. A range
//! is a raw HTTP/1.1 `GET` of a presigned URL (signed once, before the clock starts) with a
//! `Range` header; the body is read straight from the socket, hashed (CRC-64) and written with
//! positional writes (`pwrite`), and the file is fsynced once at the end. Nothing is signed
//! per request, planned, retried or parsed beyond the status line and `Content-Length`: the
//! least work that moves the same bytes into the same file with the same integrity check and
//! the same durability (ours fsyncs its temp file once before renaming it into place).

use std::fs::File;
use std::io::{self, Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oss_model::crc64::crc64_combine;

/// Bytes gathered from the socket before one write (the downloader's batch).
const CHUNK: usize = 1 << 20;

/// Alignment of a direct write, as the downloader's.
const ALIGN: usize = 4096;

/// The output file, and the same file opened for direct I/O where the file system takes it.
///
/// The downloader writes whole aligned blocks directly (a download is fsynced anyway, so the
/// page cache only costs a copy) and reserves the file's blocks first; the ceiling does the
/// same, or it would not be one.
struct Output {
    buffered: File,
    direct: Option<File>,
}

impl Output {
    fn create(path: &Path, size: u64) -> io::Result<Self> {
        let buffered = File::create(path)?;
        #[cfg(target_os = "linux")]
        let direct = {
            use std::os::unix::fs::OpenOptionsExt as _;
            let _ = rustix::fs::fallocate(&buffered, rustix::fs::FallocateFlags::empty(), 0, size);
            let flag = i32::try_from(rustix::fs::OFlags::DIRECT.bits()).unwrap_or(0);
            File::options()
                .write(true)
                .custom_flags(flag)
                .open(path)
                .ok()
        };
        #[cfg(not(target_os = "linux"))]
        let direct = None;
        buffered.set_len(size)?;
        Ok(Self { buffered, direct })
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let aligned = (buf.as_ptr() as usize).is_multiple_of(ALIGN)
            && buf.len().is_multiple_of(ALIGN)
            && offset.is_multiple_of(ALIGN as u64);
        match &self.direct {
            Some(direct) if aligned => direct.write_all_at(buf, offset),
            _ => self.buffered.write_all_at(buf, offset),
        }
    }
}

/// What a fetch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outcome {
    /// Bytes written.
    pub bytes: u64,
    /// Ranges fetched.
    pub parts: u64,
    /// Time from the first connection to the file being durable (fsynced).
    pub elapsed: Duration,
    /// CRC-64 of the whole file, combined from the ranges.
    pub crc64: u64,
}

/// Fetches `size` bytes of the presigned `url` (`http://HOST:PORT/PATH?QUERY`) into `out`.
///
/// # Errors
/// I/O errors, or an answer that is not `206` with the requested length.
pub fn run(url: &str, out: &Path, size: u64, part_size: u64, jobs: usize) -> io::Result<Outcome> {
    let invalid = |m: &str| io::Error::new(io::ErrorKind::InvalidInput, m.to_owned());
    if part_size == 0 || jobs == 0 {
        return Err(invalid("part size and jobs must be positive"));
    }
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| invalid("only http:// URLs"))?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, path) = (host.to_owned(), path.to_owned());
    let file = Arc::new(Output::create(out, size)?);
    let parts = size.div_ceil(part_size);
    let next = Arc::new(AtomicU64::new(0));
    let crcs = Arc::new(Mutex::new(vec![0u64; usize::try_from(parts).unwrap_or(0)]));
    let started = Instant::now();
    let workers: Vec<_> = (0..jobs)
        .map(|_| {
            let (file, next, crcs) = (file.clone(), next.clone(), crcs.clone());
            let (host, path) = (host.clone(), path.clone());
            std::thread::spawn(move || {
                worker(&host, &path, &file, size, part_size, parts, &next, &crcs)
            })
        })
        .collect();
    for w in workers {
        w.join()
            .map_err(|_| io::Error::other("fetch worker panicked"))??;
    }
    file.buffered.sync_all()?;
    let elapsed = started.elapsed();
    let crcs = crcs.lock().map_err(|_| io::Error::other("poisoned"))?;
    let crc64 = crcs.iter().enumerate().fold(0, |acc, (i, &c)| {
        let start = i as u64 * part_size;
        crc64_combine(acc, c, part_size.min(size - start))
    });
    Ok(Outcome {
        bytes: size,
        parts,
        elapsed,
        crc64,
    })
}

#[allow(clippy::too_many_arguments)]
fn worker(
    host: &str,
    path: &str,
    file: &Output,
    size: u64,
    part_size: u64,
    parts: u64,
    next: &AtomicU64,
    crcs: &Mutex<Vec<u64>>,
) -> io::Result<()> {
    let mut sock = TcpStream::connect(host)?;
    sock.set_nodelay(true)?;
    let mut block = vec![0u8; CHUNK + ALIGN];
    let at = block.as_ptr().align_offset(ALIGN).min(ALIGN);
    let buf = &mut block[at..at + CHUNK];
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= parts {
            return Ok(());
        }
        let start = i * part_size;
        let len = part_size.min(size - start);
        write!(
            sock,
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nRange: bytes={start}-{}\r\n\r\n",
            start + len - 1
        )?;
        // The head, and whatever body bytes came with it.
        let mut head = Vec::with_capacity(1024);
        let body_start = loop {
            let n = sock.read(buf)?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            head.extend_from_slice(&buf[..n]);
            if let Some(p) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
        };
        let text = String::from_utf8_lossy(&head[..body_start]).to_ascii_lowercase();
        let length: Option<u64> = text
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok());
        if !text.starts_with("http/1.1 206") || length != Some(len) {
            return Err(io::Error::other(format!(
                "range {start}+{len}: unexpected answer {}",
                text.lines().next().unwrap_or("")
            )));
        }
        let mut crc = crate::crc64_digest();
        // Whole blocks of CHUNK bytes (the last may be shorter), written once each.
        let mut done = 0u64;
        let mut filled = head.len() - body_start;
        if filled > CHUNK.min(usize::try_from(len).unwrap_or(CHUNK)) {
            return Err(io::Error::other(format!(
                "range {start}+{len}: too many bytes"
            )));
        }
        buf[..filled].copy_from_slice(&head[body_start..]);
        while done < len {
            let want = usize::try_from(len - done).unwrap_or(CHUNK).min(CHUNK);
            while filled < want {
                let n = sock.read(&mut buf[filled..want])?;
                if n == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                filled += n;
            }
            crc.update(&buf[..want]);
            file.write_all_at(&buf[..want], start + done)?;
            done += want as u64;
            filled = 0;
        }
        if let Ok(mut c) = crcs.lock()
            && let Some(slot) = c.get_mut(usize::try_from(i).unwrap_or(usize::MAX))
        {
            *slot = crc.finish();
        }
    }
}
