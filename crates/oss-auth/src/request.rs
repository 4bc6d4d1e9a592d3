//! The borrowed request view the signers read, and the signing outputs.

use std::fmt;
use std::time::SystemTime;

/// A request to sign, borrowed from the caller.
///
/// `key` is the **decoded** object key (as the user wrote it), `query` holds **decoded**
/// `(name, value)` pairs (empty value for `?uploads`), `headers` the request headers
/// (any case; values verbatim; a repeated name keeps its last value, like the SDKs).
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct SignableRequest<'a> {
    /// HTTP method, signed verbatim (send it upper case).
    pub method: &'a str,
    /// Bucket name; `None` for service-level requests.
    pub bucket: Option<&'a str>,
    /// Decoded object key; `None` for bucket- or service-level requests.
    pub key: Option<&'a str>,
    /// Decoded query parameters, in any order.
    pub query: &'a [(&'a str, &'a str)],
    /// Request headers before signing.
    pub headers: &'a [(&'a str, &'a str)],
}

impl<'a> SignableRequest<'a> {
    /// A request with no query and no headers.
    pub fn new(method: &'a str, bucket: Option<&'a str>, key: Option<&'a str>) -> Self {
        Self {
            method,
            bucket,
            key,
            query: &[],
            headers: &[],
        }
    }

    /// Sets the decoded query pairs.
    #[must_use]
    pub fn with_query(mut self, query: &'a [(&'a str, &'a str)]) -> Self {
        self.query = query;
        self
    }

    /// Sets the headers.
    #[must_use]
    pub fn with_headers(mut self, headers: &'a [(&'a str, &'a str)]) -> Self {
        self.headers = headers;
        self
    }
}

impl fmt::Debug for SignableRequest<'_> {
    // Header values may hold a security token, so only names are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignableRequest")
            .field("method", &self.method)
            .field("bucket", &self.bucket)
            .field("key", &self.key)
            .field(
                "query_names",
                &self.query.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            )
            .field(
                "header_names",
                &self.headers.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// V4 signing parameters: region, product, additional headers and the signing time.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct V4Params<'a> {
    /// Region id as in the scope, e.g. `cn-hangzhou` (no `oss-` prefix).
    pub region: &'a str,
    /// Product in the scope: `oss` (default) or `oss-cloudbox`.
    pub product: &'a str,
    /// Extra header names to sign (`host`, `range`, ...); normalised as the SDKs do
    /// (lower-cased, default-signed and absent names dropped, sorted, de-duplicated).
    pub additional_headers: &'a [&'a str],
    /// The signing time (required: this crate never reads the clock).
    pub time: SystemTime,
}

impl<'a> V4Params<'a> {
    /// Product `oss`, no additional headers.
    pub fn new(region: &'a str, time: SystemTime) -> Self {
        Self {
            region,
            product: "oss",
            additional_headers: &[],
            time,
        }
    }

    /// Sets the product (`oss-cloudbox` for CloudBox).
    #[must_use]
    pub fn with_product(mut self, product: &'a str) -> Self {
        self.product = product;
        self
    }

    /// Sets the additional header names to sign.
    #[must_use]
    pub fn with_additional_headers(mut self, names: &'a [&'a str]) -> Self {
        self.additional_headers = names;
        self
    }
}

/// Redacts the values of headers/params that carry a security token.
fn redacted<'x>(name: &str, value: &'x str) -> &'x str {
    if name.eq_ignore_ascii_case("x-oss-security-token")
        || name.eq_ignore_ascii_case("security-token")
    {
        "** redacted **"
    } else {
        value
    }
}

/// Result of header signing: the headers to add, plus debugging material.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignedHeaders {
    /// Headers to set on the request (replacing same-named ones), `Authorization` last.
    /// V4: `x-oss-date`, `x-oss-content-sha256`, `Date`, `x-oss-security-token` (STS only), `Authorization`.
    /// V1: `Date`, `x-oss-security-token` (STS only), `Authorization`.
    pub headers: Vec<(String, String)>,
    /// The `Authorization` value.
    pub authorization: String,
    /// The signature (V4: lower hex; V1: base64).
    pub signature: String,
    /// The string to sign (compare with OSS's `StringToSign` on `SignatureDoesNotMatch`).
    pub string_to_sign: String,
    /// The V4 canonical request (`None` for V1).
    pub canonical_request: Option<String>,
}

impl fmt::Debug for SignedHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), redacted(n, v)))
            .collect();
        f.debug_struct("SignedHeaders")
            .field("headers", &headers)
            .field("signature", &self.signature)
            .finish_non_exhaustive()
    }
}

/// Result of presigning: query parameters to add, plus debugging material.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PresignedQuery {
    /// Decoded `(name, value)` parameters to append to the request's query, the signature
    /// parameter (`x-oss-signature` / `Signature`) last. Encode with
    /// [`PresignedQuery::to_query_string`]. Any same-named parameter already in the request
    /// must be removed first.
    pub params: Vec<(String, String)>,
    /// The signature.
    pub signature: String,
    /// The string to sign.
    pub string_to_sign: String,
    /// The V4 canonical request (`None` for V1).
    pub canonical_request: Option<String>,
    /// When the URL stops being valid, in Unix seconds.
    pub expires_unix: u64,
}

impl PresignedQuery {
    /// `name=value&...` with strict percent-encoding, ready to append after `&` or `?`.
    pub fn to_query_string(&self) -> String {
        let mut out = String::new();
        for (i, (n, v)) in self.params.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            out.push_str(&crate::encode::encode_query(n));
            out.push('=');
            out.push_str(&crate::encode::encode_query(v));
        }
        out
    }
}

impl fmt::Debug for PresignedQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let params: Vec<(&str, &str)> = self
            .params
            .iter()
            .map(|(n, v)| (n.as_str(), redacted(n, v)))
            .collect();
        f.debug_struct("PresignedQuery")
            .field("params", &params)
            .field("expires_unix", &self.expires_unix)
            .finish_non_exhaustive()
    }
}
