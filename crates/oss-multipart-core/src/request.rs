//! Request intents the machine hands to the driver ([`Upload::poll_request`](crate::Upload::poll_request)).

use std::ops::Range;
use std::sync::Arc;

use oss_model::{EncodeError, OssRequest};

use crate::config::{Config, ExtraHeaders};

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
    /// Local check that the source did not change (no network).
    CheckSource,
}

impl OpKind {
    /// The operation's name as OSS documents it (`CompleteMultipartUpload`...), or the
    /// local work's (`HashRange`, `CheckSource`): for logs and error messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Initiate => "InitiateMultipartUpload",
            Self::UploadPart => "UploadPart",
            Self::PutObject => "PutObject",
            Self::ListParts => "ListParts",
            Self::Complete => "CompleteMultipartUpload",
            Self::Abort => "AbortMultipartUpload",
            Self::HeadObject => "HeadObject",
            Self::HashRange => "HashRange",
            Self::CheckSource => "CheckSource",
        }
    }

    /// Whether the operation sends part bytes (UploadPart, PutObject).
    pub fn sends_source_bytes(self) -> bool {
        matches!(self, Self::UploadPart | Self::PutObject)
    }
}

/// One part in a Complete request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
    /// Not HTTP: check that the source is still what was read (same size and modification
    /// time for a file) and answer with
    /// [`Upload::handle_source_check`](crate::Upload::handle_source_check). Issued before
    /// Complete when [`Config::check_source`](crate::Config::check_source) is set.
    CheckSource,
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
            Self::CheckSource => OpKind::CheckSource,
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
    /// The object's headers, shared by every request of the upload.
    pub(crate) object: Arc<ObjectHeaders>,
}

/// What the requests of one upload carry besides their own parameters.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ObjectHeaders {
    /// `Content-Type` of Initiate and PutObject.
    pub(crate) content_type: String,
    /// The `sequential` sub-resource on Initiate.
    pub(crate) sequential: bool,
    /// Everything else, per request kind.
    pub(crate) extra: ExtraHeaders,
}

impl ObjectHeaders {
    pub(crate) fn new(config: &Config) -> Self {
        Self {
            content_type: config.content_type.clone(),
            sequential: config.sequential,
            extra: config.extra_headers.clone(),
        }
    }

    /// Whether Complete and PutObject answer with the callback's reply.
    pub(crate) fn expects_callback(&self) -> bool {
        let callback = http::HeaderName::from_static("x-oss-callback");
        [&self.extra.complete, &self.extra.put_object]
            .iter()
            .any(|headers| headers.iter().any(|(n, _)| *n == callback))
    }
}

impl Request {
    /// The `oss_model::OssRequest` for this intent, or `None` for [`Op::HashRange`] (local work).
    /// Addressing, `Host`, `Date`, `Content-Length`, the part body's `Content-MD5` and signing
    /// are the driver's business; UploadPart/PutObject bodies are the source range, streamed by
    /// the driver.
    ///
    /// # Errors
    /// `oss_model::EncodeError` when a header value cannot be carried (not expected: the config
    /// and target are validated).
    pub fn to_oss_request(&self) -> Result<Option<OssRequest>, EncodeError> {
        crate::wire::to_request(self)
    }
}
