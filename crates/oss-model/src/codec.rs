//! Small wire encodings: `encoding-type=url` values, CRC-64 decimal strings, Content-MD5.

use base64::Engine as _;
use md5::{Digest as _, Md5};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::DecodeError;

/// `encoding-type`: how OSS encodes keys and prefixes in XML bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum EncodingType {
    /// `url`: percent-encoded UTF-8, so keys with control characters survive XML.
    #[default]
    Url,
}

impl EncodingType {
    /// The wire value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Url => "url",
        }
    }

    /// Parses the wire value (`url`, case-insensitive); other values are unknown.
    pub fn parse(value: &str) -> Option<Self> {
        value
            .trim()
            .eq_ignore_ascii_case("url")
            .then_some(Self::Url)
    }
}

/// RFC 3986 unreserved characters stay; everything else is percent-encoded. The one set for
/// query names and values, `encoding-type=url` values and (with [`URL_PATH`]) paths, here and
/// in the client. (`oss-auth` encodes the same set by hand on its hot path and is tested
/// against this crate's behaviour through the official vectors.)
const URL_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Like [`URL_VALUE`] but keeps `/`, for paths such as `x-oss-copy-source`.
const URL_PATH: &AsciiSet = &URL_VALUE.remove(b'/');

/// Encodes a value the way OSS does for `encoding-type=url` (space is `%20`, `/` is `%2F`).
pub fn url_encode(value: &str) -> String {
    utf8_percent_encode(value, URL_VALUE).to_string()
}

/// Encodes a path, keeping `/` (object keys in URLs, `x-oss-copy-source`).
pub fn url_encode_path(value: &str) -> String {
    utf8_percent_encode(value, URL_PATH).to_string()
}

/// A query in wire form (`uploads&uploadId=a%2Ab`) from decoded pairs: names and values
/// encoded with [`url_encode`]'s set, a pair with an empty value as its bare name.
pub fn encode_query(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.extend(utf8_percent_encode(name, URL_VALUE));
        if !value.is_empty() {
            out.push('=');
            out.extend(utf8_percent_encode(value, URL_VALUE));
        }
    }
    out
}

/// Decodes an `encoding-type=url` value. `+` stays a literal plus: OSS encodes both `+`
/// (`%2B`) and space (`%20`), so reading `+` as space would corrupt keys written by others.
pub fn url_decode(name: &'static str, value: &str) -> Result<String, DecodeError> {
    percent_decode_str(value)
        .decode_utf8()
        .map(|v| v.into_owned())
        .map_err(|_| DecodeError::InvalidValue {
            name,
            reason: "percent-decoded value is not UTF-8",
        })
}

/// Decodes `value` when `encoding` says it is URL-encoded.
pub(crate) fn maybe_decode(
    encoding: Option<EncodingType>,
    name: &'static str,
    value: String,
) -> Result<String, DecodeError> {
    match encoding {
        Some(EncodingType::Url) => url_decode(name, &value),
        None => Ok(value),
    }
}

/// Encodes `value` when `encoding` asks for it.
pub(crate) fn maybe_encode(encoding: Option<EncodingType>, value: &str) -> String {
    match encoding {
        Some(EncodingType::Url) => url_encode(value),
        None => value.to_owned(),
    }
}

/// Formats a CRC-64/XZ value in its wire form (unsigned decimal).
pub fn crc64_to_wire(crc: u64) -> String {
    crc.to_string()
}

/// Parses the wire form of a CRC-64 (`x-oss-hash-crc64ecma`, `<HashCrc64ecma>`).
pub fn crc64_from_wire(value: &str) -> Result<u64, DecodeError> {
    crate::xml::read::parse_u64("x-oss-hash-crc64ecma", value)
}

/// Base64 of the MD5 of `body`: the `Content-MD5` header value.
///
/// ```
/// assert_eq!(oss_model::content_md5(b""), "1B2M2Y8AsgTpgAmY7PhCfg==");
/// ```
pub fn content_md5(body: &[u8]) -> String {
    let mut md5 = ContentMd5::new();
    md5.update(body);
    md5.finish()
}

/// [`content_md5`] for a body that arrives in pieces (file ranges, chunk lists).
///
/// ```
/// let mut md5 = oss_model::ContentMd5::new();
/// md5.update(b"hello ");
/// md5.update(b"world");
/// assert_eq!(md5.finish(), oss_model::content_md5(b"hello world"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct ContentMd5(Md5);

impl ContentMd5 {
    /// An empty digest.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next piece of the body.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The `Content-MD5` header value of everything fed so far.
    pub fn finish(self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0.finalize())
    }
}

/// The ETag OSS gives a single object or part: `"` + upper-hex MD5 + `"`.
pub fn etag_for(body: &[u8]) -> String {
    let digest = Md5::digest(body);
    let mut out = String::with_capacity(34);
    out.push('"');
    for byte in digest {
        out.push_str(&format!("{byte:02X}"));
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_round_trip_and_samples() {
        assert_eq!(url_encode("photos/d e.jpg"), "photos%2Fd%20e.jpg");
        assert_eq!(
            url_decode("k", "demo%2Fgp-%0C%0A%0B").as_deref(),
            Ok("demo/gp-\u{c}\n\u{b}")
        );
        assert_eq!(url_decode("k", "a+b").as_deref(), Ok("a+b"));
        assert!(url_decode("k", "%FF").is_err());
        assert_eq!(
            url_encode_path("src dir/source+1.bin"),
            "src%20dir/source%2B1.bin"
        );
    }

    #[test]
    fn md5_and_etag() {
        assert_eq!(content_md5(b""), "1B2M2Y8AsgTpgAmY7PhCfg==");
        assert_eq!(etag_for(b"abc"), "\"900150983CD24FB0D6963F7D28E17F72\"");
    }

    #[test]
    fn crc_wire() {
        assert_eq!(
            crc64_from_wire("12066172435287683848"),
            Ok(12_066_172_435_287_683_848)
        );
        assert!(crc64_from_wire("18446744073709551616").is_err());
        assert!(crc64_from_wire("-1").is_err());
        assert_eq!(crc64_to_wire(u64::MAX), "18446744073709551615");
    }
}
