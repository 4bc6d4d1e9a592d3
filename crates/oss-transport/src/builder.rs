//! `ClientBuilder`: timeouts, pool and TLS options, validated once in `build`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::ClientConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

use crate::client::{Client, Timeouts};
use crate::connector::TimeoutConnector;
use crate::proxy::{Proxy, ProxyConnector};
use crate::tls::TlsOptions;

/// Builds a [`Client`]. Get one with [`Client::builder`].
///
/// Defaults: connect timeout 10 s, read (idle) timeout 30 s, no overall request timeout, idle pooled
/// connections kept 90 s (at most 32 per host), TCP keep-alive 60 s, `TCP_NODELAY` on, plain `http` allowed,
/// TLS trusting the compiled-in webpki roots with the first compiled-in crypto provider.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    timeouts: Timeouts,
    connect_timeout: Option<Duration>,
    pool_idle_timeout: Option<Duration>,
    pool_max_idle_per_host: usize,
    tcp_keepalive: Option<Duration>,
    https_only: bool,
    tls: TlsOptions,
    proxy: Option<Proxy>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            timeouts: Timeouts {
                read: Some(Duration::from_secs(30)),
                request: None,
                connect_grace: Duration::ZERO,
            },
            connect_timeout: Some(Duration::from_secs(10)),
            pool_idle_timeout: Some(Duration::from_secs(90)),
            pool_max_idle_per_host: 32,
            tcp_keepalive: Some(Duration::from_secs(60)),
            https_only: false,
            tls: TlsOptions::default(),
            proxy: None,
        }
    }
}

impl ClientBuilder {
    /// Bound on connection setup: DNS, TCP connect and TLS handshake together. `None` disables it.
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.connect_timeout = timeout.into();
        self
    }

    /// Bound on inactivity: the longest time with no request body chunk taken by the connection and no response
    /// byte received. A stalled server fails the request with [`TransportError::is_timeout`]. The first wait also
    /// allows for the connect timeout, as a new connection may have to be set up. `None` disables it.
    ///
    /// [`TransportError::is_timeout`]: crate::TransportError::is_timeout
    pub fn read_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.timeouts.read = timeout.into();
        self
    }

    /// Bound on the whole exchange, from `send` to the end of the response body (also for streamed bodies of
    /// [`Client::send`]). `None` (the default) disables it. Can be changed per clone with
    /// [`Client::with_request_timeout`].
    pub fn request_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.timeouts.request = timeout.into();
        self
    }

    /// How long an idle pooled connection is kept. `None` keeps it until the server closes it.
    pub fn pool_idle_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.pool_idle_timeout = timeout.into();
        self
    }

    /// Most idle connections kept per host (set it at least to the upload concurrency).
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.pool_max_idle_per_host = max;
        self
    }

    /// TCP keep-alive probe interval. `None` disables probes.
    pub fn tcp_keepalive(mut self, interval: impl Into<Option<Duration>>) -> Self {
        self.tcp_keepalive = interval.into();
        self
    }

    /// Refuse plain `http` URIs ([`TransportError::is_invalid_request`](crate::TransportError::is_invalid_request)).
    pub fn https_only(mut self, yes: bool) -> Self {
        self.https_only = yes;
        self
    }

    /// Send requests through an HTTP proxy, as [`Proxy`] decides per request (`None`, the
    /// default, connects directly whatever the environment says: use [`Proxy::from_env`] for
    /// curl's `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`/`NO_PROXY`).
    pub fn proxy(mut self, proxy: impl Into<Option<Proxy>>) -> Self {
        self.proxy = proxy.into();
        self
    }

    /// Trust this certificate (DER) in addition to the other root sources, e.g. a test server's self-signed
    /// certificate or a private CA.
    pub fn add_root_certificate(mut self, cert: CertificateDer<'static>) -> Self {
        self.tls.extra_roots.push(cert);
        self
    }

    /// Trust every certificate in a PEM bundle in addition to the other root sources.
    pub fn add_root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, BuildError> {
        let before = self.tls.extra_roots.len();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert =
                cert.map_err(|e| BuildError::new("invalid PEM certificate").with_source(e))?;
            self.tls.extra_roots.push(cert);
        }
        if self.tls.extra_roots.len() == before {
            return Err(BuildError::new("no certificate found in PEM"));
        }
        Ok(self)
    }

    /// Use this rustls configuration as is, ignoring the other TLS options (roots, provider). Its ALPN list is
    /// replaced by `http/1.1`, the only protocol this client speaks.
    pub fn tls_config(mut self, config: ClientConfig) -> Self {
        self.tls.config = Some(config);
        self
    }

    /// Use this crypto provider instead of the default (the process default if one was installed, else
    /// aws-lc-rs, else ring, among the compiled-in ones).
    pub fn tls_crypto_provider(mut self, provider: Arc<CryptoProvider>) -> Self {
        self.tls.provider = Some(provider);
        self
    }

    /// Shortcut for [`tls_crypto_provider`](Self::tls_crypto_provider) with rustls' aws-lc-rs provider.
    #[cfg(feature = "aws-lc-rs")]
    pub fn tls_provider_aws_lc_rs(self) -> Self {
        self.tls_crypto_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
    }

    /// Shortcut for [`tls_crypto_provider`](Self::tls_crypto_provider) with rustls' ring provider.
    #[cfg(feature = "ring")]
    pub fn tls_provider_ring(self) -> Self {
        self.tls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
    }

    /// Whether to trust the Mozilla roots compiled in by the `webpki-roots` feature (default: yes).
    #[cfg(feature = "webpki-roots")]
    pub fn webpki_roots(mut self, yes: bool) -> Self {
        self.tls.webpki_roots = yes;
        self
    }

    /// Whether to trust the operating system's roots, loaded at `build` (default: no).
    #[cfg(feature = "native-roots")]
    pub fn native_roots(mut self, yes: bool) -> Self {
        self.tls.native_roots = yes;
        self
    }

    /// Check the options and build the client. Needs no runtime, but the client must be used inside a tokio
    /// runtime.
    pub fn build(self) -> Result<Client, BuildError> {
        let tls = self.tls.into_client_config()?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_keepalive(self.tcp_keepalive);
        // The TCP-only timeout stays off: `TimeoutConnector` bounds TCP and TLS together.
        http.set_connect_timeout(None);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(ProxyConnector::new(http, self.proxy.clone()));
        let connector = TimeoutConnector::new(https, self.connect_timeout);
        let hyper = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(self.pool_idle_timeout)
            .pool_max_idle_per_host(self.pool_max_idle_per_host)
            .build(connector);
        let timeouts = Timeouts {
            connect_grace: self.connect_timeout.unwrap_or(Duration::ZERO),
            ..self.timeouts
        };
        Ok(Client::from_parts(
            hyper,
            timeouts,
            self.https_only,
            self.proxy,
        ))
    }
}

/// Why [`ClientBuilder::build`] (or a fallible builder step) failed: bad certificates, no crypto provider, no
/// trusted roots.
#[derive(Debug)]
pub struct BuildError {
    message: &'static str,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl BuildError {
    pub(crate) fn new(message: &'static str) -> Self {
        Self {
            message,
            source: None,
        }
    }

    pub(crate) fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        self.source = Some(source.into());
        self
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
