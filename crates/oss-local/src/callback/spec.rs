//! The callback description a client sends (`x-oss-callback`, base64 JSON), its variables
//! (`x-oss-callback-var`) and the body they produce. Pure: no I/O.
//!
//! What OSS does, in our words: the description names up to five URLs separated by `;`
//! (tried in order until one answers), an optional `Host` header value, a body template, and
//! the body's content type (form-urlencoded by default, or JSON). `${name}` in the template is
//! replaced by a system value (`bucket`, `object`, `etag`, `size`, `mimeType`, `crc64`,
//! `contentMd5`, `operation`) or a custom one (`x:name`, from the variables). In a form body
//! values are percent-encoded; in a JSON body strings become JSON strings and `size` and
//! `crc64` numbers. An unknown name becomes an empty value.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use super::CallbackTarget;
use crate::error::OssError;

/// Most URLs one description may name.
const MAX_URLS: usize = 5;

/// Characters a form value keeps unencoded (the unreserved set).
const FORM_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// How the body is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyType {
    Form,
    Json,
}

impl BodyType {
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Self::Form => "application/x-www-form-urlencoded",
            Self::Json => "application/json",
        }
    }
}

/// One callback URL, already checked against the allow list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Url {
    /// Host as written (brackets of an IPv6 literal removed).
    pub(crate) host: String,
    pub(crate) port: u16,
    /// Path and query, `/` when empty.
    pub(crate) path: String,
    /// Where to connect instead of resolving `host` (`--callback-allow HOST=ADDR:PORT`).
    pub(crate) connect_to: Option<std::net::SocketAddr>,
}

impl Url {
    /// `host[:port]` as it goes in a `Host` header.
    pub(crate) fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 80 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// A validated callback description.
#[derive(Clone, Debug)]
pub(crate) struct Spec {
    pub(crate) urls: Vec<Url>,
    /// The `Host` header to send (`callbackHost`), else each URL's authority.
    pub(crate) host: Option<String>,
    template: String,
    pub(crate) body_type: BodyType,
    vars: Vec<(String, String)>,
}

/// What the body template may refer to, for one stored object.
#[derive(Clone, Debug, Default)]
pub(crate) struct Facts {
    pub(crate) bucket: String,
    pub(crate) object: String,
    /// Without quotes.
    pub(crate) etag: String,
    pub(crate) size: u64,
    pub(crate) mime_type: String,
    pub(crate) crc64: u64,
    /// Base64 MD5 of the object, when known (single PUT).
    pub(crate) content_md5: Option<String>,
    /// `PutObject` or `CompleteMultipartUpload`.
    pub(crate) operation: &'static str,
}

fn invalid(message: &str, value: &str) -> OssError {
    OssError::invalid_argument(message, "callback", value)
}

fn not_json() -> OssError {
    invalid("The callback configuration is not json format.", "")
}

fn decode_json(encoded: &str, what: &str) -> Result<Value, OssError> {
    let bytes = B64.decode(encoded.trim()).map_err(|_| {
        invalid(
            &format!("The {what} is not base64 encoded."),
            &truncate(encoded),
        )
    })?;
    serde_json::from_slice(&bytes).map_err(|_| not_json())
}

fn truncate(value: &str) -> String {
    value.chars().take(64).collect()
}

impl Spec {
    /// Reads the base64 description and variables; refuses a malformed one, a URL that is not
    /// plain `http`, and a target outside `allow` (empty: loopback only).
    pub(crate) fn parse(
        callback: &str,
        vars: Option<&str>,
        allow: &[CallbackTarget],
    ) -> Result<Self, OssError> {
        let Value::Object(doc) = decode_json(callback, "callback")? else {
            return Err(not_json());
        };
        let text = |name: &str| -> Result<Option<String>, OssError> {
            match doc.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(invalid(
                    &format!("The callback field {name} must be a string."),
                    "",
                )),
            }
        };
        let raw_urls = text("callbackUrl")?.unwrap_or_default();
        let mut urls = Vec::new();
        for raw in raw_urls.split(';').map(str::trim).filter(|u| !u.is_empty()) {
            urls.push(parse_url(raw, allow)?);
        }
        if urls.is_empty() {
            return Err(
                invalid("The callbackUrl of the callback is empty.", "").ec("0007-00000004")
            );
        }
        if urls.len() > MAX_URLS {
            return Err(invalid(
                "The callbackUrl of the callback names more than 5 URLs.",
                &truncate(&raw_urls),
            )
            .ec("0007-00000004"));
        }
        let Some(template) = text("callbackBody")?.filter(|b| !b.is_empty()) else {
            return Err(invalid("The callbackBody of the callback is empty.", ""));
        };
        let body_type = match text("callbackBodyType")?.as_deref().map(str::trim) {
            None | Some("") => BodyType::Form,
            Some(t) if t.eq_ignore_ascii_case(BodyType::Form.content_type()) => BodyType::Form,
            Some(t) if t.eq_ignore_ascii_case(BodyType::Json.content_type()) => BodyType::Json,
            Some(other) => {
                return Err(invalid(
                    "The callbackBodyType must be application/x-www-form-urlencoded or \
                     application/json.",
                    &truncate(other),
                ));
            }
        };
        let host = text("callbackHost")?.filter(|h| !h.trim().is_empty());
        let vars = match vars {
            None => Vec::new(),
            Some(encoded) => match decode_json(encoded, "callback-var")? {
                Value::Object(map) => map
                    .into_iter()
                    .filter(|(k, _)| k.starts_with("x:"))
                    .map(|(k, v)| match v {
                        Value::String(s) => (k, s),
                        other => (k, other.to_string()),
                    })
                    .collect(),
                _ => return Err(not_json()),
            },
        };
        let spec = Self {
            urls,
            host,
            template,
            body_type,
            vars,
        };
        // A JSON template must still be JSON once filled in; check it now, before anything is
        // stored, with stand-in values of the right types.
        if body_type == BodyType::Json
            && serde_json::from_str::<Value>(&spec.render(&Facts::default())).is_err()
        {
            return Err(not_json());
        }
        Ok(spec)
    }

