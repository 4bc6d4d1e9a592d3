//! Every XML sample of `oss-test-vectors` (`data/xml/`; see its `index.json` for
//! each file's source) is decoded by the matching parser, with values checked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use http::StatusCode;
use oss_model::ops::{
    CompleteMultipartUploadBody, CompleteMultipartUploadOutput, InitiateMultipartUploadOutput,
    ListMultipartUploadsOutput, ListPartsOutput, UploadPartCopyOutput,
};
use oss_model::{EncodingType, ErrorCode, ServiceError};

fn sample(name: &str) -> Vec<u8> {
    oss_test_vectors::bytes(&format!("xml/{name}"))
}

/// Names of the opening tags, in document order.
fn open_tags(xml: &str) -> Vec<&str> {
    xml.split('<')
        .skip(1)
        .filter_map(|t| t.split_once('>').map(|(name, _)| name))
        .filter(|name| !name.starts_with(['/', '?']) && !name.ends_with('/'))
        .collect()
}

fn index() -> serde_json::Value {
    serde_json::from_slice(&sample("index.json")).unwrap()
}

/// Every file listed in index.json is covered by a test below, and every XML file is listed.
#[test]
fn index_lists_every_sample_and_each_one_decodes() {
    let index = index();
    let files = index["files"].as_array().unwrap();
    let dir = oss_test_vectors::path("xml");
    let on_disk = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".xml")
        })
        .count();
    assert_eq!(files.len(), on_disk);
    for entry in files {
        let file = entry["file"].as_str().unwrap();
        assert!(entry["source"].as_str().is_some(), "{file} lost its source");
        let body = sample(file);
        match entry["kind"].as_str().unwrap() {
            "error" => {
                let status =
                    StatusCode::from_u16(entry["status"].as_u64().unwrap() as u16).unwrap();
                let err = ServiceError::from_xml(status, &body).unwrap();
                assert_eq!(err.code(), entry["code"].as_str().unwrap(), "{file}");
                let known = err.error_code().expect("code is in the generated table");
                assert_eq!(known.http_status(), status, "{file}: table status");
            }
            "request" => {
                let parsed = CompleteMultipartUploadBody::from_xml(&body).unwrap();
                assert!(!parsed.parts.is_empty(), "{file}");
            }
            "response" => {
                let op = entry["op"].as_str().unwrap();
                let ok = match op.split(' ').next().unwrap() {
                    "InitiateMultipartUpload" => {
                        InitiateMultipartUploadOutput::from_xml(&body).is_ok()
                    }
                    "CompleteMultipartUpload" => {
                        CompleteMultipartUploadOutput::from_xml(&body).is_ok()
                    }
                    "UploadPartCopy" => UploadPartCopyOutput::from_xml(&body).is_ok(),
                    "ListParts" => ListPartsOutput::from_xml(&body).is_ok(),
                    "ListMultipartUploads" => ListMultipartUploadsOutput::from_xml(&body).is_ok(),
                    other => panic!("{file}: no parser for {other}"),
                };
                assert!(ok, "{file} did not parse");
            }
            other => panic!("{file}: unknown kind {other}"),
        }
    }
}

#[test]
fn initiate_results() {
    let out = InitiateMultipartUploadOutput::from_xml(&sample("InitiateMultipartUploadResult.xml"))
        .unwrap();
    assert_eq!(out.bucket, "examplebucket");
    assert_eq!(out.key, "multipart.data");
    assert_eq!(out.upload_id, "0004B9894A22E5B1888A1E29F823****");
    assert_eq!(out.encoding_type, None);

    let out = InitiateMultipartUploadOutput::from_xml(&sample(
        "InitiateMultipartUploadResult-urlencoded.xml",
    ))
    .unwrap();
    assert_eq!(out.key, "demo/gp-\u{c}\n\u{b}");
    assert_eq!(out.encoding_type, Some(EncodingType::Url));
}

#[test]
fn complete_results() {
    let out = CompleteMultipartUploadOutput::from_xml(&sample("CompleteMultipartUploadResult.xml"))
        .unwrap();
    assert_eq!(
        out.location,
        "http://examplebucket.oss-cn-hangzhou.aliyuncs.com/multipart.data"
    );
    assert_eq!(out.bucket, "examplebucket");
    assert_eq!(out.key, "multipart.data");
    assert_eq!(out.etag, "\"097DE458AD02B5F89F9D0530231876B6-2\"");

    let out = CompleteMultipartUploadOutput::from_xml(&sample(
        "CompleteMultipartUploadResult-urlencoded.xml",
    ))
    .unwrap();
    assert_eq!(out.key, "demo/multipart.data");
    assert_eq!(out.bucket, "oss-example");
}

