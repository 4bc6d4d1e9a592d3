//! Typed errors: [`PlanError`] (construction), [`UploadError`] (what went wrong during an upload)
//! and [`ServiceError`] (the OSS error document, as far as the core needs it).

pub use oss_model::ServiceError;

use crate::classify::{FailedAttempt, classify};
use crate::request::OpKind;

/// Why a plan, config or resume could not be built. Nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A part size outside 100 KiB..=5 GiB was requested.
    #[error("part size {requested} is outside {min}..={max}")]
    PartSizeOutOfRange {
        /// Requested size.
        requested: u64,
        /// Lower bound.
        min: u64,
        /// Upper bound.
        max: u64,
    },
    /// The object exceeds 10,000 × 5 GiB.
    #[error("object of {size} bytes exceeds the multipart limit of {max} bytes")]
    ObjectTooLarge {
        /// Source size.
        size: u64,
        /// Limit.
        max: u64,
    },
    /// The single-PUT threshold exceeds the PutObject limit.
    #[error("single-PUT threshold {threshold} exceeds {max}")]
    ThresholdTooLarge {
        /// Requested threshold.
        threshold: u64,
        /// Limit.
        max: u64,
    },
    /// The memory budget cannot hold one part.
    #[error("memory budget of {budget} bytes is below one part of {min} bytes")]
    MemoryBudgetTooSmall {
        /// Budget.
        budget: u64,
        /// Needed.
        min: u64,
    },
    /// `stream_parts_per_step` is zero.
    #[error("stream schedule needs at least one part per step")]
    InvalidStreamSchedule,
    /// A config value is out of bounds.
    #[error("config value `{name}` is out of bounds")]
    ConfigOutOfBounds {
        /// Field name.
        name: &'static str,
    },
    /// Bucket name or object key is not acceptable to OSS.
    #[error("invalid {what}")]
    InvalidTarget {
        /// "bucket name" or "object key".
        what: &'static str,
    },
    /// The feature needs a source of known size (checkpoints, resume).
    #[error("checkpoints and resume need a source of known size")]
    NeedsKnownSize,
    /// The checkpoint was written by an unknown format version.
    #[error("checkpoint version {found} is not supported (expected {expected})")]
    CheckpointVersion {
        /// Version found.
        found: u32,
        /// Version understood.
        expected: u32,
    },
    /// The checkpoint is inconsistent.
    #[error("checkpoint is invalid: {reason}")]
    CheckpointInvalid {
        /// What is wrong.
        reason: &'static str,
    },
    /// The local source no longer matches the checkpoint (size, mtime or sample hash).
    #[error("the source changed since the checkpoint was written")]
    SourceChanged,
}

/// A transport-level failure the driver reports with [`Upload::handle_failure`](crate::Upload::handle_failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// Could not connect (DNS, refused, TLS handshake).
    Connect,
    /// The connection was reset or closed mid-exchange.
    ConnectionReset,
    /// The driver's deadline for this request passed; the server may or may not have acted.
    Timeout,
    /// Reading the local source for this request failed (file I/O error).
    SourceRead,
    /// Anything else the driver could not classify.
    Other,
}

