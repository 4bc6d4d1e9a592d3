//! Credential types and the provider trait. Loading (environment, profile files, STS, instance
//! metadata) lives in the `oss-credentials` crate: signing stays pure.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

/// An access key pair plus an optional STS security token.
///
/// `Debug` and `Display` never show the secret or the token, so a `Credentials` value can
/// be logged safely.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    access_key_id: String,
    access_key_secret: String,
    security_token: Option<String>,
    expiration: Option<SystemTime>,
}

impl Credentials {
    /// Long-term credentials (no security token).
    pub fn new(access_key_id: impl Into<String>, access_key_secret: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            access_key_secret: access_key_secret.into(),
            security_token: None,
            expiration: None,
        }
    }

    /// Adds an STS security token (temporary credentials).
    #[must_use]
    pub fn with_security_token(mut self, token: impl Into<String>) -> Self {
        self.security_token = Some(token.into());
        self
    }

    /// Records when temporary credentials stop being valid (used by refreshing providers).
    #[must_use]
    pub fn with_expiration(mut self, expiration: SystemTime) -> Self {
        self.expiration = Some(expiration);
        self
    }

    /// The access key id (not secret).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The access key secret. Never log it.
    pub fn access_key_secret(&self) -> &str {
        &self.access_key_secret
    }

    /// The STS security token, if any. Never log it.
    pub fn security_token(&self) -> Option<&str> {
        self.security_token.as_deref()
    }

    /// When these credentials expire, if known.
    pub fn expiration(&self) -> Option<SystemTime> {
        self.expiration
    }

    /// True when `now` is at or past the expiration time (never true without one).
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expiration.is_some_and(|e| now >= e)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"** redacted **")
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "** redacted **"),
            )
            .field("expiration", &self.expiration)
            .finish()
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.security_token.is_some() {
            "temporary"
        } else {
            "long-term"
        };
        write!(
            f,
            "{kind} credentials for access key id {}",
            self.access_key_id
        )
    }
}

/// Why credentials could not be provided. Opaque; never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CredentialsError {
    not_found: bool,
    message: String,
}

impl CredentialsError {
    /// No credentials are configured in this source (the caller may try another source).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            not_found: true,
            message: message.into(),
        }
    }

    /// The source exists but failed (e.g. an STS refresh error); for custom providers.
    pub fn provider(message: impl Into<String>) -> Self {
        Self {
            not_found: false,
            message: message.into(),
        }
    }

    /// True when the source simply had nothing configured.
    pub fn is_not_found(&self) -> bool {
        self.not_found
    }
}

/// The future returned by [`ProvideCredentials::provide_credentials`].
///
/// Boxed and `Send` so that providers can refresh asynchronously (STS, ECS metadata)
/// with any runtime; this crate itself never awaits anything.
pub type CredentialsFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Credentials, CredentialsError>> + Send + 'a>>;

/// A source of credentials, possibly refreshing temporary ones.
///
/// Callers should call it before each signing (or when the previous credentials are
/// [expired](Credentials::is_expired)); implementations cache as they see fit.
pub trait ProvideCredentials: Send + Sync + fmt::Debug {
    /// Returns current credentials.
    fn provide_credentials(&self) -> CredentialsFuture<'_>;

    /// A short name of where the last credentials came from (`env`, `ecs_ram_role`, a profile
    /// file...), for diagnostics. `None` when unknown or nothing was provided yet.
    fn source(&self) -> Option<String> {
        None
    }
}
