//! Request intents of a download and the adapter to `oss-model`'s operations.

use std::ops::Range;

use http::{HeaderMap, StatusCode};
use oss_model::ops::{GetObject, HeadObject};
use oss_model::{EncodeError, Operation, OssRequest, ResponseError};

use super::error::{DownloadError, DownloadOpKind};
use super::event::ObjectInfo;
use crate::request::RequestId;
use crate::target::Target;

/// What the driver must do for a download.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownloadOp {
    /// `HEAD /key`: answer with [`Download::handle_response`](crate::Download::handle_response).
    Head,
    /// `GET /key` with `Range: bytes=<range>` and `If-Match: <etag>`. Answer the head with
    /// [`Download::handle_response`](crate::Download::handle_response) (empty body for a 2xx);
    /// then, if [`Download::body_target`](crate::Download::body_target) names a range, write
    /// the body there (never past its end), computing its CRC-64, and report it with
    /// [`Download::handle_body`](crate::Download::handle_body).
    Get {
        /// Index of the planned range (range `i` starts at `i × part_size` of the download).
        index: u64,
        /// Object bytes requested (the rest of the range after a short body).
        range: Range<u64>,
        /// The ETag the download is pinned to.
        if_match: String,
    },
    /// Not HTTP: read `range` of the local copy, compute its CRC-64 and answer with
    /// [`Download::handle_verify`](crate::Download::handle_verify).
    Verify {
        /// Index of the range.
        index: u64,
        /// Object (= local file) bytes to re-hash.
        range: Range<u64>,
    },
}

impl DownloadOp {
    /// The kind.
    pub fn kind(&self) -> DownloadOpKind {
        match self {
            Self::Head => DownloadOpKind::Head,
            Self::Get { .. } => DownloadOpKind::Get,
            Self::Verify { .. } => DownloadOpKind::Verify,
        }
    }
}

/// A request intent of a download: an id, the operation and the object.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownloadRequest {
    /// Answer with this id.
    pub id: RequestId,
    /// What to do.
    pub op: DownloadOp,
    /// Bucket and key.
    pub target: Target,
}

impl DownloadRequest {
    /// The `oss_model::OssRequest` for this intent, or `None` for [`DownloadOp::Verify`].
    /// Addressing, `Host`, `Date` and signing are the driver's business.
    ///
    /// # Errors
    /// `oss_model::EncodeError` when the pinned ETag cannot be a header value (an ETag that
    /// came back from the server, so not expected).
    pub fn to_oss_request(&self) -> Result<Option<OssRequest>, EncodeError> {
        let (b, k) = (
            self.target.bucket_name().clone(),
            self.target.object_key().clone(),
        );
        let req = match &self.op {
            DownloadOp::Head => HeadObject::new(b, k).to_request()?,
            DownloadOp::Get {
                range, if_match, ..
            } => {
                let mut op = GetObject::new(b, k);
                op.range = Some((range.start, Some(range.end.saturating_sub(1))));
                op.standard_range_behavior = true;
                op.conditions.if_match = Some(if_match.clone());
                op.to_request()?
            }
            DownloadOp::Verify { .. } => return Ok(None),
        };
        Ok(Some(req))
    }
}

fn map_err(op: DownloadOpKind, e: ResponseError) -> DownloadError {
    match e {
        ResponseError::Service(error) => DownloadError::Service { op, error },
        _ => DownloadError::InvalidResponse {
            op,
            reason: "undecodable success response",
        },
    }
}

/// The object identity from a HEAD answer.
pub(super) fn parse_head(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<ObjectInfo, DownloadError> {
    let out = HeadObject::parse_response(status, headers, body)
        .map_err(|e| map_err(DownloadOpKind::Head, e))?;
    if out.etag.is_empty() {
        return Err(DownloadError::InvalidResponse {
            op: DownloadOpKind::Head,
            reason: "no ETag",
        });
    }
    Ok(ObjectInfo {
        size: out.content_length,
        etag: out.etag,
        crc64: out.crc64,
        last_modified: out.last_modified,
        object_type: out.object_type,
    })
}

/// `Content-Range: bytes <first>-<last>/<total>`.
pub(super) fn content_range(headers: &HeaderMap) -> Option<(u64, u64, u64)> {
    let v = headers.get(http::header::CONTENT_RANGE)?.to_str().ok()?;
    let rest = v.trim().strip_prefix("bytes ")?;
    let (span, total) = rest.split_once('/')?;
    let (first, last) = span.split_once('-')?;
    Some((
        first.trim().parse().ok()?,
        last.trim().parse().ok()?,
        total.trim().parse().ok()?,
    ))
}

/// The ETag header of a GET answer, if any.
pub(super) fn etag(headers: &HeaderMap) -> Option<&str> {
    headers.get(http::header::ETAG)?.to_str().ok()
}

/// The error of a non-2xx GET answer.
pub(super) fn get_error(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> DownloadError {
    DownloadError::Service {
        op: DownloadOpKind::Get,
        error: oss_model::ServiceError::from_response(status, headers, body),
    }
}
