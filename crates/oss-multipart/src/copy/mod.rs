//! Server-side copy of an object of any size: one CopyObject below a threshold, otherwise
//! UploadPartCopy part by part, run by the same machine of `oss-multipart-core` as an upload
//! (in its copy mode) and the same driver loop. A copy therefore inherits everything an
//! upload does: the retry policy, the retry-safe Complete, abort on failure or drop, progress,
//! cancellation and checkpoint resume. No byte of the object passes through this process.
//!
//! [`prepare`] reads the source (HeadObject, and GetObjectTagging when it has tags), decides
//! the object's headers and the plan, and starts the machine.

mod prepare;

use std::fmt;
use std::future::{Future, IntoFuture};
use std::path::PathBuf;
use std::pin::Pin;

use tokio_util::sync::CancellationToken;

use crate::client::Client;
use crate::error::Error;
use crate::options::ObjectOptions;
use crate::upload::run::{Hooks, drive};
use crate::upload::{FailurePolicy, PauseHandle, ProgressFn};

/// Default copy part size (64 MiB), as the official SDKs use. It grows when a source would
/// need more than 10,000 parts.
pub const DEFAULT_COPY_PART_SIZE: u64 = 64 * 1024 * 1024;

/// Default threshold of [`CopyBuilder::single_copy_threshold`]: sources up to 1 GiB (the most
/// CopyObject accepts) are copied with one CopyObject.
pub const DEFAULT_SINGLE_COPY_THRESHOLD: u64 = 1024 * 1024 * 1024;

/// The result of a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyOutput {
    /// Destination bucket.
    pub bucket: String,
    /// Destination key.
    pub key: String,
    /// The multipart upload id (`None` when one CopyObject did the copy).
    pub upload_id: Option<String>,
    /// ETag of the new object.
    pub etag: String,
    /// CRC-64 of the new object, when OSS reported one for the source, the parts or the
    /// result. Every CRC-64 known along the way was checked against the others.
    pub crc64: Option<u64>,
    /// Bytes copied.
    pub size: u64,
    /// Number of parts (1 for a CopyObject).
    pub parts: u32,
    /// Parts an earlier run had already copied (resume from a checkpoint).
    pub parts_reused: u32,
    /// Whether this copy continued an earlier one.
    pub resumed: bool,
    /// `x-oss-request-id` of the request that created the object.
    pub request_id: Option<String>,
    /// The multipart upload of an earlier run of this copy that was aborted before this one
    /// started, because the source was replaced since (its parts were of another object).
    pub aborted_upload_id: Option<String>,
}

/// Configures a server-side copy; run it with [`send`](Self::send) or `.await`.
///
/// By default the new object gets the source's `Content-Type`, other content headers
/// (`Cache-Control`, `Content-Disposition`, `Content-Encoding`, `Content-Language`,
/// `Expires`), user metadata and tags. [`options`](Self::options) with any content header or
/// metadata replace all of those (OSS's `REPLACE` directive); tags given there replace the
/// source's tags. Both buckets must be in the client's region.
///
/// # Cancel safety and drop
///
/// As an upload ([`UploadBuilder`](crate::UploadBuilder)): dropping the future stops every
/// request; unless parts are kept ([`FailurePolicy::KeepParts`] or a
/// [`checkpoint_dir`](Self::checkpoint_dir)), the multipart upload is then aborted in the
/// background.
#[must_use = "a copy does nothing until `.send().await`"]
pub struct CopyBuilder {
    client: Client,
    src_bucket: String,
    src_key: String,
    src_version: Option<String>,
    dst_bucket: String,
    dst_key: String,
    part_size: u64,
    single_copy_threshold: u64,
    concurrency: usize,
    on_failure: FailurePolicy,
    options: ObjectOptions,
    checkpoint_dir: Option<PathBuf>,
    no_resume: bool,
    progress: Option<ProgressFn>,
    cancellation: Option<CancellationToken>,
    pause: Option<PauseHandle>,
}

impl fmt::Debug for CopyBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopyBuilder")
            .field("src", &format_args!("{}/{}", self.src_bucket, self.src_key))
            .field("dst", &format_args!("{}/{}", self.dst_bucket, self.dst_key))
            .field("part_size", &self.part_size)
            .field("single_copy_threshold", &self.single_copy_threshold)
            .field("concurrency", &self.concurrency)
            .field("checkpoint_dir", &self.checkpoint_dir)
            .finish_non_exhaustive()
    }
}

impl CopyBuilder {
    /// Bytes per UploadPartCopy (100 KiB ..= 5 GiB; default 64 MiB). Grown, to a MiB
    /// multiple, when the source would need more than 10,000 parts.
    pub fn part_size(mut self, bytes: u64) -> Self {
        self.part_size = bytes;
        self
    }

