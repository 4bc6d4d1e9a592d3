//! The `oss-multipart` runner: one file upload with CRC-64 on, timed from the first request
//! to the completed object.

use std::path::Path;
use std::time::{Duration, Instant};

use oss_multipart::{Addressing, Client, Credentials, DownloadOutput, Error, UploadOutput};

/// Where and as whom to upload.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Target {
    /// `http://127.0.0.1:PORT` of an `oss-local`.
    pub endpoint: String,
    /// Its V4 scope region.
    pub region: String,
    /// Access key id.
    pub access_key_id: String,
    /// Access key secret.
    pub access_key_secret: String,
    /// Bucket (must exist).
    pub bucket: String,
}

impl Target {
    /// A target on `endpoint` with the given keys and bucket, region `cn-hangzhou`.
    pub fn new(endpoint: &str, ak: &str, sk: &str, bucket: &str) -> Self {
        Self {
            endpoint: endpoint.to_owned(),
            region: "cn-hangzhou".to_owned(),
            access_key_id: ak.to_owned(),
            access_key_secret: sk.to_owned(),
            bucket: bucket.to_owned(),
        }
    }

    /// A path-style client for this target.
    ///
    /// # Errors
    /// When the endpoint is not a valid URL.
    pub fn client(&self) -> Result<Client, Error> {
        Client::builder()
            .endpoint(self.endpoint.clone())
            .region(self.region.clone())
            .credentials(Credentials::new(
                self.access_key_id.clone(),
                self.access_key_secret.clone(),
            ))
            .addressing(Addressing::Path)
            .build()
    }
}

/// Uploads `path` to `key` with `part_size` × `jobs` (`None`: the library's default for
/// that setting); returns the output and the time taken (client construction excluded, so
/// the first connection is part of the measurement).
///
/// # Errors
/// Any upload error.
pub async fn upload(
    target: &Target,
    key: &str,
    path: &Path,
    part_size: Option<u64>,
    jobs: Option<usize>,
) -> Result<(UploadOutput, Duration), Error> {
    let client = target.client()?;
    let started = Instant::now();
    let mut upload = client.upload_file(&target.bucket, key, path).no_resume();
    if let Some(part_size) = part_size {
        upload = upload.part_size(part_size);
    }
    if let Some(jobs) = jobs {
        upload = upload.concurrency(jobs);
    }
    let out = upload.send().await?;
    Ok((out, started.elapsed()))
}

/// Downloads `key` into `path` with `part_size` × `jobs` (`None`: the library's default;
/// CRC-64 verified); returns the output and the time taken.
///
/// # Errors
/// Any download error.
pub async fn download(
    target: &Target,
    key: &str,
    path: &Path,
    part_size: Option<u64>,
    jobs: Option<usize>,
) -> Result<(DownloadOutput, Duration), Error> {
    let client = target.client()?;
    let started = Instant::now();
    let mut download = client.download(&target.bucket, key);
    if let Some(part_size) = part_size {
        download = download.part_size(part_size);
    }
    if let Some(jobs) = jobs {
        download = download.concurrency(jobs);
    }
    let out = download.to_file(path).await?;
    Ok((out, started.elapsed()))
}
