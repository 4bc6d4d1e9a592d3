//! Upload callbacks on PutObject and CompleteMultipartUpload.
//!
//! A request asks for one with `x-oss-callback` (and `x-oss-callback-var`), or with the
//! `callback` / `callback-var` query parameters of a presigned URL. The life of a callback:
//! 1. [`from_request`] reads and validates the description before the operation changes
//!    anything: a malformed one, or a URL outside the allow list, is `400 InvalidArgument`
//!    and nothing is stored;
//! 2. the operation stores the object as usual;
//! 3. [`finish`] fills in the body, POSTs it to each URL in turn until one answers `200` with
//!    JSON, and turns the operation's answer into OSS's: `200` with the callback server's
//!    body, or `203 CallbackFailed` when no URL succeeded. Either way the object is kept.
//!
//! The allow list ([`CallbackTarget`], `--callback-allow`) keeps the server from being used
//! to reach other hosts: without it only loopback addresses are called. Unlike OSS, the
//! callback request is not signed (OSS signs it with an RSA key whose public half it serves
//! from its own hosts) and only plain `http` URLs are supported.

mod send;
mod spec;

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use http::{HeaderValue, Response, StatusCode};

use crate::body::{RespBody, full};
use crate::config::Config;
use crate::error::OssError;
use crate::service::{OpResult, Req};

pub(crate) use spec::Facts;
use spec::{Spec, Url};

/// A host (and optionally a port) that callbacks may be sent to: `HOST[:PORT]`
/// (`--callback-allow`, repeatable). An IPv6 address is written in brackets with a port
/// (`[::1]:8080`). `HOST[:PORT]=ADDR:PORT` also says where to connect instead of resolving
/// `HOST` (as `curl --resolve` does): a test can use a callback URL naming any host and have
/// it reach a local address, without any name lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallbackTarget {
    /// Host name or IP address, lower case, without brackets.
    pub host: String,
    /// The only port allowed, or any port.
    pub port: Option<u16>,
    /// Where to connect instead of resolving `host`.
    pub connect_to: Option<SocketAddr>,
}

impl CallbackTarget {
    /// Callbacks to `host` on any port.
    pub fn host(host: impl Into<String>) -> Self {
        Self {
            host: host.into().to_ascii_lowercase(),
            port: None,
            connect_to: None,
        }
    }

    /// Callbacks to `host` on `port` only.
    pub fn host_port(host: impl Into<String>, port: u16) -> Self {
        Self {
            port: Some(port),
            ..Self::host(host)
        }
    }

    /// Connects to `addr` instead of resolving the host.
    pub fn connecting_to(mut self, addr: SocketAddr) -> Self {
        self.connect_to = Some(addr);
        self
    }

    fn matches(&self, url: &Url) -> bool {
        self.host == url.host && self.port.is_none_or(|p| p == url.port)
    }
}

impl fmt::Display for CallbackTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(port) => write!(f, "{host}:{port}")?,
            None => f.write_str(&host)?,
        }
        match self.connect_to {
            Some(addr) => write!(f, "={addr}"),
            None => Ok(()),
        }
    }
}

/// `HOST`, `HOST:PORT`, `[IPV6]:PORT` or a bare IPv6 address, optionally followed by
/// `=ADDR:PORT`.
impl std::str::FromStr for CallbackTarget {
    type Err = crate::config::ConfigError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let bad = || {
            crate::config::ConfigError::invalid(
                "--callback-allow",
                value,
                "HOST or HOST:PORT (IPv6: [ADDR]:PORT), optionally =ADDR:PORT",
            )
        };
        let (value, connect_to) = match value.trim().split_once('=') {
            Some((target, addr)) => (target, Some(addr.parse().map_err(|_| bad())?)),
            None => (value.trim(), None),
        };
        let (host, port) = if let Some(rest) = value.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(bad)?;
            match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None if after.is_empty() => (host, None),
                None => return Err(bad()),
            }
        } else if value.parse::<IpAddr>().is_ok() {
            (value, None)
        } else {
            match value.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (value, None),
            }
        };
        if host.is_empty() || host.contains(['/', '@', ' ']) {
            return Err(bad());
        }
        let port = port
            .map(|p| p.parse::<u16>().map_err(|_| bad()))
            .transpose()?;
        Ok(Self {
            host: host.to_ascii_lowercase(),
            port,
            connect_to,
        })
    }
}

