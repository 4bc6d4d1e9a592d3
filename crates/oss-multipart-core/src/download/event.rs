//! Events a download reports ([`Download::poll_event`](crate::Download::poll_event)).

use crate::request::RequestId;
use std::time::Duration;

use super::error::{DownloadError, DownloadOpKind};

/// The identity of the object being downloaded, from HEAD.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectInfo {
    /// Size in bytes.
    pub size: u64,
    /// ETag (every ranged GET is pinned to it with `If-Match`).
    pub etag: String,
    /// `x-oss-hash-crc64ecma` of the whole object, when OSS has one.
    pub crc64: Option<u64>,
    /// `Content-MD5` of the whole object (base64), when OSS has one (objects written in one
    /// request). Checked only when there is no CRC-64.
    pub content_md5: Option<String>,
    /// `Last-Modified` as sent.
    pub last_modified: Option<String>,
    /// `x-oss-object-type` (`Normal`, `Multipart`, `Appendable`...).
    pub object_type: Option<String>,
}

/// Bytes received so far. `received` never decreases and never exceeds `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownloadProgress {
    /// Bytes written (resumed, verified ranges included once).
    pub received: u64,
    /// Bytes the download covers, once HEAD answered.
    pub total: Option<u64>,
}

/// The download finished: every byte was received and verified.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownloadCompleted {
    /// The object.
    pub object: ObjectInfo,
    /// The bytes covered: `0..object.size` for a whole-object download.
    pub range: std::ops::Range<u64>,
    /// CRC-64 of the bytes received (combined from the ranges).
    pub crc64: u64,
    /// True when the CRC was compared with the object's; false when only the size could be
    /// checked (a partial range, or an object without CRC-64).
    pub crc_verified: bool,
    /// True when the object had no CRC-64 but a `Content-MD5`, and the MD5 of the local copy
    /// matched it.
    pub md5_verified: bool,
    /// Ranges reused from a checkpoint after re-verification.
    pub ranges_reused: u64,
}

/// Something the driver may want to know.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownloadEvent {
    /// HEAD answered: the object's identity (the local copy must be `size` bytes at the end).
    Object(ObjectInfo),
    /// Bytes received changed.
    Progress(DownloadProgress),
    /// A range is complete (all its bytes written and reported).
    RangeDone {
        /// Range index.
        index: u64,
        /// Object offset.
        offset: u64,
        /// Length.
        len: u64,
        /// CRC-64 of the range.
        crc64: u64,
        /// Reused from a checkpoint after re-verification.
        resumed: bool,
    },
    /// An operation failed and will be retried after `delay`.
    Retried {
        /// The operation.
        op: DownloadOpKind,
        /// Range index for GETs.
        index: Option<u64>,
        /// The attempt that just failed (1 = first).
        attempt: u32,
        /// Backoff before the next attempt.
        delay: Duration,
        /// Why.
        reason: DownloadError,
    },
    /// Everything fetched so far was dropped (the object changed under
    /// [`ChangePolicy::Restart`](crate::ChangePolicy::Restart), the checkpoint's object is gone,
    /// or the whole-object CRC did not match): the download starts again from HEAD.
    Restarted {
        /// Why.
        reason: DownloadError,
    },
    /// The checkpoint changed: persist [`Download::checkpoint`](crate::Download::checkpoint).
    CheckpointChanged,
    /// Stop GET `id`: another GET of the same range completed first (straggler hedging).
    /// Abort it and make sure none of its bytes is written from now on; an answer that
    /// still comes is ignored.
    Cancel {
        /// The losing request.
        id: RequestId,
        /// Its range.
        index: u64,
    },
    /// Terminal: success.
    Completed(DownloadCompleted),
    /// Terminal: failure. The local copy is not the object.
    Failed(DownloadError),
    /// Terminal: stopped by [`Download::abort`](crate::Download::abort).
    Aborted,
}
