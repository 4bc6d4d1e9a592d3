//! What clients send is stored and returned: standard headers, storage class, SSE headers,
//! ACL and tags (single PUT and multipart); plus the bucket-level operations and
//! DeleteMultipleObjects.

mod common;

use common::*;

#[tokio::test]
async fn headers_acl_and_tags_round_trip_on_put_and_multipart() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let addr = server.addr();
    let headers = [
        ("content-type", "text/plain"),
        ("content-encoding", "gzip"),
        ("content-disposition", "attachment; filename=\"a.txt\""),
        ("content-language", "de"),
        ("cache-control", "max-age=60"),
        ("expires", "Wed, 21 Oct 2015 07:28:00 GMT"),
        ("x-oss-meta-unicode", "ok"),
        ("x-oss-storage-class", "IA"),
        ("x-oss-server-side-encryption", "KMS"),
        ("x-oss-server-side-encryption-key-id", "key-1"),
        ("x-oss-object-acl", "public-read"),
        ("x-oss-tagging", "a=1&b%20c=2"),
    ];
    // One single PUT and one multipart upload, both taking the headers.
    let mut put = req("PUT", "single").body(b"hello".to_vec());
    let mut init = req("POST", "multi").q("uploads", "");
    for (n, v) in headers {
        put = put.h(n, v);
        init = init.h(n, v);
    }
    let r = put.send(addr).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-oss-server-side-encryption"), Some("KMS"));
    let r = init.send(addr).await;
    assert_eq!(
        r.header("x-oss-server-side-encryption-key-id"),
        Some("key-1")
    );
    let id = r.elem("UploadId").unwrap();
    let part = req("PUT", "multi")
        .q("partNumber", "1")
        .q("uploadId", &id)
        .body(b"hello".to_vec())
        .send(addr)
        .await;
    assert_eq!(part.header("x-oss-server-side-encryption"), Some("KMS"));
    let etag = part.header("etag").unwrap().to_owned();
    let done = req("POST", "multi")
        .q("uploadId", &id)
        .body(complete_body(&[(1, &etag)]))
        .send(addr)
        .await;
    assert_eq!(done.status, 200, "{}", done.text());
    assert_eq!(done.header("x-oss-server-side-encryption"), Some("KMS"));

    for key in ["single", "multi"] {
        for method in ["HEAD", "GET"] {
            let r = req(method, key).send(addr).await;
            assert_eq!(r.status, 200);
            for (n, v) in headers {
                if n == "x-oss-object-acl" || n == "x-oss-tagging" {
                    continue;
                }
                assert_eq!(r.header(n), Some(v), "{method} {key} {n}");
            }
            assert_eq!(r.header("x-oss-tagging-count"), Some("2"), "{method} {key}");
        }
        let acl = req("GET", key).q("acl", "").send(addr).await;
        assert_eq!(acl.elem("Grant").as_deref(), Some("public-read"));
        let tags = req("GET", key).q("tagging", "").send(addr).await;
        assert_eq!(tags.elems("Key"), ["a", "b c"]);
        assert_eq!(tags.elems("Value"), ["1", "2"]);
    }
    let list = req("GET", "").send(addr).await;
    assert_eq!(list.elems("StorageClass"), ["IA", "IA"]);

    // Put/Delete tagging and PutObjectAcl change the attributes, never the bytes.
    let body = "<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>";
    let r = req("PUT", "single")
        .q("tagging", "")
        .body(body)
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let tags = req("GET", "single").q("tagging", "").send(addr).await;
    assert_eq!(tags.elems("Key"), ["k"]);
    let r = req("DELETE", "single").q("tagging", "").send(addr).await;
    assert_eq!(r.status, 204);
    let r = req("PUT", "single")
        .q("acl", "")
        .h("x-oss-object-acl", "private")
        .send(addr)
        .await;
    assert_eq!(r.status, 200);
    let r = req("GET", "single").send(addr).await;
    assert_eq!(r.body, b"hello");
    assert_eq!(r.header("x-oss-tagging-count"), None);
    let acl = req("GET", "single").q("acl", "").send(addr).await;
    assert_eq!(acl.elem("Grant").as_deref(), Some("private"));
    let r = req("HEAD", "single").q("objectMeta", "").send(addr).await;
    assert_eq!((r.status, r.header("content-length")), (200, Some("5")));
    let r = req("GET", "gone").q("tagging", "").send(addr).await;
    r.assert_error(404, "NoSuchKey");
    // Eleven tags are refused.
    let many: Vec<String> = (0..11)
        .map(|i| format!("<Tag><Key>k{i}</Key><Value>v</Value></Tag>"))
        .collect();
    let body = format!("<Tagging><TagSet>{}</TagSet></Tagging>", many.concat());
    let r = req("PUT", "multi")
        .q("tagging", "")
        .body(body)
        .send(addr)
        .await;
    r.assert_error(400, "InvalidTag");

    // Attributes survive a restart.
    server.shutdown().await;
    let server = start(dir.path()).await;
    let r = req("HEAD", "multi").send(server.addr()).await;
    assert_eq!(r.header("x-oss-storage-class"), Some("IA"));
    assert_eq!(r.header("x-oss-tagging-count"), Some("2"));
    server.shutdown().await;
}

