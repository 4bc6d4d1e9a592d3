//! The few HTTP exchanges of the chain (metadata service, STS, credentials URI), with short
//! timeouts so that an absent service fails fast instead of stalling start-up.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use oss_transport::RequestBody;

/// Largest answer read from a credential service (they are a few hundred bytes).
const MAX_ANSWER: usize = 64 * 1024;

/// Connection and answer time limits for one credential service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// TCP (+TLS) connection setup.
    pub connect: Duration,
    /// The whole exchange.
    pub request: Duration,
}

impl Timeouts {
    /// The instance metadata service: 1 s each, as the Alibaba Cloud tools use, so that a
    /// machine outside ECS moves on quickly.
    pub const METADATA: Self = Self {
        connect: Duration::from_secs(1),
        request: Duration::from_secs(1),
    };
    /// STS and credentials URIs: 5 s to connect, 10 s overall.
    pub const REMOTE: Self = Self {
        connect: Duration::from_secs(5),
        request: Duration::from_secs(10),
    };
}

/// One HTTP client with fixed timeouts.
#[derive(Clone)]
pub(crate) struct Http {
    client: oss_transport::Client,
    timeouts: Timeouts,
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http")
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

/// A reply: status and body.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Bytes,
}

impl Reply {
    /// The body as text for error messages, shortened.
    pub(crate) fn body_excerpt(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let text: String = text.chars().take(200).collect();
        text.escape_debug().to_string()
    }
}

impl Http {
    pub(crate) fn new(timeouts: Timeouts) -> Result<Self, String> {
        let builder = oss_transport::Client::builder()
            .connect_timeout(timeouts.connect)
            .read_timeout(timeouts.request)
            .request_timeout(timeouts.request);
        #[cfg(feature = "native-roots")]
        let builder = builder.native_roots(true);
        let client = builder
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self { client, timeouts })
    }

    /// Sends one request; the error text says what failed (never a secret: only the URL's
    /// scheme, host and path are named, and callers put no secret there).
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<Reply, String> {
        let mut builder = Request::builder().method(method).uri(url);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let body = body.map_or_else(RequestBody::empty, RequestBody::from_bytes);
        let request = builder
            .body(body)
            .map_err(|_| format!("invalid request URL {}", redact_query(url)))?;
        match self.client.send_collect(request, MAX_ANSWER).await {
            Ok(resp) => {
                let (parts, body) = resp.into_parts();
                Ok(Reply {
                    status: parts.status,
                    body,
                })
            }
            Err(e) if e.is_timeout() => Err(format!(
                "no answer from {} in {} s",
                redact_query(url),
                self.timeouts.request.as_secs_f32()
            )),
            Err(e) => Err(format!("{} unreachable: {e}", redact_query(url))),
        }
    }
}

/// The URL without its query (which may carry a signature or token).
fn redact_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(base, _)| base)
}
