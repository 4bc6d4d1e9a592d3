//! Object options on the wire (a recording transport) and against oss-local; manual
//! operations with streaming bodies; complete-all; callbacks (200 and 203).

mod common;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use common::{BUCKET, client, data, server, write_file};
use oss_multipart::ops::ServerSideEncryption;
use oss_multipart::transport::FnTransport;
use oss_multipart::{
    Addressing, Client, Credentials, ObjectAcl, ObjectOptions, PartBody, StorageClass,
};

/// One request as the transport saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    query: String,
    headers: http::HeaderMap,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn has(&self, name: &str) -> bool {
        self.headers.contains_key(name)
    }
}

/// How the fake answers Complete and PutObject when a callback is set.
#[derive(Clone, Copy)]
enum CallbackOutcome {
    Ok,
    Failed,
}

/// A client whose transport records every request and answers like OSS would.
fn recording_client(callback: CallbackOutcome) -> (Client, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
    let log = seen.clone();
    let http = FnTransport::new(move |req: http::Request<Bytes>| {
        let log = log.clone();
        async move {
            let query = req.uri().query().unwrap_or("").to_owned();
            let method = req.method().as_str().to_owned();
            let crc = crc_of(req.body());
            log.lock().expect("log lock").push(Seen {
                method: method.clone(),
                query: query.clone(),
                headers: req.headers().clone(),
            });
            let has_callback = req.headers().contains_key("x-oss-callback");
            let response = http::Response::builder().header("x-oss-request-id", "RID-1");
            let (status, body) = match (method.as_str(), has_callback, callback) {
                ("POST", _, _) if query.contains("uploads") => (
                    200,
                    "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>\
                     <UploadId>UP1</UploadId></InitiateMultipartUploadResult>"
                        .to_owned(),
                ),
                (_, true, CallbackOutcome::Ok) => (200, r#"{"status":"stored"}"#.to_owned()),
                (_, true, CallbackOutcome::Failed) => (
                    203,
                    "<Error><Code>CallbackFailed</Code><Message>Error status : 502.</Message>\
                     <RequestId>RID-1</RequestId></Error>"
                        .to_owned(),
                ),
                ("POST", false, _) => (
                    200,
                    "<CompleteMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>\
                     <ETag>\"E-2\"</ETag></CompleteMultipartUploadResult>"
                        .to_owned(),
                ),
                _ => (200, String::new()),
            };
            let response = if method == "POST" {
                response
            } else {
                response.header("x-oss-hash-crc64ecma", crc.to_string())
            };
            response
                .status(status)
                .header("etag", "\"ETAG\"")
                .body(Bytes::from(body))
                .expect("a valid response")
        }
    });
    let client = Client::builder()
        .endpoint("http://127.0.0.1:1")
        .region("cn-hangzhou")
        .credentials(Credentials::new("ak", "sk"))
        .addressing(Addressing::Path)
        .http_client(Arc::new(http))
        .build()
        .expect("client builds");
    (client, seen)
}

fn content_md5(bytes: &[u8]) -> String {
    use base64::Engine as _;
    use md5::Digest as _;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(bytes))
}

fn crc_of(bytes: &[u8]) -> u64 {
    oss_multipart_core::crc64(bytes)
}