#[tokio::test]
async fn buckets_and_batch_delete() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let addr = server.addr();
    let r = req("PUT", "").bucket("second-bucket").send(addr).await;
    assert_eq!(r.status, 200);
    let r = req("GET", "").sign(Sign::V1).send_service(addr).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.elems("Name"), ["second-bucket", BUCKET]);
    let r = req("GET", "")
        .q("bucketInfo", "")
        .bucket("second-bucket")
        .send(addr)
        .await;
    assert_eq!(r.elem("Name").as_deref(), Some("second-bucket"));
    let r = req("GET", "").q("location", "").send(addr).await;
    assert_eq!(
        r.elem("LocationConstraint").as_deref(),
        Some("oss-cn-hangzhou")
    );

    for key in ["a", "b", "c"] {
        req("PUT", key)
            .bucket("second-bucket")
            .body(b"x".to_vec())
            .send(addr)
            .await;
    }
    let r = req("DELETE", "").bucket("second-bucket").send(addr).await;
    r.assert_error(409, "BucketNotEmpty");
    let body = "<Delete><Quiet>false</Quiet><Object><Key>a</Key></Object><Object><Key>b</Key></Object><Object><Key>missing</Key></Object></Delete>";
    let r = req("POST", "")
        .q("delete", "")
        .bucket("second-bucket")
        .h("content-md5", &md5_b64(body.as_bytes()))
        .body(body)
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.elems("Key"), ["a", "b", "missing"]);
    let list = req("GET", "").bucket("second-bucket").send(addr).await;
    assert_eq!(list.elems("Key"), ["c"]);
    let body = "<Delete><Quiet>true</Quiet><Object><Key>c</Key></Object></Delete>";
    let r = req("POST", "")
        .q("delete", "")
        .bucket("second-bucket")
        .body(body)
        .send(addr)
        .await;
    assert_eq!(r.elems("Key"), Vec::<String>::new());
    let r = req("POST", "")
        .q("delete", "")
        .bucket("second-bucket")
        .body("<Delete/>")
        .send(addr)
        .await;
    r.assert_error(400, "MalformedXML");
    let r = req("DELETE", "").bucket("second-bucket").send(addr).await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = req("GET", "").bucket("second-bucket").send(addr).await;
    r.assert_error(404, "NoSuchBucket");
    server.shutdown().await;
}

