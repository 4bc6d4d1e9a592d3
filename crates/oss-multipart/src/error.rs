//! The public [`Error`] type.
//!
//! Following RFC 0022: an actionable `#[non_exhaustive]` enum whose variants wrap context structs
//! with accessors, plus predicates (`is_retryable()`, `is_auth()`, ...) so that callers can
//! decide what to do without matching. `Display` prints one level; causes are reachable through
//! [`std::error::Error::source`].

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use oss_model::ServiceError;
use oss_multipart_core::{FailedAttempt, classify};
use oss_transport::TransportError;

use crate::client::failure_kind;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Invalid configuration or argument (caller's mistake; retrying will not help).
    #[error(transparent)]
    Config(ConfigError),
    /// No credentials could be obtained.
    #[error(transparent)]
    Credentials(CredentialsFailure),
    /// OSS (or a compatible server) answered with an error document.
    #[error(transparent)]
    Service(ServiceFailure),
    /// The HTTP exchange failed (connect, TLS, timeout, reset).
    #[error(transparent)]
    Transport(TransportFailure),
    /// A success response could not be decoded.
    #[error(transparent)]
    Response(ResponseFailure),
    /// Data integrity check failed (CRC-64 mismatch, source changed during upload).
    #[error(transparent)]
    Integrity(IntegrityError),
    /// Local I/O failed (source file, checkpoint file, output writer).
    #[error(transparent)]
    Io(IoFailure),
    /// The operation was cancelled by its cancellation token.
    #[error(transparent)]
    Cancelled(Cancelled),
    /// A multipart upload failed; carries what is needed to resume it.
    #[error(transparent)]
    Upload(UploadFailure),
    /// A checkpoint exists for this upload but cannot be used (unreadable, another format
    /// version, inconsistent). Nothing was sent, and nothing was started over: the multipart
    /// upload it names, if any, is still on the server. Upload with
    /// [`no_resume`](crate::UploadBuilder::no_resume) to abort that upload and start again.
    #[error(transparent)]
    Checkpoint(CheckpointFailure),
    /// A download failed; carries the cause and what was kept for resume.
    #[error(transparent)]
    Download(Box<DownloadFailure>),
}

