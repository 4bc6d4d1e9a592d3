//! CopyObject: `PUT /<key>` with `x-oss-copy-source`, a server-side copy of a whole object of
//! at most 1 GB in one request (larger ones are copied part by part with
//! [`UploadPartCopy`](super::UploadPartCopy)).

use http::{HeaderMap, Method, StatusCode};

use super::{ObjectAttributes, object_request};
use crate::codec::url_encode_path;
use crate::request::{check_status, crc64, header_string, request_id};
use crate::xml::{read, write};
use crate::{
    BucketName, DecodeError, EncodeError, ObjectKey, Operation, OssRequest, ResponseError, header,
    limits,
};

/// `x-oss-metadata-directive` / `x-oss-tagging-directive`: whether the new object takes the
/// source's metadata (or tags) or the ones sent with the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CopyDirective {
    /// Keep the source's (what OSS does when the header is absent).
    #[default]
    Copy,
    /// Use the request's.
    Replace,
}

impl CopyDirective {
    /// The metadata directive's wire value (`COPY`, `REPLACE`).
    pub const fn metadata_value(self) -> &'static str {
        match self {
            Self::Copy => "COPY",
            Self::Replace => "REPLACE",
        }
    }

    /// The tagging directive's wire value (`Copy`, `Replace`, as OSS documents them).
    pub const fn tagging_value(self) -> &'static str {
        match self {
            Self::Copy => "Copy",
            Self::Replace => "Replace",
        }
    }
}

/// Copies `source_bucket/source_key` to `bucket/key` in one request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyObject {
    /// Destination bucket.
    pub bucket: BucketName,
    /// Destination key.
    pub key: ObjectKey,
    /// Source bucket (same region as the destination).
    pub source_bucket: BucketName,
    /// Source key.
    pub source_key: ObjectKey,
    /// Source version (`?versionId=` of `x-oss-copy-source`).
    pub source_version_id: Option<String>,
    /// `x-oss-copy-source-if-match`: copy only while the source has this ETag.
    pub if_match: Option<String>,
    /// `x-oss-metadata-directive`; `None` sends nothing (OSS copies).
    pub metadata_directive: Option<CopyDirective>,
    /// `x-oss-tagging-directive`; `None` sends nothing (OSS copies).
    pub tagging_directive: Option<CopyDirective>,
    /// The new object's content headers, metadata, tags, storage class and encryption (read
    /// by OSS only under the `Replace` directives, except storage class and encryption).
    pub attributes: ObjectAttributes,
    /// `x-oss-object-acl`.
    pub object_acl: Option<String>,
    /// `x-oss-traffic-limit` in bit/s.
    pub traffic_limit: Option<u64>,
    /// `x-oss-request-payer`.
    pub request_payer: Option<String>,
}

impl CopyObject {
    /// A copy of the source's bytes, metadata and tags.
    pub fn new(
        bucket: BucketName,
        key: ObjectKey,
        source_bucket: BucketName,
        source_key: ObjectKey,
    ) -> Self {
        Self {
            bucket,
            key,
            source_bucket,
            source_key,
            source_version_id: None,
            if_match: None,
            metadata_directive: None,
            tagging_directive: None,
            attributes: ObjectAttributes::default(),
            object_acl: None,
            traffic_limit: None,
            request_payer: None,
        }
    }

    /// The `x-oss-copy-source` value: `/<bucket>/<escaped key>[?versionId=<v>]`.
    pub fn copy_source(&self) -> String {
        copy_source(
            &self.source_bucket,
            &self.source_key,
            self.source_version_id.as_deref(),
        )
    }
}

/// `/<bucket>/<escaped key>[?versionId=<v>]`, the `x-oss-copy-source` form shared by
/// CopyObject and UploadPartCopy.
pub(crate) fn copy_source(bucket: &BucketName, key: &ObjectKey, version: Option<&str>) -> String {
    let mut source = format!("/{}/{}", bucket, url_encode_path(key.as_str()));
    if let Some(version) = version {
        source.push_str("?versionId=");
        source.push_str(&crate::codec::url_encode(version));
    }
    source
}

impl Operation for CopyObject {
    type Output = CopyObjectOutput;

