//! Building the rustls client configuration from the builder's TLS options.
//!
//! The crypto provider is chosen at run time (explicit choice, else the process default, else the first
//! compiled-in provider), so enabling both `aws-lc-rs` and `ring` is harmless.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use crate::builder::BuildError;

#[derive(Debug, Clone)]
pub(crate) struct TlsOptions {
    pub(crate) config: Option<ClientConfig>,
    pub(crate) provider: Option<Arc<CryptoProvider>>,
    pub(crate) extra_roots: Vec<CertificateDer<'static>>,
    #[cfg(feature = "webpki-roots")]
    pub(crate) webpki_roots: bool,
    #[cfg(feature = "native-roots")]
    pub(crate) native_roots: bool,
}

#[allow(clippy::derivable_impls)] // derivable only when the `webpki-roots` feature is off
impl Default for TlsOptions {
    fn default() -> Self {
        Self {
            config: None,
            provider: None,
            extra_roots: Vec::new(),
            // A compiled-in root source is used unless switched off; native roots are opt-in per client too,
            // because loading them reads the system store (slow, and can differ between machines).
            #[cfg(feature = "webpki-roots")]
            webpki_roots: true,
            #[cfg(feature = "native-roots")]
            native_roots: false,
        }
    }
}

impl TlsOptions {
    pub(crate) fn into_client_config(self) -> Result<ClientConfig, BuildError> {
        if let Some(mut config) = self.config {
            // The connector sets ALPN from the enabled HTTP versions (and panics if it is preset): whatever the
            // caller listed, this client speaks HTTP/1.1 only.
            config.alpn_protocols.clear();
            return Ok(config);
        }
        let provider = match self.provider {
            Some(p) => p,
            None => default_provider().ok_or_else(|| BuildError::new("no TLS crypto provider: enable the `aws-lc-rs` or `ring` feature, install a process default, or pass one"))?,
        };
        let mut roots = RootCertStore::empty();
        #[cfg(feature = "webpki-roots")]
        if self.webpki_roots {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        #[cfg(feature = "native-roots")]
        if self.native_roots {
            add_native_roots(&mut roots)?;
        }
        for cert in self.extra_roots {
            roots
                .add(cert)
                .map_err(|e| BuildError::new("invalid root certificate").with_source(e))?;
        }
        // No roots at all is allowed: such a client serves plain `http` and fails every TLS handshake with
        // `is_tls()`, which says more at the failing request than a build error would for an `http`-only user.
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| {
                BuildError::new("TLS provider supports no safe protocol version").with_source(e)
            })?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(config)
    }
}

/// The process-wide default if one was installed, else the compiled-in providers in order of preference.
fn default_provider() -> Option<Arc<CryptoProvider>> {
    if let Some(p) = CryptoProvider::get_default() {
        return Some(p.clone());
    }
    compiled_providers().first().map(|make| Arc::new(make()))
}

#[allow(unused_mut, clippy::vec_init_then_push)] // which pushes exist depends on features
fn compiled_providers() -> Vec<fn() -> CryptoProvider> {
    let mut v: Vec<fn() -> CryptoProvider> = Vec::new();
    #[cfg(feature = "aws-lc-rs")]
    v.push(rustls::crypto::aws_lc_rs::default_provider);
    #[cfg(feature = "ring")]
    v.push(rustls::crypto::ring::default_provider);
    v
}

#[cfg(feature = "native-roots")]
fn add_native_roots(roots: &mut RootCertStore) -> Result<(), BuildError> {
    let found = rustls_native_certs::load_native_certs();
    // Some unparsable system certificates are common; only fail when nothing usable was found.
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let mut err = BuildError::new("no usable native root certificates");
        if let Some(first) = found.errors.into_iter().next() {
            err = err.with_source(first);
        }
        return Err(err);
    }
    Ok(())
}
