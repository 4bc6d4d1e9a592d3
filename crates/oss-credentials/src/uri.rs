//! Credentials URI: `GET` a URL that answers the session credentials JSON
//! (`ALIBABA_CLOUD_CREDENTIALS_URI`), e.g. a sidecar that hands out credentials.

use http::Method;
use oss_auth::{CredentialsError, CredentialsFuture};

use crate::http::{Http, Timeouts};
use crate::refresh::Fetch;
use crate::wire::parse_session;

/// Fetches credentials from a URL; wrap it in [`Refreshing`](crate::Refreshing).
#[derive(Debug)]
pub struct CredentialsUri {
    url: String,
    http: Http,
}

impl CredentialsUri {
    /// `url` must be `http://` or `https://`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(url: impl Into<String>) -> Result<Self, CredentialsError> {
        Ok(Self {
            url: url.into(),
            http: Http::new(Timeouts::REMOTE).map_err(CredentialsError::provider)?,
        })
    }

    async fn fetch_now(&self) -> Result<oss_auth::Credentials, CredentialsError> {
        let what = "credentials URI";
        let reply = self
            .http
            .send(Method::GET, &self.url, &[], None)
            .await
            .map_err(|e| CredentialsError::provider(format!("{what}: {e}")))?;
        if !reply.status.is_success() {
            return Err(CredentialsError::provider(format!(
                "{what}: HTTP {}: {}",
                reply.status.as_u16(),
                reply.body_excerpt()
            )));
        }
        parse_session(&reply.body, what)?.into_credentials(what)
    }
}

impl Fetch for CredentialsUri {
    fn fetch(&self) -> CredentialsFuture<'_> {
        Box::pin(self.fetch_now())
    }

    fn name(&self) -> String {
        "credentials_uri".to_owned()
    }
}
