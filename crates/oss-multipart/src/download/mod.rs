//! Downloads: [`DownloadBuilder`] and its result [`DownloadOutput`].
//!
//! The builder only collects options; [`driver`] runs the `Download` machine of
//! `oss-multipart-core` and executes what it asks: ranged GETs pinned to the object's ETag,
//! bodies written with positional writes into a temp file beside the target (or through a
//! bounded reorder buffer into a writer), CRC-64 computed as bytes are written.

mod driver;
mod file;
mod race;
mod saver;
mod sink;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::AsyncWrite;
use tokio_util::sync::CancellationToken;

use crate::client::Client;
use crate::error::Error;
use crate::progress::Progress;
use crate::upload::PauseHandle;

/// Default bytes per ranged GET.
pub const DEFAULT_DOWNLOAD_PART_SIZE: u64 = 8 * 1024 * 1024;

/// What a download does when the object is replaced while it runs (a ranged GET pinned with
/// `If-Match` answers 412). Either way no file mixing two versions is ever produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnObjectChange {
    /// Fail with [`IntegrityError::ObjectChanged`](crate::IntegrityError::ObjectChanged) (default).
    #[default]
    Fail,
    /// Start again with the new version (files only; writers fail, bytes already left).
    Restart,
}

/// The result of a successful download.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownloadOutput {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// The file written (`None` for writers).
    pub path: Option<PathBuf>,
    /// Bytes downloaded.
    pub size: u64,
    /// Size of the object.
    pub object_size: u64,
    /// ETag of the version downloaded.
    pub etag: String,
    /// CRC-64 of the bytes downloaded.
    pub crc64: u64,
    /// True when the CRC-64 was checked against the object's `x-oss-hash-crc64ecma`; false
    /// when only the size could be (a partial range, an object without CRC-64).
    pub crc_verified: bool,
    /// True when the object had no CRC-64 but a `Content-MD5`, and the MD5 of the bytes
    /// downloaded matched it. An object with neither is checked by size only (both flags
    /// false).
    pub md5_verified: bool,
    /// Ranged GET units the download was split into.
    pub ranges: u64,
    /// Ranges reused from an interrupted run after re-verification.
    pub ranges_reused: u64,
    /// True when an interrupted download was continued from its checkpoint.
    pub resumed: bool,
}

pub(crate) type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Options of a download; finish with [`to_file`](Self::to_file), [`to_writer`](Self::to_writer)
/// or [`to_bytes`](Self::to_bytes). Made by [`Client::download`].
#[must_use = "a download does nothing until `to_file`, `to_writer` or `to_bytes` is awaited"]
pub struct DownloadBuilder {
    pub(crate) client: Client,
    pub(crate) bucket: String,
    pub(crate) key: String,
    pub(crate) part_size: u64,
    pub(crate) parallelism: crate::parallelism::Parallelism,
    pub(crate) bandwidth_limit: Option<u64>,
    pub(crate) range: Option<Range<u64>>,
    /// `max_concurrency` was called (writers keep a smaller default ceiling otherwise).
    pub(crate) max_set: bool,
    pub(crate) checkpoint_dir: Option<PathBuf>,
    pub(crate) no_resume: bool,
    pub(crate) no_clobber: bool,
    pub(crate) on_change: OnObjectChange,
    pub(crate) progress: Option<ProgressFn>,
    pub(crate) cancellation: Option<CancellationToken>,
    pub(crate) pause: Option<PauseHandle>,
}

impl std::fmt::Debug for DownloadBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownloadBuilder")
            .field("bucket", &self.bucket)
            .field("key", &self.key)
            .field("part_size", &self.part_size)
            .field("parallelism", &self.parallelism)
            .field("bandwidth_limit", &self.bandwidth_limit)
            .field("range", &self.range)
            .field("checkpoint_dir", &self.checkpoint_dir)
            .field("no_clobber", &self.no_clobber)
            .finish_non_exhaustive()
    }
}

