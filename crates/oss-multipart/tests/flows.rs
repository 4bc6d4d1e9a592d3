//! Copy, the presigned multipart flow (driven by a plain hyper client without credentials),
//! uploads under fault injection, and the presigned URLs of the official vectors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_multipart_copies_bytes() {
    let server = server().await;
    let client = client(&server.endpoint());
    let bytes = data(750_000, 20);
    client
        .put_object(BUCKET, "src/obj", bytes.clone())
        .await
        .unwrap();
    let out = client
        .copy_multipart(BUCKET, "src/obj", BUCKET, "dst/obj")
        .part_size(200 * 1024)
        .concurrency(3)
        .await
        .unwrap();
    assert_eq!((out.size, out.parts), (750_000, 4));
    assert_eq!(
        out.crc64.unwrap_or(oss_multipart_core::crc64(&bytes)),
        oss_multipart_core::crc64(&bytes)
    );
    assert_eq!(client.get_object(BUCKET, "dst/obj").await.unwrap(), bytes);
    let err = client
        .copy_multipart(BUCKET, "missing", BUCKET, "dst2")
        .part_size(200 * 1024)
        .await
        .unwrap_err();
    assert_eq!(err.service_error().unwrap().status().as_u16(), 404);
    server.shutdown().await;
}

async fn plain(
    http: &HyperClient<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    method: &str,
    url: &str,
    body: Bytes,
) -> (u16, http::HeaderMap, Bytes) {
    let req = http::Request::builder()
        .method(method)
        .uri(url)
        .body(Full::new(body))
        .unwrap();
    let resp = http.request(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presigned_multipart_flow_without_credentials() {
    let server = server().await;
    let client = client(&server.endpoint());
    let bytes = Bytes::from(data(520_000, 21));
    let manifest = client
        .presign_upload(
            BUCKET,
            "presigned/obj",
            bytes.len() as u64,
            102_400,
            Duration::from_secs(600),
        )
        .await
        .unwrap();
    assert_eq!(manifest.parts.len(), 6);
    // The manifest travels as JSON to the uploader.
    let json = serde_json::to_string(&manifest).unwrap();
    let manifest: oss_multipart::PresignedUpload = serde_json::from_str(&json).unwrap();

    let http: HyperClient<_, Full<Bytes>> = HyperClient::builder(TokioExecutor::new()).build_http();
    let mut etags = Vec::new();
    for part in manifest.parts.iter().rev() {
        let start = usize::try_from(part.offset).unwrap();
        let end = start + usize::try_from(part.len).unwrap();
        let (status, headers, _) = plain(&http, "PUT", &part.url, bytes.slice(start..end)).await;
        assert_eq!(status, 200, "part {}", part.part_number);
        let etag = headers.get("etag").unwrap().to_str().unwrap().to_owned();
        etags.push((part.part_number, etag));
    }
    // A tampered URL is refused.
    let tampered = manifest.parts[0]
        .url
        .replace("partNumber=1", "partNumber=2");
    let (status, _, _) = plain(&http, "PUT", &tampered, Bytes::from_static(b"x")).await;
    assert_eq!(status, 403);

    let body = oss_multipart::PresignedUpload::complete_body(&etags);
    let (status, _, reply) = plain(
        &http,
        &manifest.complete.method,
        &manifest.complete.url,
        Bytes::from(body),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&reply));
    assert_eq!(
        client.get_object(BUCKET, "presigned/obj").await.unwrap(),
        bytes.to_vec()
    );

    // A presigned GET works with no credentials either.
    let url = client
        .presign(
            http::Method::GET,
            BUCKET,
            "presigned/obj",
            Duration::from_secs(60),
        )
        .unwrap();
    let (status, _, got) = plain(&http, "GET", &url, Bytes::new()).await;
    assert_eq!(status, 200);
    assert_eq!(got, bytes);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presigned_abort_url_works() {
    let server = server().await;
    let client = client(&server.endpoint());
    let m = client
        .presign_upload(
            BUCKET,
            "to-abort",
            300_000,
            102_400,
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    let http: HyperClient<_, Full<Bytes>> = HyperClient::builder(TokioExecutor::new()).build_http();
    let (status, _, _) = plain(&http, &m.abort.method, &m.abort.url, Bytes::new()).await;
    assert_eq!(status, 204);
    use futures::TryStreamExt as _;
    let left: Vec<_> = client
        .list_uploads(BUCKET, None)
        .try_collect()
        .await
        .unwrap();
    assert!(left.is_empty());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_under_fault_injection_complete_bit_exact() {
    let server = server_with(faulty_config(7)).await;
    let client = patient_client(&server.endpoint());
    let dir = tempfile::tempdir().unwrap();
    for (i, size) in [1_500_000usize, 777_777].into_iter().enumerate() {
        let bytes = data(size, 30 + i as u64);
        let path = write_file(dir.path(), &format!("f{i}"), &bytes);
        let key = format!("faulty/{i}");
        let retries = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let r = retries.clone();
        let out = client
            .upload_file(BUCKET, &key, &path)
            .part_size(102_400)
            .concurrency(4)
            .progress(move |p| r.store(p.retries, std::sync::atomic::Ordering::Relaxed))
            .await
            .unwrap();
        assert_eq!(out.size, size as u64);
        assert!(
            retries.load(std::sync::atomic::Ordering::Relaxed) > 0,
            "faults were injected"
        );
        // Reads may fail too: retry the download a few times.
        let mut got = None;
        for _ in 0..20 {
            if let Ok(b) = client.get_object(BUCKET, &key).await {
                got = Some(b);
                break;
            }
        }
        assert!(got.unwrap() == bytes, "bit-exact");
        // The stream path under faults too.
        let key = format!("faulty-stream/{i}");
        let out = client
            .upload_stream(BUCKET, &key, std::io::Cursor::new(bytes.clone()))
            .part_size(102_400)
            .concurrency(3)
            .await
            .unwrap();
        assert_eq!(out.crc64, oss_multipart_core::crc64(&bytes));
    }
    server.shutdown().await;
}
