//! The generated operation table and error table agree with what the operations emit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use oss_model::ops::{
    AbortMultipartUpload, CompleteMultipartUpload, CompletedPart, CopyDirective, CopyObject,
    DeleteMultipleObjects, DeleteObject, GetObject, GetObjectAcl, GetObjectTagging, HeadObject,
    InitiateMultipartUpload, ListMultipartUploads, ListObjectsV2, ListParts, PutBucket, PutObject,
    ServerSideEncryption, UploadPart, UploadPartCopy,
};
use oss_model::spec::{OPERATIONS, OperationSpec};
use oss_model::{BucketName, EncodeError, ErrorCode, ObjectKey, Operation, OssRequest, PartNumber};

fn b() -> BucketName {
    BucketName::new("bucket").unwrap()
}
fn k() -> ObjectKey {
    ObjectKey::new("dir/key").unwrap()
}
fn p(n: u32) -> PartNumber {
    PartNumber::new(n).unwrap()
}

/// Every operation with every optional input set, so every header and parameter shows up.
fn maximal_requests() -> Vec<(&'static str, OssRequest)> {
    let mut initiate = InitiateMultipartUpload::new(b(), k());
    let a = &mut initiate.attributes;
    a.content_type = Some("text/plain".into());
    a.cache_control = Some("no-cache".into());
    a.content_disposition = Some("attachment".into());
    a.content_encoding = Some("gzip".into());
    a.expires = Some("Wed, 01 Jan 2025 12:00:00 GMT".into());
    a.metadata = vec![("Owner".into(), "me".into())];
    a.forbid_overwrite = Some(false);
    a.storage_class = Some("IA".into());
    a.server_side_encryption = Some(ServerSideEncryption::Kms);
    a.sse_key_id = Some("key-id".into());
    a.server_side_data_encryption = Some("SM4".into());
    a.tagging = vec![("a b".into(), "c&d".into())];
    initiate.request_payer = Some("requester".into());
    initiate.sequential = true;

    let mut put = PutObject::new(b(), k());
    put.attributes = initiate.attributes.clone();
    put.content_md5 = Some("1B2M2Y8AsgTpgAmY7PhCfg==".into());
    put.object_acl = Some("private".into());
    put.traffic_limit = Some(819_200);
    put.request_payer = Some("requester".into());

    let mut upload = UploadPart::new(b(), k(), "id", p(7));
    upload.content_md5 = Some("1B2M2Y8AsgTpgAmY7PhCfg==".into());
    upload.traffic_limit = Some(819_200);
    upload.request_payer = Some("requester".into());

    let mut copy = UploadPartCopy::new(b(), k(), "id", p(2), b(), k());
    copy.source_version_id = Some("v1".into());
    copy.source_range = Some(0..=9);
    copy.if_match = Some("\"e\"".into());
    copy.if_none_match = Some("\"f\"".into());
    copy.if_modified_since = Some("Wed, 01 Jan 2025 12:00:00 GMT".into());
    copy.if_unmodified_since = Some("Wed, 01 Jan 2025 12:00:00 GMT".into());
    copy.traffic_limit = Some(819_200);
    copy.request_payer = Some("requester".into());

    let mut copy_object = CopyObject::new(b(), k(), b(), k());
    copy_object.source_version_id = Some("v1".into());
    copy_object.if_match = Some("\"e\"".into());
    copy_object.metadata_directive = Some(CopyDirective::Replace);
    copy_object.tagging_directive = Some(CopyDirective::Replace);
    copy_object.attributes = initiate.attributes.clone();
    copy_object.object_acl = Some("private".into());
    copy_object.traffic_limit = Some(819_200);
    copy_object.request_payer = Some("requester".into());

    let mut tagging = GetObjectTagging::new(b(), k());
    tagging.version_id = Some("v1".into());
    tagging.request_payer = Some("requester".into());

    let mut complete =
        CompleteMultipartUpload::new(b(), k(), "id", vec![CompletedPart::new(p(1), "\"e\"")]);
    complete.forbid_overwrite = Some(true);
    complete.object_acl = Some("private".into());
    complete.callback = Some("{\"callbackUrl\":\"http://example.com\"}".into());
    complete.callback_var = Some("{\"x:a\":\"b\"}".into());
    complete.request_payer = Some("requester".into());
    let mut complete_all = CompleteMultipartUpload::new(b(), k(), "id", Vec::new());
    complete_all.complete_all = true;

    let mut abort = AbortMultipartUpload::new(b(), k(), "id");
    abort.request_payer = Some("requester".into());

    let mut list_parts = ListParts::new(b(), k(), "id");
    list_parts.max_parts = Some(1000);
    list_parts.part_number_marker = Some(10_000);
    list_parts.request_payer = Some("requester".into());

    let mut list_uploads = ListMultipartUploads::new(b());
    list_uploads.prefix = Some("p".into());
    list_uploads.delimiter = Some("/".into());
    list_uploads.key_marker = Some("k".into());
    list_uploads.upload_id_marker = Some("u".into());
    list_uploads.max_uploads = Some(1);
    list_uploads.request_payer = Some("requester".into());

    let mut head = HeadObject::new(b(), k());
    head.conditions.version_id = Some("v".into());
    head.conditions.if_match = Some("\"e\"".into());
    head.conditions.if_none_match = Some("\"e\"".into());
    head.conditions.if_modified_since = Some("Wed, 01 Jan 2025 12:00:00 GMT".into());
    head.conditions.if_unmodified_since = Some("Wed, 01 Jan 2025 12:00:00 GMT".into());
    head.request_payer = Some("requester".into());

    let mut get = GetObject::new(b(), k());
    get.conditions = head.conditions.clone();
    get.range = Some((10, Some(20)));
    get.standard_range_behavior = true;
    get.traffic_limit = Some(819_200);
    get.request_payer = Some("requester".into());

    let mut delete = DeleteObject::new(b(), k());
    delete.version_id = Some("v".into());
    delete.request_payer = Some("requester".into());

    let mut put_bucket = PutBucket::new(b());
    put_bucket.acl = Some("private".into());
    put_bucket.configuration.storage_class = Some("Standard".into());

    let mut list_objects = ListObjectsV2::new(b());
    list_objects.prefix = Some("p".into());
    list_objects.delimiter = Some("/".into());
    list_objects.start_after = Some("a".into());
    list_objects.continuation_token = Some("t".into());
    list_objects.max_keys = Some(10);
    list_objects.fetch_owner = true;
    list_objects.request_payer = Some("requester".into());

    let mut acl = GetObjectAcl::new(b(), k());
    acl.version_id = Some("v".into());
    acl.request_payer = Some("requester".into());

    let mut delete_many = DeleteMultipleObjects::new(b(), vec![k(), k()]);
    delete_many.request_payer = Some("requester".into());

    vec![
        ("InitiateMultipartUpload", initiate.to_request().unwrap()),
        ("UploadPart", upload.to_request().unwrap()),
        ("UploadPartCopy", copy.to_request().unwrap()),
        ("CompleteMultipartUpload", complete.to_request().unwrap()),
        (
            "CompleteMultipartUpload",
            complete_all.to_request().unwrap(),
        ),
        ("AbortMultipartUpload", abort.to_request().unwrap()),
        ("ListParts", list_parts.to_request().unwrap()),
        ("ListMultipartUploads", list_uploads.to_request().unwrap()),
        ("PutObject", put.to_request().unwrap()),
        ("HeadObject", head.to_request().unwrap()),
        ("GetObject", get.to_request().unwrap()),
        ("DeleteObject", delete.to_request().unwrap()),
        ("PutBucket", put_bucket.to_request().unwrap()),
        ("ListObjectsV2", list_objects.to_request().unwrap()),
        ("CopyObject", copy_object.to_request().unwrap()),
        ("GetObjectTagging", tagging.to_request().unwrap()),
        ("GetObjectAcl", acl.to_request().unwrap()),
        ("DeleteMultipleObjects", delete_many.to_request().unwrap()),
    ]
}

