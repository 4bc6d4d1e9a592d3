//! The signer: V4/V1 header signing and presigning.

use std::time::{Duration, SystemTime};

use crate::Credentials;
use crate::canon::{self, UNSIGNED_PAYLOAD, V4_ALGORITHM, effective_additional, push_joined};
use crate::error::SignError;
use crate::header_map::HeaderMap;
use crate::key_cache::KeyCache;
use crate::request::{PresignedQuery, SignableRequest, SignedHeaders, V4Params};
use crate::time::{iso8601_basic, rfc1123, unix_seconds};

/// Longest V4 presign validity OSS accepts (7 days).
pub const MAX_PRESIGN_EXPIRY: Duration = Duration::from_secs(604_800);

/// Query names the V4 presigner owns; same-named caller parameters are replaced.
const V4_QUERY_OWNED: [&str; 7] = [
    "x-oss-signature-version",
    "x-oss-date",
    "x-oss-expires",
    "x-oss-credential",
    "x-oss-security-token",
    "x-oss-additional-headers",
    "x-oss-signature",
];

/// Query names the V1 presigner owns.
const V1_QUERY_OWNED: [&str; 4] = ["OSSAccessKeyId", "Expires", "Signature", "security-token"];

/// Signs requests. Owns a small V4 signing-key cache, so keep one per client and share it
/// (`Signer` is `Send + Sync`).
#[derive(Debug, Default)]
pub struct Signer {
    cache: KeyCache,
}

fn check_creds(creds: &Credentials) -> Result<(), SignError> {
    if creds.access_key_id().is_empty() || creds.access_key_secret().is_empty() {
        return Err(SignError::MissingCredentials);
    }
    Ok(())
}

