//! The multipart API end to end: happy path, listing with pagination, every negative case.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use common::*;

const PART: usize = 102_400;

#[tokio::test]
async fn happy_path_with_crc_etag_and_range() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let addr = server.addr();
    let key = "dir/multi part.bin";
    let r = req("POST", key)
        .q("uploads", "")
        .q("encoding-type", "url")
        .h("content-type", "text/plain")
        .h("x-oss-meta-who", "me")
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.elem("Key").as_deref(), Some("dir%2Fmulti%20part.bin"));
    assert_eq!(r.elem("EncodingType").as_deref(), Some("url"));
    let id = r.elem("UploadId").unwrap();
    assert_eq!(id.len(), 32);

    let parts = [data(PART, 1), data(PART + 7, 2), data(1000, 3)];
    let mut etags = Vec::new();
    for (i, body) in parts.iter().enumerate() {
        let r = req("PUT", key)
            .q("partNumber", &(i + 1).to_string())
            .q("uploadId", &id)
            .h("content-md5", &md5_b64(body))
            .body(body.clone())
            .send(addr)
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let etag = r.header("etag").unwrap().to_owned();
        assert_eq!(etag.len(), 34);
        assert_eq!(etag, etag.to_uppercase());
        assert_eq!(
            r.header("x-oss-hash-crc64ecma").unwrap(),
            crc64(body).to_string()
        );
        etags.push(etag);
    }
    // ListParts shows them with CRC and size.
    let r = req("GET", key).q("uploadId", &id).send(addr).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.elems("PartNumber"), ["1", "2", "3"]);
    assert_eq!(r.elems("Size")[1], (PART + 7).to_string());
    assert_eq!(r.elems("HashCrc64ecma")[2], crc64(&parts[2]).to_string());
    assert_eq!(r.elem("IsTruncated").as_deref(), Some("false"));

    let body = complete_body(&[(1, &etags[0]), (2, &etags[1]), (3, &etags[2])]);
    let r = req("POST", key)
        .q("uploadId", &id)
        .q("encoding-type", "url")
        .h("content-md5", &md5_b64(body.as_bytes()))
        .body(body)
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let whole: Vec<u8> = parts.concat();
    assert_eq!(
        r.header("x-oss-hash-crc64ecma").unwrap(),
        crc64(&whole).to_string()
    );
    let etag = r.elem("ETag").unwrap();
    assert!(etag.ends_with("-3\""), "{etag}");
    assert_eq!(r.elem("Key").as_deref(), Some("dir%2Fmulti%20part.bin"));

    // GetObject returns the bytes; HEAD the metadata.
    let r = req("GET", key).send(addr).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, whole);
    assert_eq!(r.header("x-oss-object-type"), Some("Multipart"));
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(r.header("x-oss-meta-who"), Some("me"));
    let r = req("HEAD", key).send(addr).await;
    assert_eq!(r.header("content-length").unwrap(), whole.len().to_string());
    assert_eq!(
        r.header("x-oss-hash-crc64ecma").unwrap(),
        crc64(&whole).to_string()
    );
    // A range across the part boundary.
    let r = req("GET", key)
        .h("range", &format!("bytes={}-{}", PART - 5, PART + 4))
        .send(addr)
        .await;
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &whole[PART - 5..PART + 5]);
    assert_eq!(
        r.header("content-range").unwrap(),
        format!("bytes {}-{}/{}", PART - 5, PART + 4, whole.len())
    );
    // The upload is gone.
    let r = req("GET", key).q("uploadId", &id).send(addr).await;
    r.assert_error(404, "NoSuchUpload");
    // ListObjectsV2 shows it.
    let r = req("GET", "").q("list-type", "2").send(addr).await;
    assert_eq!(r.elems("Key"), [key]);
    assert_eq!(r.elems("Type"), ["Multipart"]);
    server.shutdown().await;
}

