//! Fixed credentials and the environment-variable source.

use std::fmt;

use oss_auth::{Credentials, CredentialsError, CredentialsFuture, ProvideCredentials};

use crate::env::Env;

/// Always returns the same credentials.
#[derive(Debug, Clone)]
pub struct StaticProvider {
    credentials: Credentials,
}

impl StaticProvider {
    /// Wraps fixed credentials.
    pub fn new(credentials: Credentials) -> Self {
        Self { credentials }
    }
}

impl ProvideCredentials for StaticProvider {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        let creds = self.credentials.clone();
        Box::pin(std::future::ready(Ok(creds)))
    }

    fn source(&self) -> Option<String> {
        Some("static".to_owned())
    }
}

/// Reads credentials from environment variables.
///
/// Looks for `OSS_ACCESS_KEY_ID` + `OSS_ACCESS_KEY_SECRET` (+ optional `OSS_SESSION_TOKEN`)
/// first, then `ALIBABA_CLOUD_ACCESS_KEY_ID` + `ALIBABA_CLOUD_ACCESS_KEY_SECRET`
/// (+ optional `ALIBABA_CLOUD_SECURITY_TOKEN`). The two families are never mixed, and empty
/// values count as absent. The lookup is injectable ([`EnvProvider::with_lookup`]) so tests do
/// not touch the process environment.
#[derive(Clone)]
pub struct EnvProvider {
    env: Env,
}

impl fmt::Debug for EnvProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvProvider").finish_non_exhaustive()
    }
}

impl Default for EnvProvider {
    fn default() -> Self {
        Self::new()
    }
}

/// The variable families, in priority order: (id, secret, token).
const ENV_FAMILIES: [(&str, &str, &str); 2] = [
    (
        "OSS_ACCESS_KEY_ID",
        "OSS_ACCESS_KEY_SECRET",
        "OSS_SESSION_TOKEN",
    ),
    (
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "ALIBABA_CLOUD_SECURITY_TOKEN",
    ),
];

impl EnvProvider {
    /// Reads the process environment (`std::env::var`) when asked for credentials.
    pub fn new() -> Self {
        Self::with_env(Env::process())
    }

    /// Uses `lookup(variable_name)` instead of the process environment.
    pub fn with_lookup(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self::with_env(Env::from_fn(lookup))
    }

    /// Reads this environment.
    pub fn with_env(env: Env) -> Self {
        Self { env }
    }

    /// Synchronous form of [`ProvideCredentials::provide_credentials`].
    ///
    /// # Errors
    /// [`CredentialsError::is_not_found`] when neither family is fully set.
    pub fn load(&self) -> Result<Credentials, CredentialsError> {
        let get = |name: &str| self.env.var(name);
        for (id, secret, token) in ENV_FAMILIES {
            if let (Some(id), Some(secret)) = (get(id), get(secret)) {
                let creds = Credentials::new(id, secret);
                return Ok(match get(token) {
                    Some(t) => creds.with_security_token(t),
                    None => creds,
                });
            }
        }
        Err(CredentialsError::not_found(
            "OSS_ACCESS_KEY_ID/OSS_ACCESS_KEY_SECRET and \
             ALIBABA_CLOUD_ACCESS_KEY_ID/ALIBABA_CLOUD_ACCESS_KEY_SECRET unset",
        ))
    }
}

impl ProvideCredentials for EnvProvider {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        Box::pin(std::future::ready(self.load()))
    }

    fn source(&self) -> Option<String> {
        Some("env".to_owned())
    }
}
