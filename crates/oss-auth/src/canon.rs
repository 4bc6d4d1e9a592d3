//! Canonical forms shared by signing and verification (V4 and V1; V2 is verified only).

use std::borrow::Cow;
use std::collections::BTreeSet;

use crate::encode::{encode_path_into, encode_query_cow};
use crate::header_map::{HeaderMap, lower};

/// The V4 algorithm token.
pub(crate) const V4_ALGORITHM: &str = "OSS4-HMAC-SHA256";
/// The only payload hash OSS accepts from SDK clients.
pub(crate) const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// Last element of a V4 scope.
pub(crate) const V4_TERMINATOR: &str = "aliyun_v4_request";

/// Appends the lower-case hex of `bytes` (a digest: at most 32 bytes) to `out`, via a table
/// and one copy (per-character pushes showed up in profiles).
pub(crate) fn push_hex_lower(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    debug_assert!(bytes.len() <= 32, "push_hex_lower takes a digest");
    let mut buf = [0u8; 64];
    for (pair, b) in buf.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0x0f)];
    }
    let len = (bytes.len() * 2).min(buf.len());
    // Hex digits are ASCII.
    out.push_str(std::str::from_utf8(&buf[..len]).unwrap_or_default());
}

/// Lower-case hex of a digest.
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex_lower(&mut out, bytes);
    out
}

/// Headers V4 signs whatever the additional-headers list says.
pub(crate) fn v4_default_signed(lower_name: &str) -> bool {
    lower_name.starts_with("x-oss-") || lower_name == "content-type" || lower_name == "content-md5"
}

/// The effective AdditionalHeaders list: lower-cased, without default-signed names or
/// names whose header is absent/empty, de-duplicated and sorted (GO2/PY2 rule).
pub(crate) fn effective_additional(requested: &[&str], headers: &HeaderMap<'_>) -> Vec<String> {
    if requested.is_empty() {
        return Vec::new();
    }
    let set: BTreeSet<String> = requested
        .iter()
        .map(|h| lower(h).into_owned())
        .filter(|h| !v4_default_signed(h))
        .filter(|h| headers.get(h).is_some_and(|v| !v.is_empty()))
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

/// Appends the V4 canonical URI to `out`: the resource path, every byte but unreserved and
/// `/` escaped.
pub(crate) fn push_canonical_uri(out: &mut String, bucket: Option<&str>, key: Option<&str>) {
    // Same as encoding `resource_path`, piecewise: `/` is kept by the path set anyway.
    out.push('/');
    if let Some(b) = bucket {
        encode_path_into(out, b);
        out.push('/');
    }
    if let Some(k) = key {
        encode_path_into(out, k);
    }
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

/// The V4 canonical request (six fields joined by `\n`) for the resource `bucket`/`key`.
pub(crate) fn v4_canonical_request(
    method: &str,
    bucket: Option<&str>,
    key: Option<&str>,
    canonical_query: &str,
    headers: &HeaderMap<'_>,
    additional: &[String],
) -> String {
    let header_len: usize = headers.iter().map(|(n, v)| n.len() + v.len() + 2).sum();
    let path_len = 2 + bucket.map_or(0, str::len) + key.map_or(0, |k| k.len() * 3);
    let mut out = String::with_capacity(
        method.len() + path_len + canonical_query.len() + header_len + 64 + additional.len() * 16,
    );
    out.push_str(method);
    out.push('\n');
    push_canonical_uri(&mut out, bucket, key);
    out.push('\n');
    out.push_str(canonical_query);
    out.push('\n');
    for (name, value) in headers.iter() {
        if v4_default_signed(name) || additional.iter().any(|a| a == name) {
            out.push_str(name);
            out.push(':');
            out.push_str(value);
            out.push('\n');
        }
    }
    out.push('\n');
    push_joined(&mut out, additional, ';');
    out.push('\n');
    out.push_str(
        headers
            .get("x-oss-content-sha256")
            .unwrap_or(UNSIGNED_PAYLOAD),
    );
    out
}

/// Appends `items` separated by `sep` (`join` without the temporary string).
pub(crate) fn push_joined(out: &mut String, items: &[String], sep: char) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(sep);
        }
        out.push_str(item);
    }
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
    let hash = crate::crypto::sha256(canonical_request.as_bytes());
    let mut out = String::with_capacity(V4_ALGORITHM.len() + datetime.len() + scope.len() + 67);
    for part in [V4_ALGORITHM, "\n", datetime, "\n", scope, "\n"] {
        out.push_str(part);
    }
    push_hex_lower(&mut out, &hash);
    out
}

