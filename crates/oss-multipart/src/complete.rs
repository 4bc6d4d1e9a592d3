//! The manual CompleteMultipartUpload ([`Client::complete_upload`],
//! [`Client::complete_upload_all`]), safe to retry after a lost answer.
//!
//! A Complete whose answer is lost may have taken effect: the upload id is then gone and the
//! next Complete answers `NoSuchUpload`. When the parts' sizes and CRC-64s are known (given as
//! [`PartOutput`]s, or [`UploadedPart`]s from a listing), Complete is sent again after a lost
//! answer, and a `NoSuchUpload` is checked with HeadObject by the core's one rule
//! ([`oss_multipart_core::ExpectedObject`], the one the upload machine applies to its own
//! Complete): the object of the parts' total size and combined CRC-64 is ours, and the call
//! succeeds. Without them nothing can tell our object from another writer's, so a lost answer
//! is reported as it is and `NoSuchUpload` stays an error.

use oss_model::Operation;
use oss_model::ops::{CompleteMultipartUpload, CompletedPart, PartSummary};
use oss_multipart_core::ExpectedObject;

use crate::client::{Client, encode_error, parse};
use crate::error::Error;
use crate::manual::{ObjectOutput, PartOutput};
use crate::names::{bucket_name, object_key, part_number};
use crate::options::{ObjectOptions, ObjectRequest};
use crate::transport::RequestBody;

/// One part to complete: its number and ETag and, when known, its size and CRC-64 (which make
/// a retried Complete verifiable; see [`Client::complete_upload`]). Built from a
/// [`PartOutput`], a listed [`PartSummary`], or a `(part number, ETag)` pair.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadedPart {
    /// Part number, 1 ..= 10,000.
    pub part_number: u32,
    /// ETag as UploadPart returned it.
    pub etag: String,
    /// Size in bytes, when known.
    pub size: Option<u64>,
    /// CRC-64/XZ of the part, when known.
    pub crc64: Option<u64>,
}

impl UploadedPart {
    /// A part known by number and ETag only.
    pub fn new(part_number: u32, etag: impl Into<String>) -> Self {
        Self {
            part_number,
            etag: etag.into(),
            size: None,
            crc64: None,
        }
    }

    /// Adds the part's size and CRC-64.
    pub fn with_checksum(mut self, size: u64, crc64: u64) -> Self {
        self.size = Some(size);
        self.crc64 = Some(crc64);
        self
    }
}

impl From<(u32, String)> for UploadedPart {
    fn from((n, etag): (u32, String)) -> Self {
        Self::new(n, etag)
    }
}

impl From<&(u32, String)> for UploadedPart {
    fn from((n, etag): &(u32, String)) -> Self {
        Self::new(*n, etag.clone())
    }
}

impl From<&PartOutput> for UploadedPart {
    fn from(p: &PartOutput) -> Self {
        Self::new(p.part_number, p.etag.clone()).with_checksum(p.size, p.crc64)
    }
}

impl From<PartOutput> for UploadedPart {
    fn from(p: PartOutput) -> Self {
        Self::from(&p)
    }
}

impl From<&PartSummary> for UploadedPart {
    fn from(p: &PartSummary) -> Self {
        Self {
            part_number: p.part_number.get(),
            etag: p.etag.clone(),
            size: Some(p.size),
            crc64: p.crc64,
        }
    }
}

/// The object `parts` (sorted by number) make, when every part's size and CRC-64 is known.
fn expected_object(parts: &[UploadedPart]) -> Option<ExpectedObject> {
    let known: Option<Vec<(u64, u64)>> = parts.iter().map(|p| Some((p.size?, p.crc64?))).collect();
    known.map(ExpectedObject::from_parts)
}