#[test]
fn every_request_matches_its_spec_row() {
    let requests = maximal_requests();
    for spec in OPERATIONS {
        assert!(
            requests.iter().any(|(name, _)| *name == spec.name),
            "{} has no request test",
            spec.name
        );
    }
    for (name, req) in &requests {
        let spec = OperationSpec::by_name(name).unwrap();
        assert_eq!(req.method.as_str(), spec.method, "{name}");
        assert_eq!(
            req.key.is_some(),
            spec.target == oss_model::spec::Target::Object,
            "{name}"
        );
        for header in req.headers.keys() {
            assert!(
                spec.allows_header(header.as_str()),
                "{name} sends unlisted header {header}"
            );
        }
        for (param, _) in &req.query {
            assert!(
                spec.allows_query(param),
                "{name} sends unlisted query {param}"
            );
        }
        for sub in spec.sub_resources {
            let (n, v) = sub.split_once('=').unwrap_or((sub, ""));
            assert_eq!(
                req.query_param(n),
                Some(v),
                "{name} lacks sub-resource {sub}"
            );
        }
    }
}

#[test]
fn header_encodings() {
    let requests = maximal_requests();
    let initiate = &requests[0].1;
    assert_eq!(initiate.headers["x-oss-meta-owner"], "me");
    assert_eq!(initiate.headers["x-oss-tagging"], "a%20b=c%26d");
    assert_eq!(initiate.headers["x-oss-server-side-encryption"], "KMS");
    assert_eq!(
        initiate.query_string(),
        "uploads&encoding-type=url&sequential"
    );
    let copy = &requests[2].1;
    assert_eq!(
        copy.headers["x-oss-copy-source"],
        "/bucket/dir/key?versionId=v1"
    );
    assert_eq!(copy.headers["x-oss-copy-source-range"], "bytes=0-9");
    let complete = &requests[3].1;
    assert_eq!(
        complete.headers["x-oss-callback"],
        "eyJjYWxsYmFja1VybCI6Imh0dHA6Ly9leGFtcGxlLmNvbSJ9"
    );
    assert_eq!(
        complete.headers["content-md5"],
        oss_model::content_md5(&complete.body).as_str()
    );
    let complete_all = &requests[4].1;
    assert!(complete_all.body.is_empty());
    assert_eq!(complete_all.headers["x-oss-complete-all"], "yes");
    assert_eq!(requests[10].1.headers["range"], "bytes=10-20");
    assert_eq!(
        requests[13].1.query_string(),
        "list-type=2&prefix=p&delimiter=%2F&start-after=a&continuation-token=t&max-keys=10&fetch-owner=true&encoding-type=url"
    );
}