/// HMAC-SHA1, base64 (V1 signature).
pub(crate) fn v1_signature(secret: &str, string_to_sign: &[u8]) -> String {
    use base64::Engine as _;
    let tag = crate::crypto::hmac_sha1(secret.as_bytes(), string_to_sign);
    base64::engine::general_purpose::STANDARD.encode(tag)
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

/// The lines V1 and V2 strings to sign begin with: method, `Content-MD5`, `Content-Type` and
/// the date line, each followed by a newline.
fn first_lines(method: &str, headers: &HeaderMap<'_>, date_line: &str) -> Vec<u8> {
    let get = |n: &str| headers.get(n).unwrap_or("");
    let mut out = Vec::with_capacity(256);
    for part in [method, get("content-md5"), get("content-type"), date_line] {
        out.extend_from_slice(part.as_bytes());
        out.push(b'\n');
    }
    out
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
    let mut out = first_lines(method, headers, date_line);
    for (name, value) in headers.iter() {
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

/// The V2 (`OSS2`) string to sign: method, `Content-MD5`, `Content-Type` and `date_line`,
/// then every `x-oss-*` header and every header of `additional` as `name:value` lines in name
/// order, the `additional` names sorted and joined by `;`, and the resource: the whole
/// `/bucket/key` strictly percent-encoded (`/` included) and **every** query parameter
/// (`query`, decoded), re-encoded and sorted, `name` alone when its value is empty.
pub(crate) fn v2_string_to_sign<'a, I>(
    method: &str,
    headers: &HeaderMap<'_>,
    date_line: &str,
    additional: &[String],
    bucket: Option<&str>,
    key: Option<&str>,
    query: I,
) -> Vec<u8>
where
    I: IntoIterator<Item = (&'a [u8], &'a [u8])>,
{
    let mut out = first_lines(method, headers, date_line);
    for (name, value) in headers.iter() {
        if name.starts_with("x-oss-") || additional.iter().any(|a| a == name) {
            out.extend_from_slice(name.as_bytes());
            out.push(b':');
            out.extend_from_slice(value.as_bytes());
            out.push(b'\n');
        }
    }
    out.extend_from_slice(additional.join(";").as_bytes());
    out.push(b'\n');
    let resource = match bucket {
        Some(_) => resource_path(bucket, key),
        None => "/".to_owned(),
    };
    out.extend_from_slice(encode_query_cow(resource.as_bytes()).as_bytes());
    let mut params: Vec<(Cow<'_, str>, Cow<'_, str>)> = query
        .into_iter()
        .map(|(n, v)| (encode_query_cow(n), encode_query_cow(v)))
        .collect();
    params.sort_unstable();
    for (i, (n, v)) in params.iter().enumerate() {
        out.push(if i == 0 { b'?' } else { b'&' });
        out.extend_from_slice(n.as_bytes());
        if !v.is_empty() {
            out.push(b'=');
            out.extend_from_slice(v.as_bytes());
        }
    }
    out
}

/// HMAC-SHA256, base64 (V2 signature).
pub(crate) fn v2_signature(secret: &str, string_to_sign: &[u8]) -> String {
    use base64::Engine as _;
    let tag = crate::crypto::hmac_sha256(secret.as_bytes(), string_to_sign);
    base64::engine::general_purpose::STANDARD.encode(tag)
}
