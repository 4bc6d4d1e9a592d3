//! UploadPart and UploadPartCopy: `PUT /<key>?partNumber=<n>&uploadId=<id>`.

use std::ops::RangeInclusive;

use http::{HeaderMap, Method, StatusCode};

use super::object_request;
use crate::codec::url_encode_path;
use crate::request::{check_status, crc64, etag, header_string, request_id};
use crate::xml::{read, write};
use crate::{
    BucketName, DecodeError, EncodeError, ObjectKey, Operation, OssRequest, PartNumber,
    ResponseError, header, limits, query,
};

/// Uploads one part. The body is streamed by the driver, so [`OssRequest::body`] is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadPart {
    /// Bucket.
    pub bucket: BucketName,
    /// Object key.
    pub key: ObjectKey,
    /// Upload id.
    pub upload_id: String,
    /// Part number.
    pub part_number: PartNumber,
    /// `Content-MD5` (base64 of the part's MD5), when the caller computed it.
    pub content_md5: Option<String>,
    /// `x-oss-traffic-limit` in bit/s.
    pub traffic_limit: Option<u64>,
    /// `x-oss-request-payer`.
    pub request_payer: Option<String>,
}

impl UploadPart {
    /// Part `part_number` of `upload_id`.
    pub fn new(
        bucket: BucketName,
        key: ObjectKey,
        upload_id: impl Into<String>,
        part_number: PartNumber,
    ) -> Self {
        Self {
            bucket,
            key,
            upload_id: upload_id.into(),
            part_number,
            content_md5: None,
            traffic_limit: None,
            request_payer: None,
        }
    }
}

impl Operation for UploadPart {
    type Output = UploadPartOutput;

    fn to_request(&self) -> Result<OssRequest, EncodeError> {
        let mut req = object_request(Method::PUT, &self.bucket, &self.key);
        req.push_query(query::PART_NUMBER, self.part_number.to_string());
        req.push_query(query::UPLOAD_ID, self.upload_id.clone());
        req.set_opt_header(header::CONTENT_MD5, self.content_md5.as_deref())?;
        req.set_opt_header(
            header::X_OSS_TRAFFIC_LIMIT,
            self.traffic_limit.map(|v| v.to_string()).as_deref(),
        )?;
        req.set_opt_header(header::X_OSS_REQUEST_PAYER, self.request_payer.as_deref())?;
        Ok(req)
    }

    fn parse_response(
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Self::Output, ResponseError> {
        check_status(status, headers, body)?;
        Ok(UploadPartOutput {
            etag: etag(headers)?,
            crc64: crc64(headers)?,
            content_md5: header_string(headers, "content-md5"),
            request_id: request_id(headers),
        })
    }
}

/// What OSS returns for a stored part (headers only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadPartOutput {
    /// `ETag` as sent (quoted); pass it back verbatim to Complete.
    pub etag: String,
    /// `x-oss-hash-crc64ecma` of the part, when sent.
    pub crc64: Option<u64>,
    /// `Content-MD5` echo, when sent.
    pub content_md5: Option<String>,
    /// `x-oss-request-id`.
    pub request_id: String,
}

/// Copies a range of an existing object into one part.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadPartCopy {
    /// Bucket of the upload.
    pub bucket: BucketName,
    /// Key of the upload.
    pub key: ObjectKey,
    /// Upload id.
    pub upload_id: String,
    /// Part number.
    pub part_number: PartNumber,
    /// Source bucket.
    pub source_bucket: BucketName,
    /// Source key.
    pub source_key: ObjectKey,
    /// Source version (`?versionId=` of `x-oss-copy-source`).
    pub source_version_id: Option<String>,
    /// Inclusive byte range of the source (`x-oss-copy-source-range`); `None` copies it all.
    pub source_range: Option<RangeInclusive<u64>>,
    /// `x-oss-copy-source-if-match`.
    pub if_match: Option<String>,
    /// `x-oss-copy-source-if-none-match`.
    pub if_none_match: Option<String>,
    /// `x-oss-copy-source-if-modified-since` (HTTP date).
    pub if_modified_since: Option<String>,
    /// `x-oss-copy-source-if-unmodified-since` (HTTP date).
    pub if_unmodified_since: Option<String>,
    /// `x-oss-traffic-limit` in bit/s.
    pub traffic_limit: Option<u64>,
    /// `x-oss-request-payer`.
    pub request_payer: Option<String>,
}