impl Error {
    /// Whether trying the same thing again later may succeed (throttling, 5xx, network
    /// trouble). Already-retried failures can still be retryable: the retry budget ran out.
    ///
    /// The verdict is the core's `classify`, the one classification of the workspace: OSS
    /// codes by the generated error table, transport failures by their kind.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Service(s) => classify(FailedAttempt::Service(&s.error)).is_retryable(),
            Self::Transport(t) => {
                classify(FailedAttempt::Transport(failure_kind(&t.source))).is_retryable()
            }
            Self::Upload(u) => u.source.is_retryable(),
            Self::Download(d) => d.source.is_retryable(),
            _ => false,
        }
    }

    /// Whether the failed upload left resumable state: the multipart upload still exists on the
    /// server and (with a checkpoint directory) its checkpoint was saved, so re-running the same
    /// upload continues where it stopped.
    pub fn is_resumable(&self) -> bool {
        match self {
            Self::Upload(u) => {
                u.upload_id.is_some()
                    && !u.source.is_usage()
                    && !u.source.is_integrity()
                    && u.source
                        .service_error()
                        .is_none_or(|s| s.code() != "NoSuchUpload")
            }
            Self::Cancelled(c) => c.upload_id.is_some() || c.checkpoint.is_some(),
            Self::Download(d) => d.checkpoint.is_some(),
            _ => false,
        }
    }

    /// Credentials missing or rejected: the codes the generated error table marks `auth`
    /// (`InvalidAccessKeyId`, `SignatureDoesNotMatch`, `AccessDenied`, `RequestTimeTooSkewed`,
    /// `SecurityTokenExpired`...).
    pub fn is_auth(&self) -> bool {
        match self {
            Self::Credentials(_) => true,
            Self::Service(s) => s.error.is_auth(),
            Self::Upload(u) => u.source.is_auth(),
            Self::Download(d) => d.source.is_auth(),
            _ => false,
        }
    }

    /// Data integrity failure: CRC-64 mismatch or the source changed while uploading.
    pub fn is_integrity(&self) -> bool {
        match self {
            Self::Integrity(_) => true,
            Self::Upload(u) => u.source.is_integrity(),
            Self::Download(d) => d.source.is_integrity(),
            _ => false,
        }
    }

    /// A network failure (connect, TLS, timeout, connection reset).
    pub fn is_network(&self) -> bool {
        match self {
            Self::Transport(_) => true,
            Self::Upload(u) => u.source.is_network(),
            Self::Download(d) => d.source.is_network(),
            _ => false,
        }
    }

    /// Invalid configuration or argument.
    pub fn is_usage(&self) -> bool {
        match self {
            Self::Config(_) => true,
            Self::Upload(u) => u.source.is_usage(),
            Self::Download(d) => d.source.is_usage(),
            _ => false,
        }
    }

    /// Cancelled through a cancellation token.
    pub fn is_cancelled(&self) -> bool {
        match self {
            Self::Cancelled(_) => true,
            Self::Upload(u) => u.source.is_cancelled(),
            Self::Download(d) => d.source.is_cancelled(),
            _ => false,
        }
    }

    /// The local I/O failure (a file that cannot be read, created or written, a disk that is
    /// full), if that is what stopped the operation.
    pub fn io_failure(&self) -> Option<&IoFailure> {
        match self {
            Self::Io(f) => Some(f),
            Self::Upload(u) => u.source.io_failure(),
            Self::Download(d) => d.source.io_failure(),
            _ => None,
        }
    }

    /// The OSS error document (code, message, request id, HTTP status, EC), if OSS answered with
    /// one.
    pub fn service_error(&self) -> Option<&ServiceError> {
        match self {
            Self::Service(s) => Some(&s.error),
            Self::Upload(u) => u.source.service_error(),
            Self::Download(d) => d.source.service_error(),
            _ => None,
        }
    }

    /// Where the upload's checkpoint was saved, when resumable state was written (or, for
    /// [`Error::Checkpoint`], the checkpoint that cannot be used).
    pub fn checkpoint_path(&self) -> Option<&Path> {
        match self {
            Self::Checkpoint(c) => Some(&c.path),
            Self::Upload(u) => u.checkpoint.as_deref(),
            Self::Cancelled(c) => c.checkpoint.as_deref(),
            Self::Download(d) => d.checkpoint.as_deref(),
            _ => None,
        }
    }

    /// The multipart upload id involved, when one was initiated and kept.
    pub fn upload_id(&self) -> Option<&str> {
        match self {
            Self::Checkpoint(c) => c.upload_id.as_deref(),
            Self::Upload(u) => u.upload_id.as_deref(),
            Self::Cancelled(c) => c.upload_id.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn config(
        key: impl Into<Cow<'static, str>>,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::Config(ConfigError::invalid(key, reason))
    }

    pub(crate) fn service(operation: &'static str, error: ServiceError) -> Self {
        Self::Service(ServiceFailure { operation, error })
    }

    pub(crate) fn transport(
        operation: &'static str,
        source: TransportError,
        attempts: u32,
    ) -> Self {
        Self::Transport(TransportFailure {
            operation,
            attempts,
            source,
        })
    }

    pub(crate) fn io(action: &'static str, path: Option<&Path>, source: std::io::Error) -> Self {
        Self::Io(IoFailure {
            action,
            path: path.map(Path::to_path_buf),
            source,
        })
    }
}

/// Invalid configuration value, unknown configuration key, or invalid argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    key: Cow<'static, str>,
    reason: Cow<'static, str>,
}

impl ConfigError {
    pub(crate) fn invalid(
        key: impl Into<Cow<'static, str>>,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            key: key.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn unknown_key(key: &str) -> Self {
        // The key name is echoed, never a value: values may be secrets.
        let shown: String = key.chars().take(64).collect();
        Self::invalid(shown, "unknown configuration key")
    }

