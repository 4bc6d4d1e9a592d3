//! STS: `AssumeRole` (RAM role ARN, signed as an Alibaba Cloud RPC API) and
//! `AssumeRoleWithOIDC` (RRSA on ACK: the pod's OIDC token, unsigned).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use http::Method;
use oss_auth::{Credentials, CredentialsError, CredentialsFuture, ProvideCredentials};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::http::{Http, Timeouts};
use crate::refresh::Fetch;
use crate::wire::{AssumeRoleJson, RpcErrorJson};

const STS_VERSION: &str = "2015-04-01";

/// Where STS requests go: an explicit URL, else `https://sts[-vpc].<region>.aliyuncs.com`
/// with a region, else the global `https://sts.aliyuncs.com`.
///
/// The chain reads `ALIBABA_CLOUD_STS_REGION` and `ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED`.
pub fn sts_endpoint(explicit: Option<&str>, region: Option<&str>, vpc: bool) -> String {
    if let Some(url) = explicit {
        let url = url.trim_end_matches('/');
        return if url.contains("://") {
            url.to_owned()
        } else {
            format!("https://{url}")
        };
    }
    let prefix = if vpc { "sts-vpc" } else { "sts" };
    match region {
        Some(r) => format!("https://{prefix}.{r}.aliyuncs.com"),
        None => "https://sts.aliyuncs.com".to_owned(),
    }
}

/// RFC 3986 unreserved characters stay; everything else is `%XX` (upper case).
const RPC: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn rpc_encode(s: &str) -> String {
    utf8_percent_encode(s, RPC).to_string()
}

/// The RPC (signature version 1.0, HMAC-SHA1) signature of `params` (every query and form
/// parameter except `Signature`) for `method`: `base64(HMAC-SHA1(secret + "&",
/// METHOD&%2F&enc(sorted enc(k)=enc(v) joined by &)))`.
pub fn rpc_signature(method: &str, params: &[(String, String)], secret: &str) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (rpc_encode(k), rpc_encode(v)))
        .collect();
    pairs.sort();
    let canonical = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let string_to_sign = format!("{method}&{}&{}", rpc_encode("/"), rpc_encode(&canonical));
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(format!("{secret}&").as_bytes()) else {
        // HMAC takes keys of any length; this branch cannot be reached.
        return String::new();
    };
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// `2025-01-01T12:00:00Z`: the RPC `Timestamp` (UTC, whole seconds).
fn iso8601(t: SystemTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::from(t)
        .format(&format)
        .unwrap_or_default()
}

fn form(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", rpc_encode(k), rpc_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn default_session_name() -> String {
    let micros = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_micros();
    format!("oss-multipart-{micros}")
}

/// Options shared by both STS actions.
#[derive(Debug, Clone)]
struct RoleOptions {
    role_arn: String,
    session_name: String,
    duration: Duration,
    policy: Option<String>,
}

impl RoleOptions {
    fn new(role_arn: String) -> Self {
        Self {
            role_arn,
            session_name: default_session_name(),
            duration: Duration::from_secs(3600),
            policy: None,
        }
    }

    fn form(&self) -> Vec<(String, String)> {
        let mut form = vec![
            ("RoleArn".to_owned(), self.role_arn.clone()),
            ("RoleSessionName".to_owned(), self.session_name.clone()),
            (
                "DurationSeconds".to_owned(),
                self.duration.as_secs().to_string(),
            ),
        ];
        if let Some(p) = &self.policy {
            form.push(("Policy".to_owned(), p.clone()));
        }
        form
    }
}

