//! Downloads of objects OSS describes without a CRC-64 (checked by `Content-MD5`, or by size
//! when there is neither), and the download bandwidth cap, against oss-local.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::*;
use oss_multipart::transport::{HttpClient, HttpFuture, HyperClient, RequestBody, ResponseBody};
use oss_multipart::{Error, IntegrityError};

/// What the object looks like on the way back: oss-local always sends a CRC-64; this front
/// removes it (an object OSS has no CRC-64 for), may announce a `Content-MD5` on HEAD, and may
/// damage the first byte of the first `damage` GET bodies (in transit, after OSS's checks).
#[derive(Debug)]
struct OldObject {
    inner: HyperClient,
    content_md5: Option<String>,
    damage: AtomicU32,
}

impl HttpClient for OldObject {
    fn send(&self, request: http::Request<RequestBody>) -> HttpFuture {
        let method = request.method().clone();
        let md5 = self.content_md5.clone();
        let damage = method == http::Method::GET
            && self
                .damage
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
        let sent = self.inner.send(request);
        Box::pin(async move {
            let resp = sent.await?;
            let (mut parts, body) = resp.into_parts();
            parts.headers.remove("x-oss-hash-crc64ecma");
            if let (true, Some(md5)) = (method == http::Method::HEAD, md5) {
                parts.headers.insert("content-md5", md5.parse().unwrap());
            }
            let body = if damage && parts.status.is_success() {
                let mut bytes = body.collect_bounded(64 << 20).await?.to_vec();
                if let Some(b) = bytes.first_mut() {
                    *b ^= 0x20;
                }
                ResponseBody::from_bytes(bytes)
            } else {
                body
            };
            Ok(http::Response::from_parts(parts, body))
        })
    }
}

fn old_object_client(
    endpoint: &str,
    content_md5: Option<String>,
    damage: u32,
) -> oss_multipart::Client {
    let http = HyperClient::new(oss_transport::Client::builder().build().unwrap());
    oss_multipart::Client::builder()
        .endpoint(endpoint)
        .region("cn-hangzhou")
        .credentials(oss_multipart::Credentials::new(AK, SK))
        .addressing(oss_multipart::Addressing::Path)
        .retry(fast_retry())
        .http_client(Arc::new(OldObject {
            inner: http,
            content_md5,
            damage: AtomicU32::new(damage),
        }))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_crc64_the_content_md5_is_verified_for_files_and_writers() {
    let server = server().await;
    let bytes = data(250_000, 11);
    client(&server.endpoint())
        .put_object(BUCKET, "old.bin", bytes.clone())
        .await
        .unwrap();
    let md5 = oss_model::content_md5(&bytes);
    let dir = tempfile::tempdir().unwrap();

    // A body damaged in transit: no range check can see it, the MD5 does, and the download
    // starts again and ends bit-exact.
    let c = old_object_client(&server.endpoint(), Some(md5.clone()), 1);
    let path = dir.path().join("old.bin");
    let out = c
        .download(BUCKET, "old.bin")
        .part_size(100_000)
        .to_file(&path)
        .await
        .unwrap();
    assert!(out.md5_verified && !out.crc_verified, "{out:?}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes);

    // A writer hashes the bytes as it writes them.
    let c = old_object_client(&server.endpoint(), Some(md5.clone()), 0);
    let (got, out) = c
        .download(BUCKET, "old.bin")
        .part_size(100_000)
        .to_bytes()
        .await
        .unwrap();
    assert!(out.md5_verified && !out.crc_verified, "{out:?}");
    assert_eq!(&got[..], &bytes[..]);

    // Bodies damaged every time: a typed integrity error, and nothing at the target.
    let c = old_object_client(&server.endpoint(), Some(md5), u32::MAX);
    let path = dir.path().join("never.bin");
    let err = c
        .download(BUCKET, "old.bin")
        .part_size(100_000)
        .to_file(&path)
        .await
        .unwrap_err();
    let Error::Download(failure) = &err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(
            failure.cause(),
            Error::Integrity(IntegrityError::Md5Mismatch { .. })
        ),
        "{err:?}"
    );
    assert!(!path.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only old.bin"
    );

    // Neither CRC-64 nor Content-MD5: the size is all that can be checked, and it says so.
    let c = old_object_client(&server.endpoint(), None, 0);
    let path = dir.path().join("bare.bin");
    let out = c.download_file(BUCKET, "old.bin", &path).await.unwrap();
    assert!(!out.md5_verified && !out.crc_verified, "{out:?}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bandwidth_cap_holds_a_download_to_its_rate() {
    let server = server().await;
    let c = client(&server.endpoint());
    let bytes = data(300_000, 5);
    c.put_object(BUCKET, "capped.bin", bytes.clone())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capped.bin");
    let started = Instant::now();
    let out = c
        .download(BUCKET, "capped.bin")
        .part_size(64 * 1024)
        .concurrency(4)
        .bandwidth_limit(150_000)
        .to_file(&path)
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert!(out.crc_verified);
    // 300,000 bytes at 150,000 B/s, all ranges together, less the 100 ms burst: 1.9 s at
    // least (a slower machine only makes it longer).
    assert!(
        took >= Duration::from_millis(1800),
        "300 kB at 150 kB/s took only {took:?}"
    );
    server.shutdown().await;
}