#[test]
fn copy_part_result() {
    let out = UploadPartCopyOutput::from_xml(&sample("CopyPartResult.xml")).unwrap();
    assert_eq!(out.last_modified, "2014-07-17T06:27:54.000Z");
    assert_eq!(out.etag, "\"5B3C1A2E053D763E1B002CC607C5****\"");
}

#[test]
fn list_parts_result() {
    let out = ListPartsOutput::from_xml(&sample("ListPartsResult.xml")).unwrap();
    assert_eq!(out.upload_id, "0004B9894A22E5B1888A1E29F823****");
    assert_eq!(out.storage_class, "Standard");
    assert_eq!(
        (
            out.part_number_marker,
            out.next_part_number_marker,
            out.max_parts
        ),
        (0, 5, 2)
    );
    assert!(out.is_truncated);
    let numbers: Vec<u32> = out.parts.iter().map(|p| p.part_number.get()).collect();
    assert_eq!(numbers, [1, 5]);
    assert_eq!(out.parts[0].size, 6_291_456);
    assert_eq!(out.parts[0].crc64, Some(12_066_172_435_287_683_848));
    assert_eq!(out.parts[1].crc64, Some(6_571_598_172_666_981_661));
    assert_eq!(out.parts[1].etag, "\"7265F4D211B56873A381D321F586****\"");
    assert_eq!(out.parts[1].last_modified, "2012-02-23T07:02:03.000Z");
}

#[test]
fn list_uploads_result_is_url_decoded() {
    let out =
        ListMultipartUploadsOutput::from_xml(&sample("ListMultipartUploadsResult.xml")).unwrap();
    assert_eq!(out.key_marker, "photos/a.jpg");
    assert_eq!(out.next_key_marker, "photos/d e.jpg");
    assert_eq!(
        out.next_upload_id_marker,
        "89F0105AA66942638E35300618DF****"
    );
    assert_eq!(out.delimiter, "/");
    assert_eq!(out.prefix, "photos/");
    assert_eq!(out.max_uploads, 3);
    assert!(out.is_truncated);
    let keys: Vec<&str> = out.uploads.iter().map(|u| u.key.as_str()).collect();
    assert_eq!(keys, ["photos/b.jpg", "photos/d e.jpg"]);
    assert_eq!(out.uploads[0].initiated, "2023-11-22T05:45:57.000Z");
    assert_eq!(out.common_prefixes, ["photos/2024/"]);
}

#[test]
fn error_documents_keep_extras() {
    let err =
        ServiceError::from_xml(StatusCode::NOT_FOUND, &sample("Error-NoSuchUpload.xml")).unwrap();
    assert_eq!(err.error_code(), Some(ErrorCode::NoSuchUpload));
    assert_eq!(err.request_id(), "63E37239D9A902383982A9EC");
    assert_eq!(err.host_id(), "examplebucket.oss-cn-hangzhou.aliyuncs.com");
    assert_eq!(err.ec(), Some("0042-00000002"));
    assert_eq!(
        err.extra("UploadId"),
        Some("00358B75E5C546AF822369CE04A48A14")
    );
    assert!(!err.is_retryable());

    let err = ServiceError::from_xml(
        StatusCode::FORBIDDEN,
        &sample("Error-SignatureDoesNotMatch-V1.xml"),
    )
    .unwrap();
    assert_eq!(
        err.extra("StringToSign"),
        Some("PUT\n\n\nTue, 23 May 2023 15:24:55 GMT\n/examplebucket/?acl")
    );
    assert!(!err.to_string().contains("StringToSign"));

    let err = ServiceError::from_xml(
        StatusCode::FORBIDDEN,
        &sample("Error-SignatureDoesNotMatch-V4.xml"),
    )
    .unwrap();
    assert!(
        err.extra("CanonicalRequest")
            .unwrap()
            .contains("%2Bparam1=value3&%2Bparam2")
    );

    let err = ServiceError::from_xml(
        StatusCode::BAD_REQUEST,
        &sample("Error-InvalidArgument-CompleteAllWithBody.xml"),
    )
    .unwrap();
    assert_eq!(err.extra("ArgumentName"), Some("x-oss-complete-all"));
    assert_eq!(
        err.extra("RecommendDoc"),
        Some("https://api.aliyun.com/troubleshoot?q=0042-00000216")
    );

    let err = ServiceError::from_xml(
        StatusCode::FORBIDDEN,
        &sample("Error-RequestTimeTooSkewed.xml"),
    )
    .unwrap();
    assert!(err.is_retryable(), "clock skew is retryable after re-sync");
    assert_eq!(err.extra("MaxAllowedSkewMilliseconds"), Some("900000"));
}