#[tokio::test]
async fn put_get_delete_and_digest() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let addr = server.addr();
    let body = data(5000, 9);
    let r = req("PUT", "o")
        .h("content-md5", &md5_b64(&body))
        .body(body.clone())
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("x-oss-hash-crc64ecma").unwrap(),
        crc64(&body).to_string()
    );
    let r = req("PUT", "o")
        .h("content-md5", &md5_b64(b"other"))
        .body(body.clone())
        .send(addr)
        .await;
    r.assert_error(400, "InvalidDigest");
    let r = req("PUT", "o")
        .h("content-md5", "not-base64!")
        .body(body.clone())
        .send(addr)
        .await;
    r.assert_error(400, "InvalidDigest");
    let r = req("GET", "o").send(addr).await;
    assert_eq!(r.body, body);
    assert_eq!(r.header("x-oss-object-type"), Some("Normal"));
    let r = req("PUT", "o")
        .h("x-oss-forbid-overwrite", "true")
        .body("x")
        .send(addr)
        .await;
    r.assert_error(409, "FileAlreadyExists");
    let r = req("DELETE", "o").send(addr).await;
    assert_eq!(r.status, 204);
    req("GET", "o")
        .send(addr)
        .await
        .assert_error(404, "NoSuchKey");
    req("GET", "o")
        .bucket("no-such-bucket")
        .send(addr)
        .await
        .assert_error(404, "NoSuchBucket");
    // PutBucket creates.
    let r = req("PUT", "").bucket("new-bucket").send(addr).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = req("PUT", "k")
        .bucket("new-bucket")
        .body("y")
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    server.shutdown().await;
}

#[tokio::test]
async fn negative_cases() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let addr = server.addr();
    let key = "neg";
    let id = initiate(addr, key).await;
    // Part numbers.
    for bad in ["0", "10001", "x", ""] {
        let r = req("PUT", key)
            .q("partNumber", bad)
            .q("uploadId", &id)
            .body("a")
            .send(addr)
            .await;
        r.assert_error(400, "InvalidArgument");
        assert_eq!(r.elem("ArgumentName").as_deref(), Some("PartNumber"));
    }
    // Unknown upload.
    let r = req("PUT", key)
        .q("partNumber", "1")
        .q("uploadId", "NOPE")
        .body("a")
        .send(addr)
        .await;
    r.assert_error(404, "NoSuchUpload");
    // Upload id of another key.
    let r = req("PUT", "other")
        .q("partNumber", "1")
        .q("uploadId", &id)
        .body("a")
        .send(addr)
        .await;
    r.assert_error(404, "NoSuchUpload");
    // Digest.
    let r = req("PUT", key)
        .q("partNumber", "1")
        .q("uploadId", &id)
        .h("content-md5", &md5_b64(b"zzz"))
        .body("abc")
        .send(addr)
        .await;
    r.assert_error(400, "InvalidDigest");
    let small1 = upload_part(addr, key, &id, 1, b"small one").await;
    let small2 = upload_part(addr, key, &id, 2, b"small two").await;
    // Malformed XML.
    let complete = |body: String| req("POST", key).q("uploadId", &id).body(body);
    complete("<CompleteMultipartUpload><Part>".into())
        .send(addr)
        .await
        .assert_error(400, "MalformedXML");
    complete("garbage".into())
        .send(addr)
        .await
        .assert_error(400, "MalformedXML");
    // Order.
    let r = complete(complete_body(&[(2, &small2), (1, &small1)]))
        .send(addr)
        .await;
    r.assert_error(400, "InvalidPartOrder");
    assert_eq!(r.header("x-oss-ec"), Some("0042-00000209"));
    // Wrong ETag / missing part.
    let r = complete(complete_body(&[(
        1,
        "\"00000000000000000000000000000000\"",
    )]))
    .send(addr)
    .await;
    r.assert_error(400, "InvalidPart");
    let r = complete(complete_body(&[(1, &small1), (3, &small2)]))
        .send(addr)
        .await;
    r.assert_error(400, "InvalidPart");
    // Too small (non-last part < 100 KB).
    let r = complete(complete_body(&[(1, &small1), (2, &small2)]))
        .send(addr)
        .await;
    r.assert_error(400, "EntityTooSmall");
    // complete-all with a body.
    let r = complete(complete_body(&[(1, &small1)]))
        .h("x-oss-complete-all", "yes")
        .send(addr)
        .await;
    r.assert_error(400, "InvalidArgument");
    assert_eq!(
        r.elem("ArgumentName").as_deref(),
        Some("x-oss-complete-all")
    );
    assert_eq!(r.header("x-oss-ec"), Some("0042-00000216"));
    // Bad max-parts.
    for bad in ["0", "1001", "abc"] {
        let r = req("GET", key)
            .q("uploadId", &id)
            .q("max-parts", bad)
            .send(addr)
            .await;
        r.assert_error(400, "InvalidArgument");
    }
    // forbid-overwrite at Initiate and Complete.
    req("PUT", "exists").body("x").send(addr).await;
    let r = req("POST", "exists")
        .q("uploads", "")
        .h("x-oss-forbid-overwrite", "true")
        .send(addr)
        .await;
    r.assert_error(409, "FileAlreadyExists");
    let id2 = initiate(addr, "exists").await;
    let e = upload_part(addr, "exists", &id2, 1, b"new").await;
    let r = req("POST", "exists")
        .q("uploadId", &id2)
        .h("x-oss-forbid-overwrite", "true")
        .body(complete_body(&[(1, &e)]))
        .send(addr)
        .await;
    r.assert_error(409, "FileAlreadyExists");
    assert_eq!(r.header("x-oss-ec"), Some("0042-00000214"));
    // Without the header it overwrites.
    let r = req("POST", "exists")
        .q("uploadId", &id2)
        .body(complete_body(&[(1, &e)]))
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(req("GET", "exists").send(addr).await.body, b"new");
    // Abort, then everything is NoSuchUpload.
    let r = req("DELETE", key).q("uploadId", &id).send(addr).await;
    assert_eq!(r.status, 204);
    let r = req("DELETE", key).q("uploadId", &id).send(addr).await;
    r.assert_error(404, "NoSuchUpload");
    assert_eq!(r.elem("UploadId").as_deref(), Some(id.as_str()));
    let r = complete(complete_body(&[(1, &small1)])).send(addr).await;
    r.assert_error(404, "NoSuchUpload");
    // Bucket missing.
    let r = req("POST", key)
        .bucket("missing-bucket")
        .q("uploads", "")
        .send(addr)
        .await;
    r.assert_error(404, "NoSuchBucket");
    server.shutdown().await;
}