impl Signer {
    /// A signer with an empty key cache.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn v4_signature(
        &self,
        secret: &str,
        date8: &str,
        region: &str,
        product: &str,
        string_to_sign: &str,
    ) -> String {
        let tag = (self.cache).sign(secret, date8, region, product, string_to_sign.as_bytes());
        canon::hex_lower(&tag)
    }

    /// V4 (`OSS4-HMAC-SHA256`) Authorization-header signing.
    ///
    /// Adds `x-oss-date`, `x-oss-content-sha256: UNSIGNED-PAYLOAD` (overriding any caller
    /// value, as the SDKs do), `Date`, `x-oss-security-token` for STS credentials, and
    /// `Authorization`. Every `x-oss-*`, `content-type` and `content-md5` header is signed,
    /// plus the present additional headers.
    ///
    /// # Errors
    /// [`SignError::MissingCredentials`], [`SignError::InvalidTime`].
    pub fn sign_v4_header(
        &self,
        req: &SignableRequest<'_>,
        creds: &Credentials,
        params: &V4Params<'_>,
    ) -> Result<SignedHeaders, SignError> {
        check_creds(creds)?;
        let secs = unix_seconds(params.time).ok_or(SignError::InvalidTime)?;
        let datetime = iso8601_basic(secs);
        let date_header = rfc1123(secs);

        let mut headers = HeaderMap::from_pairs(req.headers, 4);
        headers.set("x-oss-date", &datetime);
        headers.set("date", &date_header);
        if let Some(token) = creds.security_token() {
            headers.set("x-oss-security-token", token);
        }
        headers.set("x-oss-content-sha256", UNSIGNED_PAYLOAD);
        let additional = effective_additional(params.additional_headers, &headers);

        let query =
            canon::canonical_query(req.query.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())));
        let canonical_request = canon::v4_canonical_request(
            req.method,
            req.bucket,
            req.key,
            &query,
            &headers,
            &additional,
        );
        let date8 = &datetime[..8];
        let scope = canon::v4_scope(date8, params.region, params.product);
        let string_to_sign = canon::v4_string_to_sign(&datetime, &scope, &canonical_request);
        let signature = self.v4_signature(
            creds.access_key_secret(),
            date8,
            params.region,
            params.product,
            &string_to_sign,
        );

        let ak = creds.access_key_id();
        let mut authorization = String::with_capacity(
            V4_ALGORITHM.len() + ak.len() + scope.len() + signature.len() + 36,
        );
        for part in [V4_ALGORITHM, " Credential=", ak, "/", &scope] {
            authorization.push_str(part);
        }
        if !additional.is_empty() {
            authorization.push_str(",AdditionalHeaders=");
            push_joined(&mut authorization, &additional, ';');
        }
        authorization.push_str(",Signature=");
        authorization.push_str(&signature);

        let mut out = Vec::with_capacity(5);
        out.extend([
            ("x-oss-date".to_owned(), datetime),
            (
                "x-oss-content-sha256".to_owned(),
                UNSIGNED_PAYLOAD.to_owned(),
            ),
            ("Date".to_owned(), date_header),
        ]);
        if let Some(token) = creds.security_token() {
            out.push(("x-oss-security-token".to_owned(), token.to_owned()));
        }
        out.push(("Authorization".to_owned(), authorization.clone()));
        Ok(SignedHeaders {
            headers: out,
            authorization,
            signature,
            string_to_sign,
            canonical_request: Some(canonical_request),
        })
    }

    /// V4 presigned URL (query signing), valid for `expires_in` (1 s ..= 7 days, whole
    /// seconds; sub-second parts are dropped).
    ///
    /// The headers in `req` that V4 signs (`x-oss-*`, `content-type`, `content-md5`, present
    /// additional headers) must be sent by whoever uses the URL.
    ///
    /// # Errors
    /// [`SignError::InvalidExpiry`], [`SignError::MissingCredentials`], [`SignError::InvalidTime`].
    pub fn presign_v4(
        &self,
        req: &SignableRequest<'_>,
        creds: &Credentials,
        params: &V4Params<'_>,
        expires_in: Duration,
    ) -> Result<PresignedQuery, SignError> {
        let expires = expires_in.as_secs();
        if expires == 0 || expires > MAX_PRESIGN_EXPIRY.as_secs() {
            return Err(SignError::InvalidExpiry {
                seconds: i128::from(expires),
            });
        }
        check_creds(creds)?;
        let secs = unix_seconds(params.time).ok_or(SignError::InvalidTime)?;
        let datetime = iso8601_basic(secs);
        let date8 = datetime[..8].to_owned();
        let scope = canon::v4_scope(&date8, params.region, params.product);
        let headers = HeaderMap::from_pairs(req.headers, 0);
        let additional = effective_additional(params.additional_headers, &headers);

        let mut added = vec![
            (
                "x-oss-signature-version".to_owned(),
                V4_ALGORITHM.to_owned(),
            ),
            ("x-oss-date".to_owned(), datetime.clone()),
            ("x-oss-expires".to_owned(), expires.to_string()),
            (
                "x-oss-credential".to_owned(),
                format!("{}/{scope}", creds.access_key_id()),
            ),
        ];
        if let Some(token) = creds.security_token() {
            added.push(("x-oss-security-token".to_owned(), token.to_owned()));
        }
        if !additional.is_empty() {
            added.push(("x-oss-additional-headers".to_owned(), additional.join(";")));
        }
        let kept = req
            .query
            .iter()
            .filter(|(n, _)| !V4_QUERY_OWNED.contains(n));
        let query = canon::canonical_query(
            kept.map(|(n, v)| (n.as_bytes(), v.as_bytes()))
                .chain(added.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes()))),
        );
        let canonical_request = canon::v4_canonical_request(
            req.method,
            req.bucket,
            req.key,
            &query,
            &headers,
            &additional,
        );
        let string_to_sign = canon::v4_string_to_sign(&datetime, &scope, &canonical_request);
        let signature = self.v4_signature(
            creds.access_key_secret(),
            &date8,
            params.region,
            params.product,
            &string_to_sign,
        );
        added.push(("x-oss-signature".to_owned(), signature.clone()));
        Ok(PresignedQuery {
            params: added,
            signature,
            string_to_sign,
            canonical_request: Some(canonical_request),
            expires_unix: secs + expires,
        })
    }

    /// V1 (`OSS AK:signature`, HMAC-SHA1) Authorization-header signing at `time`.
    ///
    /// Adds `Date` (the date line uses `x-oss-date` when the request has one, else `Date`),
    /// `x-oss-security-token` for STS credentials (signed, as the Go SDKs and `oss2` do),
    /// and `Authorization`. Sub-resources: see the crate docs; `extra_subresources` adds
    /// query names to sign.
    ///
    /// # Errors
    /// [`SignError::MissingCredentials`], [`SignError::InvalidTime`].
    pub fn sign_v1_header(
        &self,
        req: &SignableRequest<'_>,
        creds: &Credentials,
        time: SystemTime,
        extra_subresources: &[&str],
    ) -> Result<SignedHeaders, SignError> {
        check_creds(creds)?;
        let secs = unix_seconds(time).ok_or(SignError::InvalidTime)?;
        let date_header = rfc1123(secs);
        let mut headers = HeaderMap::from_pairs(req.headers, 2);
        headers.set("date", &date_header);
        if let Some(token) = creds.security_token() {
            headers.set("x-oss-security-token", token);
        }
        let date_line: &str = headers
            .get("x-oss-date")
            .filter(|v| !v.is_empty())
            .unwrap_or(date_header.as_str());
        let sts = canon::v1_string_to_sign(
            req.method,
            &headers,
            date_line,
            req.bucket,
            req.key,
            req.query.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
            extra_subresources,
        );
        let signature = canon::v1_signature(creds.access_key_secret(), &sts);
        let authorization = format!("OSS {}:{signature}", creds.access_key_id());
        let mut out = vec![("Date".to_owned(), date_header)];
        if let Some(token) = creds.security_token() {
            out.push(("x-oss-security-token".to_owned(), token.to_owned()));
        }
        out.push(("Authorization".to_owned(), authorization.clone()));
        Ok(SignedHeaders {
            headers: out,
            authorization,
            signature,
            string_to_sign: String::from_utf8_lossy(&sts).into_owned(),
            canonical_request: None,
        })
    }

    /// V1 presigned URL valid until `expires_at` (absolute; V1 has no upper bound).
    ///
    /// Adds `OSSAccessKeyId`, `Expires`, `security-token` (STS; itself a signed
    /// sub-resource) and `Signature`.
    ///
    /// # Errors
    /// [`SignError::MissingCredentials`], [`SignError::InvalidTime`] (expiry before 1970
    /// or after 9999).
    pub fn presign_v1(
        &self,
        req: &SignableRequest<'_>,
        creds: &Credentials,
        expires_at: SystemTime,
        extra_subresources: &[&str],
    ) -> Result<PresignedQuery, SignError> {
        check_creds(creds)?;
        let expires = unix_seconds(expires_at).ok_or(SignError::InvalidTime)?;
        let expires_str = expires.to_string();
        let headers = HeaderMap::from_pairs(req.headers, 0);
        let mut added = vec![
            (
                "OSSAccessKeyId".to_owned(),
                creds.access_key_id().to_owned(),
            ),
            ("Expires".to_owned(), expires_str.clone()),
        ];
        if let Some(token) = creds.security_token() {
            added.push(("security-token".to_owned(), token.to_owned()));
        }
        let kept = req
            .query
            .iter()
            .filter(|(n, _)| !V1_QUERY_OWNED.contains(n));
        let sts = canon::v1_string_to_sign(
            req.method,
            &headers,
            &expires_str,
            req.bucket,
            req.key,
            kept.map(|(n, v)| (n.as_bytes(), v.as_bytes()))
                .chain(added.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes()))),
            extra_subresources,
        );
        let signature = canon::v1_signature(creds.access_key_secret(), &sts);
        added.push(("Signature".to_owned(), signature.clone()));
        Ok(PresignedQuery {
            params: added,
            signature,
            string_to_sign: String::from_utf8_lossy(&sts).into_owned(),
            canonical_request: None,
            expires_unix: expires,
        })
    }
}
