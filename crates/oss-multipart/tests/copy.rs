//! Server-side copies against oss-local: the machine's copy mode end to end. Attributes and
//! tags are kept (a 300 MiB multipart copy), one CopyObject below the threshold, a source
//! replaced mid-copy is caught by the ETag pin, and a cancelled copy resumes from its
//! checkpoint without copying finished parts again (counted at the transport).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use common::*;
use futures::TryStreamExt as _;
use oss_multipart::transport::{HttpClient, HttpFuture, HyperClient, RequestBody};
use oss_multipart::{
    BucketName, CancellationToken, Client, Error, IntegrityError, ObjectKey, ObjectOptions,
    PartNumber,
};

const MIB: u64 = 1024 * 1024;

/// What the transport saw: requests by name (`UploadPartCopy`, `CopyObject`, `Initiate`...),
/// and the part numbers copied.
#[derive(Debug, Default)]
struct Log {
    ops: BTreeMap<&'static str, u32>,
    parts: Vec<u32>,
}

/// Names and counts requests, then forwards them to oss-local; before the `replace_at`-th
/// UploadPartCopy it first replaces the copy source with other bytes.
#[derive(Debug)]
struct Counting {
    inner: HyperClient,
    log: Arc<Mutex<Log>>,
    replace_at: Option<(u32, Client, &'static str)>,
}

fn name(req: &http::Request<RequestBody>) -> &'static str {
    let query = req.uri().query().unwrap_or("");
    let copy = req.headers().contains_key("x-oss-copy-source");
    match (req.method().as_str(), copy) {
        ("PUT", true) if query.contains("uploadId") => "UploadPartCopy",
        ("PUT", true) => "CopyObject",
        ("POST", _) if query.contains("uploads") => "Initiate",
        ("POST", _) => "Complete",
        ("DELETE", _) if query.contains("uploadId") => "Abort",
        ("GET", _) if query.contains("tagging") => "GetObjectTagging",
        ("GET", _) if query.contains("uploadId") => "ListParts",
        (m, _) => match m {
            "HEAD" => "HeadObject",
            "PUT" => "Put",
            _ => "Other",
        },
    }
}

impl HttpClient for Counting {
    fn send(&self, request: http::Request<RequestBody>) -> HttpFuture {
        let op = name(&request);
        let n = {
            let mut log = self.log.lock().unwrap();
            let n = log.ops.entry(op).or_default();
            *n += 1;
            let n = *n;
            if op == "UploadPartCopy" {
                let part = request
                    .uri()
                    .query()
                    .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("partNumber=")))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                log.parts.push(part);
            }
            n
        };
        let replace = match &self.replace_at {
            Some((at, client, key)) if op == "UploadPartCopy" && n == *at => {
                Some((client.clone(), *key))
            }
            _ => None,
        };
        let fut = self.inner.send(request);
        Box::pin(async move {
            if let Some((client, key)) = replace {
                client
                    .put_object(BUCKET, key, data(2_000_000, 99))
                    .await
                    .unwrap();
            }
            fut.await
        })
    }
}