    fn to_request(&self) -> Result<OssRequest, EncodeError> {
        let mut req = object_request(Method::PUT, &self.bucket, &self.key);
        req.set_header(header::X_OSS_COPY_SOURCE, &self.copy_source())?;
        req.set_opt_header(header::X_OSS_COPY_SOURCE_IF_MATCH, self.if_match.as_deref())?;
        req.set_opt_header(
            header::X_OSS_METADATA_DIRECTIVE,
            self.metadata_directive.map(CopyDirective::metadata_value),
        )?;
        req.set_opt_header(
            header::X_OSS_TAGGING_DIRECTIVE,
            self.tagging_directive.map(CopyDirective::tagging_value),
        )?;
        self.attributes.apply(&mut req)?;
        req.set_opt_header(header::X_OSS_OBJECT_ACL, self.object_acl.as_deref())?;
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
        let mut out = CopyObjectOutput::from_xml(body)?;
        out.crc64 = crc64(headers)?;
        out.version_id = header_string(headers, "x-oss-version-id");
        out.source_version_id = header_string(headers, "x-oss-copy-source-version-id");
        out.request_id = request_id(headers);
        Ok(out)
    }
}

/// `CopyObjectResult` plus the headers that come with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyObjectOutput {
    /// ETag of the new object (quoted).
    pub etag: String,
    /// `LastModified` (ISO 8601 as sent).
    pub last_modified: String,
    /// `x-oss-hash-crc64ecma` of the new object (header), when sent.
    pub crc64: Option<u64>,
    /// `x-oss-version-id` of the new object (header).
    pub version_id: Option<String>,
    /// `x-oss-copy-source-version-id` (header).
    pub source_version_id: Option<String>,
    /// `x-oss-request-id` (header).
    pub request_id: String,
}

impl CopyObjectOutput {
    /// Parses the `CopyObjectResult` body (header fields stay empty).
    pub fn from_xml(body: &[u8]) -> Result<Self, DecodeError> {
        let root = read::parse_root(body, "CopyObjectResult", limits::MAX_XML_BODY)?;
        Ok(Self {
            etag: root.text("ETag")?.to_owned(),
            last_modified: root.string_or_empty("LastModified")?,
            ..Self::default()
        })
    }

    /// Writes the `CopyObjectResult` body.
    pub fn to_xml(&self) -> String {
        let mut out = String::from(write::DECLARATION);
        write::open(&mut out, "CopyObjectResult");
        write::element(&mut out, "ETag", &self.etag);
        write::element(&mut out, "LastModified", &self.last_modified);
        write::close(&mut out, "CopyObjectResult");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op() -> CopyObject {
        CopyObject::new(
            BucketName::new("dst-bucket").unwrap(),
            ObjectKey::new("a/b.txt").unwrap(),
            BucketName::new("src-bucket").unwrap(),
            ObjectKey::new("dir/k y").unwrap(),
        )
    }

    #[test]
    fn request_names_the_source_and_its_pin() {
        let mut op = op();
        op.source_version_id = Some("v1".into());
        op.if_match = Some("\"ABC\"".into());
        op.metadata_directive = Some(CopyDirective::Replace);
        op.tagging_directive = Some(CopyDirective::Copy);
        op.attributes.content_type = Some("text/plain".into());
        let req = op.to_request().unwrap();
        assert_eq!(req.method, Method::PUT);
        assert_eq!(req.key.as_deref(), Some("a/b.txt"));
        assert_eq!(
            req.headers["x-oss-copy-source"],
            "/src-bucket/dir/k%20y?versionId=v1"
        );
        assert_eq!(req.headers["x-oss-copy-source-if-match"], "\"ABC\"");
        assert_eq!(req.headers["x-oss-metadata-directive"], "REPLACE");
        assert_eq!(req.headers["x-oss-tagging-directive"], "Copy");
        assert_eq!(req.headers["content-type"], "text/plain");
        assert!(req.query.is_empty());
    }

    #[test]
    fn result_round_trips_and_headers_are_read() {
        let out = CopyObjectOutput {
            etag: "\"5B3C1A2E053D763E1B002CC607C5A0FE\"".into(),
            last_modified: "2026-11-02T08:00:00.000Z".into(),
            ..CopyObjectOutput::default()
        };
        let body = out.to_xml();
        assert_eq!(CopyObjectOutput::from_xml(body.as_bytes()).unwrap(), out);
        let mut headers = HeaderMap::new();
        headers.insert("x-oss-hash-crc64ecma", "42".parse().unwrap());
        headers.insert("x-oss-request-id", "RID".parse().unwrap());
        let parsed = CopyObject::parse_response(StatusCode::OK, &headers, body.as_bytes()).unwrap();
        assert_eq!(parsed.crc64, Some(42));
        assert_eq!(parsed.request_id, "RID");
        assert_eq!(parsed.etag, out.etag);
        let err = CopyObject::parse_response(StatusCode::OK, &headers, b"<Other/>").unwrap_err();
        assert!(matches!(err, ResponseError::Decode(_)), "{err:?}");
    }
}