transfer_setters!(
    DownloadBuilder,
    checkpoint_dir = "Keeps a checkpoint in `dir` so an interrupted [`to_file`](Self::to_file) \
        (error, cancellation, crash, kill) continues where it stopped when run again: the temp \
        file beside the target is kept, the object is re-checked with HEAD, ranges already \
        written are re-hashed and only what is missing or damaged is fetched.",
    progress = "Called on every progress change (bytes written, rate, ETA).",
    cancellation = "Stops the download when `token` is cancelled ([`Error::Cancelled`]; with a \
        checkpoint directory, the temp file and checkpoint are kept for resume).",
);

impl DownloadBuilder {
    /// Bytes per ranged GET (default 8 MiB; at least 4 KiB).
    pub fn part_size(mut self, bytes: u64) -> Self {
        self.part_size = bytes;
        self
    }

    /// Exactly `ranges` ranged GETs in flight at once (1..=1000), instead of the default
    /// adaptive concurrency.
    pub fn concurrency(mut self, ranges: usize) -> Self {
        self.parallelism.fixed(ranges);
        self
    }

    /// Adaptive concurrency (the default) up to `ranges` GETs in flight (1..=1000; default
    /// [`DEFAULT_MAX_CONCURRENCY`](crate::DEFAULT_MAX_CONCURRENCY), at most 8 for
    /// [`to_writer`](Self::to_writer), whose reorder buffer holds up to 2 × this many
    /// ranges). It starts at [`DEFAULT_CONCURRENCY`](crate::DEFAULT_CONCURRENCY), grows
    /// while the measured throughput rises and backs off on throttling and rising latency.
    pub fn max_concurrency(mut self, ranges: usize) -> Self {
        self.parallelism.adaptive_up_to(ranges);
        self.max_set = true;
        self
    }

    /// Straggler hedging (default on): a range that takes much longer than the recent ones
    /// near the end of the download is requested again on another connection; the first
    /// complete answer is written, the other is cancelled before it can write, within a
    /// budget of 5 % extra bytes.
    pub fn hedging(mut self, yes: bool) -> Self {
        self.parallelism.hedging = yes;
        self
    }

    /// Caps the download's total receive rate (all ranged GETs together), with the same
    /// limiter uploads use: bodies are read no faster than the cap, and TCP flow control slows
    /// the server down to it.
    pub fn bandwidth_limit(mut self, bytes_per_sec: u64) -> Self {
        self.bandwidth_limit = Some(bytes_per_sec.max(1));
        self
    }

    /// Downloads only `range` of the object (clipped to its size). Only the length can be
    /// verified unless the range covers the whole object.
    pub fn range(mut self, range: Range<u64>) -> Self {
        self.range = Some(range);
        self
    }

    /// Refuses to replace an existing file ([`Error::Io`] with `AlreadyExists`, naming the
    /// path). The default replaces it, as `cp` does.
    pub fn no_clobber(mut self, yes: bool) -> Self {
        self.no_clobber = yes;
        self
    }

    /// What to do when the object is replaced mid-download.
    pub fn on_object_change(mut self, policy: OnObjectChange) -> Self {
        self.on_change = policy;
        self
    }

    /// Downloads into the file at `path`, through a temp file in the same directory that is
    /// fsynced and renamed into place once every byte is verified. A failure never leaves a
    /// partial file at `path`: the temp file is removed, or kept for resume with a
    /// [checkpoint directory](Self::checkpoint_dir).
    ///
    /// # Errors
    /// [`Error::Download`] with the cause ([`Error::Service`] for `NoSuchKey`/`AccessDenied`,
    /// [`Error::Io`] naming the path that cannot be written, [`Error::Integrity`] when the
    /// object changed or its CRC-64 did not match); [`Error::Cancelled`]; [`Error::Config`].
    pub async fn to_file(self, path: impl AsRef<Path>) -> Result<DownloadOutput, Error> {
        driver::run_to_file(self, path.as_ref().to_path_buf()).await
    }