/// Sends one STS action and reads its answer (or its error document).
async fn call_sts(
    http: &Http,
    endpoint: &str,
    action: &str,
    query: &[(String, String)],
    form_body: &[(String, String)],
) -> Result<Credentials, CredentialsError> {
    let url = format!("{endpoint}/?{}", form(query));
    let reply = http
        .send(
            Method::POST,
            &url,
            &[("Content-Type", "application/x-www-form-urlencoded")],
            Some(form(form_body)),
        )
        .await
        .map_err(|e| CredentialsError::provider(format!("STS {action}: {e}")))?;
    if !reply.status.is_success() {
        let doc: Option<RpcErrorJson> = serde_json::from_slice(&reply.body).ok();
        return Err(CredentialsError::provider(match doc {
            Some(d) => format!(
                "STS {action} failed: HTTP {}, Code {}, Message {}, RequestId {}",
                reply.status.as_u16(),
                d.code.as_deref().unwrap_or("?"),
                d.message.as_deref().unwrap_or("?").escape_debug(),
                d.request_id.as_deref().unwrap_or("?"),
            ),
            None => format!(
                "STS {action} failed: HTTP {}: {}",
                reply.status.as_u16(),
                reply.body_excerpt()
            ),
        }));
    }
    let what = format!("STS {action}");
    let doc: AssumeRoleJson = serde_json::from_slice(&reply.body).map_err(|e| {
        CredentialsError::provider(format!("{what}: the answer is not the expected JSON ({e})"))
    })?;
    doc.credentials
        .ok_or_else(|| {
            CredentialsError::provider(format!("{what}: the answer has no Credentials"))
        })?
        .into_credentials(&what)
}

/// RAM role ARN: `AssumeRole` with credentials from another provider (long-term keys, or
/// another role), signed as an RPC API. Wrap it in [`Refreshing`](crate::Refreshing).
#[derive(Debug)]
pub struct AssumeRole {
    source: Arc<dyn ProvideCredentials>,
    role: RoleOptions,
    external_id: Option<String>,
    endpoint: String,
    http: Http,
}

impl AssumeRole {
    /// Assumes `role_arn` with the credentials of `source`, at the STS `endpoint` URL (see
    /// [`sts_endpoint`]).
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(
        source: Arc<dyn ProvideCredentials>,
        role_arn: impl Into<String>,
        endpoint: impl Into<String>,
    ) -> Result<Self, CredentialsError> {
        Ok(Self {
            source,
            role: RoleOptions::new(role_arn.into()),
            external_id: None,
            endpoint: endpoint.into(),
            http: Http::new(Timeouts::REMOTE).map_err(CredentialsError::provider)?,
        })
    }

    /// `RoleSessionName` (default `oss-multipart-<microseconds>`).
    #[must_use]
    pub fn session_name(mut self, name: impl Into<String>) -> Self {
        self.role.session_name = name.into();
        self
    }

    /// `DurationSeconds` (default 1 h; STS accepts 900 s up to the role's maximum).
    #[must_use]
    pub fn duration(mut self, duration: Duration) -> Self {
        self.role.duration = duration;
        self
    }

    /// A policy (JSON) further restricting the session.
    #[must_use]
    pub fn policy(mut self, policy: impl Into<String>) -> Self {
        self.role.policy = Some(policy.into());
        self
    }

    /// `ExternalId`, when the role's trust policy requires one.
    #[must_use]
    pub fn external_id(mut self, id: impl Into<String>) -> Self {
        self.external_id = Some(id.into());
        self
    }

    async fn fetch_now(&self) -> Result<Credentials, CredentialsError> {
        let caller = self.source.provide_credentials().await?;
        let nonce: u128 = rand::random();
        let mut query = vec![
            ("Action".to_owned(), "AssumeRole".to_owned()),
            ("Format".to_owned(), "JSON".to_owned()),
            ("Version".to_owned(), STS_VERSION.to_owned()),
            ("Timestamp".to_owned(), iso8601(SystemTime::now())),
            ("SignatureMethod".to_owned(), "HMAC-SHA1".to_owned()),
            ("SignatureVersion".to_owned(), "1.0".to_owned()),
            ("SignatureNonce".to_owned(), format!("{nonce:032x}")),
            ("AccessKeyId".to_owned(), caller.access_key_id().to_owned()),
        ];
        if let Some(t) = caller.security_token() {
            query.push(("SecurityToken".to_owned(), t.to_owned()));
        }
        let mut form_body = self.role.form();
        if let Some(id) = &self.external_id {
            form_body.push(("ExternalId".to_owned(), id.clone()));
        }
        let signed: Vec<(String, String)> = query.iter().chain(&form_body).cloned().collect();
        let signature = rpc_signature("POST", &signed, caller.access_key_secret());
        query.push(("Signature".to_owned(), signature));
        call_sts(&self.http, &self.endpoint, "AssumeRole", &query, &form_body).await
    }
}

impl Fetch for AssumeRole {
    fn fetch(&self) -> CredentialsFuture<'_> {
        Box::pin(self.fetch_now())
    }

    fn name(&self) -> String {
        "ram_role_arn".to_owned()
    }
}

