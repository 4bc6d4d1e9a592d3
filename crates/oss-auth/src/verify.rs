//! Server-side verification of V4, V2 and V1 header signatures and presigned URLs.

mod v2;

use std::fmt;
use std::time::{Duration, SystemTime};

use subtle::ConstantTimeEq;

use crate::canon::{self, UNSIGNED_PAYLOAD, V4_ALGORITHM, V4_TERMINATOR};
use crate::encode::{RawPair, parse_raw_query};
use crate::header_map::HeaderMap;
use crate::key_cache::KeyCache;
use crate::time::{iso8601_basic, parse_http_date, parse_iso8601_basic, unix_seconds};

/// Default clock skew OSS tolerates (15 minutes).
pub const DEFAULT_MAX_SKEW: Duration = Duration::from_secs(900);

/// An incoming request as the server received it.
///
/// `bucket`/`key` are **decoded** (the server takes them from the Host label or the path
/// and URL-decodes the path); `raw_query` is the query **as received** (percent-encoded,
/// without the leading `?`; a `+` means a space and `%2F` equals `/`).
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct VerifyRequest<'a> {
    /// HTTP method as received.
    pub method: &'a str,
    /// Decoded bucket, `None` for service-level requests.
    pub bucket: Option<&'a str>,
    /// Decoded object key, `None` for bucket- or service-level requests.
    pub key: Option<&'a str>,
    /// The raw query string.
    pub raw_query: &'a str,
    /// All request headers.
    pub headers: &'a [(&'a str, &'a str)],
}

impl<'a> VerifyRequest<'a> {
    /// Builds a request view.
    pub fn new(
        method: &'a str,
        bucket: Option<&'a str>,
        key: Option<&'a str>,
        raw_query: &'a str,
        headers: &'a [(&'a str, &'a str)],
    ) -> Self {
        Self {
            method,
            bucket,
            key,
            raw_query,
            headers,
        }
    }
}

impl fmt::Debug for VerifyRequest<'_> {
    // Headers and query may carry a token: names only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyRequest")
            .field("method", &self.method)
            .field("bucket", &self.bucket)
            .field("key", &self.key)
            .field(
                "header_names",
                &self.headers.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Signature version of a verified request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureVersion {
    /// `OSS AK:signature` / `OSSAccessKeyId` + `Signature` query.
    V1,
    /// `OSS2 AccessKeyId:…` / `x-oss-signature-version=OSS2` query (verified only).
    V2,
    /// `OSS4-HMAC-SHA256`.
    V4,
}

/// Where the signature was carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthLocation {
    /// `Authorization` header.
    Header,
    /// Presigned URL query parameters.
    Query,
}

/// Who signed a request that verified.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedIdentity {
    /// The access key id that signed.
    pub access_key_id: String,
    /// The STS token sent with the request (header or query), if any. The verifier does
    /// not validate it; the server decides what a token means.
    pub security_token: Option<String>,
    /// V1, V2 or V4.
    pub version: SignatureVersion,
    /// Header or presigned query.
    pub location: AuthLocation,
}

impl VerifiedIdentity {
    /// True when an STS security token accompanied the request.
    pub fn has_security_token(&self) -> bool {
        self.security_token.is_some()
    }
}

impl fmt::Debug for VerifiedIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedIdentity")
            .field("access_key_id", &self.access_key_id)
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "** redacted **"),
            )
            .field("version", &self.version)
            .field("location", &self.location)
            .finish()
    }
}

/// The OSS error class of a verification failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VerifyErrorKind {
    /// `SignatureDoesNotMatch` (403).
    SignatureDoesNotMatch,
    /// `InvalidAccessKeyId` (403): unknown access key id.
    InvalidAccessKeyId,
    /// `RequestTimeTooSkewed` (403): request time more than the allowed skew away.
    RequestTimeTooSkewed,
    /// `AccessDenied` (403): unsigned (anonymous) request, or expired presigned URL.
    AccessDenied,
    /// `InvalidArgument` (400): malformed Authorization header, credential scope, dates,
    /// expiry or `x-oss-content-sha256`.
    InvalidArgument,
}

