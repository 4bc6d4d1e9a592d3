//! Every request in `requests_e2e.json` (crate `oss-test-vectors`) (emitted by the official Python SDK) is
//! reproduced by our operation types: method, bucket, key, query set, the headers we own and
//! the body; and each canned response parses to what the SDK parsed.
//!
//! "Headers we own" = everything the SDK set except transport/signing headers (`User-Agent`,
//! `Date`, `x-oss-date`, `x-oss-content-sha256`, `Authorization`) and the `Content-MD5` of an
//! empty body, which the Python SDK adds to every bodiless request out of habit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeSet;

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use oss_model::ops::{
    AbortMultipartUpload, CompleteMultipartUpload, CompletedPart, InitiateMultipartUpload,
    ListMultipartUploads, ListParts, UploadPart, UploadPartCopy,
};
use oss_model::{BucketName, ObjectKey, Operation, OssRequest, PartNumber, url_decode};
use serde_json::Value;

const UPLOAD_ID: &str = "0004B9894A22E5B1888A1E29F823****";
const TRANSPORT_HEADERS: &[&str] = &[
    "user-agent",
    "date",
    "x-oss-date",
    "x-oss-content-sha256",
    "authorization",
];

fn vectors() -> Vec<Value> {
    let doc: Value = serde_json::from_slice(&oss_test_vectors::bytes("requests_e2e.json")).unwrap();
    doc["vectors"].as_array().unwrap().clone()
}

fn bucket() -> BucketName {
    BucketName::new("examplebucket").unwrap()
}

fn key() -> ObjectKey {
    ObjectKey::new("multipart.data").unwrap()
}

fn part(n: u32) -> PartNumber {
    PartNumber::new(n).unwrap()
}

/// Our operation for each vector, built from the vector's description (not from its request).
fn operation_for(id: &str) -> Box<dyn Fn() -> (OssRequest, Parser)> {
    fn boxed<O>(op: O) -> Box<dyn Fn() -> (OssRequest, Parser)>
    where
        O: Operation + Clone + 'static,
        O::Output: std::fmt::Debug + 'static,
    {
        Box::new(move || {
            let parser: Parser = Box::new(move |status, headers, body| {
                O::parse_response(status, headers, body)
                    .map(|o| format!("{o:?}"))
                    .map_err(|e| e.as_service().cloned().expect("service error"))
            });
            (op.to_request().unwrap(), parser)
        })
    }
    match id {
        "e2e-001" => {
            let mut op = InitiateMultipartUpload::new(bucket(), key());
            op.attributes.content_type = Some("application/octet-stream".into());
            op.attributes.forbid_overwrite = Some(true);
            boxed(op)
        }
        "e2e-011" => {
            let mut op = InitiateMultipartUpload::new(bucket(), key());
            op.attributes.content_type = Some("application/octet-stream".into());
            boxed(op)
        }
        "e2e-002" => boxed(UploadPart::new(bucket(), key(), UPLOAD_ID, part(1))),
        "e2e-009" => boxed(UploadPart::new(bucket(), key(), "bogus", part(1))),
        "e2e-012" => boxed(UploadPart::new(bucket(), key(), UPLOAD_ID, part(3))),
        "e2e-003" => {
            let mut op = UploadPartCopy::new(
                bucket(),
                key(),
                UPLOAD_ID,
                part(2),
                BucketName::new("srcbucket").unwrap(),
                ObjectKey::new("src dir/source+1.bin").unwrap(),
            );
            op.source_range = Some(0..=102_399);
            boxed(op)
        }
        "e2e-004" => boxed(CompleteMultipartUpload::new(
            bucket(),
            key(),
            UPLOAD_ID,
            vec![
                CompletedPart::new(part(2), "\"8C315065167132444177411FDA149B92\""),
                CompletedPart::new(part(1), "\"3349DC700140D7F86A0784842780D2B8\""),
            ],
        )),
        "e2e-005" => {
            let mut op = CompleteMultipartUpload::new(bucket(), key(), UPLOAD_ID, Vec::new());
            op.complete_all = true;
            boxed(op)
        }
        "e2e-010" => boxed(CompleteMultipartUpload::new(
            bucket(),
            key(),
            UPLOAD_ID,
            vec![CompletedPart::new(
                part(1),
                "\"3349DC700140D7F86A0784842780D2B8\"",
            )],
        )),
        "e2e-006" => boxed(AbortMultipartUpload::new(bucket(), key(), UPLOAD_ID)),
        "e2e-007" => {
            let mut op = ListParts::new(bucket(), key(), UPLOAD_ID);
            op.max_parts = Some(2);
            op.part_number_marker = Some(0);
            boxed(op)
        }
        "e2e-008" => {
            let mut op = ListMultipartUploads::new(bucket());
            op.prefix = Some("photos/".into());
            op.delimiter = Some("/".into());
            op.key_marker = Some("photos/a.jpg".into());
            op.upload_id_marker = Some(UPLOAD_ID.into());
            op.max_uploads = Some(3);
            boxed(op)
        }
        other => panic!("no operation for vector {other}"),
    }
}