fn counting(endpoint: &str, replace_at: Option<(u32, &'static str)>) -> (Client, Arc<Mutex<Log>>) {
    let log = Arc::new(Mutex::new(Log::default()));
    let http = HyperClient::new(oss_transport::Client::builder().build().unwrap());
    let client = Client::builder()
        .endpoint(endpoint)
        .region("cn-hangzhou")
        .credentials(oss_multipart::Credentials::new(AK, SK))
        .addressing(oss_multipart::Addressing::Path)
        .retry(fast_retry())
        .http_client(Arc::new(Counting {
            inner: http,
            log: log.clone(),
            replace_at: replace_at.map(|(n, key)| (n, client(endpoint), key)),
        }))
        .build()
        .unwrap();
    (client, log)
}

fn ops(log: &Mutex<Log>, op: &str) -> u32 {
    log.lock().unwrap().ops.get(op).copied().unwrap_or(0)
}

async fn tags(client: &Client, key: &str) -> Vec<(String, String)> {
    client.get_object_tagging(BUCKET, key).await.unwrap()
}

fn source_options() -> ObjectOptions {
    ObjectOptions::new()
        .with_content_type("video/mp4")
        .with_cache_control("max-age=60")
        .with_content_disposition("attachment; filename=\"clip.mp4\"")
        .with_content_language("fr")
        .with_metadata("camera", "7")
        .with_tag("project", "alpha")
        .with_tag("stage", "raw")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_300_mib_multipart_copy_keeps_content_type_metadata_and_tags() {
    // ETags from the CRC the server computes anyway: MD5 of 600 MiB would dominate the test.
    let server = server_with(local_config().with_etag(oss_local::EtagMode::Fast)).await;
    let (client, log) = counting(&server.endpoint(), None);
    // The 300 MiB source is assembled on the server from thirty copies of a 10 MiB block (it
    // need not pass through the client twice); it carries the attributes to keep.
    let block = data(10 * MIB as usize, 1);
    client.put_object(BUCKET, "src/block", block).await.unwrap();
    let upload_id = client
        .initiate_upload(BUCKET, "src/big.mp4", &source_options())
        .await
        .unwrap()
        .upload_id;
    let mut parts = Vec::new();
    for n in 1..=30u32 {
        let op = oss_multipart::ops::UploadPartCopy::new(
            BucketName::new(BUCKET).unwrap(),
            ObjectKey::new("src/big.mp4").unwrap(),
            upload_id.clone(),
            PartNumber::new(n).unwrap(),
            BucketName::new(BUCKET).unwrap(),
            ObjectKey::new("src/block").unwrap(),
        );
        parts.push((n, client.send(op).await.unwrap().etag));
    }
    client
        .complete_upload(BUCKET, "src/big.mp4", &upload_id, &parts, &source_options())
        .await
        .unwrap();
    let source = client.head_object(BUCKET, "src/big.mp4").await.unwrap();
    *log.lock().unwrap() = Log::default();

    let out = client
        .copy_multipart(BUCKET, "src/big.mp4", BUCKET, "dst/big.mp4")
        .single_copy_threshold(100 * MIB)
        .part_size(32 * MIB)
        .await
        .unwrap();
    assert_eq!((out.size, out.parts), (300 * MIB, 10));
    assert!(out.upload_id.is_some());
    assert_eq!(
        out.crc64, source.crc64,
        "CRC-64 of the copy is the source's"
    );
    assert_eq!(ops(&log, "UploadPartCopy"), 10);
    assert_eq!(ops(&log, "Put"), 0, "no byte went through the client");
    assert_eq!(ops(&log, "GetObjectTagging"), 1);

    let copy = client.head_object(BUCKET, "dst/big.mp4").await.unwrap();
    assert_eq!(copy.content_type.as_deref(), Some("video/mp4"));
    assert_eq!(copy.cache_control.as_deref(), Some("max-age=60"));
    assert_eq!(
        copy.content_disposition.as_deref(),
        Some("attachment; filename=\"clip.mp4\"")
    );
    assert_eq!(copy.content_language.as_deref(), Some("fr"));
    assert_eq!(copy.metadata, [("camera".to_owned(), "7".to_owned())]);
    assert_eq!(copy.tagging_count, 2);
    assert_eq!(copy.crc64, source.crc64);
    assert_eq!(copy.content_length, 300 * MIB);
    let mut t = tags(&client, "dst/big.mp4").await;
    t.sort();
    assert_eq!(
        t,
        [
            ("project".to_owned(), "alpha".to_owned()),
            ("stage".to_owned(), "raw".to_owned())
        ]
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn below_the_threshold_one_copy_object_copies_or_replaces_the_attributes() {
    let server = server().await;
    let (client, log) = counting(&server.endpoint(), None);
    let bytes = data(300_000, 2);
    client
        .put_object_with(BUCKET, "src", bytes.clone(), &source_options())
        .await
        .unwrap();

    let out = client
        .copy_multipart(BUCKET, "src", BUCKET, "kept")
        .await
        .unwrap();
    assert_eq!((out.parts, out.upload_id.as_deref()), (1, None));
    assert_eq!(out.crc64, Some(oss_multipart_core::crc64(&bytes)));
    assert_eq!((ops(&log, "CopyObject"), ops(&log, "Initiate")), (1, 0));
    let head = client.head_object(BUCKET, "kept").await.unwrap();
    assert_eq!(head.content_type.as_deref(), Some("video/mp4"));
    assert_eq!(head.metadata, [("camera".to_owned(), "7".to_owned())]);
    assert_eq!(tags(&client, "kept").await.len(), 2);
    assert_eq!(client.get_object(BUCKET, "kept").await.unwrap(), bytes);

    let replaced = ObjectOptions::new()
        .with_content_type("text/plain")
        .with_tag("stage", "final");
    client
        .copy_multipart(BUCKET, "src", BUCKET, "replaced")
        .options(replaced)
        .await
        .unwrap();
    let head = client.head_object(BUCKET, "replaced").await.unwrap();
    assert_eq!(head.content_type.as_deref(), Some("text/plain"));
    assert!(
        head.metadata.is_empty(),
        "REPLACE drops the source's metadata"
    );
    assert_eq!(
        tags(&client, "replaced").await,
        [("stage".to_owned(), "final".to_owned())]
    );
    assert_eq!(ops(&log, "CopyObject"), 2);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_replaced_mid_copy_is_detected_and_nothing_is_created() {
    let server = server().await;
    let (client, log) = counting(&server.endpoint(), Some((4, "src/moving")));
    client
        .put_object(BUCKET, "src/moving", data(2_000_000, 3))
        .await
        .unwrap();
    let err = client
        .copy_multipart(BUCKET, "src/moving", BUCKET, "dst/never")
        .part_size(102_400)
        .single_copy_threshold(0)
        .concurrency(1)
        .await
        .unwrap_err();
    assert!(err.is_integrity(), "{err:?}");
    let Error::Upload(failure) = &err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(
            failure.cause(),
            Error::Integrity(IntegrityError::CopySourceChanged { .. })
        ),
        "{err:?}"
    );
    assert_eq!(err.upload_id(), None, "nothing to resume");
    assert_eq!(ops(&log, "Complete"), 0);
    assert_eq!(ops(&log, "Abort"), 1);
    let missing = client.head_object(BUCKET, "dst/never").await.unwrap_err();
    assert_eq!(missing.service_error().unwrap().status().as_u16(), 404);
    let uploads: Vec<_> = client
        .list_uploads(BUCKET, None)
        .try_collect()
        .await
        .unwrap();
    assert!(uploads.is_empty(), "{uploads:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_copy_resumes_from_its_checkpoint_without_copying_finished_parts() {
    let server = server().await;
    let (client, log) = counting(&server.endpoint(), None);
    let bytes = data(1_600_000, 4);
    client
        .put_object(BUCKET, "src/resumable", bytes.clone())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let copy = || {
        client
            .copy_multipart(BUCKET, "src/resumable", BUCKET, "dst/resumed")
            .part_size(102_400)
            .single_copy_threshold(0)
            .concurrency(2)
            .checkpoint_dir(dir.path())
    };
    let token = CancellationToken::new();
    let stop = token.clone();
    let err = copy()
        .cancellation(token)
        .progress(move |p| {
            if p.parts_done >= 5 {
                stop.cancel();
            }
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Cancelled(_)), "{err:?}");
    assert!(err.checkpoint_path().is_some_and(std::path::Path::is_file));
    let first: Vec<u32> = std::mem::take(&mut log.lock().unwrap().parts);
    assert!(first.len() >= 5 && first.len() < 16, "{first:?}");

    let out = copy().await.unwrap();
    assert!(out.resumed);
    assert!(out.parts_reused >= 5, "{out:?}");
    let second = log.lock().unwrap().parts.clone();
    assert_eq!(
        second.len() as u32,
        out.parts - out.parts_reused,
        "{second:?}"
    );
    assert_eq!(out.parts, 16);
    assert_eq!(
        client.get_object(BUCKET, "dst/resumed").await.unwrap(),
        bytes
    );
    assert_eq!(out.crc64, Some(oss_multipart_core::crc64(&bytes)));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "checkpoint removed"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_errors_are_typed_before_anything_is_started() {
    let server = server().await;
    let (client, log) = counting(&server.endpoint(), None);
    client.put_object(BUCKET, "src", data(10, 5)).await.unwrap();
    let err = client
        .copy_multipart(BUCKET, "missing", BUCKET, "dst")
        .await
        .unwrap_err();
    assert_eq!(err.service_error().unwrap().status().as_u16(), 404);
    let err = client
        .copy_multipart(BUCKET, "src", BUCKET, "dst")
        .single_copy_threshold(2 << 30)
        .await
        .unwrap_err();
    assert!(err.is_usage(), "{err:?}");
    let err = client
        .copy_multipart(BUCKET, "src", BUCKET, "dst")
        .part_size(1)
        .await
        .unwrap_err();
    assert!(err.is_usage(), "{err:?}");
    assert_eq!(ops(&log, "Initiate") + ops(&log, "CopyObject"), 0);
    server.shutdown().await;
}
