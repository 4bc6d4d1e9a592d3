//! Many-part timings against `oss-local`: Complete of N parts, ListParts of every page, and a
//! resume from the server's part list (every page listed, every part's CRC-64 re-verified
//! against the local file, then Complete).
//!
//! The file is sparse (all zeros), so the parts are uploaded from one shared buffer. Before the
//! resume it is read until the kernel reports it resident, so that the re-verification reads it
//! from the page cache, as the goal states: the CRC work is the real one, the disk is not
//! involved. One read is not enough: pages read once sit on the kernel's inactive list, and a
//! file larger than that list evicts its own head while it is read, so the resume (reading it
//! front to back again) would miss on every page and measure the kernel zero-filling holes.

use std::error::Error;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt as _;
use oss_model::ops::{CompleteMultipartUpload, CompletedPart, InitiateMultipartUpload, UploadPart};
use oss_model::{BucketName, ObjectKey, PartNumber};
use oss_multipart::Client;

use crate::ours::Target;

type BoxError = Box<dyn Error + Send + Sync>;

/// What [`run`] measured.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Timings {
    /// Parts per upload.
    pub parts: u32,
    /// Uploading the parts of one upload (raw UploadPart calls, `jobs` at once).
    pub upload: Duration,
    /// One CompleteMultipartUpload of all parts.
    pub complete: Duration,
    /// Listing every ListParts page of the second upload.
    pub list: Duration,
    /// `resume_from_server` of the second upload: list, re-verify, Complete.
    pub resume: Duration,
    /// The part of [`resume`](Self::resume) until the first part was re-verified (opening the
    /// file and listing every page).
    pub resume_first: Duration,
    /// The part of [`resume`](Self::resume) until the last part was re-verified (the rest is
    /// the final Complete).
    pub resume_verified: Duration,
    /// CPU time (user + system, all threads of this process) spent during the resume
    /// (`None` where the platform cannot tell).
    pub resume_cpu: Option<Duration>,
    /// Parts the resume reused (should equal `parts`).
    pub reused: u32,
    /// Fraction of the file's pages in the page cache when the resume started (`None` where
    /// the platform cannot tell).
    pub cached: Option<f64>,
}

/// Uploads the parts of two uploads of `parts` × `part_size` bytes, then times Complete on
/// the first and ListParts plus a resume on the second. `path` is created sparse.
///
/// # Errors
/// Any request or I/O failure.
pub async fn run(
    target: &Target,
    path: &Path,
    parts: u32,
    part_size: u64,
    jobs: usize,
) -> Result<Timings, BoxError> {
    let size = u64::from(parts) * part_size;
    std::fs::File::create(path)?.set_len(size)?;
    let client = target.client()?;
    let body = Bytes::from(vec![0u8; usize::try_from(part_size)?]);

    let key_a = "many-parts/complete";
    let started = Instant::now();
    let (upload_a, etags) = upload_parts(&client, target, key_a, parts, &body, jobs).await?;
    let upload = started.elapsed();
    let completed: Vec<CompletedPart> = etags
        .into_iter()
        .enumerate()
        .map(|(i, etag)| {
            Ok(CompletedPart::new(
                PartNumber::new(u32::try_from(i)? + 1)?,
                etag,
            ))
        })
        .collect::<Result<_, BoxError>>()?;
    let op = CompleteMultipartUpload::new(
        BucketName::new(target.bucket.clone())?,
        ObjectKey::new(key_a)?,
        upload_a,
        completed,
    );
    let started = Instant::now();
    client.send(op).await?;
    let complete = started.elapsed();

    let key_b = "many-parts/resume";
    let (upload_b, _) = upload_parts(&client, target, key_b, parts, &body, jobs).await?;
    let started = Instant::now();
    let mut listed = 0u32;
    let mut pages = std::pin::pin!(client.list_parts(&target.bucket, key_b, &upload_b));
    while let Some(part) = pages.next().await {
        part?;
        listed += 1;
    }
    let list = started.elapsed();
    if listed != parts {
        return Err(format!("ListParts returned {listed} parts, expected {parts}").into());
    }
    // The goal is about a file in the page cache; a sparse file read for the first time makes
    // the kernel zero-fill every page instead, which would measure memset.
    let cached = warm_page_cache(path)?;
    let first = Arc::new(OnceLock::new());
    let last = Arc::new(OnceLock::new());
    let (first_in, last_in) = (Arc::clone(&first), Arc::clone(&last));
    let cpu_before = self_cpu();
    let started = Instant::now();
    let out = client
        .resume_from_server(&target.bucket, key_b, &upload_b, path)
        .part_size(part_size)
        .concurrency(jobs)
        .progress(move |p| {
            if p.parts_done >= 1 {
                first_in.get_or_init(Instant::now);
            }
            if p.parts_done >= parts {
                last_in.get_or_init(Instant::now);
            }
        })
        .send()
        .await?;
    let resume = started.elapsed();
    let resume_cpu = self_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    let since = |at: &OnceLock<Instant>| at.get().map_or(resume, |t| t.duration_since(started));
    let (resume_first, resume_verified) = (since(&first), since(&last));
    Ok(Timings {
        parts,
        upload,
        complete,
        list,
        resume,
        resume_first,
        resume_verified,
        resume_cpu,
        reused: out.parts_reused,
        cached,
    })
}