    /// The option or argument that was rejected.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Why it was rejected.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid `{}`: {}", self.key, self.reason)
    }
}

impl std::error::Error for ConfigError {}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}

/// Credentials could not be obtained from the configured provider, or could not sign.
#[derive(Debug, thiserror::Error)]
#[error("{what}")]
pub struct CredentialsFailure {
    what: &'static str,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl CredentialsFailure {
    pub(crate) fn provider(source: oss_auth::CredentialsError) -> Self {
        Self {
            what: "could not obtain credentials",
            source: Box::new(source),
        }
    }

    pub(crate) fn sign(source: oss_auth::SignError) -> Self {
        Self {
            what: "could not sign the request",
            source: Box::new(source),
        }
    }
}

/// OSS answered an operation with an error document.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed: OSS returned {code} (HTTP {status})", code = error.code(), status = error.status().as_u16())]
pub struct ServiceFailure {
    operation: &'static str,
    #[source]
    error: ServiceError,
}

impl ServiceFailure {
    /// Name of the operation (`UploadPart`, `CompleteMultipartUpload`, ...).
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// The error document.
    pub fn error(&self) -> &ServiceError {
        &self.error
    }
}

/// The HTTP exchange failed; see the [`TransportError`] source for which way.
#[derive(Debug, thiserror::Error)]
#[error("{operation}: request failed after {attempts} attempt(s)")]
pub struct TransportFailure {
    operation: &'static str,
    attempts: u32,
    #[source]
    source: TransportError,
}

impl TransportFailure {
    /// Name of the operation.
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// How many attempts were made.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The last transport error.
    pub fn transport_error(&self) -> &TransportError {
        &self.source
    }
}

/// A response with a success status could not be decoded (or a request could not be encoded).
#[derive(Debug, thiserror::Error)]
#[error("{operation}: {what}")]
pub struct ResponseFailure {
    pub(crate) operation: &'static str,
    pub(crate) what: &'static str,
    #[source]
    pub(crate) source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ResponseFailure {
    /// Name of the operation.
    pub fn operation(&self) -> &'static str {
        self.operation
    }
}

/// A data integrity check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IntegrityError {
    /// The CRC-64 OSS computed differs from ours.
    #[error("CRC-64 mismatch on {what}: local {local}, server {server}")]
    Crc64Mismatch {
        /// What was checked (`part 3`, `object`).
        what: String,
        /// CRC-64 computed locally.
        local: u64,
        /// CRC-64 reported by the server.
        server: u64,
    },
    /// The MD5 of what was downloaded differs from the object's `Content-MD5` (objects that
    /// have no CRC-64).
    #[error("MD5 mismatch on {what}: local {local}, server {server}")]
    Md5Mismatch {
        /// What was checked (`object`).
        what: String,
        /// MD5 computed locally (base64).
        local: String,
        /// `Content-MD5` reported by the server (base64).
        server: String,
    },
    /// The source file changed (size or modification time) since the checkpoint was written,
    /// or while its parts were being uploaded: the object was not completed.
    #[error("the source changed since the upload started: {reason}")]
    SourceChanged {
        /// What differs.
        reason: String,
    },
    /// The source of a server-side copy was replaced during the copy (an UploadPartCopy or
    /// CopyObject pinned with `x-oss-copy-source-if-match` was refused): nothing was
    /// completed, and the parts copied so far were aborted.
    #[error(
        "the copy source was replaced during the copy (ETag {etag} is gone); nothing was \
         completed: copy it again"
    )]
    CopySourceChanged {
        /// The ETag the copy was pinned to.
        etag: String,
    },
    /// The object was replaced while it was being downloaded (a ranged GET pinned with
    /// `If-Match` was refused): nothing mixing two versions was written to the target.
    #[error("the object changed during the download (ETag {etag} is gone); download it again")]
    ObjectChanged {
        /// The ETag the download was pinned to.
        etag: String,
    },
    /// A downloaded body does not have the announced length.
    #[error("body length {actual} differs from the expected {expected}")]
    Length {
        /// Expected length.
        expected: u64,
        /// Actual length.
        actual: u64,
    },
}

