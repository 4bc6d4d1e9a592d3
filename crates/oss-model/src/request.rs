//! [`OssRequest`], the transport-independent request every operation produces, the
//! [`Operation`] trait, and the helpers operations share to build and read HTTP parts.

use bytes::Bytes;
use http::header::{ETAG, HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};

use crate::codec::crc64_from_wire;
use crate::{DecodeError, EncodeError, ResponseError, ServiceError};

/// What an operation asks the transport to send.
///
/// Addressing (virtual host or path style), `Host`, `Date`, `Content-Length` and signing are
/// the caller's business; this carries only what the operation itself owns.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OssRequest {
    /// HTTP method.
    pub method: Method,
    /// Bucket, or `None` for service-level requests.
    pub bucket: Option<String>,
    /// Decoded object key, or `None` for bucket-level requests.
    pub key: Option<String>,
    /// Decoded query pairs in wire order; an empty value is a bare sub-resource (`uploads`).
    pub query: Vec<(String, String)>,
    /// Headers this operation owns (Content-Type, Content-MD5, `x-oss-*`, ...).
    pub headers: HeaderMap,
    /// The body: XML for Complete/PutBucket, empty otherwise (UploadPart and PutObject bodies
    /// are streamed by the driver).
    pub body: Bytes,
}

impl OssRequest {
    /// A bodiless request with no query and no headers.
    pub fn new(method: Method, bucket: Option<String>, key: Option<String>) -> Self {
        Self {
            method,
            bucket,
            key,
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    /// The query in wire form (`uploads&uploadId=a%2Ab`): names and values percent-encoded
    /// (RFC 3986 unreserved characters kept), bare sub-resources without `=`.
    pub fn query_string(&self) -> String {
        crate::codec::encode_query(&self.query)
    }

    /// The decoded value of query parameter `name`, if present.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn push_query(&mut self, name: &str, value: impl Into<String>) {
        self.query.push((name.to_owned(), value.into()));
    }

    pub(crate) fn push_opt_query(&mut self, name: &str, value: Option<impl ToString>) {
        if let Some(value) = value {
            self.push_query(name, value.to_string());
        }
    }

    /// Inserts a header, rejecting values HTTP cannot carry.
    pub(crate) fn set_header(&mut self, name: HeaderName, value: &str) -> Result<(), EncodeError> {
        let value = HeaderValue::from_str(value).map_err(|_| EncodeError::InvalidHeaderValue {
            name: name.as_str().to_owned(),
        })?;
        self.headers.insert(name, value);
        Ok(())
    }

    pub(crate) fn set_opt_header(
        &mut self,
        name: HeaderName,
        value: Option<&str>,
    ) -> Result<(), EncodeError> {
        match value {
            Some(value) => self.set_header(name, value),
            None => Ok(()),
        }
    }

    /// Adds `x-oss-meta-<name>` headers; names must be valid header names.
    pub(crate) fn set_metadata(
        &mut self,
        metadata: &[(String, String)],
    ) -> Result<(), EncodeError> {
        for (name, value) in metadata {
            let full = format!(
                "{}{}",
                crate::header::X_OSS_META_PREFIX,
                name.to_ascii_lowercase()
            );
            let header = HeaderName::from_bytes(full.as_bytes())
                .map_err(|_| EncodeError::InvalidHeaderValue { name: full.clone() })?;
            self.set_header(header, value)?;
        }
        Ok(())
    }
}

/// One OSS operation: build its request, parse its response.
pub trait Operation {
    /// What a successful response yields.
    type Output;

    /// Builds the request, validating inputs that OSS would reject.
    fn to_request(&self) -> Result<OssRequest, EncodeError>;

    /// Parses a response. Non-2xx yields [`ResponseError::Service`]; a 2xx whose body or
    /// headers cannot be decoded yields [`ResponseError::Decode`].
    ///
    /// An associated function: reading an answer needs nothing of the request that was sent,
    /// so a caller that kept only the request id (a sans-IO machine) builds no operation.
    fn parse_response(
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Self::Output, ResponseError>;
}

/// Turns any non-2xx response into the service error it carries.
pub(crate) fn check_status(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), ResponseError> {
    if status.is_success() {
        Ok(())
    } else {
        Err(ResponseError::Service(ServiceError::from_response(
            status, headers, body,
        )))
    }
}

/// A header as text; non-ASCII values count as absent.
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A header as an owned string.
pub(crate) fn header_string(headers: &HeaderMap, name: &str) -> Option<String> {
    header(headers, name).map(str::to_owned)
}

/// `x-oss-request-id`, empty when absent.
pub(crate) fn request_id(headers: &HeaderMap) -> String {
    header(headers, "x-oss-request-id")
        .unwrap_or_default()
        .to_owned()
}

/// The `ETag` header, required.
pub(crate) fn etag(headers: &HeaderMap) -> Result<String, DecodeError> {
    header(headers, ETAG.as_str())
        .map(str::to_owned)
        .ok_or(DecodeError::MissingHeader { name: "ETag" })
}

/// `x-oss-hash-crc64ecma`, optional (absent disables the client's check).
pub(crate) fn crc64(headers: &HeaderMap) -> Result<Option<u64>, DecodeError> {
    match headers.get("x-oss-hash-crc64ecma") {
        None => Ok(None),
        Some(v) => {
            let text = v.to_str().map_err(|_| DecodeError::InvalidValue {
                name: "x-oss-hash-crc64ecma",
                reason: "not ASCII",
            })?;
            crc64_from_wire(text).map(Some)
        }
    }
}

/// An optional unsigned header.
pub(crate) fn header_u64(
    headers: &HeaderMap,
    name: &'static str,
) -> Result<Option<u64>, DecodeError> {
    match header(headers, name) {
        None => Ok(None),
        Some(v) => crate::xml::read::parse_u64(name, v).map(Some),
    }
}
