//! proptest: model -> XML -> model is the identity for every body we both write and read,
//! with and without `encoding-type=url`, for arbitrary text (control characters included).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use http::StatusCode;
use oss_model::ops::{
    CompleteMultipartUploadBody, CompleteMultipartUploadOutput, CompletedPart,
    CreateBucketConfiguration, InitiateMultipartUploadOutput, ListMultipartUploadsOutput,
    ListObjectsV1Output, ListObjectsV2Output, ListPartsOutput, ObjectSummary, PartSummary,
    UploadPartCopyOutput, UploadSummary,
};
use oss_model::{EncodingType, PartNumber, ServiceError};
use proptest::option;
use proptest::prelude::*;

/// Any text, biased towards characters XML and URL encoding care about.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,12}",
        "[ a-z/&<>\"'%+\\r\\n\\t\u{c}\u{b}\u{1}]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(16).collect()),
    ]
}

fn nonempty_trimmed() -> impl Strategy<Value = String> {
    "[A-Za-z0-9\"*&<>-]{1,40}"
}

fn encoding() -> impl Strategy<Value = Option<EncodingType>> {
    option::of(Just(EncodingType::Url))
}

fn part_number() -> impl Strategy<Value = PartNumber> {
    (1u32..=10_000).prop_map(|n| PartNumber::new(n).unwrap())
}

fn round_trip<T: PartialEq + std::fmt::Debug>(
    value: &T,
    write: impl Fn(&T) -> String,
    read: impl Fn(&[u8]) -> Result<T, oss_model::DecodeError>,
) {
    let xml = write(value);
    assert_eq!(read(xml.as_bytes()).as_ref(), Ok(value), "XML was: {xml:?}");
}