    /// Streams the object, in order, into `writer`. Ranges are fetched in parallel and held in
    /// a reorder buffer of at most 2 × concurrency × part size bytes. The whole-object CRC-64
    /// can only be checked at the end, after the bytes were written: a mismatch is reported as
    /// an error, and the writer must then be discarded. Not resumable.
    ///
    /// # Errors
    /// As [`to_file`](Self::to_file); writer errors as [`Error::Io`].
    pub async fn to_writer<W: AsyncWrite + Unpin + Send>(
        self,
        writer: &mut W,
    ) -> Result<DownloadOutput, Error> {
        driver::run_to_writer(self, writer).await
    }

    /// Downloads into memory (for small objects and ranges).
    ///
    /// # Errors
    /// As [`to_writer`](Self::to_writer).
    pub async fn to_bytes(self) -> Result<(Bytes, DownloadOutput), Error> {
        let mut out = Vec::new();
        let done = self.to_writer(&mut out).await?;
        Ok((Bytes::from(out), done))
    }
}

impl Client {
    /// A download of `bucket`/`key` with options; see [`DownloadBuilder`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = oss_local::Server::start(oss_local::Config::new("AK", "SK").with_bucket("docs")).await?;
    /// # let client = oss_multipart::Client::builder().endpoint(server.endpoint()).region("cn-hangzhou")
    /// #     .credentials(oss_multipart::Credentials::new("AK", "SK"))
    /// #     .addressing(oss_multipart::Addressing::Path).build()?;
    /// let data: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    /// client.put_object("docs", "big.bin", data.clone()).await?;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let out = client
    ///     .download("docs", "big.bin")
    ///     .part_size(128 * 1024)
    ///     .concurrency(4)
    ///     .checkpoint_dir(dir.path().join("checkpoints"))
    ///     .to_file(dir.path().join("big.bin"))
    ///     .await?;
    /// assert!(out.crc_verified);
    /// assert_eq!(std::fs::read(dir.path().join("big.bin"))?, data);
    /// # server.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn download(&self, bucket: &str, key: &str) -> DownloadBuilder {
        DownloadBuilder {
            client: self.clone(),
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            part_size: DEFAULT_DOWNLOAD_PART_SIZE,
            parallelism: crate::parallelism::Parallelism::default(),
            bandwidth_limit: None,
            range: None,
            max_set: false,
            checkpoint_dir: None,
            no_resume: false,
            no_clobber: false,
            on_change: OnObjectChange::Fail,
            progress: None,
            cancellation: None,
            pause: None,
        }
    }

    /// Downloads `bucket`/`key` into the file at `path` with the default options (parallel
    /// ranged GETs, verified, atomic rename); see [`DownloadBuilder::to_file`].
    ///
    /// # Errors
    /// As [`DownloadBuilder::to_file`].
    pub async fn download_file(
        &self,
        bucket: &str,
        key: &str,
        path: impl AsRef<Path>,
    ) -> Result<DownloadOutput, Error> {
        self.download(bucket, key).to_file(path).await
    }

    /// Streams `bucket`/`key` in order into `writer`; see [`DownloadBuilder::to_writer`].
    ///
    /// # Errors
    /// As [`DownloadBuilder::to_writer`].
    pub async fn download_to<W: AsyncWrite + Unpin + Send>(
        &self,
        bucket: &str,
        key: &str,
        writer: &mut W,
    ) -> Result<DownloadOutput, Error> {
        self.download(bucket, key).to_writer(writer).await
    }

    /// One ranged, retried read of `range` of `bucket`/`key` (clipped to the object), pinned
    /// to one version of the object; its length is verified (and its CRC-64 when the range is
    /// the whole object).
    ///
    /// # Errors
    /// As [`DownloadBuilder::to_writer`].
    pub async fn download_range(
        &self,
        bucket: &str,
        key: &str,
        range: Range<u64>,
    ) -> Result<Bytes, Error> {
        let len = range.end.saturating_sub(range.start);
        let b = self.download(bucket, key).range(range);
        let part = len.clamp(4096, b.part_size);
        Ok(b.part_size(part).to_bytes().await?.0)
    }
}
