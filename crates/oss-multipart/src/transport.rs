//! The transport seam: a one-method trait ([`HttpClient`]) between the client and the network,
//! with the hyper implementation from `oss-transport` ([`HyperClient`]) and an in-memory fake
//! ([`FnTransport`]) that hands each request, fully read, to a closure.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt as _;

pub use oss_transport::{RequestBody, TransportError};

/// The future returned by [`HttpClient::send`].
pub type HttpFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<ResponseBody>, TransportError>> + Send>>;

/// Sends one HTTP request. Knows nothing about OSS: signing and URLs are done before.
///
/// Implemented by [`HyperClient`] (the real network) and [`FnTransport`] (in-memory, for
/// tests and examples). Implementations must not retry: retry policy lives above.
pub trait HttpClient: Send + Sync + fmt::Debug + 'static {
    /// Sends `request` and returns the response once its head has arrived.
    fn send(&self, request: http::Request<RequestBody>) -> HttpFuture;
}

/// A response body: streamed from the connection, or in memory (fakes).
pub struct ResponseBody {
    inner: BodyInner,
}

enum BodyInner {
    Memory(Option<Bytes>),
    Network(oss_transport::ResponseBody),
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            BodyInner::Memory(b) => f
                .debug_struct("ResponseBody")
                .field("memory_len", &b.as_ref().map(Bytes::len))
                .finish(),
            BodyInner::Network(_) => f.debug_struct("ResponseBody").finish_non_exhaustive(),
        }
    }
}

impl ResponseBody {
    /// An in-memory body.
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        Self {
            inner: BodyInner::Memory(Some(bytes.into())),
        }
    }

    /// Wraps a streamed body from `oss-transport`.
    pub fn from_network(body: oss_transport::ResponseBody) -> Self {
        Self {
            inner: BodyInner::Network(body),
        }
    }

    /// The next data chunk, or `None` at the end.
    ///
    /// # Errors
    /// Transport failures while reading (reset, read timeout).
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, TransportError> {
        match &mut self.inner {
            BodyInner::Memory(b) => Ok(b.take().filter(|b| !b.is_empty())),
            BodyInner::Network(n) => n.chunk().await,
        }
    }

    /// The whole remaining body, failing once it exceeds `max_bytes` (network bodies; memory
    /// bodies are returned as they are).
    ///
    /// # Errors
    /// Transport failures, or a body over the bound.
    pub async fn collect_bounded(self, max_bytes: usize) -> Result<Bytes, TransportError> {
        match self.inner {
            BodyInner::Memory(b) => Ok(b.unwrap_or_default()),
            BodyInner::Network(n) => n.collect_bounded(max_bytes).await,
        }
    }
}

/// The real transport: `oss-transport`'s pooled hyper client (HTTP/1.1, rustls).
#[derive(Debug, Clone)]
pub struct HyperClient {
    client: oss_transport::Client,
}

impl HyperClient {
    /// Wraps a configured `oss-transport` client.
    pub fn new(client: oss_transport::Client) -> Self {
        Self { client }
    }
}

impl HttpClient for HyperClient {
    fn send(&self, request: http::Request<RequestBody>) -> HttpFuture {
        let client = self.client.clone();
        Box::pin(async move {
            let resp = client.send(request).await?;
            Ok(resp.map(ResponseBody::from_network))
        })
    }
}

type Handler = dyn Fn(http::Request<Bytes>) -> Pin<Box<dyn Future<Output = http::Response<Bytes>> + Send>>
    + Send
    + Sync;

/// An in-memory transport: each request body is read fully, then the request is handed to an
/// async closure that returns the response. For tests and examples without sockets.
///
/// ```
/// use oss_multipart::transport::FnTransport;
/// let fake = FnTransport::new(|req: http::Request<bytes::Bytes>| async move {
///     assert_eq!(req.method(), http::Method::DELETE);
///     http::Response::builder().status(204).body(bytes::Bytes::new()).unwrap()
/// });
/// # let _ = fake;
/// ```
#[derive(Clone)]
pub struct FnTransport {
    handler: Arc<Handler>,
}

impl fmt::Debug for FnTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnTransport").finish_non_exhaustive()
    }
}

impl FnTransport {
    /// A transport answering with `handler`.
    pub fn new<F, Fut>(handler: F) -> Self
    where
        F: Fn(http::Request<Bytes>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = http::Response<Bytes>> + Send + 'static,
    {
        Self {
            handler: Arc::new(move |req| Box::pin(handler(req))),
        }
    }
}

impl HttpClient for FnTransport {
    fn send(&self, request: http::Request<RequestBody>) -> HttpFuture {
        let handler = self.handler.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let bytes = body.collect().await?.to_bytes();
            let resp = handler(http::Request::from_parts(parts, bytes)).await;
            Ok(resp.map(ResponseBody::from_bytes))
        })
    }
}
