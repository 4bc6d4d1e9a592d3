//! Events the machine reports ([`Upload::poll_event`](crate::Upload::poll_event)).

use std::time::Duration;

use crate::error::UploadError;
use crate::request::{OpKind, RequestId};

/// Bytes confirmed by OSS so far. `confirmed` never decreases and never exceeds `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Bytes in parts OSS has confirmed (resumed parts included, once).
    pub confirmed: u64,
    /// Total bytes; `None` for a stream whose end has not been read yet.
    pub total: Option<u64>,
}

/// The upload finished: the object exists and matches the source.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Completed {
    /// Object ETag as OSS reported it.
    pub etag: String,
    /// Whole-object CRC-64 (combined from the parts; checked against OSS when it reported one).
    pub crc64: u64,
    /// Whether `crc64` is known: always for uploads (the driver hashed every byte); for a copy,
    /// when OSS reported a CRC-64 for every part, for the result or for the source.
    pub crc64_known: bool,
    /// Object size.
    pub size: u64,
    /// The multipart upload id (`None` for a single PUT).
    pub upload_id: Option<String>,
    /// True when Complete's answer was lost and HeadObject confirmed the object instead.
    pub confirmed_by_head: bool,
}

/// The upload stopped for good.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failure {
    /// What went wrong.
    pub error: UploadError,
    /// True when the upload can be resumed: the parts were kept (resume with the
    /// [`Checkpoint`](crate::Checkpoint), or statelessly with the upload id), or it was a single
    /// PUT, which is simply started again. False after an abort, for streams (which cannot be
    /// re-read) and once Complete consumed the upload id.
    pub resumable: bool,
    /// The upload id, when one exists.
    pub upload_id: Option<String>,
}

/// Something the driver may want to know. Drained with [`Upload::poll_event`](crate::Upload::poll_event).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A multipart upload id is known (initiated, or taken over from a checkpoint).
    UploadId(String),
    /// Confirmed bytes changed.
    Progress(Progress),
    /// A part is confirmed (uploaded, or reused after verification when `resumed`).
    PartDone {
        /// Part number.
        part_number: u32,
        /// Offset in the source.
        offset: u64,
        /// Length.
        len: u64,
        /// ETag from OSS.
        etag: String,
        /// CRC-64 of the part.
        crc64: u64,
        /// Reused from an earlier attempt of the upload.
        resumed: bool,
    },
    /// An operation failed and will be retried after `delay`. Bytes the driver counted as sent
    /// for it (`rewound`) are to be subtracted from any "sent" gauge; confirmed progress is unaffected.
    Retried {
        /// The operation.
        op: OpKind,
        /// Part number for parts.
        part_number: Option<u32>,
        /// The attempt that just failed (1 = first).
        attempt: u32,
        /// Backoff before the next attempt.
        delay: Duration,
        /// Bytes of the failed body.
        rewound: u64,
        /// Why.
        reason: UploadError,
    },
    /// Stop request `id`: another attempt of the same part won (straggler hedging). Abort its
    /// future (it is forgotten: an answer, if one still comes, is ignored); bytes it sent
    /// count as rewound. A driver that cannot cancel may let it run to its end.
    Cancel {
        /// The losing request.
        id: RequestId,
        /// Its part.
        part_number: u32,
    },
    /// Resuming found the upload gone (NoSuchUpload): a new upload was started from scratch.
    Restarted,
    /// The checkpoint changed (new upload id, part journaled): persist
    /// [`Upload::checkpoint`](crate::Upload::checkpoint) when convenient. Only emitted when
    /// checkpointing.
    CheckpointChanged,
    /// Terminal: success.
    Completed(Completed),
    /// Terminal: failure.
    Failed(Failure),
    /// Terminal: aborted by [`Upload::abort`](crate::Upload::abort); parts deleted.
    Aborted,
}