proptest! {
    #[test]
    fn initiate(bucket in text(), key in text(), upload_id in text(), enc in encoding()) {
        let mut v = InitiateMultipartUploadOutput::default();
        (v.bucket, v.key, v.upload_id, v.encoding_type) = (bucket, key, upload_id, enc);
        round_trip(&v, InitiateMultipartUploadOutput::to_xml, InitiateMultipartUploadOutput::from_xml);
    }

    #[test]
    fn complete_result(location in text(), bucket in text(), key in text(), etag in text(), enc in encoding()) {
        let mut v = CompleteMultipartUploadOutput::default();
        (v.location, v.bucket, v.key, v.etag, v.encoding_type) = (location, bucket, key, etag, enc);
        round_trip(&v, CompleteMultipartUploadOutput::to_xml, CompleteMultipartUploadOutput::from_xml);
    }

    #[test]
    fn copy_part(etag in text(), last_modified in text()) {
        let mut v = UploadPartCopyOutput::default();
        (v.etag, v.last_modified) = (etag, last_modified);
        round_trip(&v, UploadPartCopyOutput::to_xml, UploadPartCopyOutput::from_xml);
    }

    #[test]
    fn complete_body(parts in proptest::collection::vec((part_number(), nonempty_trimmed()), 0..50)) {
        let v = CompleteMultipartUploadBody::new(parts.into_iter().map(|(n, e)| CompletedPart::new(n, e)).collect());
        round_trip(&v, CompleteMultipartUploadBody::to_xml, CompleteMultipartUploadBody::from_xml);
    }

    #[test]
    fn list_parts(
        header in (text(), text(), text(), text(), encoding()),
        markers in (any::<u32>(), any::<u32>(), any::<u32>(), any::<bool>()),
        parts in proptest::collection::vec((part_number(), text(), any::<u64>(), option::of(any::<u64>()), text()), 0..20),
    ) {
        let mut v = ListPartsOutput::default();
        (v.bucket, v.key, v.upload_id, v.storage_class, v.encoding_type) = header;
        (v.part_number_marker, v.next_part_number_marker, v.max_parts, v.is_truncated) = markers;
        v.parts = parts.into_iter().map(|(n, etag, size, crc, modified)| {
            let mut p = PartSummary::new(n, etag, size);
            p.crc64 = crc;
            p.last_modified = modified;
            p
        }).collect();
        round_trip(&v, ListPartsOutput::to_xml, ListPartsOutput::from_xml);
    }

    #[test]
    fn list_uploads(
        strings in proptest::collection::vec(text(), 7),
        enc in encoding(),
        max in any::<u32>(),
        truncated in any::<bool>(),
        uploads in proptest::collection::vec((text(), text(), text(), text()), 0..10),
        prefixes in proptest::collection::vec(text(), 0..5),
    ) {
        let mut v = ListMultipartUploadsOutput::default();
        v.bucket = strings[0].clone();
        v.key_marker = strings[1].clone();
        v.upload_id_marker = strings[2].clone();
        v.next_key_marker = strings[3].clone();
        v.next_upload_id_marker = strings[4].clone();
        v.delimiter = strings[5].clone();
        v.prefix = strings[6].clone();
        (v.max_uploads, v.is_truncated, v.encoding_type) = (max, truncated, enc);
        v.uploads = uploads.into_iter().map(|(k, id, class, init)| {
            let mut u = UploadSummary::new(k, id);
            u.storage_class = class;
            u.initiated = init;
            u
        }).collect();
        v.common_prefixes = prefixes;
        round_trip(&v, ListMultipartUploadsOutput::to_xml, ListMultipartUploadsOutput::from_xml);
    }

    #[test]
    fn list_objects(
        strings in proptest::collection::vec(text(), 6),
        enc in encoding(),
        numbers in (any::<u32>(), any::<u32>(), any::<bool>()),
        contents in proptest::collection::vec((text(), text(), text(), any::<u64>()), 0..10),
        prefixes in proptest::collection::vec(text(), 0..5),
    ) {
        let mut v = ListObjectsV2Output::default();
        v.name = strings[0].clone();
        v.prefix = strings[1].clone();
        v.delimiter = strings[2].clone();
        v.start_after = strings[3].clone();
        v.continuation_token = strings[4].clone();
        v.next_continuation_token = strings[5].clone();
        (v.max_keys, v.key_count, v.is_truncated) = numbers;
        v.encoding_type = enc;
        v.contents = contents.into_iter().map(|(k, etag, class, size)| {
            let mut o = ObjectSummary::new(k, etag, size);
            o.storage_class = class;
            o
        }).collect();
        v.common_prefixes = prefixes;
        round_trip(&v, ListObjectsV2Output::to_xml, ListObjectsV2Output::from_xml);
    }

    #[test]
    fn list_objects_v1(
        strings in proptest::collection::vec(text(), 5),
        enc in encoding(),
        numbers in (any::<u32>(), any::<bool>()),
        contents in proptest::collection::vec((text(), text(), any::<u64>()), 0..10),
        prefixes in proptest::collection::vec(text(), 0..5),
    ) {
        let mut v = ListObjectsV1Output::default();
        v.name = strings[0].clone();
        v.prefix = strings[1].clone();
        v.delimiter = strings[2].clone();
        v.marker = strings[3].clone();
        v.next_marker = strings[4].clone();
        (v.max_keys, v.is_truncated) = numbers;
        v.encoding_type = enc;
        v.contents = contents.into_iter().map(|(k, etag, size)| ObjectSummary::new(k, etag, size)).collect();
        v.common_prefixes = prefixes;
        round_trip(&v, ListObjectsV1Output::to_xml, ListObjectsV1Output::from_xml);
    }

    #[test]
    fn create_bucket(class in option::of("[A-Za-z]{1,10}"), redundancy in option::of("[A-Z]{1,5}")) {
        let mut v = CreateBucketConfiguration::default();
        (v.storage_class, v.data_redundancy_type) = (class, redundancy);
        round_trip(&v, CreateBucketConfiguration::to_xml, CreateBucketConfiguration::from_xml);
    }

    #[test]
    fn error_document(
        code in text(), message in text(), request_id in text(), host_id in text(),
        ec in option::of("[0-9]{4}-[0-9]{8}"),
        extras in proptest::collection::vec(("Extra[A-Za-z]{0,8}", text()), 0..5),
    ) {
        let mut v = ServiceError::new(StatusCode::CONFLICT, code, message)
            .with_request_id(request_id)
            .with_host_id(host_id);
        if let Some(ec) = ec {
            v = v.with_ec(ec);
        }
        for (name, value) in extras {
            v = v.with_extra(name, value);
        }
        round_trip(&v, ServiceError::to_xml, |b| ServiceError::from_xml(StatusCode::CONFLICT, b));
        // And through the HEAD header form.
        let mut headers = http::HeaderMap::new();
        headers.insert("x-oss-err", v.to_header_value().parse().unwrap());
        prop_assert_eq!(ServiceError::from_response(StatusCode::CONFLICT, &headers, b""), v);
    }
}
