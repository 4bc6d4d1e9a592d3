//! ECS RAM role: temporary credentials from the instance metadata service.
//!
//! The exchange: `PUT /latest/api/token` (header `X-aliyun-ecs-metadata-token-ttl-seconds`)
//! gives a session token (IMDSv2) sent as `X-aliyun-ecs-metadata-token` with the next calls;
//! `GET /latest/meta-data/ram/security-credentials/` names the role attached to the instance;
//! `GET /latest/meta-data/ram/security-credentials/<role>` answers the session credentials
//! JSON with `"Code": "Success"`.

use http::Method;
use oss_auth::{CredentialsError, CredentialsFuture};

use crate::http::{Http, Timeouts};
use crate::refresh::Fetch;
use crate::wire::parse_session;

/// The metadata service address on every ECS instance.
pub const DEFAULT_METADATA_ENDPOINT: &str = "http://100.100.100.200";
const CREDENTIALS_PATH: &str = "/latest/meta-data/ram/security-credentials/";
/// Metadata token lifetime asked for (6 h, the service's maximum).
const TOKEN_TTL_SECONDS: &str = "21600";

/// Fetches the ECS RAM role credentials; wrap it in [`Refreshing`](crate::Refreshing) (the
/// [`DefaultChain`](crate::DefaultChain) does).
#[derive(Debug)]
pub struct EcsRamRole {
    endpoint: String,
    role_name: Option<String>,
    allow_imdsv1: bool,
    http: Http,
}

impl EcsRamRole {
    /// Talks to the metadata service at `endpoint` (normally [`DEFAULT_METADATA_ENDPOINT`]).
    ///
    /// # Errors
    /// When the HTTP client cannot be built (no TLS provider compiled in).
    pub fn new(endpoint: impl Into<String>) -> Result<Self, CredentialsError> {
        Ok(Self {
            endpoint: endpoint.into().trim_end_matches('/').to_owned(),
            role_name: None,
            allow_imdsv1: true,
            http: Http::new(Timeouts::METADATA).map_err(CredentialsError::provider)?,
        })
    }

    /// Uses this role instead of asking the metadata service which role is attached.
    #[must_use]
    pub fn role_name(mut self, role: impl Into<String>) -> Self {
        self.role_name = Some(role.into());
        self
    }

    /// Whether to go on without a metadata token when the token request fails (IMDSv1;
    /// default yes). `ALIBABA_CLOUD_IMDSV1_DISABLED=true` turns it off in the chain.
    #[must_use]
    pub fn allow_imdsv1(mut self, allow: bool) -> Self {
        self.allow_imdsv1 = allow;
        self
    }

    async fn token(&self) -> Result<Option<String>, CredentialsError> {
        let url = format!("{}/latest/api/token", self.endpoint);
        let reply = self
            .http
            .send(
                Method::PUT,
                &url,
                &[("X-aliyun-ecs-metadata-token-ttl-seconds", TOKEN_TTL_SECONDS)],
                None,
            )
            .await;
        let failure = match reply {
            Ok(r) if r.status.is_success() => {
                let token = String::from_utf8_lossy(&r.body).trim().to_owned();
                return Ok(Some(token));
            }
            Ok(r) => format!("metadata token request answered HTTP {}", r.status.as_u16()),
            // No answer at all: not on ECS (or the service is blocked). Move on at once rather
            // than spending a second timeout on IMDSv1.
            Err(e) => return Err(CredentialsError::not_found(format!("ECS metadata: {e}"))),
        };
        if self.allow_imdsv1 {
            tracing::debug!(%failure, "no ECS metadata token; trying without one (IMDSv1)");
            Ok(None)
        } else {
            Err(CredentialsError::provider(format!(
                "ECS metadata: {failure} (IMDSv1 fallback disabled by ALIBABA_CLOUD_IMDSV1_DISABLED)"
            )))
        }
    }

    async fn get(
        &self,
        path: &str,
        token: Option<&str>,
    ) -> Result<crate::http::Reply, CredentialsError> {
        let url = format!("{}{path}", self.endpoint);
        let headers: Vec<(&str, &str)> = token
            .map(|t| ("X-aliyun-ecs-metadata-token", t))
            .into_iter()
            .collect();
        self.http
            .send(Method::GET, &url, &headers, None)
            .await
            .map_err(|e| CredentialsError::not_found(format!("ECS metadata: {e}")))
    }

    async fn fetch_now(&self) -> Result<oss_auth::Credentials, CredentialsError> {
        let token = self.token().await?;
        let role = match &self.role_name {
            Some(r) => r.clone(),
            None => {
                let reply = self.get(CREDENTIALS_PATH, token.as_deref()).await?;
                if !reply.status.is_success() {
                    return Err(CredentialsError::not_found(format!(
                        "ECS metadata: no RAM role attached to this instance (HTTP {})",
                        reply.status.as_u16()
                    )));
                }
                let text = String::from_utf8_lossy(&reply.body);
                let role = text.lines().next().unwrap_or("").trim().to_owned();
                if role.is_empty() {
                    return Err(CredentialsError::not_found(
                        "ECS metadata: no RAM role attached to this instance",
                    ));
                }
                role
            }
        };
        let path = format!(
            "{CREDENTIALS_PATH}{}",
            percent_encoding::utf8_percent_encode(&role, percent_encoding::NON_ALPHANUMERIC)
        );
        let reply = self.get(&path, token.as_deref()).await?;
        if !reply.status.is_success() {
            return Err(CredentialsError::provider(format!(
                "ECS metadata: credentials of role `{}` answered HTTP {}: {}",
                role.escape_debug(),
                reply.status.as_u16(),
                reply.body_excerpt()
            )));
        }
        let doc = parse_session(&reply.body, "ECS metadata")?;
        if doc.code.as_deref() != Some("Success") {
            return Err(CredentialsError::provider(format!(
                "ECS metadata: credentials of role `{}` answered Code {:?}",
                role.escape_debug(),
                doc.code
            )));
        }
        doc.into_credentials("ECS metadata")
    }
}

impl Fetch for EcsRamRole {
    fn fetch(&self) -> CredentialsFuture<'_> {
        Box::pin(self.fetch_now())
    }

    fn name(&self) -> String {
        "ecs_ram_role".to_owned()
    }
}