#[tokio::test]
async fn complete_all_and_sequential() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let addr = server.addr();
    // complete-all: uses every uploaded part in order.
    let id = initiate(addr, "all").await;
    let a = data(PART, 4);
    let b = data(10, 5);
    upload_part(addr, "all", &id, 2, &b).await;
    upload_part(addr, "all", &id, 1, &a).await;
    let r = req("POST", "all")
        .q("uploadId", &id)
        .h("x-oss-complete-all", "yes")
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        req("GET", "all").send(addr).await.body,
        [a.clone(), b.clone()].concat()
    );
    // sequential: a gap is refused.
    let r = req("POST", "seq")
        .q("uploads", "")
        .q("sequential", "")
        .send(addr)
        .await;
    let id = r.elem("UploadId").unwrap();
    upload_part(addr, "seq", &id, 1, &a).await;
    let r = req("PUT", "seq")
        .q("partNumber", "3")
        .q("uploadId", &id)
        .body(b.clone())
        .send(addr)
        .await;
    r.assert_error(400, "PartNotSequential");
    let e2 = upload_part(addr, "seq", &id, 2, &b).await;
    let r = req("GET", "seq").q("uploadId", &id).send(addr).await;
    let e1 = r.elems("ETag")[0].clone();
    let r = req("POST", "seq")
        .q("uploadId", &id)
        .body(complete_body(&[(2, &e2)]))
        .send(addr)
        .await;
    r.assert_error(400, "PartNotSequential");
    let r = req("POST", "seq")
        .q("uploadId", &id)
        .body(complete_body(&[(1, &e1), (2, &e2)]))
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    server.shutdown().await;
}