/// Local I/O failed.
#[derive(Debug, thiserror::Error)]
#[error("{action}{}", path.as_ref().map(|p| format!(" `{}`", p.display())).unwrap_or_default())]
pub struct IoFailure {
    action: &'static str,
    path: Option<PathBuf>,
    #[source]
    source: std::io::Error,
}

impl IoFailure {
    /// The file involved, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The underlying I/O error.
    pub fn io_error(&self) -> &std::io::Error {
        &self.source
    }
}

/// A checkpoint that cannot be used; see [`Error::Checkpoint`].
#[derive(Debug, thiserror::Error)]
#[error(
    "the checkpoint `{}` cannot be used: {reason}{}",
    path.display(),
    upload_id.as_ref().map(|id| format!(" (it belongs to upload {id}, still on the server)")).unwrap_or_default()
)]
pub struct CheckpointFailure {
    pub(crate) path: PathBuf,
    pub(crate) upload_id: Option<String>,
    pub(crate) reason: String,
}

impl CheckpointFailure {
    /// The checkpoint file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The multipart upload the checkpoint names, when it could be read.
    pub fn upload_id(&self) -> Option<&str> {
        self.upload_id.as_deref()
    }

    /// Why it cannot be used.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// The operation was cancelled.
#[derive(Debug, thiserror::Error)]
#[error("cancelled")]
pub struct Cancelled {
    pub(crate) upload_id: Option<String>,
    pub(crate) checkpoint: Option<PathBuf>,
}

/// A multipart upload failed. The source is the cause; the accessors say how to resume.
#[derive(Debug, thiserror::Error)]
#[error("upload to oss://{bucket}/{key} failed")]
pub struct UploadFailure {
    pub(crate) bucket: String,
    pub(crate) key: String,
    pub(crate) upload_id: Option<String>,
    pub(crate) checkpoint: Option<PathBuf>,
    pub(crate) parts_done: u32,
    #[source]
    pub(crate) source: Box<Error>,
}

impl UploadFailure {
    /// Target bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Target key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The multipart upload id, when one exists on the server (aborted uploads report `None`).
    pub fn upload_id(&self) -> Option<&str> {
        self.upload_id.as_deref()
    }

    /// Where the checkpoint was saved.
    pub fn checkpoint_path(&self) -> Option<&Path> {
        self.checkpoint.as_deref()
    }

    /// Parts confirmed by the server before the failure.
    pub fn parts_done(&self) -> u32 {
        self.parts_done
    }

    /// The cause.
    pub fn cause(&self) -> &Error {
        &self.source
    }
}

/// A download failed. The source is the cause; the accessors say what was kept for resume.
#[derive(Debug, thiserror::Error)]
#[error("download of oss://{bucket}/{key} failed")]
pub struct DownloadFailure {
    pub(crate) bucket: String,
    pub(crate) key: String,
    pub(crate) path: Option<PathBuf>,
    pub(crate) temp: Option<PathBuf>,
    pub(crate) checkpoint: Option<PathBuf>,
    #[source]
    pub(crate) source: Box<Error>,
}

impl DownloadFailure {
    /// Bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The target file, for file downloads (never left partial).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The partial temp file kept beside the target for resume (with a checkpoint directory);
    /// `None` when it was removed.
    pub fn temp_path(&self) -> Option<&Path> {
        self.temp.as_deref()
    }

    /// Where the checkpoint was saved, when the download can be resumed by running it again.
    pub fn checkpoint_path(&self) -> Option<&Path> {
        self.checkpoint.as_deref()
    }

    /// The cause.
    pub fn cause(&self) -> &Error {
        &self.source
    }
}
