//! HTTP(S) proxies: which requests go through one (hyper-util's curl-compatible matcher), and
//! the connection to it: a `CONNECT` tunnel for `https` targets (TLS then runs end to end
//! through it), a plain connection with absolute-form requests for `http` targets.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderValue, Uri};
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

use crate::builder::BuildError;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Which requests use a proxy, with curl's rules.
///
/// [`Proxy::from_env`] reads `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (upper or
/// lower case); [`Proxy::all`] sends every request through one URL, and
/// [`Proxy::all_except`] all but those to some hosts. Basic credentials in the proxy URL (`http://user:pass@proxy:3128`)
/// are sent as `Proxy-Authorization`. `NO_PROXY` holds host names (matching their
/// sub-domains too), IP addresses or networks (`10.0.0.0/8`), or `*`.
#[derive(Clone)]
pub struct Proxy {
    matcher: Arc<Matcher>,
}

impl fmt::Debug for Proxy {
    // The matcher's Debug would show credentials of the proxy URL.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy").finish_non_exhaustive()
    }
}

impl Proxy {
    /// The proxy settings of the process environment, read now.
    pub fn from_env() -> Self {
        Self {
            matcher: Arc::new(Matcher::from_env()),
        }
    }

    /// Every request through `url` (`http://[user:pass@]host:port`).
    ///
    /// # Errors
    /// When `url` is not an `http` URL with a host.
    pub fn all(url: &str) -> Result<Self, BuildError> {
        Self::all_except(url, "")
    }

    /// Every request through `url`, except those to the hosts of `no_proxy` (as `NO_PROXY`).
    ///
    /// # Errors
    /// When `url` is not an `http` URL with a host.
    pub fn all_except(url: &str, no_proxy: &str) -> Result<Self, BuildError> {
        let uri: Uri = url
            .parse()
            .map_err(|_| BuildError::new("the proxy is not a valid URL"))?;
        if uri.scheme_str() != Some("http") || uri.host().is_none_or(str::is_empty) {
            return Err(BuildError::new(
                "the proxy must be an http:// URL with a host (HTTPS is tunnelled through it with CONNECT)",
            ));
        }
        let matcher = Matcher::builder()
            .all(url.to_owned())
            .no(no_proxy.to_owned())
            .build();
        Ok(Self {
            matcher: Arc::new(matcher),
        })
    }

    /// The proxy for `uri` and its `Proxy-Authorization`, if it is proxied.
    pub(crate) fn route(&self, uri: &Uri) -> Option<(Uri, Option<HeaderValue>)> {
        let i = self.matcher.intercept(uri)?;
        Some((i.uri().clone(), i.basic_auth().cloned()))
    }
}

/// A TCP connector that honours a [`Proxy`]; hyper-rustls wraps it for TLS.
#[derive(Clone)]
pub(crate) struct ProxyConnector {
    http: HttpConnector,
    proxy: Option<Proxy>,
}

impl ProxyConnector {
    pub(crate) fn new(http: HttpConnector, proxy: Option<Proxy>) -> Self {
        Self { http, proxy }
    }
}

impl Service<Uri> for ProxyConnector {
    type Response = ProxyStream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<ProxyStream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let route = self.proxy.as_ref().and_then(|p| p.route(&dst));
        let mut http = self.http.clone();
        Box::pin(async move {
            let (io, via_proxy) = match route {
                None => (http.call(dst).await?, false),
                Some((proxy, auth)) if dst.scheme_str() == Some("https") => {
                    let mut tunnel = Tunnel::new(proxy, http);
                    if let Some(auth) = auth {
                        tunnel = tunnel.with_auth(auth);
                    }
                    // TLS is set up end to end inside the tunnel: the proxy sees no request.
                    (tunnel.call(dst).await?, false)
                }
                Some((proxy, _)) => (http.call(proxy).await?, true),
            };
            Ok(ProxyStream { io, via_proxy })
        })
    }
}

/// A connection, marked when plain-HTTP requests on it must use the absolute form for a proxy.
pub(crate) struct ProxyStream {
    io: TokioIo<TcpStream>,
    via_proxy: bool,
}

impl Connection for ProxyStream {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.via_proxy)
    }
}

impl Read for ProxyStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl Write for ProxyStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
}