type Parser = Box<dyn Fn(StatusCode, &HeaderMap, &[u8]) -> Result<String, oss_model::ServiceError>>;

/// Splits the vector URL into (bucket from the virtual host, decoded key, decoded query pairs).
fn split_url(url: &str) -> (String, String, BTreeSet<(String, String)>) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path_query) = rest.split_once('/').unwrap();
    let bucket = host.split('.').next().unwrap().to_owned();
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    let key = url_decode("path", path).unwrap();
    let pairs = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            (url_decode("q", n).unwrap(), url_decode("q", v).unwrap())
        })
        .collect();
    (bucket, key, pairs)
}

#[test]
fn every_vector_request_is_reproduced() {
    let all = vectors();
    assert_eq!(all.len(), 12);
    for v in &all {
        let id = v["id"].as_str().unwrap();
        assert!(v["source"].as_str().is_some());
        let request = &v["request"];
        let (ours, _) = operation_for(id)();

        assert_eq!(
            ours.method.as_str(),
            request["method"].as_str().unwrap(),
            "{id}: method"
        );
        let (bucket, key, query) = split_url(request["url"].as_str().unwrap());
        assert_eq!(
            ours.bucket.as_deref(),
            Some(bucket.as_str()),
            "{id}: bucket"
        );
        let our_key = ours.key.clone().unwrap_or_default();
        assert_eq!(our_key, key, "{id}: key");
        let our_query: BTreeSet<(String, String)> = ours.query.iter().cloned().collect();
        assert_eq!(our_query, query, "{id}: query");
        // Our own wire form decodes back to the same set.
        let (_, _, reparsed) = split_url(&format!(
            "http://{bucket}.x/{}?{}",
            key,
            ours.query_string()
        ));
        assert_eq!(reparsed, query, "{id}: query_string");

        let body = request["body"].as_str().unwrap();
        let sdk_headers: BTreeSet<(String, String)> = request["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h[0].as_str().unwrap().to_ascii_lowercase(),
                    h[1].as_str().unwrap().to_owned(),
                )
            })
            .filter(|(n, _)| !TRANSPORT_HEADERS.contains(&n.as_str()))
            .filter(|(n, v)| !(n == "content-md5" && v == "1B2M2Y8AsgTpgAmY7PhCfg=="))
            .collect();
        let our_headers: BTreeSet<(String, String)> = ours
            .headers
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect();
        assert_eq!(our_headers, sdk_headers, "{id}: headers");

        // Complete carries its XML body; UploadPart bodies are streamed by the driver.
        if ours.method == http::Method::POST && ours.query_param("uploadId").is_some() {
            assert_eq!(std::str::from_utf8(&ours.body).unwrap(), body, "{id}: body");
        } else {
            assert!(ours.body.is_empty(), "{id}: body should be empty");
        }
    }
}

#[test]
fn every_canned_response_parses_like_the_sdk() {
    for v in vectors() {
        let id = v["id"].as_str().unwrap();
        let canned = &v["canned_response"];
        let status = StatusCode::from_u16(canned["status"].as_u64().unwrap() as u16).unwrap();
        let mut headers = HeaderMap::new();
        for (name, value) in canned["headers"].as_object().unwrap() {
            headers.insert(
                HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).unwrap(),
                HeaderValue::from_str(value.as_str().unwrap()).unwrap(),
            );
        }
        let body = canned["body"].as_str().unwrap().as_bytes();
        let (_, parse) = operation_for(id)();
        match parse(status, &headers, body) {
            Ok(debug) => {
                let expected = &v["sdk_parsed_result"];
                assert!(!expected.is_null(), "{id}: SDK saw an error, we did not");
                // Every string/number field the SDK parsed appears in our output.
                for (field, value) in expected.as_object().unwrap() {
                    if matches!(
                        field.as_str(),
                        "status" | "status_code" | "initiated" | "encoding_type"
                    ) {
                        continue;
                    }
                    let needle = match value {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        _ => continue,
                    };
                    let needle = format!("{needle:?}");
                    let bare = needle.trim_matches('"').replace("\\\"", "\"");
                    assert!(
                        debug.contains(&needle) || debug.contains(&bare),
                        "{id}: {field}={value} not in {debug}"
                    );
                }
            }
            Err(err) => {
                let expected = &v["sdk_error"];
                assert!(!expected.is_null(), "{id}: unexpected error {err}");
                assert_eq!(err.code(), expected["code"].as_str().unwrap(), "{id}");
                assert_eq!(err.message(), expected["message"].as_str().unwrap(), "{id}");
                assert_eq!(
                    err.request_id(),
                    expected["request_id"].as_str().unwrap(),
                    "{id}"
                );
                assert_eq!(err.ec(), expected["ec"].as_str(), "{id}");
                assert_eq!(
                    u64::from(err.status().as_u16()),
                    expected["status_code"].as_u64().unwrap()
                );
            }
        }
    }
}
