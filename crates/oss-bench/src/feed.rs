//! The ceiling client: sends a file to the [`sink`](crate::sink) in parts, `jobs` at once.
//!
//! Each job is one OS thread with one keep-alive TCP connection and one reused read buffer.
//! A part is a raw HTTP/1.1 `PUT` with `Content-Length`; its bytes are read with positional
//! reads (`pread`), hashed (CRC-64) as they are read and written straight to the socket; the
//! sink's CRC in the response must match. Parts are taken from a shared counter, so the
//! jobs stay busy to the end. Nothing is signed, parsed as XML or planned: this is the
//! least work that moves the same bytes with the same integrity check.

use std::fs::File;
use std::io::{self, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Read size: big enough that syscalls are cheap per byte, small enough to stay in L2.
const CHUNK: usize = 1 << 20;

/// What a feed did.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Outcome {
    /// Bytes sent (the file size).
    pub bytes: u64,
    /// Parts sent.
    pub parts: u64,
    /// Time from the first connection to the last response.
    pub elapsed: Duration,
}

/// Sends `path` to the sink at `addr` in parts of `part_size` bytes over `jobs` connections.
///
/// # Errors
/// I/O errors, a non-200 answer, or a CRC the sink disagrees with.
pub fn run(addr: SocketAddr, path: &Path, part_size: u64, jobs: usize) -> io::Result<Outcome> {
    if part_size == 0 || jobs == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "part size and jobs must be positive",
        ));
    }
    let file = Arc::new(File::open(path)?);
    let size = file.metadata()?.len();
    let parts = size.div_ceil(part_size).max(1);
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..jobs)
        .map(|_| {
            let file = Arc::clone(&file);
            let next = Arc::clone(&next);
            std::thread::spawn(move || worker(addr, &file, size, part_size, parts, &next))
        })
        .collect();
    for worker in workers {
        worker
            .join()
            .map_err(|_| io::Error::other("feed worker panicked"))??;
    }
    Ok(Outcome {
        bytes: size,
        parts,
        elapsed: started.elapsed(),
    })
}

fn worker(
    addr: SocketAddr,
    file: &File,
    size: u64,
    part_size: u64,
    parts: u64,
    next: &AtomicU64,
) -> io::Result<()> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; CHUNK];
    let mut response = Vec::with_capacity(1024);
    loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        if n >= parts {
            return Ok(());
        }
        let start = n * part_size;
        let len = part_size.min(size - start);
        let head = format!(
            "PUT /ceiling/part-{n} HTTP/1.1\r\nhost: sink\r\ncontent-length: {len}\r\n\r\n"
        );
        stream.write_all(head.as_bytes())?;
        let mut crc = crate::crc64_digest();
        let mut done = 0u64;
        while done < len {
            let want = usize::try_from((len - done).min(CHUNK as u64)).unwrap_or(CHUNK);
            let chunk = &mut buf[..want];
            file.read_exact_at(chunk, start + done)?;
            crc.update(chunk);
            stream.write_all(chunk)?;
            done += want as u64;
        }
        let answered = read_response(&mut stream, &mut response)?;
        if answered != Some(crc.finish()) {
            return Err(io::Error::other(format!(
                "part {n}: sink CRC {answered:?} differs from ours"
            )));
        }
    }
}

/// Reads one bodiless response; returns its CRC header. Fails on a non-200 status.
fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<Option<u64>> {
    buf.clear();
    let mut chunk = [0u8; 512];
    let end = loop {
        if let Some(end) = find(buf, b"\r\n\r\n") {
            break end;
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "sink closed the connection",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    if status.split(' ').nth(1) != Some("200") {
        return Err(io::Error::other(format!("sink answered `{status}`")));
    }
    Ok(lines.find_map(|line| {
        let (name, value) = line.split_once(':')?;
        if name.eq_ignore_ascii_case("x-oss-hash-crc64ecma") {
            value.trim().parse().ok()
        } else {
            None
        }
    }))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
