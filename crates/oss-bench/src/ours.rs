//! The `oss-multipart` runner: one file upload with CRC-64 on, timed from the first request
//! to the completed object.

use std::path::PathBuf;
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

/// One timed single-object transfer: where, which key, which local file, how.
#[derive(Debug, Clone)]
pub struct Transfer {
    /// The server.
    pub target: Target,
    /// The object.
    pub key: String,
    /// The local file (read for an upload, written for a download).
    pub path: PathBuf,
    /// Part (or range) size.
    pub part_size: u64,
    /// Parts (or ranges) in flight.
    pub jobs: usize,
    /// Ignore `part_size` and `jobs` and let `oss-multipart` choose (its defaults), as a user
    /// who sets neither gets.
    pub library_defaults: bool,
    /// Straggler hedging (the library's default); `false` turns it off (`--no-hedge`).
    pub hedging: bool,
}

/// Uploads `path` to `key` with `part_size` × `jobs` (or the library's defaults); returns the output and the time taken
/// (client construction excluded, so the first connection is part of the measurement).
///
/// # Errors
/// Any upload error.
pub async fn upload(t: &Transfer) -> Result<(UploadOutput, Duration), Error> {
    let client = t.target.client()?;
    let started = Instant::now();
    let mut upload = client
        .upload_file(&t.target.bucket, &t.key, &t.path)
        .no_resume();
    if !t.library_defaults {
        upload = upload.part_size(t.part_size).concurrency(t.jobs);
    }
    if !t.hedging {
        upload = upload.hedging(false);
    }
    let out = upload.send().await?;
    Ok((out, started.elapsed()))
}

/// Downloads `key` into `path` with `part_size` × `jobs` (or the library's defaults; CRC-64
/// verified); returns the output
/// and the time taken.
///
/// # Errors
/// Any download error.
pub async fn download(t: &Transfer) -> Result<(DownloadOutput, Duration), Error> {
    let client = t.target.client()?;
    let started = Instant::now();
    let mut download = client.download(&t.target.bucket, &t.key);
    if !t.library_defaults {
        download = download.part_size(t.part_size).concurrency(t.jobs);
    }
    if !t.hedging {
        download = download.hedging(false);
    }
    let out = download.to_file(&t.path).await?;
    Ok((out, started.elapsed()))
}