/// Whether `url` may be called (`None`: not), and where to connect instead of resolving its
/// host: it matches an entry of `allow`, or `allow` is empty and the host is a loopback
/// address or `localhost`.
fn allowed(url: &Url, allow: &[CallbackTarget]) -> Option<Option<SocketAddr>> {
    if allow.is_empty() {
        let loopback =
            url.host == "localhost" || url.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        return loopback.then_some(None);
    }
    allow.iter().find(|t| t.matches(url)).map(|t| t.connect_to)
}

/// The callback a request asks for, validated, or `None`.
pub(crate) fn from_request(req: &Req, config: &Config) -> Result<Option<Spec>, OssError> {
    let header = req.h("x-oss-callback").filter(|v| !v.trim().is_empty());
    let query = req.q("callback").filter(|v| !v.trim().is_empty());
    let (callback, vars) = match (header, query) {
        (Some(_), Some(_)) => {
            return Err(OssError::invalid_argument(
                "The callback is given both as the x-oss-callback header and as the callback \
                 query parameter; give one.",
                "callback",
                "",
            )
            .ec("0007-00000027"));
        }
        (Some(h), None) => (h, req.h("x-oss-callback-var")),
        (None, Some(q)) => (q, req.q("callback-var")),
        (None, None) => {
            // Variables without a callback: the client expects a callback that would never
            // happen, so say so rather than store silently.
            if req.h("x-oss-callback-var").is_some() || req.has_q("callback-var") {
                return Err(OssError::invalid_argument(
                    "Callback variables were given without a callback.",
                    "callback-var",
                    "",
                ));
            }
            return Ok(None);
        }
    };
    let vars = vars.filter(|v| !v.trim().is_empty());
    Spec::parse(callback, vars, &config.callback_allow).map(Some)
}

/// Headers of the operation's answer that a `203` keeps (the object was stored).
const KEPT_ON_FAILURE: &[&str] = &[
    "etag",
    "x-oss-hash-crc64ecma",
    "content-md5",
    "x-oss-version-id",
    "x-oss-server-side-encryption",
    "x-oss-server-side-encryption-key-id",
    "x-oss-server-side-data-encryption",
];

/// Runs the callback after the object was stored and shapes the answer (see the module doc).
pub(crate) async fn finish(
    config: &Config,
    spec: Option<Spec>,
    facts: &Facts,
    mut response: Response<RespBody>,
) -> OpResult {
    let Some(spec) = spec else {
        return Ok(response);
    };
    let body = spec.render(facts);
    let mut reasons = Vec::new();
    for url in &spec.urls {
        let host = spec.host.clone().unwrap_or_else(|| url.authority());
        match send::post(
            url,
            &host,
            spec.body_type.content_type(),
            body.clone(),
            config.callback_timeout,
        )
        .await
        {
            Ok(reply) => {
                *response.status_mut() = StatusCode::OK;
                response.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                response.headers_mut().remove(http::header::CONTENT_LENGTH);
                *response.body_mut() = full(reply);
                return Ok(response);
            }
            Err(send::Failure(reason)) => reasons.push(reason),
        }
    }
    let mut err = OssError::callback_failed(&reasons.join(" "));
    for name in KEPT_ON_FAILURE {
        if let Some(value) = response.headers().get(*name).and_then(|v| v.to_str().ok()) {
            err = err.with_header(name, value.to_owned());
        }
    }
    Err(err.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_print() {
        for (text, host, port) in [
            ("127.0.0.1", "127.0.0.1", None),
            ("Cb.Example:8080", "cb.example", Some(8080)),
            ("[::1]:9", "::1", Some(9)),
            ("[::1]", "::1", None),
            ("::1", "::1", None),
        ] {
            let t: CallbackTarget = text.parse().unwrap();
            assert_eq!((t.host.as_str(), t.port), (host, port), "{text}");
            assert_eq!(t.to_string().parse::<CallbackTarget>().unwrap(), t);
        }
        let mapped: CallbackTarget = "cb.example=127.0.0.1:9".parse().unwrap();
        assert_eq!(
            mapped,
            CallbackTarget::host("cb.example").connecting_to(SocketAddr::from(([127, 0, 0, 1], 9)))
        );
        assert_eq!(mapped.to_string(), "cb.example=127.0.0.1:9");
        for bad in [
            "",
            "a:b",
            "a:70000",
            "[::1",
            "a/b",
            "u@h",
            "a=b",
            "a=127.0.0.1",
        ] {
            assert!(bad.parse::<CallbackTarget>().is_err(), "{bad}");
        }
    }
}