#[tokio::test]
async fn last_writer_wins_for_the_same_part() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let addr = server.addr();
    let id = initiate(addr, "race").await;
    let mut tasks = Vec::new();
    for i in 0..8u8 {
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            upload_part(addr, "race", &id, 1, &data(50_000, i)).await
        }));
    }
    let mut etags = Vec::new();
    for t in tasks {
        etags.push(t.await.unwrap());
    }
    let r = req("GET", "race").q("uploadId", &id).send(addr).await;
    let listed = r.elems("ETag");
    assert_eq!(listed.len(), 1);
    assert!(etags.contains(&listed[0]));
    let r = req("POST", "race")
        .q("uploadId", &id)
        .body(complete_body(&[(1, &listed[0])]))
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = req("GET", "race").send(addr).await.body;
    let winner = (0..8u8).find(|i| data(50_000, *i) == body);
    assert!(winner.is_some());
    // Exactly one part file remains in the object's blob.
    server.shutdown().await;
}

#[tokio::test]
async fn list_parts_and_uploads_paginate() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let addr = server.addr();
    let id = initiate(addr, "p").await;
    for n in [1u32, 2, 5, 7, 9] {
        upload_part(addr, "p", &id, n, b"x").await;
    }
    let mut marker = "0".to_owned();
    let mut seen = Vec::new();
    loop {
        let r = req("GET", "p")
            .q("uploadId", &id)
            .q("max-parts", "2")
            .q("part-number-marker", &marker)
            .send(addr)
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        seen.extend(r.elems("PartNumber"));
        if r.elem("IsTruncated").as_deref() == Some("false") {
            break;
        }
        marker = r.elem("NextPartNumberMarker").unwrap();
    }
    assert_eq!(seen, ["1", "2", "5", "7", "9"]);

    // Uploads: several keys, two uploads on one key, a "directory".
    let mut ids = vec![id];
    for key in ["a", "b", "b", "dir/x", "dir/y", "z"] {
        ids.push(initiate(addr, key).await);
    }
    let (mut km, mut um) = (String::new(), String::new());
    let mut keys = Vec::new();
    let mut prefixes = Vec::new();
    loop {
        let r = req("GET", "")
            .q("uploads", "")
            .q("max-uploads", "2")
            .q("delimiter", "/")
            .q("key-marker", &km)
            .q("upload-id-marker", &um)
            .send(addr)
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let text = r.text();
        for upload in text.split("<Upload>").skip(1) {
            keys.push(elem(upload, "Key").unwrap());
        }
        for p in text.split("<CommonPrefixes>").skip(1) {
            prefixes.push(elem(p, "Prefix").unwrap());
        }
        if r.elem("IsTruncated").as_deref() == Some("false") {
            break;
        }
        km = r.elem("NextKeyMarker").unwrap();
        um = r.elem("NextUploadIdMarker").unwrap_or_default();
    }
    assert_eq!(keys, ["a", "b", "b", "p", "z"]);
    assert_eq!(prefixes, ["dir/"]);
    // Prefix + url encoding.
    let r = req("GET", "")
        .q("uploads", "")
        .q("prefix", "dir/")
        .q("encoding-type", "url")
        .send(addr)
        .await;
    assert_eq!(r.elem("Prefix").as_deref(), Some("dir%2F"));
    let text = r.text();
    let listed: Vec<String> = text
        .split("<Upload>")
        .skip(1)
        .map(|u| elem(u, "Key").unwrap())
        .collect();
    assert_eq!(listed, ["dir%2Fx", "dir%2Fy"]);
    req("GET", "")
        .q("uploads", "")
        .q("max-uploads", "0")
        .send(addr)
        .await
        .assert_error(400, "InvalidArgument");
    server.shutdown().await;
}

