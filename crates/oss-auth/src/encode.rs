//! Percent-encoding and raw-query parsing shared by the signers and the verifier.
//!
//! OSS uses the RFC 3986 unreserved set (`A-Z a-z 0-9 - _ . ~`) everywhere; the only
//! difference between the path and the query is whether `/` stays literal.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, utf8_percent_encode};

/// Everything except the unreserved characters is escaped (query names and values).
const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Like [`STRICT`] but keeps `/` literal (canonical URI).
const PATH: &AsciiSet = &STRICT.remove(b'/');

/// Strict percent-encoding of `bytes` (query component), borrowed when nothing needs
/// escaping. Works on bytes, so non-UTF-8 input (possible on the verifier side after
/// decoding) is encoded byte by byte, exactly as the SDKs encode UTF-8 strings.
pub(crate) fn encode_query_cow(bytes: &[u8]) -> Cow<'_, str> {
    percent_encoding::percent_encode(bytes, STRICT).into()
}

/// Strict percent-encoding of a query component.
pub(crate) fn encode_query(s: &str) -> String {
    utf8_percent_encode(s, STRICT).to_string()
}

/// Appends the canonical-URI encoding of `s` (keeps `/`) to `out`.
pub(crate) fn encode_path_into(out: &mut String, s: &str) {
    for chunk in utf8_percent_encode(s, PATH) {
        out.push_str(chunk);
    }
}

/// One query parameter as received, decoded to bytes.
pub(crate) type RawPair<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);

/// Splits a raw (percent-encoded) query string into decoded `(name, value)` pairs.
///
/// Follows WIRE.md §2.2 item 3: a literal `+` is a space (the Go SDK rewrites `+` to
/// `%20` before signing, and form encoders send spaces as `+`), then `%XX` sequences are
/// decoded, so `%2F` and `/` are the same character. Malformed `%` sequences are kept
/// literally. Empty segments (`a=1&&b=2`) are skipped; a segment without `=` has an empty value.
pub(crate) fn parse_raw_query(raw: &str) -> Vec<RawPair<'_>> {
    let raw = raw.strip_prefix('?').unwrap_or(raw);
    raw.split('&')
        .filter(|seg| !seg.is_empty())
        .map(|seg| {
            let (name, value) = seg.split_once('=').unwrap_or((seg, ""));
            (decode_component(name), decode_component(value))
        })
        .collect()
}

/// Decodes one query component (`+` is a space, then percent-decoding).
pub(crate) fn decode_component(s: &str) -> Cow<'_, [u8]> {
    if s.contains('+') {
        let replaced: Vec<u8> = s
            .bytes()
            .map(|b| if b == b'+' { b' ' } else { b })
            .collect();
        Cow::Owned(percent_decode(&replaced).collect())
    } else {
        percent_decode(s.as_bytes()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_and_path_sets() {
        assert_eq!(encode_query("a b/+~*é"), "a%20b%2F%2B~%2A%C3%A9");
        let mut p = String::new();
        encode_path_into(&mut p, "/b/a b/+~%");
        assert_eq!(p, "/b/a%20b/%2B~%25");
    }

    #[test]
    fn raw_query_plus_and_slash() {
        let pairs = parse_raw_query("a=x+y&b=%2F/&c&&d=%zz&e=%2B");
        let got: Vec<(&[u8], &[u8])> = pairs.iter().map(|(n, v)| (&n[..], &v[..])).collect();
        assert_eq!(
            got,
            vec![
                (&b"a"[..], &b"x y"[..]),
                (b"b", b"//"),
                (b"c", b""),
                (b"d", b"%zz"),
                (b"e", b"+"),
            ]
        );
    }
}
