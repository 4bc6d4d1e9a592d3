//! Shared helpers: an in-process `oss-local` server and a client pointed at it.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oss_multipart::transport::{HttpClient, HttpFuture, HyperClient, RequestBody};
use oss_multipart::{Addressing, Client, ClientBuilder, Credentials, RetryConfig};

pub const AK: &str = "test-ak";
pub const SK: &str = "test-sk-secret";
pub const BUCKET: &str = "test-bucket";

pub async fn server_with(config: oss_local::Config) -> oss_local::ServerHandle {
    oss_local::Server::start(config)
        .await
        .expect("oss-local starts")
}

pub fn local_config() -> oss_local::Config {
    oss_local::Config::new(AK, SK)
        .with_bucket(BUCKET)
        .with_fsync(false)
}

/// A server config that fails 15 % of requests and drops 10 % of connections (from `seed`).
pub fn faulty_config(seed: u64) -> oss_local::Config {
    let mut cfg = local_config();
    cfg.faults.fault_rate = 0.15;
    cfg.faults.drop_rate = 0.1;
    cfg.faults.seed = seed;
    cfg
}

/// A client for `endpoint` that retries each request up to 12 times (for faulty servers).
pub fn patient_client(endpoint: &str) -> Client {
    let mut retry = fast_retry();
    retry.max_retries = 12;
    client_builder(endpoint)
        .retry(retry)
        .build()
        .expect("client builds")
}

pub async fn server() -> oss_local::ServerHandle {
    server_with(local_config()).await
}

pub fn fast_retry() -> RetryConfig {
    let mut r = RetryConfig::default();
    r.initial_backoff = Duration::from_millis(5);
    r.max_backoff = Duration::from_millis(50);
    r
}

/// A client builder for the test server at `endpoint` (path addressing, fast retries).
pub fn client_builder(endpoint: &str) -> ClientBuilder {
    Client::builder()
        .endpoint(endpoint)
        .region("cn-hangzhou")
        .credentials(Credentials::new(AK, SK))
        .addressing(Addressing::Path)
        .retry(fast_retry())
}

pub fn client(endpoint: &str) -> Client {
    client_builder(endpoint).build().expect("client builds")
}

/// How many requests reached the server, by the label `count` gives them (`None`: not counted).
pub type Counts = Arc<Mutex<BTreeMap<String, u32>>>;

/// A transport that counts requests, then forwards them to the real network.
#[derive(Debug)]
struct Counting {
    inner: HyperClient,
    count: fn(&http::Request<RequestBody>) -> Option<String>,
    counts: Counts,
}

impl HttpClient for Counting {
    fn send(&self, request: http::Request<RequestBody>) -> HttpFuture {
        if let Some(label) = (self.count)(&request) {
            *self
                .counts
                .lock()
                .expect("counts")
                .entry(label)
                .or_default() += 1;
        }
        self.inner.send(request)
    }
}

/// A client for `endpoint` whose requests are counted by `count`'s label.
pub fn counting_client(
    endpoint: &str,
    count: fn(&http::Request<RequestBody>) -> Option<String>,
) -> (Client, Counts) {
    let counts = Counts::default();
    let http = HyperClient::new(oss_transport::Client::builder().build().expect("transport"));
    let client = client_builder(endpoint)
        .http_client(Arc::new(Counting {
            inner: http,
            count,
            counts: counts.clone(),
        }))
        .build()
        .expect("client builds");
    (client, counts)
}

/// Deterministic, non-repeating-looking test data.
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

pub fn write_file(dir: &std::path::Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write test file");
    p
}

/// Starts a TLS-terminating front (self-signed for `localhost`) forwarding to `upstream`;
/// returns its `https://localhost:PORT` endpoint and the certificate PEM.
pub async fn tls_front(upstream: std::net::SocketAddr) -> (String, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let cert_pem = ck.cert.pem();
    let cert_der = oss_transport::rustls::pki_types::CertificateDer::from(ck.cert.der().to_vec());
    let key_der = oss_transport::rustls::pki_types::PrivateKeyDer::Pkcs8(
        oss_transport::rustls::pki_types::PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der()),
    );
    let provider = Arc::new(oss_transport::rustls::crypto::aws_lc_rs::default_provider());
    let config = oss_transport::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert_der], key_der)
        .expect("server certificate");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                break;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut up) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
            });
        }
    });
    (format!("https://localhost:{port}"), cert_pem)
}
