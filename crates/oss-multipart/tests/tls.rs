//! HTTPS end to end: a TLS-terminating proxy with a self-signed certificate (rcgen) in front
//! of `oss-local` (which speaks plain HTTP only). The client trusts the certificate through
//! `ClientBuilder::add_root_certificate_pem`, and refuses the server without it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_over_tls_with_a_self_signed_certificate() {
    let server = server().await;
    let (endpoint, pem) = tls_front(server.addr()).await;
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
