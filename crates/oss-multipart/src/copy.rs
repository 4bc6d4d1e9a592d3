//! Server-side copy of a large object with UploadPartCopy.
//!
//! The upload state machine of `oss-multipart-core` plans uploads of local bytes, not copies,
//! so this manager is deliberately simple: head the source, initiate, copy ranges with bounded
//! concurrency (each UploadPartCopy is an idempotent `PUT`, retried by the client's retry
//! policy), complete, and abort on failure unless asked to keep the parts.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;

use futures::{StreamExt as _, TryStreamExt as _};
use oss_model::Operation as _;
use oss_model::ops::UploadPartCopy;

use crate::client::Client;
use crate::error::{Error, UploadFailure};
use crate::names::{bucket_name, object_key, part_number};
use crate::options::{ObjectOptions, ObjectRequest};
use crate::presign::plan_ranges;
use crate::upload::FailurePolicy;

/// Default copy part size (64 MiB), as the official SDKs use.
pub const DEFAULT_COPY_PART_SIZE: u64 = 64 * 1024 * 1024;

/// The result of a multipart copy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyOutput {
    /// Destination bucket.
    pub bucket: String,
    /// Destination key.
    pub key: String,
    /// The multipart upload id used.
    pub upload_id: String,
    /// ETag of the new object.
    pub etag: String,
    /// CRC-64 OSS reported for the new object, if any.
    pub crc64: Option<u64>,
    /// Bytes copied.
    pub size: u64,
    /// Number of parts.
    pub parts: u32,
}

/// Configures a multipart copy; run it with [`send`](Self::send) or `.await`.
///
/// Dropping the future stops the copy without aborting (the upload id is not known to the
/// caller then; list it with [`Client::list_uploads`]).
#[must_use = "a copy does nothing until `.send().await`"]
pub struct CopyBuilder {
    client: Client,
    src_bucket: String,
    src_key: String,
    dst_bucket: String,
    dst_key: String,
    part_size: u64,
    concurrency: usize,
    on_failure: FailurePolicy,
    options: ObjectOptions,
}

impl fmt::Debug for CopyBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopyBuilder")
            .field("src", &format_args!("{}/{}", self.src_bucket, self.src_key))
            .field("dst", &format_args!("{}/{}", self.dst_bucket, self.dst_key))
            .field("part_size", &self.part_size)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl CopyBuilder {
    /// Bytes per UploadPartCopy (100 KiB ..= 5 GiB; default 64 MiB).
    pub fn part_size(mut self, bytes: u64) -> Self {
        self.part_size = bytes;
        self
    }

    /// Parts copied at once (default 4).
    pub fn concurrency(mut self, parts: usize) -> Self {
        self.concurrency = parts.max(1);
        self
    }

    /// Object options of the copy. Without content headers or metadata among them, the
    /// source's `Content-Type` and metadata are copied (read with HeadObject); with any, the
    /// given ones replace the source's. The traffic limit applies to every UploadPartCopy;
    /// ACL, forbid-overwrite and callback go on Complete.
    pub fn options(mut self, options: ObjectOptions) -> Self {
        self.options = options;
        self
    }

    /// Keep or abort the parts when the copy fails (default abort).
    pub fn on_failure(mut self, policy: FailurePolicy) -> Self {
        self.on_failure = policy;
        self
    }

    /// Runs the copy.
    ///
    /// # Errors
    /// Errors of HeadObject on the source; [`Error::Upload`] when a part copy or the completion
    /// fails (with the upload id when the parts were kept).
    pub async fn send(self) -> Result<CopyOutput, Error> {
        let span = tracing::info_span!("oss_copy", src = %self.src_key, dst = %self.dst_key);
        tracing::Instrument::instrument(self.run(), span).await
    }

    async fn run(self) -> Result<CopyOutput, Error> {
        let c = &self.client;
        self.options.validate()?;
        let head = c.head_object(&self.src_bucket, &self.src_key).await?;
        let size = head.content_length;
        let mut options = self.options.clone();
        if !options.replaces_metadata() {
            options.content_type = head.content_type;
            options.metadata = head.metadata;
        }
        let ranges = plan_ranges(size, self.part_size)?;
        let (dst_b, dst_k) = (bucket_name(&self.dst_bucket)?, object_key(&self.dst_key)?);
        let (src_b, src_k) = (bucket_name(&self.src_bucket)?, object_key(&self.src_key)?);
        let upload_id = c
            .initiate_upload(&self.dst_bucket, &self.dst_key, &options)
            .await?
            .upload_id;

        let mut jobs = Vec::with_capacity(ranges.len());
        for (i, &(off, len)) in ranges.iter().enumerate() {
            let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let pn = part_number(n)?;
            let mut op = UploadPartCopy::new(
                dst_b.clone(),
                dst_k.clone(),
                upload_id.clone(),
                pn,
                src_b.clone(),
                src_k.clone(),
            );
            if len > 0 {
                op.source_range = Some(off..=off + len - 1);
            }
            let mut req = op
                .to_request()
                .map_err(crate::client::encode_error::<UploadPartCopy>)?;
            options.apply(ObjectRequest::UploadPartCopy, &mut req)?;
            let client = c.clone();
            jobs.push(async move {
                let out = client
                    .send_prepared::<UploadPartCopy>(&req, crate::transport::RequestBody::empty)
                    .await?;
                Ok::<_, Error>((n, out.etag))
            });
        }
        let copies = futures::stream::iter(jobs)
            .buffer_unordered(self.concurrency)
            .try_collect::<Vec<_>>()
            .await;

        let result = match copies {
            Ok(parts) => {
                c.complete_upload(
                    &self.dst_bucket,
                    &self.dst_key,
                    &upload_id,
                    &parts,
                    &options,
                )
                .await
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(done) => Ok(CopyOutput {
                bucket: self.dst_bucket.clone(),
                key: self.dst_key.clone(),
                upload_id,
                etag: done.etag,
                crc64: done.crc64,
                size,
                parts: u32::try_from(ranges.len()).unwrap_or(u32::MAX),
            }),
            Err(cause) => {
                let keep = self.on_failure == FailurePolicy::KeepParts;
                if !keep
                    && let Err(e) = c
                        .abort_upload(&self.dst_bucket, &self.dst_key, &upload_id)
                        .await
                {
                    tracing::warn!(error = %e, "could not abort the failed copy");
                }
                Err(Error::Upload(UploadFailure {
                    bucket: self.dst_bucket.clone(),
                    key: self.dst_key.clone(),
                    upload_id: keep.then_some(upload_id),
                    checkpoint: None,
                    parts_done: 0,
                    source: Box::new(cause),
                }))
            }
        }
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
    /// Copies `src_bucket/src_key` to `dst_bucket/dst_key` server-side with UploadPartCopy
    /// (objects of any size up to 10,000 parts; both buckets in the same region).
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
            dst_bucket: dst_bucket.to_owned(),
            dst_key: dst_key.to_owned(),
            part_size: DEFAULT_COPY_PART_SIZE,
            concurrency: 4,
            on_failure: FailurePolicy::Abort,
            options: ObjectOptions::new(),
        }
    }
}
