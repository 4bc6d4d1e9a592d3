//! Percent-encoding and raw-query parsing shared by the signers and the verifier.
//!
//! OSS uses the RFC 3986 unreserved set (`A-Z a-z 0-9 - _ . ~`) everywhere; the only
//! difference between the path and the query is whether `/` stays literal.

use std::borrow::Cow;

use percent_encoding::percent_decode;

/// `true` for the RFC 3986 unreserved bytes, which are never escaped.
const UNRESERVED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~');
        b += 1;
    }
    table
};

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `bytes` to `out`, escaping every byte that is not unreserved (nor `/` when
/// `keep_slash`). Unreserved runs are copied whole: keys are mostly plain ASCII.
fn escape_into(out: &mut String, bytes: &[u8], keep_slash: bool) {
    let keep = |b: u8| UNRESERVED[usize::from(b)] || (keep_slash && b == b'/');
    let mut rest = bytes;
    while !rest.is_empty() {
        let run = rest.iter().position(|&b| !keep(b)).unwrap_or(rest.len());
        let (plain, tail) = rest.split_at(run);
        // Unreserved bytes and `/` are ASCII, so the run is valid UTF-8.
        out.push_str(std::str::from_utf8(plain).unwrap_or_default());
        let Some((&b, tail)) = tail.split_first() else {
            break;
        };
        out.push('%');
        out.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
        out.push(char::from(HEX_UPPER[usize::from(b & 0x0f)]));
        rest = tail;
    }
}

/// Strict percent-encoding of `bytes` (query component), borrowed when nothing needs
/// escaping. Works on bytes, so non-UTF-8 input (possible on the verifier side after
/// decoding) is encoded byte by byte, exactly as the SDKs encode UTF-8 strings.
pub(crate) fn encode_query_cow(bytes: &[u8]) -> Cow<'_, str> {
    if bytes.iter().all(|&b| UNRESERVED[usize::from(b)])
        && let Ok(plain) = std::str::from_utf8(bytes)
    {
        return Cow::Borrowed(plain);
    }
    let mut out = String::with_capacity(bytes.len() * 3);
    escape_into(&mut out, bytes, false);
    Cow::Owned(out)
}

/// Strict percent-encoding of a query component.
pub(crate) fn encode_query(s: &str) -> String {
    encode_query_cow(s.as_bytes()).into_owned()
}

/// Appends the canonical-URI encoding of `s` (keeps `/`) to `out`.
pub(crate) fn encode_path_into(out: &mut String, s: &str) {
    escape_into(out, s.as_bytes(), true);
}

/// One query parameter as received, decoded to bytes.
pub(crate) type RawPair<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);

/// Splits a raw (percent-encoded) query string into decoded `(name, value)` pairs.
///
/// A literal `+` is a space (the Go SDK rewrites `+` to
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
        assert_eq!(encode_query("plain-_.~09AZaz"), "plain-_.~09AZaz");
        assert!(matches!(encode_query_cow(b"plain"), Cow::Borrowed("plain")));
        assert_eq!(
            encode_query_cow(b"\xff/"),
            "%FF%2F",
            "non-UTF-8 bytes are escaped"
        );
        let mut p = String::new();
        encode_path_into(&mut p, "/b/a b/+~%");
        assert_eq!(p, "/b/a%20b/%2B~%25");
    }

    /// The hand-written encoder against the `percent-encoding` crate on every byte value.
    #[test]
    fn matches_percent_encoding_crate() {
        use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_encode};
        const STRICT: &AsciiSet = &NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'_')
            .remove(b'.')
            .remove(b'~');
        const PATH: &AsciiSet = &STRICT.remove(b'/');
        let all: Vec<u8> = (0..=255u8).chain(b"abc/x y".iter().copied()).collect();
        for window in all.windows(3) {
            assert_eq!(
                encode_query_cow(window),
                percent_encode(window, STRICT).to_string()
            );
            let mut p = String::new();
            escape_into(&mut p, window, true);
            assert_eq!(p, percent_encode(window, PATH).to_string());
        }
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
