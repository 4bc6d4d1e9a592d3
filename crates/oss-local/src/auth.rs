//! Signature verification: a thin adapter from `oss-auth`'s [`oss_auth::Verifier`] to the OSS
//! error documents this server writes, plus the security-token rule of temporary key pairs.

use std::time::SystemTime;

use http::HeaderMap;
use oss_auth::{VerifyError, VerifyErrorKind, VerifyRequest};
use subtle::ConstantTimeEq;

use crate::config::{Config, Credential};
use crate::error::OssError;

/// What the verifier needs to know about a request.
pub(crate) struct SignedRequest<'a> {
    pub(crate) method: &'a str,
    /// Decoded bucket (None for service-level requests).
    pub(crate) bucket: Option<&'a str>,
    /// Decoded key (empty for bucket-level requests).
    pub(crate) key: &'a str,
    /// The query exactly as received (without `?`).
    pub(crate) raw_query: &'a str,
    pub(crate) headers: &'a HeaderMap,
    /// The request path as received (still percent-encoded).
    pub(crate) raw_path: &'a str,
}

impl SignedRequest<'_> {
    /// A path-style bucket request sent without the trailing slash (`GET /bucket?list-type=2`,
    /// as OpenDAL sends it): its signer may have signed the path as sent, `/bucket`, rather
    /// than OSS's `/bucket/`. Both name the same resource, so both are accepted.
    fn slashless_bucket_path(&self) -> Option<&str> {
        let bucket = self.bucket?;
        (self.key.is_empty() && self.raw_path.strip_prefix('/') == Some(bucket)).then_some(bucket)
    }
}

/// The accepted key pairs plus the verification policy.
pub(crate) struct Verifier {
    inner: oss_auth::Verifier,
    credentials: Vec<Credential>,
}

impl Verifier {
    pub(crate) fn new(config: &Config) -> Self {
        let mut credentials = vec![Credential::new(
            &config.access_key_id,
            &config.access_key_secret,
        )];
        credentials.extend(config.credentials.iter().cloned());
        Self {
            inner: oss_auth::Verifier::new(&config.region)
                .with_max_skew(config.max_skew)
                .with_v1_extra_subresources(crate::route::SUBRESOURCES.iter().copied()),
            credentials,
        }
    }

    /// Accepts the request or returns the OSS error to answer with.
    pub(crate) fn verify(&self, req: &SignedRequest<'_>, now: SystemTime) -> Result<(), OssError> {
        // Header values are UTF-8 on the wire when clients put non-ASCII text in them
        // (`x-oss-meta-*: 测试`); they are signed as that text, so they are verified as it.
        let headers: Vec<(&str, &str)> = req
            .headers
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str(), std::str::from_utf8(value.as_bytes()).ok()?))
            })
            .collect();
        let key = (!req.key.is_empty()).then_some(req.key);
        let view = VerifyRequest::new(req.method, req.bucket, key, req.raw_query, &headers);
        let mut matched: Option<&Credential> = None;
        let mut secret_for = |ak: &str| {
            // Every pair is compared, in constant time, so timing tells nothing of the ids.
            for credential in &self.credentials {
                if bool::from(ak.as_bytes().ct_eq(credential.access_key_id.as_bytes())) {
                    matched = Some(credential);
                }
            }
            matched.map(|c| c.access_key_secret.clone())
        };
        let mut verified = self.inner.verify(&view, &mut secret_for, now);
        if let (Err(err), Some(bucket)) = (&verified, req.slashless_bucket_path())
            && err.kind() == VerifyErrorKind::SignatureDoesNotMatch
        {
            // `/bucket` as the resource: no bucket, and the bucket name as the key.
            let literal =
                VerifyRequest::new(req.method, None, Some(bucket), req.raw_query, &headers);
            if let Ok(identity) = self.inner.verify(&literal, &mut secret_for, now) {
                verified = Ok(identity);
            }
        }
        let identity = verified.map_err(|err| to_oss_error(&err))?;
        // A temporary key pair is valid only with its security token.
        if let Some(expected) = matched.and_then(|c| c.security_token.as_deref()) {
            let sent = identity.security_token.as_deref().unwrap_or_default();
            if !bool::from(sent.as_bytes().ct_eq(expected.as_bytes())) {
                return Err(OssError::invalid_security_token(sent.is_empty()));
            }
        }
        Ok(())
    }
}

fn to_oss_error(err: &VerifyError) -> OssError {
    let status =
        http::StatusCode::from_u16(err.http_status()).unwrap_or(http::StatusCode::FORBIDDEN);
    let mut out = OssError::new(status, err.code(), err.message());
    let kind = err.kind();
    if let Some(ak) = err.access_key_id()
        && matches!(
            kind,
            VerifyErrorKind::SignatureDoesNotMatch | VerifyErrorKind::InvalidAccessKeyId
        )
    {
        out = out.with("OSSAccessKeyId", ak);
    }
    if let Some(signature) = err.signature_provided() {
        out = out.with("SignatureProvided", signature);
    }
    if let Some(sts) = err.string_to_sign() {
        let bytes = sts
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ");
        out = out
            .with("StringToSign", sts)
            .with("StringToSignBytes", bytes);
    }
    if let Some(canonical) = err.canonical_request() {
        out = out.with("CanonicalRequest", canonical);
    }
    if kind == VerifyErrorKind::RequestTimeTooSkewed {
        out = out.with("MaxAllowedSkewMilliseconds", "900000");
    }
    if let Some(t) = err.request_time() {
        out = out.with("RequestTime", t);
    }
    if let Some(t) = err.server_time() {
        out = out.with("ServerTime", t);
    }
    let ec = err.ec().or(match kind {
        VerifyErrorKind::AccessDenied => Some("0003-00000001"),
        VerifyErrorKind::InvalidAccessKeyId => Some("0002-00000902"),
        VerifyErrorKind::RequestTimeTooSkewed => Some("0002-00000504"),
        _ => None,
    });
    if let Some(ec) = ec {
        out = out.ec(ec);
    }
    out
}

/// Unix seconds as `2012-02-23T07:01:34.000Z` (the XML timestamp form).
pub(crate) fn iso_ms(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => "1970-01-01T00:00:00.000Z".to_owned(),
    }
}
