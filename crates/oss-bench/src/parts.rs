//! Many-part timings against `oss-local`: Complete of N parts, ListParts of every page, and a
//! resume from the server's part list (every page listed, every part's CRC-64 re-verified
//! against the local file, then Complete).
//!
//! The file is sparse (all zeros), so the parts are uploaded from one shared buffer; it is read
//! once before the resume so that the re-verification reads it from the page cache, as the
//! goal states: the CRC work is the real one, the disk is not involved.

use std::error::Error;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
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
    /// Parts the resume reused (should equal `parts`).
    pub reused: u32,
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
    warm_page_cache(path)?;
    let started = Instant::now();
    let out = client
        .resume_from_server(&target.bucket, key_b, &upload_b, path)
        .part_size(part_size)
        .concurrency(jobs)
        .send()
        .await?;
    let resume = started.elapsed();
    Ok(Timings {
        parts,
        upload,
        complete,
        list,
        resume,
        reused: out.parts_reused,
    })
}

/// Reads `path` once so its pages are cached.
fn warm_page_cache(path: &Path) -> std::io::Result<()> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    while file.read(&mut buf)? > 0 {}
    Ok(())
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
