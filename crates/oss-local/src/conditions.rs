//! Conditional requests: `If-Match`, `If-None-Match`, `If-Modified-Since`,
//! `If-Unmodified-Since` on GetObject/HeadObject, and the same four as
//! `x-oss-copy-source-if-*` on the source of UploadPartCopy and CopyObject. One evaluation,
//! in the order of RFC 9110 §13.2.2, which OSS follows.

use crate::error::OssError;
use crate::service::Req;
use crate::store::ObjectMeta;

/// Header names of one family: the plain ones, or the copy-source ones.
#[derive(Clone, Copy)]
pub(crate) enum Family {
    Plain,
    CopySource,
}

impl Family {
    fn name(self, condition: &'static str) -> &'static str {
        match (self, condition) {
            (Self::Plain, "if-match") => "if-match",
            (Self::Plain, "if-none-match") => "if-none-match",
            (Self::Plain, "if-modified-since") => "if-modified-since",
            (Self::Plain, _) => "if-unmodified-since",
            (Self::CopySource, "if-match") => "x-oss-copy-source-if-match",
            (Self::CopySource, "if-none-match") => "x-oss-copy-source-if-none-match",
            (Self::CopySource, "if-modified-since") => "x-oss-copy-source-if-modified-since",
            (Self::CopySource, _) => "x-oss-copy-source-if-unmodified-since",
        }
    }
}

/// What the conditions say about `meta`: `Ok(true)` serve it, `Ok(false)` answer
/// `304 Not Modified`, `Err` answer `412 PreconditionFailed`.
pub(crate) fn evaluate(req: &Req, meta: &ObjectMeta, family: Family) -> Result<bool, OssError> {
    let header = |c| req.h(family.name(c));
    if let Some(tags) = header("if-match") {
        if !etag_matches(tags, &meta.etag) {
            return Err(OssError::precondition_failed(family.name("if-match")));
        }
    } else if let Some(t) = header("if-unmodified-since").and_then(http_time)
        && meta.last_modified > t
    {
        return Err(OssError::precondition_failed(
            family.name("if-unmodified-since"),
        ));
    }
    if let Some(tags) = header("if-none-match") {
        if etag_matches(tags, &meta.etag) {
            return Ok(false);
        }
    } else if let Some(t) = header("if-modified-since").and_then(http_time)
        && meta.last_modified <= t
    {
        return Ok(false);
    }
    Ok(true)
}

/// Whether a list of entity tags (`"a", "b"`, `*`) names `etag` (compared without quotes and
/// case, as OSS ETags are upper-hex).
fn etag_matches(list: &str, etag: &str) -> bool {
    list.split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || etag_eq(tag.strip_prefix("W/").unwrap_or(tag), etag))
}

/// Two ETags are equal, with or without quotes, in any case.
pub(crate) fn etag_eq(a: &str, b: &str) -> bool {
    a.trim()
        .trim_matches('"')
        .eq_ignore_ascii_case(b.trim().trim_matches('"'))
}

/// An HTTP date as unix seconds.
fn http_time(value: &str) -> Option<i64> {
    let t = httpdate::parse_http_date(value.trim()).ok()?;
    i64::try_from(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs()).ok()
}

#[cfg(test)]
mod tests {
    use super::etag_matches;

    #[test]
    fn etag_lists() {
        assert!(etag_matches("\"ABC\"", "\"abc\""));
        assert!(etag_matches("\"x\", \"ABC\"", "\"ABC\""));
        assert!(etag_matches("*", "\"ABC\""));
        assert!(!etag_matches("\"ABD\"", "\"ABC\""));
    }
}