/// OIDC role ARN (RRSA): `AssumeRoleWithOIDC` with the token file the pod is given. The file
/// is read again on every refresh, as the platform rotates it. Wrap it in
/// [`Refreshing`](crate::Refreshing).
#[derive(Debug)]
pub struct AssumeRoleWithOidc {
    role: RoleOptions,
    provider_arn: String,
    token_file: PathBuf,
    endpoint: String,
    http: Http,
}

impl AssumeRoleWithOidc {
    /// Assumes `role_arn` as the OIDC provider `provider_arn`, presenting the token read from
    /// `token_file`, at the STS `endpoint` URL (see [`sts_endpoint`]).
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(
        role_arn: impl Into<String>,
        provider_arn: impl Into<String>,
        token_file: impl Into<PathBuf>,
        endpoint: impl Into<String>,
    ) -> Result<Self, CredentialsError> {
        Ok(Self {
            role: RoleOptions::new(role_arn.into()),
            provider_arn: provider_arn.into(),
            token_file: token_file.into(),
            endpoint: endpoint.into(),
            http: Http::new(Timeouts::REMOTE).map_err(CredentialsError::provider)?,
        })
    }

    /// `RoleSessionName` (default `oss-multipart-<microseconds>`).
    #[must_use]
    pub fn session_name(mut self, name: impl Into<String>) -> Self {
        self.role.session_name = name.into();
        self
    }

    /// `DurationSeconds` (default 1 h).
    #[must_use]
    pub fn duration(mut self, duration: Duration) -> Self {
        self.role.duration = duration;
        self
    }

    /// A policy (JSON) further restricting the session.
    #[must_use]
    pub fn policy(mut self, policy: impl Into<String>) -> Self {
        self.role.policy = Some(policy.into());
        self
    }

    async fn fetch_now(&self) -> Result<Credentials, CredentialsError> {
        let token = tokio::fs::read_to_string(&self.token_file)
            .await
            .map_err(|e| {
                CredentialsError::provider(format!(
                    "OIDC token file {} (ALIBABA_CLOUD_OIDC_TOKEN_FILE) cannot be read: {e}",
                    self.token_file.display()
                ))
            })?;
        let token = token.trim();
        if token.is_empty() {
            return Err(CredentialsError::provider(format!(
                "OIDC token file {} (ALIBABA_CLOUD_OIDC_TOKEN_FILE) is empty",
                self.token_file.display()
            )));
        }
        let query = vec![
            ("Action".to_owned(), "AssumeRoleWithOIDC".to_owned()),
            ("Format".to_owned(), "JSON".to_owned()),
            ("Version".to_owned(), STS_VERSION.to_owned()),
            ("Timestamp".to_owned(), iso8601(SystemTime::now())),
        ];
        let mut form_body = self.role.form();
        form_body.push(("OIDCProviderArn".to_owned(), self.provider_arn.clone()));
        form_body.push(("OIDCToken".to_owned(), token.to_owned()));
        call_sts(
            &self.http,
            &self.endpoint,
            "AssumeRoleWithOIDC",
            &query,
            &form_body,
        )
        .await
    }
}

impl Fetch for AssumeRoleWithOidc {
    fn fetch(&self) -> CredentialsFuture<'_> {
        Box::pin(self.fetch_now())
    }

    fn name(&self) -> String {
        "oidc_role_arn".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sts_endpoint_rules() {
        assert_eq!(sts_endpoint(None, None, false), "https://sts.aliyuncs.com");
        assert_eq!(
            sts_endpoint(None, Some("cn-hangzhou"), false),
            "https://sts.cn-hangzhou.aliyuncs.com"
        );
        assert_eq!(
            sts_endpoint(None, Some("cn-hangzhou"), true),
            "https://sts-vpc.cn-hangzhou.aliyuncs.com"
        );
        assert_eq!(
            sts_endpoint(Some("http://127.0.0.1:9/"), Some("x"), true),
            "http://127.0.0.1:9"
        );
        assert_eq!(
            sts_endpoint(Some("sts.example.com"), None, false),
            "https://sts.example.com"
        );
    }

    #[test]
    fn iso8601_is_utc_seconds() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_735_732_800);
        assert_eq!(iso8601(t), "2025-01-01T12:00:00Z");
    }
}
