//! The few wire details the machine needs: building the Complete body and reading responses.
//!
//! A deliberately small private adapter (tag extraction, entity decoding) so the machine does not
//! wait on `oss-model`; it never panics on any input and bounds nothing it does not need.

use http::HeaderMap;

use crate::error::ServiceError;
use crate::request::CompletePart;

/// One `<Part>` of a ListParts page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListedPart {
    pub(crate) part_number: u32,
    pub(crate) etag: String,
    pub(crate) size: u64,
    pub(crate) crc64: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListPage {
    pub(crate) parts: Vec<ListedPart>,
    pub(crate) truncated: bool,
    pub(crate) next_marker: u32,
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let Some(end) = tail.find(';').filter(|&e| e <= 10) else {
            out.push('&');
            rest = &tail[1..];
            continue;
        };
        let ent = &tail[1..end];
        let decoded = match ent {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => ent
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| ent.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &tail[end + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The CompleteMultipartUpload body (parts must already be ascending).
pub(crate) fn complete_body(parts: &[CompletePart]) -> Vec<u8> {
    let mut s = String::from("<CompleteMultipartUpload>");
    for p in parts {
        s.push_str("<Part><PartNumber>");
        s.push_str(&p.part_number.to_string());
        s.push_str("</PartNumber><ETag>");
        s.push_str(&escape(&p.etag));
        s.push_str("</ETag></Part>");
    }
    s.push_str("</CompleteMultipartUpload>");
    s.into_bytes()
}

/// Text of the first `<tag>…</tag>` in `xml`, entity-decoded.
pub(crate) fn tag(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let len = xml[start..].find(&close)?;
    Some(unescape(xml[start..start + len].trim()))
}

/// Every `<tag>…</tag>` block body.
pub(crate) fn blocks<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(&after[..j]);
        rest = &after[j + close.len()..];
    }
    out
}

pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// `x-oss-hash-crc64ecma` (unsigned decimal). `Err` when present but malformed.
pub(crate) fn crc_header(headers: &HeaderMap) -> Result<Option<u64>, ()> {
    match header(headers, "x-oss-hash-crc64ecma") {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| ()),
    }
}

/// ETags compare without quotes and case (OSS returns upper-hex, some proxies lower-case).
pub(crate) fn etag_eq(a: &str, b: &str) -> bool {
    a.trim()
        .trim_matches('"')
        .eq_ignore_ascii_case(b.trim().trim_matches('"'))
}

/// The error document for a non-2xx response (body XML, or status and headers alone).
pub(crate) fn service_error(status: u16, headers: &HeaderMap, body: &[u8]) -> ServiceError {
    let text = std::str::from_utf8(body).unwrap_or("");
    let xml = if text.contains("<Error>") { text } else { "" };
    let field = |name: &str| tag(xml, name).unwrap_or_default();
    let mut code = field("Code");
    if code.is_empty() {
        // HEAD has no body; OSS exposes the EC header and the status.
        code = match status {
            404 if xml.is_empty() => "NoSuchKey".to_owned(),
            _ => String::new(),
        };
    }
    let mut request_id = field("RequestId");
    if request_id.is_empty() {
        request_id = header(headers, "x-oss-request-id").unwrap_or("").to_owned();
    }
    let mut ec = field("EC");
    if ec.is_empty() {
        ec = header(headers, "x-oss-ec").unwrap_or("").to_owned();
    }
    ServiceError {
        status,
        code,
        message: field("Message"),
        request_id,
        ec,
    }
}

pub(crate) fn parse_initiate(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    tag(text, "UploadId").filter(|id| !id.is_empty())
}

pub(crate) fn parse_complete_etag(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    tag(text, "ETag")
}

pub(crate) fn parse_list_parts(body: &[u8]) -> Option<ListPage> {
    let text = std::str::from_utf8(body).ok()?;
    if !text.contains("<ListPartsResult") {
        return None;
    }
    let mut parts = Vec::new();
    for b in blocks(text, "Part") {
        let part_number: u32 = tag(b, "PartNumber")?.parse().ok()?;
        let etag = tag(b, "ETag")?;
        let size: u64 = tag(b, "Size")?.parse().ok()?;
        let crc64 = match tag(b, "HashCrc64ecma") {
            Some(v) if !v.is_empty() => Some(v.parse().ok()?),
            _ => None,
        };
        parts.push(ListedPart {
            part_number,
            etag,
            size,
            crc64,
        });
    }
    let truncated = tag(text, "IsTruncated").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let next_marker = match tag(text, "NextPartNumberMarker") {
        Some(v) if !v.is_empty() => v.parse().ok()?,
        _ => parts.last().map_or(0, |p| p.part_number),
    };
    Some(ListPage {
        parts,
        truncated,
        next_marker,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_entities() {
        assert_eq!(
            unescape("&quot;AB&quot; &#34;x&#x22; &bogus; &"),
            "\"AB\" \"x\" &bogus; &"
        );
    }

    #[test]
    fn complete_body_escapes_quotes() {
        let b = complete_body(&[CompletePart {
            part_number: 1,
            etag: "\"A\"".into(),
        }]);
        assert_eq!(
            String::from_utf8(b).unwrap(),
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;A&quot;</ETag></Part></CompleteMultipartUpload>"
        );
    }

    #[test]
    fn vectors_parse() {
        let lp = include_bytes!("../tests/data/ListPartsResult.xml");
        let page = parse_list_parts(lp).unwrap();
        assert!(!page.parts.is_empty());
        assert!(
            page.parts
                .iter()
                .all(|p| p.size > 0 && p.etag.starts_with('"'))
        );
        let init = include_bytes!("../tests/data/InitiateMultipartUploadResult.xml");
        assert!(parse_initiate(init).is_some());
        let err = include_bytes!("../tests/data/Error-NoSuchUpload.xml");
        let e = service_error(404, &HeaderMap::new(), err);
        assert!(e.is_no_such_upload());
        assert!(!e.is_retryable());
        let skew = include_bytes!("../tests/data/Error-RequestTimeTooSkewed.xml");
        assert!(service_error(403, &HeaderMap::new(), skew).is_retryable());
        let denied = include_bytes!("../tests/data/Error-AccessDenied.xml");
        assert!(!service_error(403, &HeaderMap::new(), denied).is_retryable());
    }
}
