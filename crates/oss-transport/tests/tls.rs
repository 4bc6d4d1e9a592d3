//! TLS against a server with a self-signed certificate generated in the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use oss_transport::{Client, RequestBody, rustls};

fn put(url: String, body: &'static str) -> http::Request<RequestBody> {
    http::Request::put(url)
        .body(RequestBody::from(body))
        .unwrap()
}

#[tokio::test]
async fn custom_root_is_trusted_and_connections_are_reused() {
    let (server, cert) = common::tls_echo_server().await;
    let client = Client::builder()
        .add_root_certificate(cert)
        .build()
        .unwrap();
    for _ in 0..3 {
        let resp = client
            .send_collect(put(server.url("https", "/"), "over tls"), 1024)
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.body().as_ref(), b"over tls");
    }
    assert_eq!(server.accepted(), 1);
}

#[tokio::test]
async fn pem_root_works_too() {
    let (server, cert) = common::tls_echo_server().await;
    let pem = pem_of(&cert);
    let client = Client::builder()
        .add_root_certificates_pem(pem.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    let resp = client
        .send_collect(put(server.url("https", "/"), "pem"), 1024)
        .await
        .unwrap();
    assert_eq!(resp.body().as_ref(), b"pem");
}

#[tokio::test]
async fn unknown_certificate_is_a_tls_error() {
    let (server, _cert) = common::tls_echo_server().await;
    let client = Client::builder().build().unwrap();
    let err = client
        .send_collect(put(server.url("https", "/"), "x"), 1024)
        .await
        .unwrap_err();
    assert!(err.is_tls() && err.is_connect(), "{err:?}");
    assert!(!err.is_timeout() && !err.body_fully_sent());
}

#[tokio::test]
async fn whole_client_config_can_be_supplied() {
    let (server, cert) = common::tls_echo_server().await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(common::test_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let client = Client::builder().tls_config(config).build().unwrap();
    let resp = client
        .send_collect(put(server.url("https", "/"), "own config"), 1024)
        .await
        .unwrap();
    assert_eq!(resp.body().as_ref(), b"own config");
}

#[cfg(feature = "ring")]
#[tokio::test]
async fn ring_provider_can_be_picked_at_run_time() {
    let (server, cert) = common::tls_echo_server().await;
    let client = Client::builder()
        .tls_provider_ring()
        .add_root_certificate(cert)
        .build()
        .unwrap();
    let resp = client
        .send_collect(put(server.url("https", "/"), "ring"), 1024)
        .await
        .unwrap();
    assert_eq!(resp.body().as_ref(), b"ring");
}

#[test]
fn builder_rejects_bad_pem() {
    assert!(
        Client::builder()
            .add_root_certificates_pem(b"not a certificate")
            .is_err()
    );
    let garbage = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    assert!(
        Client::builder()
            .add_root_certificates_pem(garbage)
            .is_err()
    );
}

#[tokio::test]
async fn no_roots_serves_http_and_fails_tls() {
    let (tls_server, _cert) = common::tls_echo_server().await;
    let plain = common::echo_server().await;
    let builder = Client::builder();
    #[cfg(feature = "webpki-roots")]
    let builder = builder.webpki_roots(false);
    let client = builder.build().unwrap();
    let resp = client
        .send_collect(put(plain.url("http", "/"), "plain"), 1024)
        .await
        .unwrap();
    assert_eq!(resp.body().as_ref(), b"plain");
    let err = client
        .send_collect(put(tls_server.url("https", "/"), "x"), 1024)
        .await
        .unwrap_err();
    assert!(err.is_tls(), "{err:?}");
}

fn pem_of(cert: &rustls::pki_types::CertificateDer<'_>) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}