    /// Sources of at most this many bytes are copied with one CopyObject (default and
    /// maximum 1 GiB; 0 copies everything but an empty source part by part).
    pub fn single_copy_threshold(mut self, bytes: u64) -> Self {
        self.single_copy_threshold = bytes;
        self
    }

    /// Copies this version of the source (versioned buckets).
    pub fn source_version(mut self, version_id: impl Into<String>) -> Self {
        self.src_version = Some(version_id.into());
        self
    }

    /// Parts copied at once (default [`DEFAULT_CONCURRENCY`](crate::DEFAULT_CONCURRENCY), 8).
    pub fn concurrency(mut self, parts: usize) -> Self {
        self.concurrency = parts.max(1);
        self
    }

    /// Object options of the copy (see the type's documentation for what replaces what).
    /// The traffic limit applies to every UploadPartCopy; ACL, forbid-overwrite and callback
    /// go on Complete.
    pub fn options(mut self, options: ObjectOptions) -> Self {
        self.options = options;
        self
    }

    /// Keep or abort the parts when the copy fails (default abort; a source replaced
    /// mid-copy always aborts, its parts are of another object).
    pub fn on_failure(mut self, policy: FailurePolicy) -> Self {
        self.on_failure = policy;
        self
    }

    /// Runs the copy.
    ///
    /// # Errors
    /// Errors of HeadObject on the source (`NoSuchKey`...); usage errors for invalid
    /// options or part sizes; [`Error::Upload`] when a part copy or the completion fails
    /// (with the upload id when the parts were kept), whose cause is
    /// [`IntegrityError::SourceChanged`](crate::IntegrityError::SourceChanged) when the
    /// source was replaced during the copy.
    pub async fn send(self) -> Result<CopyOutput, Error> {
        let span = tracing::info_span!(
            "oss_copy",
            src_bucket = %self.src_bucket,
            src = %self.src_key,
            bucket = %self.dst_bucket,
            key = %self.dst_key
        );
        tracing::Instrument::instrument(self.run(), span).await
    }

    async fn run(self) -> Result<CopyOutput, Error> {
        let client = self.client.clone();
        let rt = client.inner.runtime.clone();
        let started =
            prepare::prepare(&self, rt.now(), crate::client::seed(rt.system_time())).await?;
        let hooks = Hooks {
            progress: self.progress.clone(),
            expects_callback: self.options.has_callback()
                && started.up.plan().part_count().is_some(),
            bandwidth_limit: None,
            cancellation: self.cancellation.clone(),
            pause: self.pause.clone(),
        };
        let done = drive(client, started, hooks).await?;
        Ok(CopyOutput {
            bucket: done.bucket,
            key: done.key,
            upload_id: done.upload_id,
            etag: done.etag,
            crc64: done.crc64_known.then_some(done.crc64),
            size: done.size,
            parts: done.parts,
            parts_reused: done.parts_reused,
            resumed: done.resumed,
            request_id: done.request_id,
            aborted_upload_id: done.aborted_upload_id,
        })
    }
}

impl IntoFuture for CopyBuilder {
    type Output = Result<CopyOutput, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

impl Client {
    /// Copies `src_bucket/src_key` to `dst_bucket/dst_key` server-side: one CopyObject up to
    /// [`single_copy_threshold`](CopyBuilder::single_copy_threshold), otherwise
    /// UploadPartCopy in parts that grow to fit 10,000 (objects up to 48.8 TiB), every
    /// request pinned to the source's ETag. Both buckets must be in the same region.
    pub fn copy_multipart(
        &self,
        src_bucket: &str,
        src_key: &str,
        dst_bucket: &str,
        dst_key: &str,
    ) -> CopyBuilder {
        CopyBuilder {
            client: self.clone(),
            src_bucket: src_bucket.to_owned(),
            src_key: src_key.to_owned(),
            src_version: None,
            dst_bucket: dst_bucket.to_owned(),
            dst_key: dst_key.to_owned(),
            part_size: DEFAULT_COPY_PART_SIZE,
            single_copy_threshold: DEFAULT_SINGLE_COPY_THRESHOLD,
            concurrency: crate::DEFAULT_CONCURRENCY,
            on_failure: FailurePolicy::Abort,
            options: ObjectOptions::new(),
            checkpoint_dir: None,
            no_resume: false,
            progress: None,
            cancellation: None,
            pause: None,
        }
    }
}

transfer_setters!(
    CopyBuilder,
    checkpoint_dir = "Journal the copy in `dir`: running the same copy again (same source, same \
        ETag, same destination) resumes it without copying finished parts again. A source \
        replaced since is copied from scratch (the earlier upload is aborted first). Implies \
        [`FailurePolicy::KeepParts`]; the checkpoint is removed after success.",
    progress = "Called with the progress (bytes OSS confirmed copied, parts) after every change.",
    cancellation = "Stops the copy when `token` is cancelled: the parts are aborted, or kept \
        with a checkpoint directory (the error then says how to resume).",
);