/// Why an operation of an upload failed. Carried by retry events and by the final failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UploadError {
    /// OSS answered with an error document.
    #[error("{op:?} failed")]
    Service {
        /// The operation.
        op: OpKind,
        /// The error document.
        #[source]
        error: ServiceError,
    },
    /// The transport failed.
    #[error("{op:?} failed in transport: {kind:?}")]
    Transport {
        /// The operation.
        op: OpKind,
        /// What failed.
        kind: FailureKind,
    },
    /// The part CRC OSS computed differs from the CRC of the bytes the driver sent.
    #[error("CRC64 mismatch on part {part_number}: sent {sent}, OSS stored {stored}")]
    PartCrcMismatch {
        /// Part number (1 for a single PUT).
        part_number: u32,
        /// CRC of the bytes the driver read and sent.
        sent: u64,
        /// CRC OSS reported.
        stored: u64,
    },
    /// The whole-object CRC OSS reported differs from the combination of the part CRCs. The
    /// object exists but is not the source.
    #[error("object CRC64 mismatch: expected {expected}, OSS reported {reported}")]
    ObjectCrcMismatch {
        /// Combined part CRCs.
        expected: u64,
        /// CRC OSS reported.
        reported: u64,
    },
    /// A success response the core could not understand (missing ETag, bad XML...).
    #[error("{op:?}: invalid response: {reason}")]
    InvalidResponse {
        /// The operation.
        op: OpKind,
        /// What was wrong.
        reason: &'static str,
    },
    /// The driver read a different number of bytes than planned: the source changed.
    #[error("part {part_number}: read {read} bytes, expected {expected}")]
    SourceChanged {
        /// Part number.
        part_number: u32,
        /// Planned length.
        expected: u64,
        /// Bytes read.
        read: u64,
    },
    /// The driver answered an UploadPart/PutObject without reporting the body CRC first.
    #[error("part {part_number}: the driver did not report the body read")]
    MissingBodyRead {
        /// Part number.
        part_number: u32,
    },
    /// A stream did not end within 10,000 parts.
    #[error("stream exceeds the plan's capacity of {max} bytes (10,000 parts)")]
    StreamTooLong {
        /// Capacity of the plan.
        max: u64,
    },
    /// Complete's outcome was lost and the object could not be confirmed by HeadObject.
    #[error("could not confirm that CompleteMultipartUpload took effect")]
    CompletionUnconfirmed,
    /// The driver found that the source changed during the upload
    /// ([`Op::CheckSource`](crate::Op::CheckSource), or a read that ended early): its parts
    /// must not be combined.
    #[error("the source changed during the upload: {reason}")]
    SourceModified {
        /// What changed.
        reason: String,
    },
    /// A server-side copy's source no longer has the ETag the copy was pinned to (OSS answered
    /// `412 PreconditionFailed` to `x-oss-copy-source-if-match`): it was replaced mid-copy, so
    /// the parts copied so far are of another object. Nothing is completed.
    #[error("the copy source changed during the copy (it no longer has ETag {etag})")]
    CopySourceChanged {
        /// The ETag the copy was pinned to.
        etag: String,
    },
    /// A failure the driver found and reported with
    /// [`Upload::fail_local`](crate::Upload::fail_local) (the source could not be read...).
    #[error("{reason}")]
    Local {
        /// What failed.
        reason: String,
    },
    /// The retry budget ran out; `last` is the final error.
    #[error("retry budget exhausted")]
    RetriesExhausted {
        /// The last error seen.
        #[source]
        last: Box<Self>,
    },
}

impl UploadError {
    /// Whether retrying the same operation may succeed: OSS errors and transport failures as
    /// [`classify`](crate::classify) says; a damaged part or an unreadable answer, yes.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Service { error, .. } => classify(FailedAttempt::Service(error)).is_retryable(),
            Self::Transport { kind, .. } => {
                classify(FailedAttempt::Transport(*kind)).is_retryable()
            }
            Self::PartCrcMismatch { .. } | Self::InvalidResponse { .. } => true,
            Self::ObjectCrcMismatch { .. }
            | Self::SourceChanged { .. }
            | Self::MissingBodyRead { .. }
            | Self::SourceModified { .. }
            | Self::CopySourceChanged { .. }
            | Self::Local { .. }
            | Self::StreamTooLong { .. }
            | Self::CompletionUnconfirmed
            | Self::RetriesExhausted { .. } => false,
        }
    }

    /// Whether the error is (or ends in) a timeout.
    pub fn is_timeout(&self) -> bool {
        match self {
            Self::Transport { kind, .. } => *kind == FailureKind::Timeout,
            Self::RetriesExhausted { last } => last.is_timeout(),
            _ => false,
        }
    }

    /// True when OSS asked to slow down ([`is_throttling`](crate::is_throttling)).
    pub fn is_throttling(&self) -> bool {
        self.service_error()
            .is_some_and(crate::classify::is_throttling)
    }

    /// True when OSS answered `NoSuchUpload`.
    pub fn is_no_such_upload(&self) -> bool {
        self.service_error()
            .is_some_and(|e| e.code() == "NoSuchUpload")
    }

    /// The OSS error document, when OSS answered with one.
    pub fn service_error(&self) -> Option<&ServiceError> {
        match self {
            Self::Service { error, .. } => Some(error),
            Self::RetriesExhausted { last } => last.service_error(),
            _ => None,
        }
    }
}