impl Client {
    /// Completes `upload_id` from `parts` (sorted here), with the options Complete takes (ACL,
    /// forbid-overwrite, callback). `parts` may be the [`PartOutput`]s of
    /// [`upload_part`](Self::upload_part), listed [`PartSummary`]s, or `(part number, ETag)`
    /// pairs.
    ///
    /// Retry-safe when every part's size and CRC-64 is known (the first two forms): a Complete
    /// whose answer is lost is sent again, and a `NoSuchUpload` (the lost one took effect, or
    /// an earlier call of yours did) is confirmed with HeadObject: an object of the parts'
    /// total size and combined CRC-64 is a success with
    /// [`ObjectOutput::confirmed_by_head`] set. With ETags only, a lost answer is an error
    /// whose outcome is unknown, and `NoSuchUpload` stays an error.
    ///
    /// # Errors
    /// [`Error::is_usage`] for bad part numbers or options; service and transport errors. A
    /// failed callback is not an error: see [`ObjectOutput::callback`].
    pub async fn complete_upload<P: Into<UploadedPart>>(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: impl IntoIterator<Item = P>,
        options: &ObjectOptions,
    ) -> Result<ObjectOutput, Error> {
        let mut parts: Vec<UploadedPart> = parts.into_iter().map(Into::into).collect();
        parts.sort_by_key(|p| p.part_number);
        let expected = expected_object(&parts);
        let list = parts
            .into_iter()
            .map(|p| Ok(CompletedPart::new(part_number(p.part_number)?, p.etag)))
            .collect::<Result<Vec<_>, Error>>()?;
        self.complete(bucket, key, upload_id, list, false, expected, options)
            .await
    }

    /// Completes `upload_id` from every part OSS holds, in part-number order
    /// (`x-oss-complete-all: yes`): the recovery path when the local part list is lost. The
    /// parts are not known here, so a lost answer cannot be confirmed (see
    /// [`complete_upload`](Self::complete_upload)).
    ///
    /// # Errors
    /// As [`complete_upload`](Self::complete_upload).
    pub async fn complete_upload_all(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        options: &ObjectOptions,
    ) -> Result<ObjectOutput, Error> {
        self.complete(bucket, key, upload_id, Vec::new(), true, None, options)
            .await
    }

    #[allow(clippy::too_many_arguments)] // private; the two public entry points name them
    async fn complete(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: Vec<CompletedPart>,
        complete_all: bool,
        expected: Option<ExpectedObject>,
        options: &ObjectOptions,
    ) -> Result<ObjectOutput, Error> {
        const NAME: &str = "CompleteMultipartUpload";
        let (bucket_name, key_name) = (bucket_name(bucket)?, object_key(key)?);
        let mut op = CompleteMultipartUpload::new(bucket_name, key_name, upload_id, parts);
        op.complete_all = complete_all;
        let mut req = op
            .to_request()
            .map_err(encode_error::<CompleteMultipartUpload>)?;
        options.apply(ObjectRequest::Complete, &mut req)?;
        let body = req.body.clone();
        // With the object known, sending Complete again after a lost answer is safe: if the
        // lost one took effect, the next answers NoSuchUpload and HeadObject decides.
        let resend_after_send = expected.is_some();
        let raw = self
            .execute_with(
                NAME,
                &req,
                || RequestBody::from_bytes(body.clone()),
                resend_after_send,
            )
            .await?;
        if options.has_callback() && raw.status.is_success() {
            return Ok(ObjectOutput::from_callback(&raw));
        }
        match parse::<CompleteMultipartUpload>(NAME, &raw) {
            Ok(out) => Ok(ObjectOutput {
                etag: out.etag,
                crc64: out.crc64,
                version_id: out.version_id,
                status: raw.status,
                request_id: out.request_id,
                callback: None,
                confirmed_by_head: false,
            }),
            Err(err) => match expected {
                Some(expected) if is_no_such_upload(&err) => {
                    self.confirm_by_head(bucket, key, expected, err).await
                }
                _ => Err(err),
            },
        }
    }

    /// After `NoSuchUpload`: the object is ours when HeadObject shows the expected size and
    /// CRC-64; otherwise `no_such_upload` is the answer.
    async fn confirm_by_head(
        &self,
        bucket: &str,
        key: &str,
        expected: ExpectedObject,
        no_such_upload: Error,
    ) -> Result<ObjectOutput, Error> {
        let head = match self.head_object(bucket, key).await {
            Ok(head) => head,
            Err(e) if e.service_error().is_some_and(|s| s.status() == 404) => {
                return Err(no_such_upload);
            }
            Err(e) => return Err(e),
        };
        if !expected.is_confirmed_by(head.content_length, head.crc64) {
            return Err(no_such_upload);
        }
        tracing::debug!(
            bucket,
            key,
            "Complete confirmed by HeadObject after NoSuchUpload"
        );
        Ok(ObjectOutput {
            etag: head.etag,
            crc64: head.crc64,
            version_id: head.version_id,
            status: http::StatusCode::OK,
            request_id: head.request_id,
            callback: None,
            confirmed_by_head: true,
        })
    }
}

fn is_no_such_upload(err: &Error) -> bool {
    err.service_error()
        .is_some_and(|s| s.error_code() == Some(oss_model::ErrorCode::NoSuchUpload))
}