    /// The body to POST for `facts`.
    pub(crate) fn render(&self, facts: &Facts) -> String {
        let mut out = String::with_capacity(self.template.len());
        let mut rest = self.template.as_str();
        while let Some(start) = rest.find("${") {
            let Some(len) = rest[start + 2..].find('}') else {
                break;
            };
            out.push_str(&rest[..start]);
            let name = &rest[start + 2..start + 2 + len];
            out.push_str(&self.value(name, facts));
            rest = &rest[start + 3 + len..];
        }
        out.push_str(rest);
        out
    }

    fn value(&self, name: &str, facts: &Facts) -> String {
        enum V<'a> {
            Text(&'a str),
            Number(u64),
        }
        let value = match name {
            "bucket" => V::Text(&facts.bucket),
            "object" => V::Text(&facts.object),
            "etag" => V::Text(&facts.etag),
            "size" => V::Number(facts.size),
            "mimeType" => V::Text(&facts.mime_type),
            "crc64" => V::Number(facts.crc64),
            "contentMd5" => V::Text(facts.content_md5.as_deref().unwrap_or_default()),
            "operation" => V::Text(facts.operation),
            custom => V::Text(
                self.vars
                    .iter()
                    .find(|(k, _)| k == custom)
                    .map_or("", |(_, v)| v.as_str()),
            ),
        };
        match (self.body_type, value) {
            (_, V::Number(n)) => n.to_string(),
            (BodyType::Form, V::Text(s)) => utf8_percent_encode(s, FORM_VALUE).to_string(),
            (BodyType::Json, V::Text(s)) => Value::String(s.to_owned()).to_string(),
        }
    }
}