fn everything() -> ObjectOptions {
    ObjectOptions::new()
        .with_content_type("text/plain")
        .with_cache_control("no-cache")
        .with_content_disposition("attachment")
        .with_content_encoding("identity")
        .with_content_language("en")
        .with_expires("Wed, 21 Oct 2026 07:28:00 GMT")
        .with_acl(ObjectAcl::PublicRead)
        .with_tag("team", "storage")
        .with_storage_class(StorageClass::Archive)
        .with_metadata("origin", "cam-7")
        .with_forbid_overwrite(true)
        .with_sse(ServerSideEncryption::Kms)
        .with_sse_key_id("kms-key")
        .with_traffic_limit(1_000_000)
        .with_content_md5(true)
        .with_callback(r#"{"callbackUrl":"http://127.0.0.1:9/cb","callbackBody":"x=${x:user}"}"#)
        .with_callback_var(r#"{"x:user":"alice"}"#)
        .with_sequential(true)
}

const OBJECT_HEADERS: [&str; 12] = [
    "content-type",
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "expires",
    "x-oss-meta-origin",
    "x-oss-tagging",
    "x-oss-storage-class",
    "x-oss-server-side-encryption",
    "x-oss-server-side-encryption-key-id",
    "x-oss-forbid-overwrite",
];

#[tokio::test]
async fn each_option_reaches_the_request_oss_takes_it_on() {
    let (client, seen) = recording_client(CallbackOutcome::Ok);
    let options = everything();
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "f", &data(300_000, 1));

    let id = client
        .initiate_upload("bkt", "k", &options)
        .await
        .unwrap()
        .upload_id;
    let bytes = Bytes::from(data(200_000, 2));
    client
        .upload_part("bkt", "k", &id, 1, PartBody::Bytes(bytes.clone()), &options)
        .await
        .unwrap();
    let body = PartBody::file_range(&path, 0, 300_000).unwrap();
    client
        .upload_part("bkt", "k", &id, 2, body, &options)
        .await
        .unwrap();
    let parts = [(2, "\"ETAG\"".to_owned()), (1, "\"ETAG\"".to_owned())];
    let done = client
        .complete_upload("bkt", "k", &id, &parts, &options)
        .await
        .unwrap();
    assert_eq!(done.status, 200);

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4);
    let (initiate, part1, part2, complete) = (&seen[0], &seen[1], &seen[2], &seen[3]);

    // Initiate: the object's attributes and the `sequential` sub-resource.
    assert!(
        initiate.query.split('&').any(|q| q == "sequential"),
        "sequential missing from {}",
        initiate.query
    );
    for name in OBJECT_HEADERS {
        assert!(initiate.has(name), "Initiate lacks {name}");
    }
    assert_eq!(initiate.header("x-oss-tagging"), Some("team=storage"));
    assert_eq!(initiate.header("x-oss-storage-class"), Some("Archive"));
    for name in ["x-oss-object-acl", "x-oss-callback", "x-oss-traffic-limit"] {
        assert!(!initiate.has(name), "Initiate carries {name}");
    }

    // Every part: the traffic limit; Content-MD5 on the in-memory body.
    for part in [part1, part2] {
        assert_eq!(part.header("x-oss-traffic-limit"), Some("1000000"));
        assert!(!part.has("x-oss-tagging") && !part.has("x-oss-object-acl"));
    }
    assert_eq!(
        part1.header("content-md5"),
        Some(content_md5(&bytes).as_str())
    );

    // Complete: ACL, forbid-overwrite, callback (base64 JSON), sorted parts.
    assert_eq!(complete.header("x-oss-object-acl"), Some("public-read"));
    assert_eq!(complete.header("x-oss-forbid-overwrite"), Some("true"));
    assert!(complete.has("x-oss-callback") && complete.has("x-oss-callback-var"));
    assert!(!complete.has("x-oss-tagging") && !complete.has("x-oss-traffic-limit"));
}

