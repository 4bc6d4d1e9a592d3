//! `Client`: sends an `http::Request<RequestBody>` over a shared connection pool, enforcing the timeouts.

use std::fmt;
use std::future::pending;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::capture_connection;
use tokio::time::Instant;

use crate::body::RequestBody;
use crate::builder::ClientBuilder;
use crate::connector::TimeoutConnector;
use crate::error::{Kind, TransportError};
use crate::progress::{Progress, SendBody};
use crate::proxy::{Proxy, ProxyConnector};
use crate::response::ResponseBody;
use crate::retire::{RetireSlowConnections, Retirement};

type Connector = TimeoutConnector<HttpsConnector<ProxyConnector>>;
type HyperClient = hyper_util::client::legacy::Client<Connector, SendBody>;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    pub(crate) read: Option<Duration>,
    pub(crate) request: Option<Duration>,
    /// Extra allowance before the first read deadline, for setting up a connection.
    pub(crate) connect_grace: Duration,
}

/// An HTTP/1.1 client over a pool of keep-alive connections (plain TCP or rustls).
///
/// Cheap to clone: clones share the pool. `Send + Sync`; use it from any number of tasks. Must be used inside
/// a tokio runtime (multi-threaded or current-thread).
#[derive(Clone)]
pub struct Client {
    hyper: HyperClient,
    timeouts: Timeouts,
    https_only: bool,
    proxy: Option<Proxy>,
}

impl Client {
    /// A builder with the defaults described on [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    pub(crate) fn from_parts(
        hyper: HyperClient,
        timeouts: Timeouts,
        https_only: bool,
        proxy: Option<Proxy>,
    ) -> Self {
        Self {
            hyper,
            timeouts,
            https_only,
            proxy,
        }
    }

    /// A clone sharing the pool, with another overall request timeout (e.g. longer for a request the server
    /// takes long to answer).
    pub fn with_request_timeout(&self, timeout: impl Into<Option<Duration>>) -> Self {
        let mut c = self.clone();
        c.timeouts.request = timeout.into();
        c
    }

    /// A clone sharing the pool, with another read (idle) timeout.
    pub fn with_read_timeout(&self, timeout: impl Into<Option<Duration>>) -> Self {
        let mut c = self.clone();
        c.timeouts.read = timeout.into();
        c
    }

    /// Send a request and return the response as soon as its head has arrived, with a streaming body.
    ///
    /// The URI must be absolute (`http://` or `https://` with a host). `Host` is added and `Content-Length` set
    /// from the body when missing. Any status is a success here: interpreting it is the caller's job.
    ///
    /// Cancel safety: dropping the future (or the response body) closes the connection; nothing is retried.
    pub async fn send(
        &self,
        request: Request<RequestBody>,
    ) -> Result<Response<ResponseBody>, TransportError> {
        self.check_uri(request.uri())?;
        let mut request = request;
        // Plain-HTTP requests go to the proxy itself, so they carry its credentials (an HTTPS
        // tunnel sends them once, in its CONNECT).
        if request.uri().scheme_str() == Some("http")
            && let Some((_, Some(auth))) = self.proxy.as_ref().and_then(|p| p.route(request.uri()))
        {
            request
                .headers_mut()
                .insert(http::header::PROXY_AUTHORIZATION, auth);
        }
        let start = Instant::now();
        let deadline = self.timeouts.request.map(|t| start + t);
        let progress = Progress::new(start, self.timeouts.connect_grace);
        let mut request = request.map(|b| SendBody::new(b, progress.clone()));
        let retirement = request
            .extensions()
            .get::<RetireSlowConnections>()
            .cloned()
            .map(|bound| Retirement::new(bound, start, capture_connection(&mut request)));
        let response = self.hyper.request(request);
        let stalled = async {
            match self.timeouts.read {
                Some(t) => progress.stalled(t).await,
                None => pending().await,
            }
        };
        let overall = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => pending().await,
            }
        };
        let result = tokio::select! {
            biased;
            r = response => r.map_err(|e| TransportError::classify(Box::new(e), progress.body_done())),
            () = stalled => Err(TransportError::new(Kind::ReadTimeout).with_body_fully_sent(progress.body_done())),
            () = overall => Err(TransportError::new(Kind::RequestTimeout).with_body_fully_sent(progress.body_done())),
        };
        let response = result?;
        // An upload's time is known once its answer arrives; a download's when its body ends.
        let retirement = retirement.filter(|r| !r.retire_if_slow());
        Ok(response
            .map(|incoming| ResponseBody::new(incoming, self.timeouts.read, deadline, retirement)))
    }

    /// Send a request and read the whole response body into memory, failing with
    /// [`TransportError::is_response_too_large`] if it is longer than `max_bytes` (checked against
    /// `Content-Length` before reading, and while reading).
    pub async fn send_collect(
        &self,
        request: Request<RequestBody>,
        max_bytes: usize,
    ) -> Result<Response<Bytes>, TransportError> {
        let response = self.send(request).await?;
        let declared = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > max_bytes as u64) {
            return Err(
                TransportError::new(Kind::ResponseTooLarge { limit: max_bytes })
                    .with_body_fully_sent(true),
            );
        }
        let (parts, body) = response.into_parts();
        let bytes = body.collect_bounded(max_bytes).await?;
        Ok(Response::from_parts(parts, bytes))
    }

    fn check_uri(&self, uri: &http::Uri) -> Result<(), TransportError> {
        let scheme_ok = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => !self.https_only,
            _ => false,
        };
        if !scheme_ok || uri.host().is_none_or(str::is_empty) {
            return Err(
                TransportError::new(Kind::InvalidRequest).with_source(format!(
                    "unsupported URI (need an absolute http(s) URI{})",
                    if self.https_only { ", https only" } else { "" }
                )),
            );
        }
        Ok(())
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("read_timeout", &self.timeouts.read)
            .field("request_timeout", &self.timeouts.request)
            .field("https_only", &self.https_only)
            .finish_non_exhaustive()
    }
}