#[tokio::test]
async fn upload_part_copy_with_range_and_conditions() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let addr = server.addr();
    let src = data(300_000, 7);
    let r = req("PUT", "src/obj").body(src.clone()).send(addr).await;
    let src_etag = r.header("etag").unwrap().to_owned();
    let id = initiate(addr, "dst").await;
    let copy = |n: &str, range: &str| {
        req("PUT", "dst")
            .q("partNumber", n)
            .q("uploadId", &id)
            .h("x-oss-copy-source", &format!("/{BUCKET}/src%2Fobj"))
            .h("x-oss-copy-source-range", range)
    };
    let r = copy("1", "bytes=0-199999")
        .h("x-oss-copy-source-if-match", &src_etag)
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let e1 = r.elem("ETag").unwrap();
    assert!(r.elem("LastModified").unwrap().ends_with(".000Z"));
    assert_eq!(
        r.header("x-oss-hash-crc64ecma").unwrap(),
        crc64(&src[..200_000]).to_string()
    );
    let r = copy("2", "bytes=200000-299999").send(addr).await;
    let e2 = r.elem("ETag").unwrap();
    let r = copy("3", "bytes=0-9")
        .h("x-oss-copy-source-if-match", "\"WRONG\"")
        .send(addr)
        .await;
    r.assert_error(412, "PreconditionFailed");
    let r = copy("3", "bytes=0-9")
        .h("x-oss-copy-source-if-none-match", &src_etag)
        .send(addr)
        .await;
    assert_eq!(r.status, 304);
    let r = copy("3", "bytes=0-999999").send(addr).await;
    r.assert_error(416, "InvalidRange");
    let r = req("PUT", "dst")
        .q("partNumber", "3")
        .q("uploadId", &id)
        .h("x-oss-copy-source", &format!("/{BUCKET}/missing"))
        .send(addr)
        .await;
    r.assert_error(404, "NoSuchKey");
    let r = req("POST", "dst")
        .q("uploadId", &id)
        .body(complete_body(&[(1, &e1), (2, &e2)]))
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(req("GET", "dst").send(addr).await.body, src);
    server.shutdown().await;
}

#[tokio::test]
async fn oversize_complete_body_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let addr = server.addr();
    let id = initiate(addr, "big").await;
    let huge = "<CompleteMultipartUpload>".to_owned()
        + &" ".repeat(3 * 1024 * 1024)
        + "</CompleteMultipartUpload>";
    let r = req("POST", "big")
        .q("uploadId", &id)
        .body(huge)
        .send(addr)
        .await;
    r.assert_error(400, "InvalidArgument");
    server.shutdown().await;
}

#[tokio::test]
async fn complete_body_in_go_sdk_form_is_accepted() {
    // The Go SDK escapes the ETag quotes as `&#34;` (shared vector
    // CompleteMultipartUpload-request-go-sdk-v2.xml); the server must read real XML.
    let vector = oss_test_vectors::text("xml/CompleteMultipartUpload-request-go-sdk-v2.xml");
    assert!(vector.contains("&#34;"));
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let addr = server.addr();
    let id = initiate(addr, "go").await;
    let a = data(PART, 1);
    let e1 = upload_part(addr, "go", &id, 1, &a).await;
    let e2 = upload_part(addr, "go", &id, 2, b"end").await;
    let body = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&#34;{}&#34;</ETag></Part>\
         <Part><PartNumber>2</PartNumber><ETag>&#34;{}&#34;</ETag></Part></CompleteMultipartUpload>",
        e1.trim_matches('"'),
        e2.trim_matches('"')
    );
    let r = req("POST", "go")
        .q("uploadId", &id)
        .body(body)
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        req("GET", "go").send(addr).await.body,
        [a, b"end".to_vec()].concat()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn upload_listing_markers_name_the_last_entry_and_ids_sort_by_initiation() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let addr = server.addr();
    let ids: Vec<String> = futures::future::join_all((0..3).map(|_| initiate(addr, "same"))).await;
    let mut sorted = ids.clone();
    sorted.sort();
    let r = req("GET", "").q("uploads", "").send(addr).await;
    assert_eq!(r.elem("IsTruncated").as_deref(), Some("false"));
    // Listed in initiation order, which is also the order of the ids.
    let listed = r.elems("UploadId");
    assert_eq!(listed, sorted);
    assert_eq!(r.elem("NextKeyMarker").as_deref(), Some("same"));
    assert_eq!(r.elem("NextUploadIdMarker").as_ref(), listed.last());
    server.shutdown().await;
}