#[test]
fn complete_request_bodies() {
    let sorted =
        CompleteMultipartUploadBody::from_xml(&sample("CompleteMultipartUpload-request.xml"))
            .unwrap();
    let numbers: Vec<u32> = sorted.parts.iter().map(|p| p.part_number.get()).collect();
    assert_eq!(numbers, [1, 5, 8]);
    assert_eq!(sorted.parts[0].etag, "\"3349DC700140D7F86A0784842780****\"");

    // The unsorted sample parses; the order is kept so a server can answer InvalidPartOrder.
    let unsorted = CompleteMultipartUploadBody::from_xml(&sample(
        "CompleteMultipartUpload-request-unsorted-INVALID.xml",
    ))
    .unwrap();
    let numbers: Vec<u32> = unsorted.parts.iter().map(|p| p.part_number.get()).collect();
    assert_eq!(numbers, [5, 1]);

    // The Go SDK escapes quotes as `&#34;`; we write them literally (as the Python SDK does,
    // whose bytes and Content-MD5 requests_e2e.json pins). Same document otherwise, byte for byte.
    let go = sample("CompleteMultipartUpload-request-go-sdk-v2.xml");
    let parsed = CompleteMultipartUploadBody::from_xml(&go).unwrap();
    assert_eq!(parsed.parts.len(), 3);
    assert_eq!(parsed.parts[2].etag, "\"3349DC700140D7F86A0784842780****\"");
    let expected = String::from_utf8(go)
        .unwrap()
        .trim_end()
        .replace("&#34;", "\"");
    assert_eq!(parsed.to_xml(), expected);
}

#[test]
fn error_writer_round_trips_every_sample() {
    for entry in index()["files"].as_array().unwrap() {
        if entry["kind"] != "error" {
            continue;
        }
        let status = StatusCode::from_u16(entry["status"].as_u64().unwrap() as u16).unwrap();
        let err = ServiceError::from_xml(status, &sample(entry["file"].as_str().unwrap())).unwrap();
        let xml = err.to_xml();
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        // Same elements in the same order as OSS wrote them (RecommendDoc after EC included).
        let sample_text = String::from_utf8(sample(entry["file"].as_str().unwrap())).unwrap();
        assert_eq!(
            open_tags(&xml),
            open_tags(&sample_text),
            "{}",
            entry["file"]
        );
        let again = ServiceError::from_xml(status, xml.as_bytes()).unwrap();
        assert_eq!(again.code(), err.code());
        assert_eq!(again.message(), err.message());
        assert_eq!(again.ec(), err.ec());
        let mut a = again.extras().to_vec();
        let mut b = err.extras().to_vec();
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }
}

#[test]
fn paging_follows_the_next_markers() {
    use oss_model::ops::{ListMultipartUploads, ListParts};
    use oss_model::{BucketName, ObjectKey};
    let bucket = BucketName::new("examplebucket").unwrap();
    let parts = ListPartsOutput::from_xml(&sample("ListPartsResult.xml")).unwrap();
    let op = ListParts::new(
        bucket.clone(),
        ObjectKey::new("multipart.data").unwrap(),
        "id",
    );
    let next = op.next_page(&parts).expect("sample page is truncated");
    assert_eq!(next.part_number_marker, Some(5));
    let mut last = parts.clone();
    last.is_truncated = false;
    assert!(op.next_page(&last).is_none());

    let uploads =
        ListMultipartUploadsOutput::from_xml(&sample("ListMultipartUploadsResult.xml")).unwrap();
    let next = ListMultipartUploads::new(bucket)
        .next_page(&uploads)
        .unwrap();
    assert_eq!(next.key_marker.as_deref(), Some("photos/d e.jpg"));
    assert_eq!(
        next.upload_id_marker.as_deref(),
        Some("89F0105AA66942638E35300618DF****")
    );
}
