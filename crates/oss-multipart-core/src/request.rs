//! Request intents the machine hands to the driver ([`Upload::poll_request`](crate::Upload::poll_request)).

use std::ops::Range;

use http::{HeaderMap, HeaderValue, Method};

use crate::target::Target;

/// Identifies one request; answer it with exactly one `handle_response`/`handle_failure`
/// (or `handle_hash` for [`Op::HashRange`]). Ids are never reused within an [`Upload`](crate::Upload).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub(crate) u64);

impl RequestId {
    /// The raw number (for logs and maps).
    pub fn get(self) -> u64 {
        self.0
    }
}

/// The kind of an operation, without its data (for errors and events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OpKind {
    /// InitiateMultipartUpload.
    Initiate,
    /// UploadPart.
    UploadPart,
    /// PutObject (single-request upload).
    PutObject,
    /// ListParts.
    ListParts,
    /// CompleteMultipartUpload.
    Complete,
    /// AbortMultipartUpload.
    Abort,
    /// HeadObject (confirming a Complete whose outcome was lost).
    HeadObject,
    /// Local re-hash of a source range (no network).
    HashRange,
}

/// One part in a Complete request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletePart {
    /// Part number.
    pub part_number: u32,
    /// ETag as OSS returned it (quoted).
    pub etag: String,
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// `POST /key?uploads`.
    Initiate,
    /// `PUT /key?partNumber=n&uploadId=id` with the bytes of `range` of the source as body.
    ///
    /// Known-size sources: read exactly `range`. Streams: `range` is the most the part may hold;
    /// read up to that many bytes and keep them until [`Event::PartDone`](crate::Event) for this
    /// part (a stream cannot be re-read for a retry). Either way, before answering, report what was
    /// read with [`Upload::handle_body_read`](crate::Upload::handle_body_read).
    UploadPart {
        /// Part number (1..=10000).
        part_number: u32,
        /// Source range (streams: maximum range).
        range: Range<u64>,
        /// The upload id.
        upload_id: String,
        /// Send `Content-MD5` (base64 MD5 of the body) — the driver computes it.
        content_md5: bool,
    },
    /// `PUT /key` with the whole source (`range`) as body; report the read like UploadPart.
    PutObject {
        /// Source range (the whole source).
        range: Range<u64>,
        /// Send `Content-MD5`.
        content_md5: bool,
    },
    /// `GET /key?uploadId=id&part-number-marker=m&max-parts=1000`.
    ListParts {
        /// The upload id.
        upload_id: String,
        /// Only parts above this number.
        marker: u32,
    },
    /// `POST /key?uploadId=id` with the part list.
    Complete {
        /// The upload id.
        upload_id: String,
        /// Parts in ascending order.
        parts: Vec<CompletePart>,
    },
    /// `DELETE /key?uploadId=id`.
    Abort {
        /// The upload id.
        upload_id: String,
    },
    /// `HEAD /key`.
    HeadObject,
    /// Not HTTP: read `range` of the local source, compute its CRC-64 and answer with
    /// [`Upload::handle_hash`](crate::Upload::handle_hash).
    HashRange {
        /// Part number whose reuse is being checked.
        part_number: u32,
        /// Source range.
        range: Range<u64>,
    },
}

impl Op {
    /// The kind.
    pub fn kind(&self) -> OpKind {
        match self {
            Self::Initiate => OpKind::Initiate,
            Self::UploadPart { .. } => OpKind::UploadPart,
            Self::PutObject { .. } => OpKind::PutObject,
            Self::ListParts { .. } => OpKind::ListParts,
            Self::Complete { .. } => OpKind::Complete,
            Self::Abort { .. } => OpKind::Abort,
            Self::HeadObject => OpKind::HeadObject,
            Self::HashRange { .. } => OpKind::HashRange,
        }
    }
}

/// A request intent: an id, the operation and the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Answer with this id.
    pub id: RequestId,
    /// What to do.
    pub op: Op,
    /// Bucket and key.
    pub target: Target,
    pub(crate) content_type: String,
    pub(crate) forbid_overwrite: bool,
}

/// A transport-independent HTTP request built from an intent (same shape as `oss_model::OssRequest`):
/// addressing, `Host`, `Date`, `Content-Length`, `Content-MD5` of part bodies and signing are the
/// driver's business. For UploadPart/PutObject, `body` is empty: the driver streams the source range.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpRequest {
    /// Method.
    pub method: Method,
    /// Bucket.
    pub bucket: String,
    /// Decoded object key.
    pub key: String,
    /// Decoded query pairs in wire order (empty value = bare sub-resource such as `uploads`).
    pub query: Vec<(String, String)>,
    /// Headers this operation owns.
    pub headers: HeaderMap,
    /// Body (Complete's XML; empty otherwise).
    pub body: bytes::Bytes,
}

impl Request {
    /// The HTTP request for this intent, or `None` for [`Op::HashRange`].
    pub fn to_http(&self) -> Option<HttpRequest> {
        let mut headers = HeaderMap::new();
        let forbid = |h: &mut HeaderMap| {
            if self.forbid_overwrite {
                h.insert("x-oss-forbid-overwrite", HeaderValue::from_static("true"));
            }
        };
        let content_type = |h: &mut HeaderMap| {
            if let Ok(v) = HeaderValue::from_str(&self.content_type) {
                h.insert(http::header::CONTENT_TYPE, v);
            }
        };
        let (method, query, body) = match &self.op {
            Op::Initiate => {
                content_type(&mut headers);
                forbid(&mut headers);
                (
                    Method::POST,
                    vec![("uploads".to_owned(), String::new())],
                    bytes::Bytes::new(),
                )
            }
            Op::UploadPart {
                part_number,
                upload_id,
                ..
            } => (
                Method::PUT,
                vec![
                    ("partNumber".to_owned(), part_number.to_string()),
                    ("uploadId".to_owned(), upload_id.clone()),
                ],
                bytes::Bytes::new(),
            ),
            Op::PutObject { .. } => {
                content_type(&mut headers);
                forbid(&mut headers);
                (Method::PUT, Vec::new(), bytes::Bytes::new())
            }
            Op::ListParts { upload_id, marker } => {
                let mut q = vec![
                    ("uploadId".to_owned(), upload_id.clone()),
                    ("max-parts".to_owned(), "1000".to_owned()),
                ];
                if *marker > 0 {
                    q.push(("part-number-marker".to_owned(), marker.to_string()));
                }
                (Method::GET, q, bytes::Bytes::new())
            }
            Op::Complete { upload_id, parts } => {
                forbid(&mut headers);
                headers.insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/xml"),
                );
                (
                    Method::POST,
                    vec![("uploadId".to_owned(), upload_id.clone())],
                    crate::wire::complete_body(parts).into(),
                )
            }
            Op::Abort { upload_id } => (
                Method::DELETE,
                vec![("uploadId".to_owned(), upload_id.clone())],
                bytes::Bytes::new(),
            ),
            Op::HeadObject => (Method::HEAD, Vec::new(), bytes::Bytes::new()),
            Op::HashRange { .. } => return None,
        };
        Some(HttpRequest {
            method,
            bucket: self.target.bucket().to_owned(),
            key: self.target.key().to_owned(),
            query,
            headers,
            body,
        })
    }
}
