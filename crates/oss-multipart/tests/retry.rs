//! Single-request retry policy, checked with the in-memory transport (no sockets).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use oss_multipart::transport::FnTransport;
use oss_multipart::{Client, Credentials, RetryConfig};

const ERR_503: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>ServiceUnavailable</Code>\
<Message>busy</Message><RequestId>5C3D9175B6FC201293AD4890</RequestId><HostId>h</HostId></Error>";
const ERR_403: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code>\
<Message>no</Message><RequestId>5C3D9175B6FC201293AD4891</RequestId><HostId>h</HostId></Error>";

/// A client whose transport answers the first `failures` requests with `status`/`body`, then
/// 200 with `ok_headers`; returns the client and the request counter.
fn scripted(
    failures: u32,
    status: u16,
    body: &'static str,
    retries: u32,
) -> (Client, Arc<AtomicU32>) {
    let count = Arc::new(AtomicU32::new(0));
    let c = count.clone();
    let transport = FnTransport::new(move |req: http::Request<Bytes>| {
        let n = c.fetch_add(1, Ordering::SeqCst);
        // Every attempt is signed afresh.
        assert!(req.headers().contains_key("authorization"));
        assert!(req.headers().contains_key("x-oss-date"));
        async move {
            if n < failures {
                http::Response::builder()
                    .status(status)
                    .header("x-oss-request-id", "5C3D9175B6FC201293AD4890")
                    .body(Bytes::from_static(body.as_bytes()))
                    .unwrap()
            } else {
                http::Response::builder()
                    .status(200)
                    .header("content-length", "0")
                    .header("etag", "\"D41D8CD98F00B204E9800998ECF8427E\"")
                    .header("x-oss-request-id", "5C3D9175B6FC201293AD4899")
                    .body(Bytes::new())
                    .unwrap()
            }
        }
    });
    let mut retry = RetryConfig::default();
    retry.max_retries = retries;
    retry.initial_backoff = Duration::from_millis(1);
    retry.max_backoff = Duration::from_millis(2);
    let client = Client::builder()
        .endpoint("http://127.0.0.1:9")
        .region("cn-hangzhou")
        .credentials(Credentials::new("ak", "sk"))
        .http_client(Arc::new(transport))
        .retry(retry)
        .build()
        .unwrap();
    (client, count)
}

#[tokio::test]
async fn retryable_errors_are_retried_until_success() {
    let (client, count) = scripted(2, 503, ERR_503, 3);
    let out = client.head_object("bucket", "key").await.unwrap();
    assert_eq!(out.content_length, 0);
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn retry_budget_is_respected_and_the_error_says_retryable() {
    let (client, count) = scripted(10, 503, ERR_503, 2);
    let err = client
        .put_object("bucket", "key", vec![1u8; 4])
        .await
        .unwrap_err();
    assert_eq!(count.load(Ordering::SeqCst), 3, "1 attempt + 2 retries");
    assert!(err.is_retryable());
    let se = err.service_error().unwrap();
    assert_eq!(
        (se.code(), se.status().as_u16()),
        ("ServiceUnavailable", 503)
    );
    assert_eq!(se.request_id(), "5C3D9175B6FC201293AD4890");
}

#[tokio::test]
async fn permanent_errors_are_not_retried() {
    let (client, count) = scripted(10, 403, ERR_403, 5);
    let err = client.delete_object("bucket", "key").await.unwrap_err();
    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert!(err.is_auth() && !err.is_retryable());
    // Display is one level; the cause chain carries the details.
    assert_eq!(
        err.to_string(),
        "DeleteObject failed: OSS returned AccessDenied (HTTP 403)"
    );
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn usage_errors_never_reach_the_transport() {
    let (client, count) = scripted(0, 200, "", 0);
    let err = client.head_object("Bad_Bucket", "key").await.unwrap_err();
    assert!(err.is_usage());
    let err = client
        .head_object("bucket", "/leading-slash")
        .await
        .unwrap_err();
    assert!(err.is_usage());
    assert_eq!(count.load(Ordering::SeqCst), 0);
}

/// Single requests retry exactly the codes the generated error table marks retryable, and
/// `is_retryable`/`is_auth` report the table's columns: no other list decides.
#[tokio::test]
async fn every_error_code_is_classified_by_the_generated_table() {
    for &code in oss_model::ErrorCode::ALL {
        let status = code.http_status();
        if status.is_success() {
            continue; // CallbackFailed (203): the object was stored.
        }
        let body: &'static str = Box::leak(
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>\
                 <Message>m</Message><RequestId>5C3D9175B6FC201293AD4892</RequestId></Error>"
            )
            .into_boxed_str(),
        );
        let (client, count) = scripted(10, status.as_u16(), body, 2);
        let err = client
            .put_object("bucket", "key", vec![1u8; 4])
            .await
            .unwrap_err();
        assert_eq!(err.service_error().map(|e| e.code()), Some(code.as_str()));
        let expected_attempts = if code.is_retryable() { 3 } else { 1 };
        assert_eq!(count.load(Ordering::SeqCst), expected_attempts, "{code}");
        assert_eq!(err.is_retryable(), code.is_retryable(), "{code}");
        assert_eq!(err.is_auth(), code.is_auth(), "{code}");
    }
}