#[tokio::test]
async fn copy_object_copies_or_replaces_metadata_and_tags() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let addr = server.addr();
    let body = data(5000, 9);
    let put = req("PUT", "src")
        .h("content-type", "text/plain")
        .h("x-oss-meta-a", "1")
        .h("x-oss-tagging", "t=1")
        .body(body.clone())
        .send(addr)
        .await;
    let etag = put.header("etag").unwrap().to_owned();
    let source = format!("/{BUCKET}/src");
    // COPY (default): bytes, ETag, metadata and tags follow the source.
    let r = req("PUT", "dst")
        .h("x-oss-copy-source", &source)
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.elem("ETag").as_deref(), Some(etag.as_str()));
    let got = req("GET", "dst").send(addr).await;
    assert_eq!(got.body, body);
    assert_eq!(got.header("x-oss-meta-a"), Some("1"));
    assert_eq!(got.header("content-type"), Some("text/plain"));
    assert_eq!(got.header("x-oss-tagging-count"), Some("1"));
    assert_eq!(
        got.header("x-oss-hash-crc64ecma"),
        Some(crc64(&body).to_string().as_str())
    );
    // REPLACE on itself: new metadata, same bytes.
    let r = req("PUT", "src")
        .h("x-oss-copy-source", &source)
        .h("x-oss-metadata-directive", "REPLACE")
        .h("x-oss-tagging-directive", "REPLACE")
        .h("content-type", "image/png")
        .h("x-oss-meta-b", "2")
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let got = req("GET", "src").send(addr).await;
    assert_eq!(got.body, body);
    assert_eq!(
        (got.header("x-oss-meta-a"), got.header("x-oss-meta-b")),
        (None, Some("2"))
    );
    assert_eq!(got.header("content-type"), Some("image/png"));
    assert_eq!(got.header("x-oss-tagging-count"), None);
    // Conditions on the source; a missing source; nothing written on failure.
    let r = req("PUT", "dst2")
        .h("x-oss-copy-source", &source)
        .h("x-oss-copy-source-if-match", "\"nope\"")
        .send(addr)
        .await;
    r.assert_error(412, "PreconditionFailed");
    let r = req("PUT", "dst2")
        .h("x-oss-copy-source", &format!("/{BUCKET}/missing"))
        .send(addr)
        .await;
    r.assert_error(404, "NoSuchKey");
    let r = req("GET", "dst2").send(addr).await;
    r.assert_error(404, "NoSuchKey");
    server.shutdown().await;
}

#[tokio::test]
async fn append_object_grows_an_appendable_object() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let addr = server.addr();
    let (a, b) = (data(1000, 1), data(700, 2));
    let append = |position: u64, body: &[u8]| {
        req("POST", "log")
            .q("append", "")
            .q("position", &position.to_string())
            .h("x-oss-meta-kind", "log")
            .body(body.to_vec())
    };
    let r = append(0, &a).send(addr).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-oss-next-append-position"), Some("1000"));
    let r = append(1000, &b).send(addr).await;
    assert_eq!(r.header("x-oss-next-append-position"), Some("1700"));
    let whole = [a.clone(), b.clone()].concat();
    assert_eq!(
        r.header("x-oss-hash-crc64ecma"),
        Some(crc64(&whole).to_string().as_str())
    );
    // A stale position changes nothing and says where to append.
    let r = append(1000, &b).send(addr).await;
    r.assert_error(409, "PositionNotEqualToLength");
    assert_eq!(r.header("x-oss-next-append-position"), Some("1700"));
    let got = req("GET", "log").send(addr).await;
    assert_eq!(got.body, whole);
    assert_eq!(got.header("x-oss-object-type"), Some("Appendable"));
    assert_eq!(got.header("x-oss-meta-kind"), Some("log"));
    // A normal object cannot be appended to.
    req("PUT", "plain").body(b"x".to_vec()).send(addr).await;
    let r = req("POST", "plain")
        .q("append", "")
        .q("position", "1")
        .body(b"y".to_vec())
        .send(addr)
        .await;
    r.assert_error(409, "ObjectNotAppendable");
    // The appended object survives a restart.
    server.shutdown().await;
    let server = start(dir.path()).await;
    let got = req("GET", "log").send(server.addr()).await;
    assert_eq!(got.body, whole);
    server.shutdown().await;
}

#[tokio::test]
async fn utf8_header_values_are_signed_stored_and_returned() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let addr = server.addr();
    for sign in [Sign::V4, Sign::V1] {
        let r = req("PUT", "unicode")
            .h("x-oss-meta-unicode", "测试")
            .body(b"x".to_vec())
            .sign(sign)
            .send(addr)
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let got = req("HEAD", "unicode").send(addr).await;
        assert_eq!(
            got.headers.get("x-oss-meta-unicode").map(|v| v.as_bytes()),
            Some("测试".as_bytes())
        );
    }
    server.shutdown().await;
}