#[tokio::test]
async fn single_put_carries_everything_but_sequential() {
    let (client, seen) = recording_client(CallbackOutcome::Ok);
    let out = client
        .put_object_with("bkt", "k", b"hello".to_vec(), &everything())
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let put = &seen[0];
    assert_eq!(put.method, "PUT");
    assert!(!put.query.contains("sequential"));
    for name in OBJECT_HEADERS.iter().chain(&[
        "x-oss-object-acl",
        "x-oss-traffic-limit",
        "x-oss-callback",
        "x-oss-callback-var",
    ]) {
        assert!(put.has(name), "PutObject lacks {name}");
    }
    assert_eq!(
        put.header("content-md5"),
        Some(content_md5(b"hello").as_str())
    );
    // The callback's reply comes back raw and as JSON.
    let reply = out.callback.expect("a callback reply");
    assert!(!reply.is_failed());
    assert_eq!(&reply.body[..], br#"{"status":"stored"}"#);
    let json: serde_json::Value = reply.json().unwrap();
    assert_eq!(json["status"], "stored");
    assert_eq!(out.request_id, "RID-1");
}

#[tokio::test]
async fn a_failed_callback_is_a_success_with_a_typed_error_and_nothing_is_aborted() {
    let (client, seen) = recording_client(CallbackOutcome::Failed);
    let options = ObjectOptions::new()
        .with_callback(r#"{"callbackUrl":"http://127.0.0.1:9/","callbackBody":"b"}"#);
    let id = client
        .initiate_upload("bkt", "k", &options)
        .await
        .unwrap()
        .upload_id;
    let done = client
        .complete_upload("bkt", "k", &id, &[(1, "\"E\"".to_owned())], &options)
        .await
        .expect("203 is a success");
    assert_eq!(done.status, 203);
    let reply = done.callback.expect("callback reply");
    let error = reply.error.as_ref().expect("typed callback error");
    assert_eq!(error.code(), "CallbackFailed");
    assert_eq!(error.message(), "Error status : 502.");
    assert!(
        seen.lock().unwrap().iter().all(|s| s.method != "DELETE"),
        "the upload was aborted"
    );

    let put = client
        .put_object_with("bkt", "k2", b"x".to_vec(), &options)
        .await
        .expect("203 is a success");
    assert!(put.callback.is_some_and(|c| c.is_failed()));
}

#[tokio::test]
async fn invalid_options_fail_before_any_request() {
    let (client, seen) = recording_client(CallbackOutcome::Ok);
    let bad = ObjectOptions::new().with_traffic_limit(1);
    let err = client.initiate_upload("bkt", "k", &bad).await.unwrap_err();
    assert!(err.is_usage());
    assert!(err.to_string().contains("traffic"), "{err}");
    let err = client
        .put_object_with("bkt", "k", b"x".to_vec(), &bad)
        .await
        .unwrap_err();
    assert!(err.is_usage());
    let err = client
        .presign_upload_with(
            "b",
            "k",
            1,
            102_400,
            std::time::Duration::from_secs(60),
            &bad,
        )
        .await
        .unwrap_err();
    assert!(err.is_usage());
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn attributes_and_streamed_parts_round_trip_through_oss_local() {
    let server = server().await;
    let client = client(&server.endpoint());
    let options = ObjectOptions::new()
        .with_content_type("image/png")
        .with_metadata("Origin", "cam-7");

    // Single PUT.
    client
        .put_object_with(BUCKET, "single", b"abc".to_vec(), &options)
        .await
        .unwrap();
    let head = client.head_object(BUCKET, "single").await.unwrap();
    assert_eq!(head.content_type.as_deref(), Some("image/png"));
    assert_eq!(head.metadata, [("origin".to_owned(), "cam-7".to_owned())]);

    // Multipart from a file range, a reader and bytes.
    let dir = tempfile::tempdir().unwrap();
    let all = data(350_000, 3);
    let path = write_file(dir.path(), "src", &all);
    let id = client
        .initiate_upload(BUCKET, "multi", &options)
        .await
        .unwrap()
        .upload_id;
    let p1 = client
        .upload_part(
            BUCKET,
            "multi",
            &id,
            1,
            PartBody::file_range(&path, 0, 120_000).unwrap(),
            &options,
        )
        .await
        .unwrap();
    assert_eq!(p1.crc64, crc_of(&all[..120_000]));
    assert_eq!(p1.size, 120_000);
    let reader = std::io::Cursor::new(all[120_000..240_000].to_vec());
    let p2 = client
        .upload_part(
            BUCKET,
            "multi",
            &id,
            2,
            PartBody::Reader {
                reader: Box::new(reader),
                len: 120_000,
            },
            &options,
        )
        .await
        .unwrap();
    assert_eq!(p2.crc64, crc_of(&all[120_000..240_000]));
    let p3 = client
        .upload_part(
            BUCKET,
            "multi",
            &id,
            3,
            PartBody::Bytes(Bytes::copy_from_slice(&all[240_000..])),
            &options,
        )
        .await
        .unwrap();
    assert!(!p3.request_id.is_empty());
    let parts: Vec<_> = [p1, p2, p3]
        .into_iter()
        .map(|p| (p.part_number, p.etag))
        .collect();
    let done = client
        .complete_upload(BUCKET, "multi", &id, &parts, &options)
        .await
        .unwrap();
    assert_eq!(done.crc64, Some(crc_of(&all)));
    assert_eq!(client.get_object(BUCKET, "multi").await.unwrap(), all);
    let head = client.head_object(BUCKET, "multi").await.unwrap();
    assert_eq!(head.content_type.as_deref(), Some("image/png"));
    assert_eq!(head.metadata, [("origin".to_owned(), "cam-7".to_owned())]);
    server.shutdown().await;
}

#[tokio::test]
async fn a_short_reader_fails_the_part_without_panicking() {
    let server = server().await;
    let client = client(&server.endpoint());
    let id = client
        .initiate_upload(BUCKET, "short", &ObjectOptions::new())
        .await
        .unwrap()
        .upload_id;
    let reader = std::io::Cursor::new(vec![1u8; 10]);
    let err = client
        .upload_part(
            BUCKET,
            "short",
            &id,
            1,
            PartBody::Reader {
                reader: Box::new(reader),
                len: 100,
            },
            &ObjectOptions::new(),
        )
        .await
        .unwrap_err();
    assert!(err.is_network() || err.service_error().is_some(), "{err}");
    server.shutdown().await;
}

#[tokio::test]
async fn complete_all_uses_every_part_on_the_server() {
    let server = server().await;
    let client = client(&server.endpoint());
    let all = data(250_000, 4);
    let none = ObjectOptions::new();
    let id = client
        .initiate_upload(BUCKET, "all", &none)
        .await
        .unwrap()
        .upload_id;
    for (n, range) in [(1, 0..150_000), (2, 150_000..250_000)] {
        client
            .upload_part(
                BUCKET,
                "all",
                &id,
                n,
                PartBody::Bytes(Bytes::copy_from_slice(&all[range])),
                &none,
            )
            .await
            .unwrap();
    }
    // The local part list is "lost": complete from the server's.
    let done = client
        .complete_upload_all(BUCKET, "all", &id, &none)
        .await
        .unwrap();
    assert_eq!(done.status, 200);
    assert_eq!(client.get_object(BUCKET, "all").await.unwrap(), all);
    server.shutdown().await;
}

#[tokio::test]
async fn sequential_reaches_oss_local_which_enforces_the_order() {
    let server = server().await;
    let client = client(&server.endpoint());
    let seq = ObjectOptions::new().with_sequential(true);
    let id = client
        .initiate_upload(BUCKET, "seq", &seq)
        .await
        .unwrap()
        .upload_id;
    let body = || PartBody::Bytes(Bytes::from(vec![0u8; 102_400]));
    let err = client
        .upload_part(BUCKET, "seq", &id, 2, body(), &seq)
        .await
        .unwrap_err();
    assert_eq!(
        err.service_error().map(|e| e.code()),
        Some("PartNotSequential")
    );
    client
        .upload_part(BUCKET, "seq", &id, 1, body(), &seq)
        .await
        .unwrap();
    client
        .upload_part(BUCKET, "seq", &id, 2, body(), &seq)
        .await
        .unwrap();
    server.shutdown().await;
}

/// A client whose requests go to `endpoint` (oss-local) through a recorder.
fn proxied_client(endpoint: &str) -> (Client, Arc<Mutex<Vec<Seen>>>) {
    use http_body_util::{BodyExt as _, Full};
    let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
    let log = seen.clone();
    let upstream =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http::<Full<Bytes>>();
    let http = FnTransport::new(move |req: http::Request<Bytes>| {
        let log = log.clone();
        let upstream = upstream.clone();
        async move {
            log.lock().expect("log lock").push(Seen {
                method: req.method().as_str().to_owned(),
                query: req.uri().query().unwrap_or("").to_owned(),
                headers: req.headers().clone(),
            });
            let (parts, body) = req.into_parts();
            let resp = upstream
                .request(http::Request::from_parts(parts, Full::new(body)))
                .await
                .expect("oss-local answers");
            let (parts, body) = resp.into_parts();
            let body = body.collect().await.expect("body").to_bytes();
            http::Response::from_parts(parts, body)
        }
    });
    let client = Client::builder()
        .endpoint(endpoint)
        .region("cn-hangzhou")
        .credentials(Credentials::new(common::AK, common::SK))
        .addressing(Addressing::Path)
        .http_client(Arc::new(http))
        .build()
        .expect("client builds");
    (client, seen)
}

#[tokio::test]
async fn the_upload_driver_sends_each_option_on_its_request() {
    let server = server().await;
    let (client, seen) = proxied_client(&server.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(250_000, 5);
    let path = write_file(dir.path(), "f", &bytes);
    let options = ObjectOptions::new()
        .with_content_type("text/csv")
        .with_cache_control("max-age=60")
        .with_content_language("fr")
        .with_metadata("run", "42")
        .with_forbid_overwrite(true)
        .with_traffic_limit(oss_multipart::MAX_TRAFFIC_LIMIT)
        .with_content_md5(true)
        .with_sequential(true);
    let out = client
        .upload_file(BUCKET, "driven", &path)
        .part_size(102_400)
        .options(options)
        .send()
        .await
        .unwrap();
    assert_eq!(out.parts, 3);
    assert!(out.callback.is_none());

    let seen = seen.lock().unwrap().clone();
    let initiate = seen
        .iter()
        .find(|s| s.method == "POST" && s.query.contains("uploads"))
        .expect("an Initiate");
    assert!(
        initiate.query.split('&').any(|q| q == "sequential"),
        "sequential missing from Initiate: {}",
        initiate.query
    );
    assert_eq!(initiate.header("content-type"), Some("text/csv"));
    assert_eq!(initiate.header("cache-control"), Some("max-age=60"));
    assert_eq!(initiate.header("content-language"), Some("fr"));
    assert_eq!(initiate.header("x-oss-meta-run"), Some("42"));
    assert_eq!(initiate.header("x-oss-forbid-overwrite"), Some("true"));
    let parts: Vec<_> = seen
        .iter()
        .filter(|s| s.method == "PUT" && s.query.contains("partNumber"))
        .collect();
    assert_eq!(parts.len(), 3);
    for part in parts {
        assert_eq!(part.header("x-oss-traffic-limit"), Some("838860800"));
        assert!(part.has("content-md5"));
        assert!(!part.has("x-oss-meta-run"));
    }
    let complete = seen
        .iter()
        .find(|s| s.method == "POST" && s.query.contains("uploadId"))
        .expect("a Complete");
    assert_eq!(complete.header("x-oss-forbid-overwrite"), Some("true"));

    let head = client.head_object(BUCKET, "driven").await.unwrap();
    assert_eq!(head.content_type.as_deref(), Some("text/csv"));
    assert_eq!(head.metadata, [("run".to_owned(), "42".to_owned())]);
    // forbid-overwrite reached Complete: a second upload of the same key is refused.
    let again = client
        .upload_file(BUCKET, "driven", &path)
        .part_size(102_400)
        .options(ObjectOptions::new().with_forbid_overwrite(true))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        again.service_error().map(|e| e.code()),
        Some("FileAlreadyExists"),
        "{again}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn uploads_keep_the_callback_reply_and_survive_a_failed_callback() {
    let dir = tempfile::tempdir().unwrap();
    let callback = r#"{"callbackUrl":"http://127.0.0.1:9/","callbackBody":"b"}"#;
    for (size, part_size) in [(1_000usize, None), (250_000, Some(102_400))] {
        let path = write_file(dir.path(), "cb", &data(size, 6));
        for outcome in [CallbackOutcome::Ok, CallbackOutcome::Failed] {
            let (client, seen) = recording_client(outcome);
            let mut upload = client.upload_file("bkt", "k", &path).callback(callback);
            if let Some(p) = part_size {
                upload = upload.part_size(p);
            }
            let out = upload
                .send()
                .await
                .unwrap_or_else(|e| panic!("{size}: {e:?}"));
            let reply = out.callback.expect("the callback reply");
            match outcome {
                CallbackOutcome::Ok => {
                    let json: serde_json::Value = reply.json().unwrap();
                    assert_eq!(json["status"], "stored");
                }
                CallbackOutcome::Failed => {
                    assert_eq!(reply.error.expect("typed error").code(), "CallbackFailed");
                }
            }
            let seen = seen.lock().unwrap();
            assert!(seen.iter().all(|s| s.method != "DELETE"), "aborted");
            assert!(seen.iter().any(|s| s.has("x-oss-callback")));
        }
    }
}

#[tokio::test]
async fn multipart_copy_keeps_the_source_attributes_unless_told_otherwise() {
    let server = server().await;
    let client = client(&server.endpoint());
    let bytes = data(300_000, 7);
    let source = ObjectOptions::new()
        .with_content_type("video/mp4")
        .with_metadata("camera", "7");
    client
        .put_object_with(BUCKET, "src", bytes.clone(), &source)
        .await
        .unwrap();

    let out = client
        .copy_multipart(BUCKET, "src", BUCKET, "kept")
        .single_copy_threshold(0)
        .part_size(102_400)
        .await
        .unwrap();
    assert_eq!(out.parts, 3);
    let head = client.head_object(BUCKET, "kept").await.unwrap();
    assert_eq!(head.content_type.as_deref(), Some("video/mp4"));
    assert_eq!(head.metadata, [("camera".to_owned(), "7".to_owned())]);
    assert_eq!(client.get_object(BUCKET, "kept").await.unwrap(), bytes);

    let replaced = client
        .copy_multipart(BUCKET, "src", BUCKET, "replaced")
        .single_copy_threshold(0)
        .part_size(102_400)
        .options(
            ObjectOptions::new()
                .with_content_type("text/plain")
                .with_traffic_limit(oss_multipart::MAX_TRAFFIC_LIMIT),
        )
        .await
        .unwrap();
    assert_eq!(replaced.parts, 3);
    let head = client.head_object(BUCKET, "replaced").await.unwrap();
    assert_eq!(head.content_type.as_deref(), Some("text/plain"));
    assert!(head.metadata.is_empty());

    let err = client
        .copy_multipart(BUCKET, "src", BUCKET, "never")
        .options(ObjectOptions::new().with_tag("", "v"))
        .await
        .unwrap_err();
    assert!(err.is_usage());
    server.shutdown().await;
}

/// The response headers of a plain HEAD of `key` (through a presigned URL).
async fn stored_headers(client: &Client, key: &str) -> http::HeaderMap {
    use http_body_util::Full;
    let url = client
        .presign(
            http::Method::HEAD,
            BUCKET,
            key,
            std::time::Duration::from_secs(60),
        )
        .expect("presign");
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let req = http::Request::head(url)
        .body(Full::new(Bytes::new()))
        .expect("request");
    let resp = http.request(req).await.expect("oss-local answers");
    assert_eq!(resp.status(), 200);
    resp.headers().clone()
}

#[tokio::test]
async fn every_stored_option_round_trips_through_oss_local_single_and_multipart() {
    let server = server().await;
    let client = client(&server.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let options = ObjectOptions::new()
        .with_content_type("text/csv")
        .with_cache_control("max-age=60")
        .with_content_disposition("attachment; filename=\"r.csv\"")
        .with_content_language("fr")
        .with_expires("Wed, 21 Oct 2026 07:28:00 GMT")
        .with_storage_class(StorageClass::InfrequentAccess)
        .with_sse(ServerSideEncryption::Kms)
        .with_sse_key_id("kms-key-1")
        .with_tags([("team", "storage"), ("env", "test")])
        .with_acl(ObjectAcl::PublicRead)
        .with_metadata("run", "42");
    let single = write_file(dir.path(), "single", &data(1_000, 8));
    let multi = write_file(dir.path(), "multi", &data(250_000, 8));
    for (key, path) in [("rt-single", &single), ("rt-multi", &multi)] {
        client
            .upload_file(BUCKET, key, path)
            .part_size(102_400)
            .options(options.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{key}: {e:?}"));
        let h = stored_headers(&client, key).await;
        let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
        assert_eq!(get("content-type").as_deref(), Some("text/csv"), "{key}");
        assert_eq!(get("cache-control").as_deref(), Some("max-age=60"), "{key}");
        assert_eq!(
            get("content-disposition").as_deref(),
            Some("attachment; filename=\"r.csv\""),
            "{key}"
        );
        assert_eq!(get("content-language").as_deref(), Some("fr"), "{key}");
        assert_eq!(
            get("expires").as_deref(),
            Some("Wed, 21 Oct 2026 07:28:00 GMT"),
            "{key}"
        );
        assert_eq!(get("x-oss-storage-class").as_deref(), Some("IA"), "{key}");
        assert_eq!(
            get("x-oss-server-side-encryption").as_deref(),
            Some("KMS"),
            "{key}"
        );
        assert_eq!(
            get("x-oss-server-side-encryption-key-id").as_deref(),
            Some("kms-key-1"),
            "{key}"
        );
        assert_eq!(get("x-oss-tagging-count").as_deref(), Some("2"), "{key}");
        assert_eq!(get("x-oss-meta-run").as_deref(), Some("42"), "{key}");
    }
    server.shutdown().await;
}
