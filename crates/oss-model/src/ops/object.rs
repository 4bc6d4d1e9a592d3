//! Single-request object operations: PutObject, HeadObject, GetObject, DeleteObject.

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};

use super::{ObjectAttributes, metadata_from, object_request};
use crate::request::{check_status, crc64, etag, header_string, header_u64, request_id};
use crate::{
    BucketName, DecodeError, EncodeError, ObjectKey, Operation, OssRequest, ResponseError, header,
    query,
};

/// Uploads a whole object in one request (the fast path for small files). The body is
/// streamed by the driver, so [`OssRequest::body`] is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PutObject {
    /// Bucket.
    pub bucket: BucketName,
    /// Object key.
    pub key: ObjectKey,
    /// Content headers, metadata, storage class, encryption and tagging.
    pub attributes: ObjectAttributes,
    /// `Content-MD5` of the body (base64), when the caller computed it.
    pub content_md5: Option<String>,
    /// `x-oss-object-acl`.
    pub object_acl: Option<String>,
    /// `x-oss-traffic-limit` in bit/s.
    pub traffic_limit: Option<u64>,
    /// `x-oss-request-payer`.
    pub request_payer: Option<String>,
}

impl PutObject {
    /// A plain upload of `key`.
    pub fn new(bucket: BucketName, key: ObjectKey) -> Self {
        Self {
            bucket,
            key,
            attributes: ObjectAttributes::default(),
            content_md5: None,
            object_acl: None,
            traffic_limit: None,
            request_payer: None,
        }
    }
}

impl Operation for PutObject {
    type Output = PutObjectOutput;

    fn to_request(&self) -> Result<OssRequest, EncodeError> {
        let mut req = object_request(Method::PUT, &self.bucket, &self.key);
        self.attributes.apply(&mut req)?;
        req.set_opt_header(header::CONTENT_MD5, self.content_md5.as_deref())?;
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
        Ok(PutObjectOutput {
            etag: etag(headers)?,
            crc64: crc64(headers)?,
            version_id: header_string(headers, "x-oss-version-id"),
            content_md5: header_string(headers, "content-md5"),
            request_id: request_id(headers),
        })
    }
}

/// What PutObject returns (headers only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PutObjectOutput {
    /// ETag (quoted upper-hex MD5).
    pub etag: String,
    /// `x-oss-hash-crc64ecma`, when sent.
    pub crc64: Option<u64>,
    /// `x-oss-version-id` on versioned buckets.
    pub version_id: Option<String>,
    /// `Content-MD5` echo, when sent.
    pub content_md5: Option<String>,
    /// `x-oss-request-id`.
    pub request_id: String,
}

/// Conditions shared by HEAD and GET.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadConditions {
    /// `versionId`.
    pub version_id: Option<String>,
    /// `If-Match`.
    pub if_match: Option<String>,
    /// `If-None-Match`.
    pub if_none_match: Option<String>,
    /// `If-Modified-Since` (HTTP date).
    pub if_modified_since: Option<String>,
    /// `If-Unmodified-Since` (HTTP date).
    pub if_unmodified_since: Option<String>,
}

impl ReadConditions {
    fn apply(&self, req: &mut OssRequest) -> Result<(), EncodeError> {
        req.push_opt_query(query::VERSION_ID, self.version_id.as_deref());
        req.set_opt_header(header::IF_MATCH, self.if_match.as_deref())?;
        req.set_opt_header(header::IF_NONE_MATCH, self.if_none_match.as_deref())?;
        req.set_opt_header(
            http::header::IF_MODIFIED_SINCE,
            self.if_modified_since.as_deref(),
        )?;
        req.set_opt_header(
            http::header::IF_UNMODIFIED_SINCE,
            self.if_unmodified_since.as_deref(),
        )?;
        Ok(())
    }
}

/// Reads an object's metadata. Errors arrive without a body; the XML is in `x-oss-err`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeadObject {
    /// Bucket.
    pub bucket: BucketName,
    /// Object key.
    pub key: ObjectKey,
    /// Version and `If-*` conditions.
    pub conditions: ReadConditions,
    /// `x-oss-request-payer`.
    pub request_payer: Option<String>,
}

impl HeadObject {
    /// HEAD of `key`.
    pub fn new(bucket: BucketName, key: ObjectKey) -> Self {
        Self {
            bucket,
            key,
            conditions: ReadConditions::default(),
            request_payer: None,
        }
    }
}

impl Operation for HeadObject {
    type Output = HeadObjectOutput;

    fn to_request(&self) -> Result<OssRequest, EncodeError> {
        let mut req = object_request(Method::HEAD, &self.bucket, &self.key);
        self.conditions.apply(&mut req)?;
        req.set_opt_header(header::X_OSS_REQUEST_PAYER, self.request_payer.as_deref())?;
        Ok(req)
    }