impl VerifyErrorKind {
    /// The OSS error code string.
    pub fn code(self) -> &'static str {
        match self {
            Self::SignatureDoesNotMatch => "SignatureDoesNotMatch",
            Self::InvalidAccessKeyId => "InvalidAccessKeyId",
            Self::RequestTimeTooSkewed => "RequestTimeTooSkewed",
            Self::AccessDenied => "AccessDenied",
            Self::InvalidArgument => "InvalidArgument",
        }
    }

    /// The HTTP status OSS answers with.
    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidArgument => 400,
            Self::SignatureDoesNotMatch
            | Self::InvalidAccessKeyId
            | Self::RequestTimeTooSkewed
            | Self::AccessDenied => 403,
        }
    }
}

/// A verification failure, carrying what an OSS error document needs.
///
/// `Display` prints only the message. The string to sign / canonical request echo the
/// request (they may contain its security token), so they are available through accessors
/// only, for the error body, and never in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifyError(Box<ErrorInner>);

// Boxed so `Result<_, VerifyError>` stays one pointer wide on the success path.
#[derive(Clone, PartialEq, Eq)]
struct ErrorInner {
    kind: VerifyErrorKind,
    message: String,
    ec: Option<&'static str>,
    access_key_id: Option<String>,
    signature_provided: Option<String>,
    string_to_sign: Option<String>,
    canonical_request: Option<String>,
    request_time: Option<String>,
    server_time: Option<String>,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.0.kind.code(), self.0.message)
    }
}

impl std::error::Error for VerifyError {}

impl fmt::Debug for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyError")
            .field("code", &self.0.kind.code())
            .field("message", &self.0.message)
            .field("ec", &self.0.ec)
            .field("access_key_id", &self.0.access_key_id)
            .field("request_time", &self.0.request_time)
            .field("server_time", &self.0.server_time)
            .finish_non_exhaustive()
    }
}

impl VerifyError {
    fn new(kind: VerifyErrorKind, ec: Option<&'static str>, message: impl Into<String>) -> Self {
        Self(Box::new(ErrorInner {
            kind,
            message: message.into(),
            ec,
            access_key_id: None,
            signature_provided: None,
            string_to_sign: None,
            canonical_request: None,
            request_time: None,
            server_time: None,
        }))
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::new(VerifyErrorKind::InvalidArgument, None, message)
    }

    /// The error class.
    pub fn kind(&self) -> VerifyErrorKind {
        self.0.kind
    }
    /// OSS error code, e.g. `"SignatureDoesNotMatch"`.
    pub fn code(&self) -> &'static str {
        self.0.kind.code()
    }
    /// HTTP status to answer with.
    pub fn http_status(&self) -> u16 {
        self.0.kind.http_status()
    }
    /// Human-readable message (OSS style).
    pub fn message(&self) -> &str {
        &self.0.message
    }
    /// The OSS "EC" detail code when OSS documents one, e.g. `0002-00000201`.
    pub fn ec(&self) -> Option<&'static str> {
        self.0.ec
    }
    /// The access key id the request claimed, when it got that far.
    pub fn access_key_id(&self) -> Option<&str> {
        self.0.access_key_id.as_deref()
    }
    /// The signature the request carried (`SignatureDoesNotMatch`).
    pub fn signature_provided(&self) -> Option<&str> {
        self.0.signature_provided.as_deref()
    }
    /// The server-side string to sign (`SignatureDoesNotMatch`).
    pub fn string_to_sign(&self) -> Option<&str> {
        self.0.string_to_sign.as_deref()
    }
    /// The server-side V4 canonical request (`SignatureDoesNotMatch`, V4 only).
    pub fn canonical_request(&self) -> Option<&str> {
        self.0.canonical_request.as_deref()
    }
    /// The request time as sent (`RequestTimeTooSkewed`), in `x-oss-date` form.
    pub fn request_time(&self) -> Option<&str> {
        self.0.request_time.as_deref()
    }
    /// The server time (`RequestTimeTooSkewed`), in `x-oss-date` form.
    pub fn server_time(&self) -> Option<&str> {
        self.0.server_time.as_deref()
    }
}

