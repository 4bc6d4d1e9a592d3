//! HTTPS end to end: a TLS-terminating proxy with a self-signed certificate (rcgen) in front
//! of `oss-local` (which speaks plain HTTP only). The client trusts the certificate through
//! `ClientBuilder::add_root_certificate_pem`, and refuses the server without it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use std::sync::Arc;

use common::*;
use oss_transport::rustls;
use tokio::net::{TcpListener, TcpStream};

/// Starts the proxy; returns its `https://localhost:PORT` endpoint and the certificate PEM.
async fn tls_proxy(upstream: std::net::SocketAddr) -> (String, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_pem = ck.cert.pem();
    let cert_der = rustls::pki_types::CertificateDer::from(ck.cert.der().to_vec());
    let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(
        rustls::pki_types::PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der()),
    );
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert_der], key_der)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
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
                let Ok(mut up) = TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
            });
        }
    });
    (format!("https://localhost:{port}"), cert_pem)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_over_tls_with_a_self_signed_certificate() {
    let server = server().await;
    let (endpoint, pem) = tls_proxy(server.addr()).await;
    let builder = || {
        oss_multipart::Client::builder()
            .endpoint(&endpoint)
            .region("cn-hangzhou")
            .credentials(oss_multipart::Credentials::new(AK, SK))
            .addressing(oss_multipart::Addressing::Path)
            .retry(fast_retry())
    };
    let client = builder()
        .add_root_certificate_pem(pem.as_bytes())
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(600_000, 40);
    let path = write_file(dir.path(), "f", &bytes);
    let out = client
        .upload_file(BUCKET, "over-tls", &path)
        .part_size(102_400)
        .concurrency(3)
        .await
        .unwrap();
    assert_eq!(out.parts, 6);
    assert_eq!(client.get_object(BUCKET, "over-tls").await.unwrap(), bytes);

    // Without trusting the certificate the handshake fails: a network error, not retryable
    // into success, and never a panic.
    let untrusting = builder().build().unwrap();
    let err = untrusting
        .head_object(BUCKET, "over-tls")
        .await
        .unwrap_err();
    assert!(err.is_network(), "{err:?}");
    let tls = match &err {
        oss_multipart::Error::Transport(t) => t.transport_error().is_tls(),
        _ => false,
    };
    assert!(tls, "{err:?}");
    server.shutdown().await;
}