#[test]
fn input_validation() {
    let mut list = ListParts::new(b(), k(), "id");
    list.max_parts = Some(0);
    assert!(matches!(
        list.to_request(),
        Err(EncodeError::OutOfRange {
            name: "max-parts",
            ..
        })
    ));
    list.max_parts = Some(1001);
    assert!(matches!(
        list.to_request(),
        Err(EncodeError::OutOfRange { .. })
    ));
    list.max_parts = None;
    list.part_number_marker = Some(10_001);
    assert!(matches!(
        list.to_request(),
        Err(EncodeError::OutOfRange {
            name: "part-number-marker",
            ..
        })
    ));

    let mut uploads = ListMultipartUploads::new(b());
    uploads.max_uploads = Some(1001);
    assert!(matches!(
        uploads.to_request(),
        Err(EncodeError::OutOfRange {
            name: "max-uploads",
            ..
        })
    ));

    let mut complete =
        CompleteMultipartUpload::new(b(), k(), "id", vec![CompletedPart::new(p(1), "e")]);
    complete.complete_all = true;
    assert!(matches!(
        complete.to_request(),
        Err(EncodeError::Conflict { .. })
    ));

    let mut put = PutObject::new(b(), k());
    put.attributes.content_type = Some("bad\nvalue".into());
    assert!(matches!(
        put.to_request(),
        Err(EncodeError::InvalidHeaderValue { .. })
    ));
    put.attributes.content_type = None;
    put.attributes.metadata = vec![("bad name".into(), "v".into())];
    assert!(matches!(
        put.to_request(),
        Err(EncodeError::InvalidHeaderValue { .. })
    ));

    let mut copy = UploadPartCopy::new(b(), k(), "id", p(1), b(), k());
    #[allow(clippy::reversed_empty_ranges)]
    {
        copy.source_range = Some(5..=4);
    }
    assert!(matches!(
        copy.to_request(),
        Err(EncodeError::Conflict { .. })
    ));
}

#[test]
fn error_table() {
    assert_eq!(ErrorCode::NoSuchUpload.as_str(), "NoSuchUpload");
    assert_eq!(
        ErrorCode::NoSuchUpload.http_status(),
        http::StatusCode::NOT_FOUND
    );
    assert_eq!(
        "InvalidPartOrder".parse::<ErrorCode>(),
        Ok(ErrorCode::InvalidPartOrder)
    );
    assert!("NoSuchThing".parse::<ErrorCode>().is_err());
    assert!(ErrorCode::InternalError.is_retryable());
    assert!(!ErrorCode::InvalidPart.is_retryable());
    assert_eq!(
        ErrorCode::EntityTooSmall.typical_ec(),
        Some("0042-00000213")
    );
    for code in ErrorCode::ALL {
        assert_eq!(ErrorCode::from_code(code.as_str()), Some(*code));
    }
}