    fn parse_response(
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Self::Output, ResponseError> {
        check_status(status, headers, body)?;
        Ok(HeadObjectOutput::from_headers(headers)?)
    }
}

/// Object metadata from response headers (HEAD and GET).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeadObjectOutput {
    /// `Content-Length`: the object size for HEAD, the returned bytes for GET.
    pub content_length: u64,
    /// `ETag` (quoted).
    pub etag: String,
    /// `x-oss-hash-crc64ecma` of the whole object, when sent.
    pub crc64: Option<u64>,
    /// `x-oss-object-type`: `Normal`, `Multipart`, `Appendable`, `Symlink`.
    pub object_type: Option<String>,
    /// `Last-Modified` (HTTP date as sent).
    pub last_modified: Option<String>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `x-oss-storage-class`.
    pub storage_class: Option<String>,
    /// `x-oss-version-id`.
    pub version_id: Option<String>,
    /// `x-oss-meta-*` as (suffix, value), sorted.
    pub metadata: Vec<(String, String)>,
    /// `x-oss-request-id`.
    pub request_id: String,
}

impl HeadObjectOutput {
    /// Reads the metadata headers; `Content-Length` and `ETag` are required.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, DecodeError> {
        Ok(Self {
            content_length: header_u64(headers, "content-length")?.ok_or(
                DecodeError::MissingHeader {
                    name: "Content-Length",
                },
            )?,
            etag: etag(headers)?,
            crc64: crc64(headers)?,
            object_type: header_string(headers, "x-oss-object-type"),
            last_modified: header_string(headers, "last-modified"),
            content_type: header_string(headers, "content-type"),
            storage_class: header_string(headers, "x-oss-storage-class"),
            version_id: header_string(headers, "x-oss-version-id"),
            metadata: metadata_from(headers),
            request_id: request_id(headers),
        })
    }
}

/// Reads an object or a byte range of it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetObject {
    /// Bucket.
    pub bucket: BucketName,
    /// Object key.
    pub key: ObjectKey,
    /// `Range: bytes=<start>-[<end>]`, end inclusive; `None` reads everything.
    pub range: Option<(u64, Option<u64>)>,
    /// `x-oss-range-behavior: standard`: out-of-range requests fail with 416 instead of
    /// returning the whole object.
    pub standard_range_behavior: bool,
    /// Version and `If-*` conditions.
    pub conditions: ReadConditions,
    /// `x-oss-traffic-limit` in bit/s.
    pub traffic_limit: Option<u64>,
    /// `x-oss-request-payer`.
    pub request_payer: Option<String>,
}

impl GetObject {
    /// GET of all of `key`.
    pub fn new(bucket: BucketName, key: ObjectKey) -> Self {
        Self {
            bucket,
            key,
            range: None,
            standard_range_behavior: false,
            conditions: ReadConditions::default(),
            traffic_limit: None,
            request_payer: None,
        }
    }
}

impl Operation for GetObject {
    type Output = GetObjectOutput;

    fn to_request(&self) -> Result<OssRequest, EncodeError> {
        let mut req = object_request(Method::GET, &self.bucket, &self.key);
        self.conditions.apply(&mut req)?;
        if let Some((start, end)) = self.range {
            let value = match end {
                Some(end) if end < start => {
                    return Err(EncodeError::Conflict {
                        reason: "range ends before it starts",
                    });
                }
                Some(end) => format!("bytes={start}-{end}"),
                None => format!("bytes={start}-"),
            };
            req.set_header(header::RANGE, &value)?;
        }
        if self.standard_range_behavior {
            req.set_header(header::X_OSS_RANGE_BEHAVIOR, "standard")?;
        }
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
        Ok(GetObjectOutput {
            metadata: HeadObjectOutput::from_headers(headers)?,
            content_range: header_string(headers, "content-range"),
            body: Bytes::copy_from_slice(body),
        })
    }
}

/// Object bytes plus metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetObjectOutput {
    /// Metadata headers.
    pub metadata: HeadObjectOutput,
    /// `Content-Range` for partial reads.
    pub content_range: Option<String>,
    /// The bytes returned.
    pub body: Bytes,
}

/// Deletes an object (or one version of it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteObject {
    /// Bucket.
    pub bucket: BucketName,
    /// Object key.
    pub key: ObjectKey,
    /// `versionId`.
    pub version_id: Option<String>,
    /// `x-oss-request-payer`.
    pub request_payer: Option<String>,
}

impl DeleteObject {
    /// Deletes `key`.
    pub fn new(bucket: BucketName, key: ObjectKey) -> Self {
        Self {
            bucket,
            key,
            version_id: None,
            request_payer: None,
        }
    }
}

impl Operation for DeleteObject {
    type Output = DeleteObjectOutput;

    fn to_request(&self) -> Result<OssRequest, EncodeError> {
        let mut req = object_request(Method::DELETE, &self.bucket, &self.key);
        req.push_opt_query(query::VERSION_ID, self.version_id.as_deref());
        req.set_opt_header(header::X_OSS_REQUEST_PAYER, self.request_payer.as_deref())?;
        Ok(req)
    }

    fn parse_response(
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Self::Output, ResponseError> {
        check_status(status, headers, body)?;
        Ok(DeleteObjectOutput {
            version_id: header_string(headers, "x-oss-version-id"),
            delete_marker: header_string(headers, "x-oss-delete-marker").as_deref() == Some("true"),
            request_id: request_id(headers),
        })
    }
}

/// DeleteObject returns 204 and no body (also when the key did not exist).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteObjectOutput {
    /// `x-oss-version-id`.
    pub version_id: Option<String>,
    /// `x-oss-delete-marker: true`.
    pub delete_marker: bool,
    /// `x-oss-request-id`.
    pub request_id: String,
}