/// Verifies signed requests for one region (what `oss-local` and test servers use).
///
/// Checks, in order: scheme detection (Authorization header, else V4, V2 or V1 presign query,
/// else `AccessDenied` for an anonymous request), syntax, credential scope (date equals
/// `x-oss-date[..8]`, region, product), `x-oss-content-sha256 = UNSIGNED-PAYLOAD` (V4
/// header), time (skew ≤ 15 min; presign expiry → `AccessDenied` "Request has expired."),
/// access key lookup (`InvalidAccessKeyId`), then a constant-time signature comparison
/// (`SignatureDoesNotMatch` with the string to sign and canonical request).
#[derive(Debug)]
pub struct Verifier {
    region: String,
    product: String,
    max_skew: Duration,
    v1_extra_subresources: Vec<String>,
    cache: KeyCache,
}

/// Parsed V4 `Authorization` header fields.
struct V4Auth<'a> {
    credential: &'a str,
    additional: Option<&'a str>,
    signature: &'a str,
}

/// `AK/date/region/product/aliyun_v4_request`, split.
struct Scope<'a> {
    access_key_id: &'a str,
    date8: &'a str,
    region: &'a str,
    product: &'a str,
}

const INVALID_CREDENTIAL: &str = "Invalid credential in Authorization header.";

fn parse_scope(credential: &str) -> Result<Scope<'_>, VerifyError> {
    // The access key id never contains '/', so split from the right to be strict about the tail.
    let mut it = credential.rsplitn(5, '/');
    let (Some(term), Some(product), Some(region), Some(date8), Some(access_key_id)) =
        (it.next(), it.next(), it.next(), it.next(), it.next())
    else {
        return Err(VerifyError::invalid(INVALID_CREDENTIAL));
    };
    if term != V4_TERMINATOR || access_key_id.is_empty() || date8.len() != 8 {
        return Err(VerifyError::invalid(INVALID_CREDENTIAL));
    }
    Ok(Scope {
        access_key_id,
        date8,
        region,
        product,
    })
}

fn parse_v4_auth(rest: &str) -> Result<V4Auth<'_>, VerifyError> {
    let (mut credential, mut additional, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((k, v)) = part.split_once('=') else {
            return Err(VerifyError::invalid("Authorization header is invalid."));
        };
        let slot = match k.trim() {
            "Credential" => &mut credential,
            "AdditionalHeaders" => &mut additional,
            "Signature" => &mut signature,
            _ => return Err(VerifyError::invalid("Authorization header is invalid.")),
        };
        if slot.replace(v.trim()).is_some() {
            return Err(VerifyError::invalid("Authorization header is invalid."));
        }
    }
    match (credential, signature) {
        (Some(credential), Some(signature)) => Ok(V4Auth {
            credential,
            additional,
            signature,
        }),
        _ => Err(VerifyError::invalid("Authorization header is invalid.")),
    }
}

