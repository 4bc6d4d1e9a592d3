//! The JSON documents credential services answer with: the session credentials object (ECS
//! metadata, credentials URI, STS `Credentials`) and the STS/RPC error document.

use std::time::SystemTime;

use oss_auth::{Credentials, CredentialsError};
use serde::Deserialize;

/// `{"AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration"}`; ECS adds `"Code"`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SessionJson {
    pub(crate) code: Option<String>,
    access_key_id: Option<String>,
    access_key_secret: Option<String>,
    security_token: Option<String>,
    expiration: Option<String>,
}

impl SessionJson {
    /// The credentials; `what` names the source in errors.
    pub(crate) fn into_credentials(self, what: &str) -> Result<Credentials, CredentialsError> {
        let missing =
            |field: &str| CredentialsError::provider(format!("{what}: the answer has no {field}"));
        let id = self.access_key_id.ok_or_else(|| missing("AccessKeyId"))?;
        let secret = self
            .access_key_secret
            .ok_or_else(|| missing("AccessKeySecret"))?;
        let token = self
            .security_token
            .ok_or_else(|| missing("SecurityToken"))?;
        let expiration = self.expiration.ok_or_else(|| missing("Expiration"))?;
        let expiration = parse_expiration(&expiration).ok_or_else(|| {
            CredentialsError::provider(format!(
                "{what}: Expiration `{}` is not a UTC time like 2025-01-01T12:00:00Z",
                expiration.escape_debug()
            ))
        })?;
        Ok(Credentials::new(id, secret)
            .with_security_token(token)
            .with_expiration(expiration))
    }
}

/// `2025-01-01T12:00:00Z` (RFC 3339).
pub(crate) fn parse_expiration(text: &str) -> Option<SystemTime> {
    let t =
        time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
            .ok()?;
    Some(t.into())
}

/// Parses a session document, naming `what` in errors.
pub(crate) fn parse_session(body: &[u8], what: &str) -> Result<SessionJson, CredentialsError> {
    serde_json::from_slice(body).map_err(|e| {
        CredentialsError::provider(format!("{what}: the answer is not the expected JSON ({e})"))
    })
}

/// The RPC error document: `{"RequestId", "HostId", "Code", "Message"}`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RpcErrorJson {
    pub(crate) code: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) request_id: Option<String>,
}

/// STS success: `{"RequestId", "Credentials": {...}}`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AssumeRoleJson {
    pub(crate) credentials: Option<SessionJson>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiration_is_rfc3339_utc() {
        let t = parse_expiration("2025-01-01T12:00:00Z").unwrap();
        assert_eq!(
            t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
            1_735_732_800
        );
        assert!(parse_expiration("yesterday").is_none());
    }

    #[test]
    fn missing_fields_are_named() {
        let doc = parse_session(br#"{"AccessKeyId":"a","AccessKeySecret":"b"}"#, "x").unwrap();
        let err = doc.into_credentials("ECS metadata").unwrap_err();
        assert!(err.to_string().contains("SecurityToken"), "{err}");
    }
}
