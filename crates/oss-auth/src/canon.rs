//! Canonical forms shared by signing and verification (WIRE.md §2.2 and §4).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::encode::{encode_path_into, encode_query_cow};

/// The V4 algorithm token.
pub(crate) const V4_ALGORITHM: &str = "OSS4-HMAC-SHA256";
/// The only payload hash OSS accepts from SDK clients.
pub(crate) const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// Last element of a V4 scope.
pub(crate) const V4_TERMINATOR: &str = "aliyun_v4_request";

/// Request headers keyed by lower-case name, in name order.
///
/// A repeated name (compared case-insensitively) keeps its **last** value and values are
/// used verbatim: that is what the official SDKs' header maps do (Python SDK v2 and `oss2`
/// use a case-insensitive dict, the Go SDK's `Header.Set` replaces), so signatures match
/// theirs byte for byte. Callers should therefore not send padded values or one name twice
/// (an HTTP server strips the padding and may combine repeats, WIRE.md §11.4).
/// Borrows names and values where it can: signing is allocation-bound after hashing.
pub(crate) type HeaderMap<'a> = BTreeMap<Cow<'a, str>, &'a str>;

/// Lower-cases a header name with Unicode rules (as Python's `str.lower` does), without
/// allocating when it already is lower case.
pub(crate) fn lower(name: &str) -> Cow<'_, str> {
    if name
        .bytes()
        .any(|b| b.is_ascii_uppercase() || !b.is_ascii())
    {
        Cow::Owned(name.to_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

/// Builds a [`HeaderMap`] from `(name, value)` pairs (later pairs replace earlier ones).
pub(crate) fn collect_headers<'a>(headers: &[(&'a str, &'a str)]) -> HeaderMap<'a> {
    headers
        .iter()
        .map(|(name, value)| (lower(name), *value))
        .collect()
}

/// Lower-case hex of a digest, via a table (the `hex` iterator showed up in profiles).
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Headers V4 signs whatever the additional-headers list says.
pub(crate) fn v4_default_signed(lower_name: &str) -> bool {
    lower_name.starts_with("x-oss-") || lower_name == "content-type" || lower_name == "content-md5"
}

/// The effective AdditionalHeaders list: lower-cased, without default-signed names or
/// names whose header is absent/empty, de-duplicated and sorted (GO2/PY2 rule).
pub(crate) fn effective_additional(requested: &[&str], headers: &HeaderMap<'_>) -> Vec<String> {
    let set: BTreeSet<String> = requested
        .iter()
        .map(|h| lower(h).into_owned())
        .filter(|h| !v4_default_signed(h))
        .filter(|h| headers.get(h.as_str()).is_some_and(|v| !v.is_empty()))
        .collect();
    set.into_iter().collect()
}

/// `/bucket/key` (or `/bucket/`, `/`, or `/key` without bucket), not encoded.
pub(crate) fn resource_path(bucket: Option<&str>, key: Option<&str>) -> String {
    let mut uri = String::from("/");
    if let Some(b) = bucket {
        uri.push_str(b);
        uri.push('/');
    }
    if let Some(k) = key {
        uri.push_str(k);
    }
    uri
}

/// V4 canonical URI: the resource path, every byte but unreserved and `/` escaped.
pub(crate) fn canonical_uri(bucket: Option<&str>, key: Option<&str>) -> String {
    // Same as encoding `resource_path`, piecewise: `/` is kept by the path set anyway.
    let mut out =
        String::with_capacity(2 + bucket.map_or(0, str::len) + key.map_or(0, str::len) * 3);
    out.push('/');
    if let Some(b) = bucket {
        encode_path_into(&mut out, b);
        out.push('/');
    }
    if let Some(k) = key {
        encode_path_into(&mut out, k);
    }
    out
}

/// V4 canonical query from decoded pairs: strict encoding, sort by (name, value), `name`
/// alone when the value is empty.
pub(crate) fn canonical_query<'a, I>(pairs: I) -> String
where
    I: IntoIterator<Item = (&'a [u8], &'a [u8])>,
{
    // `Cow`: most names/values need no escaping, so nothing is copied for them.
    let mut encoded: Vec<(Cow<'a, str>, Cow<'a, str>)> = pairs
        .into_iter()
        .map(|(n, v)| (encode_query_cow(n), encode_query_cow(v)))
        .collect();
    encoded.sort_unstable();
    let len = encoded.iter().map(|(n, v)| n.len() + v.len() + 2).sum();
    let mut out = String::with_capacity(len);
    for (i, (n, v)) in encoded.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(n);
        if !v.is_empty() {
            out.push('=');
            out.push_str(v);
        }
    }
    out
}

/// The V4 canonical request (six fields joined by `\n`).
pub(crate) fn v4_canonical_request(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    headers: &HeaderMap<'_>,
    additional: &[String],
) -> String {
    let header_len: usize = headers.iter().map(|(n, v)| n.len() + v.len() + 2).sum();
    let mut out = String::with_capacity(
        method.len()
            + canonical_uri.len()
            + canonical_query.len()
            + header_len
            + 64
            + additional.len() * 16,
    );
    out.push_str(method);
    out.push('\n');
    out.push_str(canonical_uri);
    out.push('\n');
    out.push_str(canonical_query);
    out.push('\n');
    for (name, value) in headers {
        if v4_default_signed(name) || additional.iter().any(|a| a.as_str() == name.as_ref()) {
            out.push_str(name);
            out.push(':');
            out.push_str(value);
            out.push('\n');
        }
    }
    out.push('\n');
    out.push_str(&additional.join(";"));
    out.push('\n');
    out.push_str(
        headers
            .get("x-oss-content-sha256")
            .copied()
            .unwrap_or(UNSIGNED_PAYLOAD),
    );
    out
}

/// `date/region/product/aliyun_v4_request`.
pub(crate) fn v4_scope(date8: &str, region: &str, product: &str) -> String {
    let mut out = String::with_capacity(date8.len() + region.len() + product.len() + 20);
    for part in [date8, "/", region, "/", product, "/", V4_TERMINATOR] {
        out.push_str(part);
    }
    out
}

/// The V4 string to sign.
pub(crate) fn v4_string_to_sign(datetime: &str, scope: &str, canonical_request: &str) -> String {
    let hash = Sha256::digest(canonical_request.as_bytes());
    let mut out = String::with_capacity(V4_ALGORITHM.len() + datetime.len() + scope.len() + 67);
    for part in [V4_ALGORITHM, "\n", datetime, "\n", scope, "\n"] {
        out.push_str(part);
    }
    out.push_str(&hex_lower(&hash));
    out
}

/// HMAC-SHA256.
pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA1, base64 (V1 signature).
pub(crate) fn v1_signature(secret: &str, string_to_sign: &[u8]) -> String {
    use base64::Engine as _;
    let Ok(mut mac) = <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret.as_bytes()) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(string_to_sign);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// V1 sub-resources: the Go SDK v2 list, plus `resourceGroup` (Python SDK v2 list).
/// Any query key starting with `x-oss-` is also a sub-resource (see [`is_v1_subresource`]).
pub(crate) const V1_SUBRESOURCES: &[&str] = &[
    "acl",
    "bucketInfo",
    "location",
    "stat",
    "delete",
    "append",
    "tagging",
    "objectMeta",
    "uploads",
    "uploadId",
    "partNumber",
    "security-token",
    "position",
    "response-content-type",
    "response-content-language",
    "response-expires",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "restore",
    "callback",
    "callback-var",
    "versions",
    "versioning",
    "versionId",
    "sequential",
    "continuation-token",
    "regionList",
    "cloudboxes",
    "symlink",
    "resourceGroup",
];

/// Whether a (decoded) query name is signed by V1.
pub(crate) fn is_v1_subresource(name: &[u8], extra: &[&str]) -> bool {
    name.starts_with(b"x-oss-")
        || V1_SUBRESOURCES.iter().any(|s| s.as_bytes() == name)
        || extra.iter().any(|s| s.as_bytes() == name)
}

/// The V1 string to sign, as bytes (decoded query values need not be UTF-8 on the server).
pub(crate) fn v1_string_to_sign<'a, I>(
    method: &str,
    headers: &HeaderMap<'_>,
    date_line: &str,
    bucket: Option<&str>,
    key: Option<&str>,
    query: I,
    extra: &[&str],
) -> Vec<u8>
where
    I: IntoIterator<Item = (&'a [u8], &'a [u8])>,
{
    let get = |n: &str| headers.get(n).copied().unwrap_or("");
    let mut out = Vec::with_capacity(256);
    for part in [method, get("content-md5"), get("content-type"), date_line] {
        out.extend_from_slice(part.as_bytes());
        out.push(b'\n');
    }
    for (name, value) in headers {
        if name.starts_with("x-oss-") {
            out.extend_from_slice(name.as_bytes());
            out.push(b':');
            out.extend_from_slice(value.as_bytes());
            out.push(b'\n');
        }
    }
    out.extend_from_slice(resource_path(bucket, key).as_bytes());
    let mut subs: Vec<(&[u8], &[u8])> = query
        .into_iter()
        .filter(|(n, _)| is_v1_subresource(n, extra))
        .collect();
    subs.sort_unstable();
    for (i, (n, v)) in subs.iter().enumerate() {
        out.push(if i == 0 { b'?' } else { b'&' });
        out.extend_from_slice(n);
        if !v.is_empty() {
            out.push(b'=');
            out.extend_from_slice(v);
        }
    }
    out
}