/// Splits `a;b` into lower-case names; empty elements are an error (OSS EC 0002-00000210).
fn parse_additional(list: Option<&str>) -> Result<Vec<String>, VerifyError> {
    let Some(list) = list.filter(|l| !l.is_empty()) else {
        return Ok(Vec::new());
    };
    list.split(';')
        .map(|h| {
            if h.is_empty() {
                Err(VerifyError::new(
                    VerifyErrorKind::InvalidArgument,
                    Some("0002-00000210"),
                    "AdditionalHeaders contains an empty element.",
                ))
            } else {
                Ok(h.to_lowercase())
            }
        })
        .collect()
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

fn first<'q>(pairs: &'q [RawPair<'_>], name: &str) -> Option<&'q [u8]> {
    pairs
        .iter()
        .find(|(n, _)| n.as_ref() == name.as_bytes())
        .map(|(_, v)| v.as_ref())
}

fn first_str<'q>(pairs: &'q [RawPair<'_>], name: &str) -> Result<Option<&'q str>, VerifyError> {
    first(pairs, name)
        .map(|v| {
            std::str::from_utf8(v)
                .map_err(|_| VerifyError::invalid(format!("{name} is not valid UTF-8.")))
        })
        .transpose()
}

/// The access key, expiry and signature of a V1 or V2 presigned URL.
struct Presigned<'q> {
    ak: &'q str,
    /// As sent: it is also the date line of the string to sign.
    expires: &'q str,
    signature: &'q str,
}

impl<'q> Presigned<'q> {
    /// Reads the parameters named `[access key id, expires, signature]` and refuses a URL
    /// used after its expiry (a Unix time).
    fn read(
        query: &'q [RawPair<'_>],
        [ak_name, expires_name, signature_name]: [&str; 3],
        now: u64,
    ) -> Result<Self, VerifyError> {
        let missing =
            |what: &str| VerifyError::invalid(format!("Missing {what} in the query string."));
        let ak = first_str(query, ak_name)?
            .filter(|a| !a.is_empty())
            .ok_or_else(|| missing(ak_name))?;
        let expires = first_str(query, expires_name)?.ok_or_else(|| missing(expires_name))?;
        let signature = first_str(query, signature_name)?.ok_or_else(|| missing(signature_name))?;
        let at: u64 = expires.parse().map_err(|_| {
            VerifyError::invalid(format!("{expires_name} must be a Unix timestamp."))
        })?;
        if now > at {
            return Err(Verifier::expired(expires, now));
        }
        Ok(Self {
            ak,
            expires,
            signature,
        })
    }
}

impl Verifier {
    /// A verifier for `region` (scope region, e.g. `cn-hangzhou`), product `oss`, 15 min skew.
    pub fn new(region: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            product: "oss".to_owned(),
            max_skew: DEFAULT_MAX_SKEW,
            v1_extra_subresources: Vec::new(),
            cache: KeyCache::default(),
        }
    }

    /// Expects another product in the V4 scope (e.g. `oss-cloudbox`).
    #[must_use]
    pub fn with_product(mut self, product: impl Into<String>) -> Self {
        self.product = product.into();
        self
    }

    /// Changes the tolerated clock skew.
    #[must_use]
    pub fn with_max_skew(mut self, skew: Duration) -> Self {
        self.max_skew = skew;
        self
    }

    /// Query names V1 clients sign beyond the built-in sub-resource list (the clients'
    /// `extra_subresources`); without them such V1 requests fail with `SignatureDoesNotMatch`.
    #[must_use]
    pub fn with_v1_extra_subresources(
        mut self,
        names: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.v1_extra_subresources = names.into_iter().map(Into::into).collect();
        self
    }

    /// The region this verifier expects.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Verifies `req` at server time `now`; `secret_for(access_key_id)` returns the secret
    /// of a known access key id.
    ///
    /// # Errors
    /// A [`VerifyError`] whose [`code`](VerifyError::code) is the OSS error code to return.
    pub fn verify<F>(
        &self,
        req: &VerifyRequest<'_>,
        secret_for: F,
        now: SystemTime,
    ) -> Result<VerifiedIdentity, VerifyError>
    where
        F: FnOnce(&str) -> Option<String>,
    {
        let now = unix_seconds(now)
            .ok_or_else(|| VerifyError::invalid("Server time is out of range."))?;
        let headers = HeaderMap::from_pairs(req.headers, 0);
        let query = parse_raw_query(req.raw_query);
        if let Some(auth) = headers.get("authorization") {
            if let Some(rest) = auth
                .strip_prefix(V4_ALGORITHM)
                .filter(|r| r.starts_with(' '))
            {
                return self.verify_v4_header(req, &headers, &query, rest, secret_for, now);
            }
            if let Some(rest) = auth.strip_prefix("OSS ") {
                return self.verify_v1_header(req, &headers, &query, rest, secret_for, now);
            }
            if let Some(rest) = auth.strip_prefix("OSS2 ") {
                return self.verify_v2_header(req, &headers, &query, rest, secret_for, now);
            }
            return Err(VerifyError::invalid("Authorization header is invalid."));
        }
        if first(&query, "x-oss-signature-version") == Some(b"OSS2".as_slice()) {
            return self.verify_v2_query(req, &headers, &query, secret_for, now);
        }
        if first(&query, "x-oss-signature").is_some()
            || first(&query, "x-oss-signature-version").is_some()
        {
            return self.verify_v4_query(req, &headers, &query, secret_for, now);
        }
        if first(&query, "Signature").is_some() || first(&query, "OSSAccessKeyId").is_some() {
            return self.verify_v1_query(req, &headers, &query, secret_for, now);
        }
        // OSS answers an anonymous request on a private resource with AccessDenied 403.
        Err(VerifyError::new(
            VerifyErrorKind::AccessDenied,
            None,
            "Anonymous access is forbidden: the request carries no signature.",
        ))
    }

    fn v1_extra(&self) -> Vec<&str> {
        self.v1_extra_subresources
            .iter()
            .map(String::as_str)
            .collect()
    }

    fn check_scope(&self, scope: &Scope<'_>, datetime: &str) -> Result<(), VerifyError> {
        if scope.region != self.region {
            // OSS's own wording for a scope naming another (or no) region.
            return Err(VerifyError::invalid(
                "The signing region in credential is invalid.",
            ));
        }
        if !datetime.starts_with(scope.date8) || scope.product != self.product {
            return Err(VerifyError::invalid(INVALID_CREDENTIAL));
        }
        Ok(())
    }

    fn skew_error(request_time: &str, now: u64) -> VerifyError {
        let mut e = VerifyError::new(
            VerifyErrorKind::RequestTimeTooSkewed,
            Some("0002-00000504"),
            "The difference between the request time and the current time is too large.",
        );
        e.0.request_time = Some(request_time.to_owned());
        e.0.server_time = Some(iso8601_basic(now));
        e
    }

    /// A presigned URL used after its expiry (`request_time`).
    fn expired(request_time: &str, now: impl fmt::Display) -> VerifyError {
        let mut e = VerifyError::new(VerifyErrorKind::AccessDenied, None, "Request has expired.");
        e.0.request_time = Some(request_time.to_owned());
        e.0.server_time = Some(now.to_string());
        e
    }

    fn mismatch(
        ec: Option<&'static str>,
        ak: &str,
        provided: &str,
        string_to_sign: String,
        canonical_request: Option<String>,
    ) -> VerifyError {
        let mut e = VerifyError::new(
            VerifyErrorKind::SignatureDoesNotMatch,
            ec,
            "The request signature we calculated does not match the signature you provided. \
             Check your key and signing method.",
        );
        e.0.access_key_id = Some(ak.to_owned());
        e.0.signature_provided = Some(provided.to_owned());
        e.0.string_to_sign = Some(string_to_sign);
        e.0.canonical_request = canonical_request;
        e
    }

    /// Compares a V1 or V2 signature with the one `expected` over `sts` in constant time; a
    /// mismatch carries the string to sign and OSS's EC for that version, if it has one.
    fn compare_signed(
        expected: &str,
        provided: &str,
        ak: &str,
        sts: &[u8],
        ec: Option<&'static str>,
    ) -> Result<(), VerifyError> {
        if ct_eq(expected, provided) {
            return Ok(());
        }
        let sts = String::from_utf8_lossy(sts).into_owned();
        Err(Self::mismatch(ec, ak, provided, sts, None))
    }

    fn lookup<F>(ak: &str, secret_for: F) -> Result<String, VerifyError>
    where
        F: FnOnce(&str) -> Option<String>,
    {
        secret_for(ak).ok_or_else(|| {
            let mut e = VerifyError::new(
                VerifyErrorKind::InvalidAccessKeyId,
                Some("0002-00000902"),
                "The OSS Access Key Id you provided does not exist in our records.",
            );
            e.0.access_key_id = Some(ak.to_owned());
            e
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn v4_compare(
        &self,
        req: &VerifyRequest<'_>,
        headers: &HeaderMap<'_>,
        canonical_query: &str,
        additional: &[String],
        datetime: &str,
        scope: &Scope<'_>,
        secret: &str,
        provided: &str,
    ) -> Result<(), VerifyError> {
        let cr = canon::v4_canonical_request(
            req.method,
            req.bucket,
            req.key,
            canonical_query,
            headers,
            additional,
        );
        let scope_str = canon::v4_scope(scope.date8, scope.region, scope.product);
        let sts = canon::v4_string_to_sign(datetime, &scope_str, &cr);
        let tag = self.cache.sign(
            secret,
            scope.date8,
            scope.region,
            scope.product,
            sts.as_bytes(),
        );
        let expected = canon::hex_lower(&tag);
        if ct_eq(&expected, provided) {
            Ok(())
        } else {
            Err(Self::mismatch(
                Some("0002-00000201"),
                scope.access_key_id,
                provided,
                sts,
                Some(cr),
            ))
        }
    }

    fn verify_v4_header<F>(
        &self,
        req: &VerifyRequest<'_>,
        headers: &HeaderMap<'_>,
        query: &[RawPair<'_>],
        rest: &str,
        secret_for: F,
        now: u64,
    ) -> Result<VerifiedIdentity, VerifyError>
    where
        F: FnOnce(&str) -> Option<String>,
    {
        let auth = parse_v4_auth(rest)?;
        let scope = parse_scope(auth.credential)?;
        let datetime = headers.get("x-oss-date").ok_or_else(|| {
            VerifyError::new(
                VerifyErrorKind::InvalidArgument,
                Some("0002-00000502"),
                "Missing x-oss-date header.",
            )
        })?;
        let req_time = parse_iso8601_basic(datetime).ok_or_else(|| {
            VerifyError::new(
                VerifyErrorKind::InvalidArgument,
                Some("0002-00000503"),
                "Invalid x-oss-date header.",
            )
        })?;
        self.check_scope(&scope, datetime)?;
        if headers.get("x-oss-content-sha256") != Some(UNSIGNED_PAYLOAD) {
            return Err(VerifyError::new(
                VerifyErrorKind::InvalidArgument,
                Some("0002-00000214"),
                "x-oss-content-sha256 must be UNSIGNED-PAYLOAD.",
            ));
        }
        if req_time.abs_diff(now) > self.max_skew.as_secs() {
            return Err(Self::skew_error(datetime, now));
        }
        let additional = parse_additional(auth.additional)?;
        let secret = Self::lookup(scope.access_key_id, secret_for)?;
        let cq = canon::canonical_query(query.iter().map(|(n, v)| (n.as_ref(), v.as_ref())));
        self.v4_compare(
            req,
            headers,
            &cq,
            &additional,
            datetime,
            &scope,
            &secret,
            auth.signature,
        )?;
        Ok(VerifiedIdentity {
            access_key_id: scope.access_key_id.to_owned(),
            security_token: headers.get("x-oss-security-token").map(str::to_owned),
            version: SignatureVersion::V4,
            location: AuthLocation::Header,
        })
    }

    fn verify_v4_query<F>(
        &self,
        req: &VerifyRequest<'_>,
        headers: &HeaderMap<'_>,
        query: &[RawPair<'_>],
        secret_for: F,
        now: u64,
    ) -> Result<VerifiedIdentity, VerifyError>
    where
        F: FnOnce(&str) -> Option<String>,
    {
        let missing =
            |what: &str| VerifyError::invalid(format!("Missing {what} in the query string."));
        if first_str(query, "x-oss-signature-version")? != Some(V4_ALGORITHM) {
            return Err(VerifyError::invalid(
                "x-oss-signature-version must be OSS4-HMAC-SHA256.",
            ));
        }
        let credential =
            first_str(query, "x-oss-credential")?.ok_or_else(|| missing("x-oss-credential"))?;
        let datetime = first_str(query, "x-oss-date")?.ok_or_else(|| missing("x-oss-date"))?;
        let expires = first_str(query, "x-oss-expires")?.ok_or_else(|| {
            VerifyError::new(
                VerifyErrorKind::InvalidArgument,
                Some("0002-00000215"),
                "Missing x-oss-expires in the query string.",
            )
        })?;
        let provided =
            first_str(query, "x-oss-signature")?.ok_or_else(|| missing("x-oss-signature"))?;
        let scope = parse_scope(credential)?;
        let req_time = parse_iso8601_basic(datetime).ok_or_else(|| {
            VerifyError::new(
                VerifyErrorKind::InvalidArgument,
                Some("0002-00000503"),
                "Invalid x-oss-date.",
            )
        })?;
        self.check_scope(&scope, datetime)?;
        let expires: u64 = expires
            .parse()
            .ok()
            .filter(|e| (1..=crate::MAX_PRESIGN_EXPIRY.as_secs()).contains(e))
            .ok_or_else(|| {
                VerifyError::new(
                    VerifyErrorKind::InvalidArgument,
                    Some("0002-00000232"),
                    "x-oss-expires must be an integer between 1 and 604800.",
                )
            })?;
        if req_time > now.saturating_add(self.max_skew.as_secs()) {
            return Err(Self::skew_error(datetime, now));
        }
        if now > req_time.saturating_add(expires) {
            return Err(Self::expired(datetime, iso8601_basic(now)));
        }
        let additional = parse_additional(first_str(query, "x-oss-additional-headers")?)?;
        let secret = Self::lookup(scope.access_key_id, secret_for)?;
        let cq = canon::canonical_query(
            query
                .iter()
                .filter(|(n, _)| n.as_ref() != b"x-oss-signature")
                .map(|(n, v)| (n.as_ref(), v.as_ref())),
        );
        self.v4_compare(
            req,
            headers,
            &cq,
            &additional,
            datetime,
            &scope,
            &secret,
            provided,
        )?;
        let token =
            first(query, "x-oss-security-token").map(|t| String::from_utf8_lossy(t).into_owned());
        Ok(VerifiedIdentity {
            access_key_id: scope.access_key_id.to_owned(),
            security_token: token,
            version: SignatureVersion::V4,
            location: AuthLocation::Query,
        })
    }

    fn verify_v1_header<F>(
        &self,
        req: &VerifyRequest<'_>,
        headers: &HeaderMap<'_>,
        query: &[RawPair<'_>],
        rest: &str,
        secret_for: F,
        now: u64,
    ) -> Result<VerifiedIdentity, VerifyError>
    where
        F: FnOnce(&str) -> Option<String>,
    {
        let Some((ak, provided)) = rest
            .trim()
            .rsplit_once(':')
            .filter(|(a, s)| !a.is_empty() && !s.is_empty())
        else {
            return Err(VerifyError::invalid("Authorization header is invalid."));
        };
        let date_line = headers
            .get("x-oss-date")
            .filter(|v| !v.is_empty())
            .or_else(|| headers.get("date"))
            .ok_or_else(|| {
                VerifyError::new(VerifyErrorKind::AccessDenied, None, "Missing Date header.")
            })?;
        let req_time = parse_http_date(date_line).ok_or_else(|| {
            VerifyError::new(VerifyErrorKind::AccessDenied, None, "Invalid Date header.")
        })?;
        if req_time.abs_diff(now) > self.max_skew.as_secs() {
            return Err(Self::skew_error(&iso8601_basic(req_time), now));
        }
        let secret = Self::lookup(ak, secret_for)?;
        let sts = canon::v1_string_to_sign(
            req.method,
            headers,
            date_line,
            req.bucket,
            req.key,
            query.iter().map(|(n, v)| (n.as_ref(), v.as_ref())),
            &self.v1_extra(),
        );
        let expected = canon::v1_signature(&secret, &sts);
        Self::compare_signed(&expected, provided, ak, &sts, Some("0002-00000040"))?;
        Ok(VerifiedIdentity {
            access_key_id: ak.to_owned(),
            security_token: headers.get("x-oss-security-token").map(str::to_owned),
            version: SignatureVersion::V1,
            location: AuthLocation::Header,
        })
    }

    fn verify_v1_query<F>(
        &self,
        req: &VerifyRequest<'_>,
        headers: &HeaderMap<'_>,
        query: &[RawPair<'_>],
        secret_for: F,
        now: u64,
    ) -> Result<VerifiedIdentity, VerifyError>
    where
        F: FnOnce(&str) -> Option<String>,
    {
        let Presigned {
            ak,
            expires: expires_str,
            signature: provided,
        } = Presigned::read(query, ["OSSAccessKeyId", "Expires", "Signature"], now)?;
        let secret = Self::lookup(ak, secret_for)?;
        let sts = canon::v1_string_to_sign(
            req.method,
            headers,
            expires_str,
            req.bucket,
            req.key,
            query.iter().map(|(n, v)| (n.as_ref(), v.as_ref())),
            &self.v1_extra(),
        );
        let expected = canon::v1_signature(&secret, &sts);
        Self::compare_signed(&expected, provided, ak, &sts, Some("0002-00000040"))?;
        let token = first(query, "security-token").map(|t| String::from_utf8_lossy(t).into_owned());
        Ok(VerifiedIdentity {
            access_key_id: ak.to_owned(),
            security_token: token,
            version: SignatureVersion::V1,
            location: AuthLocation::Query,
        })
    }
}
