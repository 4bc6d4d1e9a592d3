//! Why a download failed ([`DownloadError`]).

use crate::classify::{FailedAttempt, classify};
use crate::error::{FailureKind, ServiceError};

/// The operation of a download request, for errors and events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DownloadOpKind {
    /// HeadObject (identity of the object).
    Head,
    /// A ranged GetObject.
    Get,
    /// Local re-hash of a range already written (resume).
    Verify,
    /// Local MD5 of the whole copy (objects with `Content-MD5` but no CRC-64).
    Md5,
}

/// Why an operation of a download failed. Carried by retry events and by the final failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadError {
    /// OSS answered with an error document (`NoSuchKey`, `AccessDenied`, 5xx...).
    #[error("{op:?} failed")]
    Service {
        /// The operation.
        op: DownloadOpKind,
        /// The error document.
        #[source]
        error: ServiceError,
    },
    /// The transport failed (before or during the body).
    #[error("{op:?} failed in transport: {kind:?}")]
    Transport {
        /// The operation.
        op: DownloadOpKind,
        /// What failed.
        kind: FailureKind,
    },
    /// The body ended before the requested range did (the rest is requested again).
    #[error("body ended after {received} of {expected} bytes")]
    ShortBody {
        /// Bytes expected from this request.
        expected: u64,
        /// Bytes received.
        received: u64,
    },
    /// The object changed since the download started (412 on `If-Match`, or another ETag).
    #[error("the object changed during the download (ETag {expected} is gone)")]
    ObjectChanged {
        /// The ETag the download was pinned to.
        expected: String,
    },
    /// The CRC-64 of the bytes received differs from the object's.
    #[error("object CRC64 mismatch: received {received}, OSS has {expected}")]
    CrcMismatch {
        /// CRC-64 OSS reported for the object.
        expected: u64,
        /// CRC-64 of what was received.
        received: u64,
    },
    /// The MD5 of the bytes received differs from the object's `Content-MD5` (objects without
    /// a CRC-64).
    #[error("object MD5 mismatch: received {received}, OSS has {expected}")]
    Md5Mismatch {
        /// `Content-MD5` OSS reported for the object (base64).
        expected: String,
        /// MD5 of what was received (base64).
        received: String,
    },
    /// The driver could not read its local copy back for a local check.
    #[error("{op:?}: the local copy could not be read")]
    LocalRead {
        /// The local operation.
        op: DownloadOpKind,
    },
    /// An answer the core could not accept (missing ETag, wrong Content-Range...).
    #[error("{op:?}: invalid response: {reason}")]
    InvalidResponse {
        /// The operation.
        op: DownloadOpKind,
        /// What was wrong.
        reason: &'static str,
    },
    /// The object is not something a byte download can copy (e.g. a `Symlink` HEAD).
    #[error("the object cannot be downloaded: {reason}")]
    Unsupported {
        /// Why.
        reason: &'static str,
    },
    /// The retry budget ran out; `last` is the final error.
    #[error("retry budget exhausted")]
    RetriesExhausted {
        /// The last error seen.
        #[source]
        last: Box<Self>,
    },
}

impl DownloadError {
    /// Whether retrying the same operation may succeed. Service and transport failures use
    /// the workspace's one classification ([`classify`](crate::classify), as uploads do).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Service { error, .. } => classify(FailedAttempt::Service(error)).is_retryable(),
            Self::Transport { kind, .. } => {
                classify(FailedAttempt::Transport(*kind)).is_retryable()
            }
            Self::ShortBody { .. }
            | Self::CrcMismatch { .. }
            | Self::Md5Mismatch { .. }
            | Self::InvalidResponse { .. } => true,
            Self::ObjectChanged { .. }
            | Self::LocalRead { .. }
            | Self::Unsupported { .. }
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

    /// True when the object changed during the download.
    pub fn is_object_changed(&self) -> bool {
        match self {
            Self::ObjectChanged { .. } => true,
            Self::RetriesExhausted { last } => last.is_object_changed(),
            _ => false,
        }
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
