//! Presigned URLs against the official client-level vectors (`presign.json` of `oss-test-vectors`,
//! copied from the shared vectors; each case keeps its `source`). The wall clock is frozen
//! through the runtime seam and no network is used (in-memory transport).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oss_model::ops::{
    AbortMultipartUpload, CompleteMultipartUpload, GetObject, InitiateMultipartUpload, UploadPart,
};
use oss_model::{BucketName, ObjectKey, PartNumber};
use oss_multipart::runtime::FixedWallClock;
use oss_multipart::transport::FnTransport;
use oss_multipart::{Addressing, Client, Credentials, SignatureVersion};
use serde_json::Value;

fn client_for(case: &Value) -> Client {
    let t = case["signing_time_unix"].as_u64().unwrap();
    let creds = &case["credentials"];
    let version = match case["signature_version"].as_str().unwrap() {
        "v1" => SignatureVersion::V1,
        _ => SignatureVersion::V4,
    };
    Client::builder()
        .endpoint("http://oss-cn-hangzhou.aliyuncs.com")
        .region(case["region"].as_str().unwrap())
        .credentials(Credentials::new(
            creds["access_key_id"].as_str().unwrap(),
            creds["access_key_secret"].as_str().unwrap(),
        ))
        .signature_version(version)
        .addressing(Addressing::VirtualHost)
        .runtime(Arc::new(FixedWallClock::new(
            UNIX_EPOCH + Duration::from_secs(t),
        )))
        .http_client(Arc::new(FnTransport::new(|_| async {
            panic!("presigning must not touch the network")
        })))
        .build()
        .unwrap()
}

/// Parses the vector URL back into (key, query pairs before the signing parameters).
fn key_and_query(url: &str) -> (String, Vec<(String, String)>) {
    let rest = url.split_once(".aliyuncs.com/").unwrap().1;
    let (path, query) = rest.split_once('?').unwrap();
    let key = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .unwrap()
        .into_owned();
    let mut pairs = Vec::new();
    for kv in query.split('&') {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        if k.starts_with("x-oss-") || ["OSSAccessKeyId", "Expires", "Signature"].contains(&k) {
            continue;
        }
        let v = percent_encoding::percent_decode_str(v)
            .decode_utf8()
            .unwrap()
            .into_owned();
        pairs.push((k.to_owned(), v));
    }
    (key, pairs)
}

#[test]
fn client_presign_vectors_reproduce_the_sdk_urls() {
    let file: Value = serde_json::from_str(&oss_test_vectors::text("presign.json")).unwrap();
    let cases = file["client_presign"].as_array().unwrap();
    assert!(cases.len() >= 6);
    let mut checked = 0;
    for case in cases {
        let id = case["id"].as_str().unwrap();
        assert!(
            case["source"].as_str().is_some_and(|s| !s.is_empty()),
            "{id} keeps its source"
        );
        let client = client_for(case);
        let expected = &case["expected"];
        let want_url = expected["url"].as_str().unwrap();
        let method = expected["method"].as_str().unwrap();
        let expires = Duration::from_secs(
            case["expiration_unix"].as_u64().unwrap() - case["signing_time_unix"].as_u64().unwrap(),
        );
        let (key, query) = key_and_query(want_url);
        let b = BucketName::new("examplebucket").unwrap();
        let k = ObjectKey::new(key.clone()).unwrap();
        let upload_id = query
            .iter()
            .find(|(n, _)| n == "uploadId")
            .map(|(_, v)| v.clone());
        let got = match (method, upload_id, query.iter().any(|(n, _)| n == "uploads")) {
            ("POST", None, true) => {
                let mut op = InitiateMultipartUpload::new(b, k);
                op.encoding_type = None;
                client.presign_op(&op, expires).unwrap()
            }
            ("PUT", Some(id), _) => {
                let n: u32 = query
                    .iter()
                    .find(|(n, _)| n == "partNumber")
                    .unwrap()
                    .1
                    .parse()
                    .unwrap();
                client
                    .presign_op(
                        &UploadPart::new(b, k, id, PartNumber::new(n).unwrap()),
                        expires,
                    )
                    .unwrap()
            }
            ("POST", Some(id), _) => {
                let mut op = CompleteMultipartUpload::new(b, k, id, Vec::new());
                op.complete_all = true;
                op.encoding_type = None;
                client.presign_op(&op, expires).unwrap()
            }
            ("DELETE", Some(id), _) => client
                .presign_op(&AbortMultipartUpload::new(b, k, id), expires)
                .unwrap(),
            ("GET", None, _) => client.presign_op(&GetObject::new(b, k), expires).unwrap(),
            other => panic!("{id}: unhandled vector shape {other:?}"),
        };
        assert_eq!(got.method, method, "{id}");
        // Parameter order differs between SDKs: compare the base and the set.
        let norm = |u: &str| {
            let (base, q) = u.split_once('?').unwrap();
            let mut q: Vec<&str> = q.split('&').collect();
            q.sort_unstable();
            (base.to_owned(), q.join("&"))
        };
        assert_eq!(norm(&got.url), norm(want_url), "{id}");
        let want_headers: Vec<(String, String)> = expected["signed_headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        for h in &want_headers {
            assert!(
                got.headers.contains(h),
                "{id}: header {h:?} in {:?}",
                got.headers
            );
        }
        checked += 1;
    }
    assert_eq!(checked, cases.len());
    // The same clock gives the same URL: presigning is deterministic.
    let c = client_for(&cases[0]);
    let a = c
        .presign(
            http::Method::GET,
            "examplebucket",
            "k",
            Duration::from_secs(60),
        )
        .unwrap();
    let b = c
        .presign(
            http::Method::GET,
            "examplebucket",
            "k",
            Duration::from_secs(60),
        )
        .unwrap();
    assert_eq!(a, b);
    let _ = SystemTime::now();
}
