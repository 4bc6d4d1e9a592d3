//! Tiny servers for the integration tests: a hyper echo server (plain or TLS) that counts accepted
//! connections, and raw TCP servers that misbehave on purpose.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use oss_transport::rustls;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

/// A running test server.
pub struct Server {
    pub addr: SocketAddr,
    pub accepted: Arc<AtomicUsize>,
}

impl Server {
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    pub fn url(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://{}{path}", self.addr)
    }
}

/// Echo: replies 200 with the request body, and headers telling how the body was framed.
async fn echo(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let content_length = req
        .headers()
        .get("content-length")
        .map(|v| v.to_str().unwrap().to_owned());
    let chunked = req
        .headers()
        .get("transfer-encoding")
        .is_some_and(|v| v.as_bytes() == b"chunked");
    let path = req.uri().path().to_owned();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let reply = match path.as_str() {
        // `/big/N`: a body of N bytes regardless of the request.
        p if p.starts_with("/big/") => Bytes::from(vec![b'x'; p[5..].parse::<usize>().unwrap()]),
        // `/slow/MS`: an empty answer after MS milliseconds.
        p if p.starts_with("/slow/") => {
            let ms = p[6..].parse::<u64>().unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            Bytes::new()
        }
        _ => body,
    };
    let mut resp = Response::new(Full::new(reply));
    if let Some(cl) = content_length {
        resp.headers_mut()
            .insert("x-seen-content-length", cl.parse().unwrap());
    }
    resp.headers_mut().insert(
        "x-seen-chunked",
        if chunked { "yes" } else { "no" }.parse().unwrap(),
    );
    Ok(resp)
}

async fn serve_conn<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(io: S) {
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), service_fn(echo))
        .await;
}

pub async fn echo_server() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(serve_conn(sock));
        }
    });
    Server { addr, accepted }
}

/// A self-signed certificate for 127.0.0.1 and localhost; returns the echo server over TLS and the DER cert.
pub async fn tls_echo_server() -> (Server, rustls::pki_types::CertificateDer<'static>) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let cert_der = certified.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.key_pair.serialize_der().into());
    let mut config = rustls::ServerConfig::builder_with_provider(test_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert_der.clone()], key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(sock).await {
                    serve_conn(tls).await;
                }
            });
        }
    });
    (Server { addr, accepted }, cert_der)
}

/// The first compiled-in provider, as the client picks by default.
pub fn test_provider() -> Arc<rustls::crypto::CryptoProvider> {
    #[cfg(feature = "aws-lc-rs")]
    return Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    #[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
    return Arc::new(rustls::crypto::ring::default_provider());
}

/// A raw TCP server: each accepted socket is handed to `handle` (which may stall, write garbage, ...).
pub async fn raw_server<F, Fut>(handle: F) -> Server
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(handle(sock));
        }
    });
    Server { addr, accepted }
}

/// Deterministic pseudo-random bytes (xorshift), so a wrong offset cannot go unnoticed.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
