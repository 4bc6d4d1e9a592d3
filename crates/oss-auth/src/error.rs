//! The signing error type.

/// Why a request could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The access key id or secret is empty.
    #[error("credentials have an empty access key id or secret")]
    MissingCredentials,
    /// The signing time is before 1970 or after year 9999.
    #[error("signing time is outside 1970..=9999")]
    InvalidTime,
    /// A V4 presign validity outside 1 s ..= 7 days (604800 s), or a V1 expiry that
    /// cannot be expressed.
    #[error("presign expiry of {seconds} s is outside 1..=604800 s")]
    InvalidExpiry {
        /// The requested validity in seconds (negative when the expiry is before the signing time).
        seconds: i128,
    },
}