impl UploadPartCopy {
    /// Copies all of `source_bucket/source_key` into part `part_number`.
    pub fn new(
        bucket: BucketName,
        key: ObjectKey,
        upload_id: impl Into<String>,
        part_number: PartNumber,
        source_bucket: BucketName,
        source_key: ObjectKey,
    ) -> Self {
        Self {
            bucket,
            key,
            upload_id: upload_id.into(),
            part_number,
            source_bucket,
            source_key,
            source_version_id: None,
            source_range: None,
            if_match: None,
            if_none_match: None,
            if_modified_since: None,
            if_unmodified_since: None,
            traffic_limit: None,
            request_payer: None,
        }
    }

    /// The `x-oss-copy-source` value: `/<bucket>/<escaped key>[?versionId=<v>]`.
    pub fn copy_source(&self) -> String {
        let mut source = format!(
            "/{}/{}",
            self.source_bucket,
            url_encode_path(self.source_key.as_str())
        );
        if let Some(version) = &self.source_version_id {
            source.push_str("?versionId=");
            source.push_str(&crate::codec::url_encode(version));
        }
        source
    }
}

impl Operation for UploadPartCopy {
    type Output = UploadPartCopyOutput;

    fn to_request(&self) -> Result<OssRequest, EncodeError> {
        let mut req = object_request(Method::PUT, &self.bucket, &self.key);
        req.push_query(query::PART_NUMBER, self.part_number.to_string());
        req.push_query(query::UPLOAD_ID, self.upload_id.clone());
        req.set_header(header::X_OSS_COPY_SOURCE, &self.copy_source())?;
        if let Some(range) = &self.source_range {
            if range.start() > range.end() {
                return Err(EncodeError::Conflict {
                    reason: "copy source range starts after it ends",
                });
            }
            let value = format!("bytes={}-{}", range.start(), range.end());
            req.set_header(header::X_OSS_COPY_SOURCE_RANGE, &value)?;
        }
        req.set_opt_header(header::X_OSS_COPY_SOURCE_IF_MATCH, self.if_match.as_deref())?;
        req.set_opt_header(
            header::X_OSS_COPY_SOURCE_IF_NONE_MATCH,
            self.if_none_match.as_deref(),
        )?;
        req.set_opt_header(
            header::X_OSS_COPY_SOURCE_IF_MODIFIED_SINCE,
            self.if_modified_since.as_deref(),
        )?;
        req.set_opt_header(
            header::X_OSS_COPY_SOURCE_IF_UNMODIFIED_SINCE,
            self.if_unmodified_since.as_deref(),
        )?;
        req.set_opt_header(
            header::X_OSS_TRAFFIC_LIMIT,
            self.traffic_limit.map(|v| v.to_string()).as_deref(),
        )?;
        req.set_opt_header(header::X_OSS_REQUEST_PAYER, self.request_payer.as_deref())?;
        Ok(req)
    }

    fn parse_response(
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Self::Output, ResponseError> {
        check_status(status, headers, body)?;
        let mut out = UploadPartCopyOutput::from_xml(body)?;
        out.source_version_id = header_string(headers, "x-oss-copy-source-version-id");
        out.crc64 = crc64(headers)?;
        out.request_id = request_id(headers);
        Ok(out)
    }
}

/// `CopyPartResult` plus the headers that come with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadPartCopyOutput {
    /// ETag of the new part (quoted).
    pub etag: String,
    /// `LastModified` (ISO 8601 as sent).
    pub last_modified: String,
    /// `x-oss-copy-source-version-id` (header).
    pub source_version_id: Option<String>,
    /// `x-oss-hash-crc64ecma` (header), when sent.
    pub crc64: Option<u64>,
    /// `x-oss-request-id` (header).
    pub request_id: String,
}

impl UploadPartCopyOutput {
    /// Parses the `CopyPartResult` body (header fields stay empty).
    pub fn from_xml(body: &[u8]) -> Result<Self, DecodeError> {
        let root = read::parse_root(body, "CopyPartResult", limits::MAX_XML_BODY)?;
        Ok(Self {
            etag: root.text("ETag")?.to_owned(),
            last_modified: root.string_or_empty("LastModified")?,
            ..Self::default()
        })
    }

    /// Writes the `CopyPartResult` body.
    pub fn to_xml(&self) -> String {
        let mut out = String::from(write::DECLARATION);
        write::open(&mut out, "CopyPartResult");
        write::element(&mut out, "LastModified", &self.last_modified);
        write::element(&mut out, "ETag", &self.etag);
        write::close(&mut out, "CopyPartResult");
        out
    }
}