/// `http://host[:port][/path]`, or the same without a scheme.
fn parse_url(raw: &str, allow: &[CallbackTarget]) -> Result<Url, OssError> {
    let bad = || {
        invalid(
            "The callbackUrl of the callback is not a valid URL.",
            &truncate(raw),
        )
        .ec("0007-00000004")
    };
    let with_scheme = if raw.contains("://") {
        raw.to_owned()
    } else {
        format!("http://{raw}")
    };
    let uri: http::Uri = with_scheme.parse().map_err(|_| bad())?;
    match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("http") => {}
        Some(s) if s.eq_ignore_ascii_case("https") => {
            return Err(OssError::not_implemented("Callbacks to https URLs"));
        }
        _ => return Err(bad()),
    }
    let authority = uri.authority().ok_or_else(bad)?;
    if authority.as_str().contains('@') {
        return Err(bad());
    }
    // `Uri` takes any text after the last `:` as a port; OSS wants a number.
    let port = match authority.as_str().rsplit_once(':') {
        Some((_, port)) if !port.ends_with(']') => port.parse::<u16>().map_err(|_| bad())?,
        _ => 80,
    };
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    if host.is_empty() {
        return Err(bad());
    }
    let mut url = Url {
        host,
        port,
        path: uri.path_and_query().map_or("/", |p| p.as_str()).to_owned(),
        connect_to: None,
    };
    let Some(connect_to) = super::allowed(&url, allow) else {
        return Err(invalid(
            "The callbackUrl names a host this oss-local may not call (see --callback-allow).",
            &truncate(raw),
        )
        .ec("0007-00000004"));
    };
    url.connect_to = connect_to;
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(json: &str) -> String {
        B64.encode(json)
    }

    fn facts() -> Facts {
        Facts {
            bucket: "b".into(),
            object: "dir/a b&c.txt".into(),
            etag: "ABC".into(),
            size: 42,
            mime_type: "text/plain".into(),
            crc64: 18_000_000_000_000_000_000,
            content_md5: Some("bWQ1".into()),
            operation: "PutObject",
        }
    }

    #[test]
    fn form_body_is_percent_encoded() {
        let spec = Spec::parse(
            &b64(r#"{"callbackUrl":"127.0.0.1:9/cb?q=1","callbackBody":"o=${object}&s=${size}&e=${etag}&m=${mimeType}&v=${x:v}&c=${crc64}&u=${nope}&d=${contentMd5}&b=${bucket}&p=${operation}"}"#),
            Some(&b64(r#"{"x:v":"é&=","y":"ignored"}"#)),
            &[],
        )
        .unwrap();
        assert_eq!(spec.body_type, BodyType::Form);
        assert_eq!(
            spec.urls,
            [Url {
                host: "127.0.0.1".into(),
                port: 9,
                path: "/cb?q=1".into(),
                connect_to: None,
            }]
        );
        assert_eq!(
            spec.render(&facts()),
            "o=dir%2Fa%20b%26c.txt&s=42&e=ABC&m=text%2Fplain&v=%C3%A9%26%3D\
             &c=18000000000000000000&u=&d=bWQ1&b=b&p=PutObject"
        );
    }

    #[test]
    fn json_body_quotes_strings() {
        let spec = Spec::parse(
            &b64(r#"{"callbackUrl":"http://localhost/","callbackBody":"{\"o\":${object},\"s\":${size},\"v\":${x:v}}","callbackBodyType":"application/json"}"#),
            Some(&b64(r#"{"x:v":"q\"uote"}"#)),
            &[],
        )
        .unwrap();
        let body: Value = serde_json::from_str(&spec.render(&facts())).unwrap();
        assert_eq!(body["o"], "dir/a b&c.txt");
        assert_eq!(body["s"], 42);
        assert_eq!(body["v"], "q\"uote");
    }

    #[test]
    fn bad_descriptions_are_refused() {
        let code = |cb: &str| match Spec::parse(&b64(cb), None, &[]) {
            Ok(_) => panic!("accepted {cb}"),
            Err(e) => e.code().to_owned(),
        };
        assert_eq!(code("not json"), "InvalidArgument");
        assert_eq!(code(r#"{"callbackBody":"x"}"#), "InvalidArgument");
        assert_eq!(
            code(r#"{"callbackUrl":"http://127.0.0.1/"}"#),
            "InvalidArgument"
        );
        assert_eq!(
            code(r#"{"callbackUrl":"http://127.0.0.1:x/","callbackBody":"a"}"#),
            "InvalidArgument"
        );
        assert_eq!(
            code(
                r#"{"callbackUrl":"http://127.0.0.1/","callbackBody":"a","callbackBodyType":"text/xml"}"#
            ),
            "InvalidArgument"
        );
        assert_eq!(
            code(
                r#"{"callbackUrl":"http://127.0.0.1/","callbackBody":"{${object}","callbackBodyType":"application/json"}"#
            ),
            "InvalidArgument"
        );
        assert_eq!(
            code(r#"{"callbackUrl":"http://10.0.0.1/","callbackBody":"a"}"#),
            "InvalidArgument"
        );
        assert_eq!(
            code(r#"{"callbackUrl":"https://127.0.0.1/","callbackBody":"a"}"#),
            "NotImplemented"
        );
        assert_eq!(
            code(r#"{"callbackUrl":"a;b;c;d;e;127.0.0.1","callbackBody":"a"}"#),
            "InvalidArgument"
        );
        assert!(Spec::parse("%%%", None, &[]).is_err());
    }

    #[test]
    fn allow_list_replaces_loopback() {
        let allow: Vec<CallbackTarget> = vec!["cb.example:8080".parse().unwrap()];
        let cb = |url: &str| b64(&format!(r#"{{"callbackUrl":"{url}","callbackBody":"a"}}"#));
        assert!(Spec::parse(&cb("http://cb.example:8080/x"), None, &allow).is_ok());
        assert!(Spec::parse(&cb("http://CB.example:8080/x"), None, &allow).is_ok());
        assert!(Spec::parse(&cb("http://cb.example/x"), None, &allow).is_err());
        assert!(Spec::parse(&cb("http://127.0.0.1:8080/x"), None, &allow).is_err());
        assert!(Spec::parse(&cb("http://[::1]:7/x"), None, &[]).is_ok());
        assert!(Spec::parse(&cb("http://127.3.4.5/x"), None, &[]).is_ok());
        assert!(Spec::parse(&cb("http://user@127.0.0.1/x"), None, &[]).is_err());
    }
}