/// Reads `path` until (nearly) all of its pages are resident; returns the resident fraction
/// reached (`None` where it cannot be measured: then the file is read twice).
///
/// The second read is what keeps the pages: it moves them to the kernel's active list, which
/// a file read once never reaches (see the module docs).
fn warm_page_cache(path: &Path) -> std::io::Result<Option<f64>> {
    const PASSES: usize = 4;
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut cached = None;
    for pass in 0..PASSES {
        read_all(&mut file, &mut buf)?;
        cached = resident_fraction(&file);
        match cached {
            Some(f) if f >= 0.999 => break,
            None if pass >= 1 => break,
            _ => {}
        }
    }
    Ok(cached)
}

fn read_all(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<()> {
    use std::io::{Read as _, Seek as _};
    file.rewind()?;
    while file.read(buf)? > 0 {}
    Ok(())
}

/// Fraction of `file`'s pages in the page cache (`mincore` on a mapping that is never
/// touched, so a concurrent truncation cannot fault).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn resident_fraction(file: &std::fs::File) -> Option<f64> {
    use std::os::fd::AsRawFd as _;
    let len = usize::try_from(file.metadata().ok()?.len()).ok()?;
    if len == 0 {
        return Some(1.0);
    }
    // SAFETY: sysconf has no memory effects.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).ok()?;
    // SAFETY: a fresh read-only shared mapping chosen by the kernel; it aliases nothing of
    // ours and is never dereferenced, only passed to mincore and unmapped below.
    let addr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            0,
        )
    };
    if addr == libc::MAP_FAILED {
        return None;
    }
    let mut vec = vec![0u8; len.div_ceil(page)];
    // SAFETY: `addr..addr + len` is the mapping above and `vec` has one byte per page of it.
    let rc = unsafe { libc::mincore(addr, len, vec.as_mut_ptr()) };
    // SAFETY: unmaps exactly the mapping created above, which nothing references.
    unsafe { libc::munmap(addr, len) };
    if rc != 0 {
        return None;
    }
    let resident = vec.iter().filter(|b| **b & 1 == 1).count();
    Some(resident as f64 / vec.len() as f64)
}

#[cfg(not(target_os = "linux"))]
fn resident_fraction(_file: &std::fs::File) -> Option<f64> {
    None
}

/// CPU time (user + system) of this process so far.
#[cfg(unix)]
#[allow(unsafe_code)]
fn self_cpu() -> Option<Duration> {
    // SAFETY: `rusage` is plain old data, so all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid `who` and a pointer to a live local of the right type.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return None;
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    Some(tv(usage.ru_utime) + tv(usage.ru_stime))
}

#[cfg(not(unix))]
fn self_cpu() -> Option<Duration> {
    None
}

/// Initiates `key` and uploads `parts` copies of `body`; returns the upload id and the
/// ETags in part order.
async fn upload_parts(
    client: &Client,
    target: &Target,
    key: &str,
    parts: u32,
    body: &Bytes,
    jobs: usize,
) -> Result<(String, Vec<String>), BoxError> {
    let bucket = BucketName::new(target.bucket.clone())?;
    let object = ObjectKey::new(key)?;
    let init = client
        .send(InitiateMultipartUpload::new(bucket.clone(), object.clone()))
        .await?;
    let upload_id = init.upload_id;
    let next = Arc::new(AtomicU32::new(1));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..jobs.max(1) {
        let (client, bucket, object) = (client.clone(), bucket.clone(), object.clone());
        let (upload_id, next, body) = (upload_id.clone(), Arc::clone(&next), body.clone());
        tasks.spawn(async move {
            let mut done = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n > parts {
                    return Ok::<_, BoxError>(done);
                }
                let op = UploadPart::new(
                    bucket.clone(),
                    object.clone(),
                    upload_id.clone(),
                    PartNumber::new(n)?,
                );
                let out = client.send_with_body(op, body.clone()).await?;
                done.push((n, out.etag));
            }
        });
    }
    let mut etags = vec![String::new(); usize::try_from(parts)?];
    while let Some(joined) = tasks.join_next().await {
        for (n, etag) in joined?? {
            if let Some(slot) = etags.get_mut(usize::try_from(n)? - 1) {
                *slot = etag;
            }
        }
    }
    Ok((upload_id, etags))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn warming_makes_a_sparse_file_resident() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sparse");
        std::fs::File::create(&path)
            .unwrap()
            .set_len(8 << 20)
            .unwrap();
        let file = std::fs::File::open(&path).unwrap();
        // Holes never read have no pages yet: the measurement must be able to say so.
        assert!(resident_fraction(&file).unwrap() < 0.01);
        let cached = warm_page_cache(&path).unwrap().unwrap();
        assert!(cached >= 0.999, "{cached}");
        assert!(resident_fraction(&file).unwrap() >= 0.999);
    }

    #[test]
    fn self_cpu_grows_with_work() {
        let Some(before) = self_cpu() else { return };
        let mut x = 0u64;
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(50) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        assert!(self_cpu().unwrap() > before);
    }
}
