//! The one error classification: whether a failed request is worth sending again.
//!
//! Service errors are classified by the generated error table of `oss-model`
//! ([`oss_model::ErrorCode::is_retryable`], with the status deciding for codes the table does
//! not know); transport failures by their [`FailureKind`]. Every machine of this crate and the
//! façade's single requests ask here, and nowhere else.

use crate::error::{FailureKind, ServiceError};

/// A failed attempt, as far as classification needs it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum FailedAttempt<'a> {
    /// OSS answered with an error document (or an error status).
    Service(&'a ServiceError),
    /// The request failed in transport.
    Transport(FailureKind),
}

/// The verdict of [`classify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Retryability {
    /// The same request may succeed if sent again (after a backoff).
    Retryable,
    /// Sending it again cannot help.
    Permanent,
}

impl Retryability {
    /// True for [`Retryability::Retryable`].
    pub fn is_retryable(self) -> bool {
        self == Self::Retryable
    }

    fn from_bool(retryable: bool) -> Self {
        if retryable {
            Self::Retryable
        } else {
            Self::Permanent
        }
    }
}

/// Whether `failure` is worth retrying.
///
/// Transport failures are retryable when the connection failed (connect, reset, timeout) or
/// the local source could not be read; anything else the driver could not name
/// ([`FailureKind::Other`]: an oversized or unparsable answer, an unsendable request) is not.
/// Whether a retry is *safe* (a POST whose body was fully sent may have taken effect) is a
/// separate question the caller answers.
pub fn classify(failure: FailedAttempt<'_>) -> Retryability {
    Retryability::from_bool(match failure {
        FailedAttempt::Service(e) => e.is_retryable(),
        FailedAttempt::Transport(kind) => match kind {
            FailureKind::Connect
            | FailureKind::ConnectionReset
            | FailureKind::Timeout
            | FailureKind::SourceRead => true,
            FailureKind::Other => false,
        },
    })
}

/// Whether OSS asked the client to slow down: `503 Service Unavailable` or
/// `429 Too Many Requests`, whatever the code. The adaptive concurrency backs off on these
/// (they are retried like any other retryable answer).
pub fn is_throttling(error: &ServiceError) -> bool {
    matches!(error.status().as_u16(), 429 | 503)
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, StatusCode};
    use oss_model::ErrorCode;

    use super::*;

    fn service(status: StatusCode, code: &str) -> ServiceError {
        let body = format!("<Error><Code>{code}</Code><Message>m</Message></Error>");
        ServiceError::from_response(status, &HeaderMap::new(), body.as_bytes())
    }

    /// Every code's retryability is the generated table's, whatever status it comes with.
    #[test]
    fn every_error_code_is_classified_by_the_table() {
        for &code in ErrorCode::ALL {
            for status in [code.http_status(), StatusCode::SERVICE_UNAVAILABLE] {
                let e = service(status, code.as_str());
                assert_eq!(e.error_code(), Some(code));
                assert_eq!(
                    classify(FailedAttempt::Service(&e)).is_retryable(),
                    code.is_retryable(),
                    "{code} with {status}"
                );
            }
        }
        assert!(
            ErrorCode::InvalidDigest.is_retryable(),
            "resent bytes are read again"
        );
        assert!(ErrorCode::RequestTimeTooSkewed.is_retryable());
        assert!(!ErrorCode::NoSuchUpload.is_retryable());
    }

    #[test]
    fn unknown_codes_fall_back_to_the_status() {
        for (status, retryable) in [
            (500, true),
            (503, true),
            (429, true),
            (408, true),
            (400, false),
            (403, false),
        ] {
            let status = StatusCode::from_u16(status).unwrap_or_default();
            let e = service(status, "SomethingNew");
            assert_eq!(
                classify(FailedAttempt::Service(&e)).is_retryable(),
                retryable,
                "{status}"
            );
        }
    }

    #[test]
    fn throttling_is_503_and_429() {
        for (status, throttling) in [(503, true), (429, true), (500, false), (403, false)] {
            let status = StatusCode::from_u16(status).unwrap_or_default();
            let e = service(status, "SomethingNew");
            assert_eq!(is_throttling(&e), throttling, "{status}");
        }
    }

    #[test]
    fn transport_failures() {
        for kind in [
            FailureKind::Connect,
            FailureKind::ConnectionReset,
            FailureKind::Timeout,
            FailureKind::SourceRead,
        ] {
            assert_eq!(
                classify(FailedAttempt::Transport(kind)),
                Retryability::Retryable
            );
        }
        assert_eq!(
            classify(FailedAttempt::Transport(FailureKind::Other)),
            Retryability::Permanent
        );
    }
}
