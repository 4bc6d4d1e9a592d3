//! A connector wrapper that bounds the whole connection setup (DNS, TCP and TLS handshake) by one timeout.
//!
//! hyper-util's `HttpConnector` timeout covers TCP only; a server that accepts but never finishes the TLS
//! handshake would otherwise hang until the read timeout.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use tower_service::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone)]
pub(crate) struct TimeoutConnector<C> {
    inner: C,
    timeout: Option<Duration>,
}

impl<C> TimeoutConnector<C> {
    pub(crate) fn new(inner: C, timeout: Option<Duration>) -> Self {
        Self { inner, timeout }
    }
}

impl<C> Service<Uri> for TimeoutConnector<C>
where
    C: Service<Uri> + Send,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let fut = self.inner.call(uri);
        let timeout = self.timeout;
        Box::pin(async move {
            match timeout {
                None => fut.await.map_err(Into::into),
                Some(t) => match tokio::time::timeout(t, fut).await {
                    Ok(r) => r.map_err(Into::into),
                    // `TimedOut` is what the error classifier reads as a connect timeout.
                    Err(_) => Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "connect timed out",
                    )
                    .into()),
                },
            }
        })
    }
}
