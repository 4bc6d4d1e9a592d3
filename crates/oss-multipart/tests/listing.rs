//! The listing streams page through oss-local with every option: delimiters and common
//! prefixes, markers, page sizes and start-after.

mod common;

use common::{BUCKET, client, server};
use futures::TryStreamExt as _;
use oss_multipart::{
    ListObjectsOptions, ListPartsOptions, ListUploadsOptions, ObjectListEntry, ObjectOptions,
    PartBody, UploadListEntry,
};

fn split_uploads(entries: &[UploadListEntry]) -> (Vec<String>, Vec<String>) {
    let mut keys = Vec::new();
    let mut prefixes = Vec::new();
    for e in entries {
        match e {
            UploadListEntry::Upload(u) => keys.push(u.key.clone()),
            UploadListEntry::CommonPrefix(p) => prefixes.push(p.clone()),
            other => panic!("unexpected {other:?}"),
        }
    }
    (keys, prefixes)
}

#[tokio::test]
async fn uploads_page_with_delimiter_markers_and_page_size() {
    let server = server().await;
    let client = client(&server.endpoint());
    let keys = ["a/1", "a/2", "b/x/1", "c", "d", "d", "e"];
    let mut ids = Vec::new();
    for key in keys {
        let id = client
            .initiate_upload(BUCKET, key, &ObjectOptions::new())
            .await
            .unwrap()
            .upload_id;
        ids.push((key, id));
    }

    // Pages of one: every upload, across seven pages.
    let one = ListUploadsOptions::new().with_max_uploads(1);
    let all: Vec<_> = client
        .list_uploads_with(BUCKET, one.clone())
        .try_collect()
        .await
        .unwrap();
    let (listed, prefixes) = split_uploads(&all);
    assert_eq!(listed, keys);
    assert!(prefixes.is_empty());

    // Delimiter: "a/" and "b/" roll up, across pages of two.
    let grouped = ListUploadsOptions::new()
        .with_delimiter("/")
        .with_max_uploads(2);
    let entries: Vec<_> = client
        .list_uploads_with(BUCKET, grouped)
        .try_collect()
        .await
        .unwrap();
    let (listed, prefixes) = split_uploads(&entries);
    assert_eq!(listed, ["c", "d", "d", "e"]);
    assert_eq!(prefixes, ["a/", "b/"]);

    // Prefix + delimiter one level down.
    let below = ListUploadsOptions::new()
        .with_prefix("b/")
        .with_delimiter("/");
    let entries: Vec<_> = client
        .list_uploads_with(BUCKET, below)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(split_uploads(&entries).1, ["b/x/"]);

    // Key marker, then key + upload-id marker (after the first "d").
    let after_c = one.clone().with_marker("c", None);
    let entries: Vec<_> = client
        .list_uploads_with(BUCKET, after_c)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(split_uploads(&entries).0, ["d", "d", "e"]);
    let d_ids: Vec<_> = all
        .iter()
        .filter_map(|e| match e {
            UploadListEntry::Upload(u) if u.key == "d" => Some(u.upload_id.clone()),
            _ => None,
        })
        .collect();
    let after_first_d = one.with_marker("d", Some(d_ids[0].clone()));
    let entries: Vec<_> = client
        .list_uploads_with(BUCKET, after_first_d)
        .try_collect()
        .await
        .unwrap();
    let rest: Vec<_> = entries
        .iter()
        .map(|e| match e {
            UploadListEntry::Upload(u) => (u.key.clone(), u.upload_id.clone()),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(rest.len(), 2);
    assert_eq!(rest[0], ("d".to_owned(), d_ids[1].clone()));
    assert_eq!(rest[1].0, "e");

    // The plain stream still works, and an out-of-range page size is a usage error.
    let plain: Vec<_> = client
        .list_uploads(BUCKET, Some("a/"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(plain.len(), 2);
    let err = client
        .list_uploads_with(BUCKET, ListUploadsOptions::new().with_max_uploads(1001))
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(err.is_usage(), "{err}");
    server.shutdown().await;
}

#[tokio::test]
async fn parts_page_from_a_marker_with_a_page_size() {
    let server = server().await;
    let client = client(&server.endpoint());
    let none = ObjectOptions::new();
    let id = client
        .initiate_upload(BUCKET, "p", &none)
        .await
        .unwrap()
        .upload_id;
    for n in 1..=7 {
        let body = PartBody::Bytes(bytes::Bytes::from(vec![n as u8; 10]));
        client
            .upload_part(BUCKET, "p", &id, n, body, &none)
            .await
            .unwrap();
    }
    let numbers = |parts: Vec<oss_multipart::PartSummary>| -> Vec<u32> {
        parts.iter().map(|p| u32::from(p.part_number)).collect()
    };
    let all = client
        .list_parts_with(BUCKET, "p", &id, ListPartsOptions::new().with_max_parts(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(numbers(all), [1, 2, 3, 4, 5, 6, 7]);
    let after = ListPartsOptions::new()
        .with_part_number_marker(3)
        .with_max_parts(3);
    let rest = client
        .list_parts_with(BUCKET, "p", &id, after)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(numbers(rest), [4, 5, 6, 7]);
    server.shutdown().await;
}

#[tokio::test]
async fn objects_page_with_prefix_delimiter_and_start_after() {
    let server = server().await;
    let client = client(&server.endpoint());
    let keys = ["docs/a", "docs/b", "docs/sub/c", "img/1", "img/2", "readme"];
    for key in keys {
        client.put_object(BUCKET, key, b"x".to_vec()).await.unwrap();
    }
    let collect = |options| {
        let client = client.clone();
        async move {
            let entries: Vec<ObjectListEntry> = client
                .list_objects(BUCKET, options)
                .try_collect()
                .await
                .unwrap();
            let mut objects = Vec::new();
            let mut prefixes = Vec::new();
            for e in entries {
                match e {
                    ObjectListEntry::Object(o) => objects.push(o.key),
                    ObjectListEntry::CommonPrefix(p) => prefixes.push(p),
                    other => panic!("unexpected {other:?}"),
                }
            }
            (objects, prefixes)
        }
    };
    let (all, _) = collect(ListObjectsOptions::new().with_max_keys(1)).await;
    assert_eq!(all, keys);
    let (objects, prefixes) = collect(
        ListObjectsOptions::new()
            .with_delimiter("/")
            .with_max_keys(1),
    )
    .await;
    assert_eq!(objects, ["readme"]);
    assert_eq!(prefixes, ["docs/", "img/"]);
    let (objects, prefixes) = collect(
        ListObjectsOptions::new()
            .with_prefix("docs/")
            .with_delimiter("/")
            .with_max_keys(2),
    )
    .await;
    assert_eq!(objects, ["docs/a", "docs/b"]);
    assert_eq!(prefixes, ["docs/sub/"]);
    let (objects, _) = collect(
        ListObjectsOptions::new()
            .with_start_after("docs/sub/c")
            .with_max_keys(2),
    )
    .await;
    assert_eq!(objects, ["img/1", "img/2", "readme"]);
    server.shutdown().await;
}

#[tokio::test]
async fn a_marker_that_does_not_advance_is_an_error_not_a_loop() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let http = oss_multipart::transport::FnTransport::new(move |_req| {
        counter.fetch_add(1, Ordering::SeqCst);
        async {
            let body = "<ListPartsResult><Bucket>bkt</Bucket><Key>k</Key><UploadId>U</UploadId>\
                        <NextPartNumberMarker>5</NextPartNumberMarker><IsTruncated>true</IsTruncated>\
                        <Part><PartNumber>5</PartNumber><ETag>\"E\"</ETag><Size>1</Size></Part>\
                        </ListPartsResult>";
            http::Response::new(bytes::Bytes::from(body))
        }
    });
    let client = oss_multipart::Client::builder()
        .endpoint("http://127.0.0.1:1")
        .region("cn-hangzhou")
        .credentials(oss_multipart::Credentials::new("ak", "sk"))
        .addressing(oss_multipart::Addressing::Path)
        .http_client(Arc::new(http))
        .build()
        .unwrap();
    let mut stream = std::pin::pin!(client.list_parts("bkt", "k", "U"));
    let mut parts = 0;
    let err = loop {
        match stream.try_next().await {
            Ok(Some(_)) => parts += 1,
            Ok(None) => panic!("the stream ended without reporting the stuck marker"),
            Err(e) => break e,
        }
    };
    assert_eq!(parts, 1);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(err.to_string().contains("did not advance"), "{err}");
}

/// The scale: 2,500 uploads and 1,200 parts, paged with OSS's default page sizes and
/// with small ones, every option at once. About 25 s in a debug build on two cores, so it is
/// kept out of CI; the paging itself is covered above with small pages, and the same scale is
/// judged in CI by `tests/interop/test_listing_scale.py` (the official Python SDK creates the
/// uploads, parts and objects, the `list_stream` example lists them; about 9 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: run with `cargo test -p oss-multipart --test listing -- --ignored`"]
async fn thousands_of_uploads_and_parts_page_completely() {
    use futures::StreamExt as _;
    let server = server().await;
    let client = client(&server.endpoint());
    let none = ObjectOptions::new();
    let keys: Vec<String> = (0..2_500)
        .map(|i| format!("scale/{}/{i:05}", if i % 2 == 0 { "even" } else { "odd" }))
        .collect();
    futures::stream::iter(&keys)
        .map(|key| client.initiate_upload(BUCKET, key, &none))
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let all: Vec<UploadListEntry> = client
        .list_uploads_with(BUCKET, ListUploadsOptions::new().with_prefix("scale/"))
        .try_collect()
        .await
        .unwrap();
    let (mut listed, _) = split_uploads(&all);
    listed.sort();
    let mut expected = keys.clone();
    expected.sort();
    assert_eq!(listed, expected, "default pages of 1000");
    let odd = ListUploadsOptions::new()
        .with_prefix("scale/odd/")
        .with_delimiter("/")
        .with_marker("scale/odd/00999", None)
        .with_max_uploads(97);
    let entries: Vec<_> = client
        .list_uploads_with(BUCKET, odd)
        .try_collect()
        .await
        .unwrap();
    let (odd_after, prefixes) = split_uploads(&entries);
    assert!(prefixes.is_empty());
    assert_eq!(odd_after.len(), 750, "odd keys after 00999");
    assert_eq!(
        odd_after.first().map(String::as_str),
        Some("scale/odd/01001")
    );
    let grouped: Vec<_> = client
        .list_uploads_with(
            BUCKET,
            ListUploadsOptions::new()
                .with_prefix("scale/")
                .with_delimiter("/")
                .with_max_uploads(1),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(split_uploads(&grouped).1, ["scale/even/", "scale/odd/"]);

    let id = client
        .initiate_upload(BUCKET, "many-parts", &none)
        .await
        .unwrap()
        .upload_id;
    futures::stream::iter(1..=1_200u32)
        .map(|n| {
            let body = PartBody::Bytes(bytes::Bytes::from(vec![n as u8; 3]));
            client.upload_part(BUCKET, "many-parts", &id, n, body, &none)
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let numbers = |parts: Vec<oss_multipart::PartSummary>| -> Vec<u32> {
        parts.iter().map(|p| u32::from(p.part_number)).collect()
    };
    let default_pages = client
        .list_parts(BUCKET, "many-parts", &id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(numbers(default_pages), (1..=1_200).collect::<Vec<_>>());
    let from_marker = client
        .list_parts_with(
            BUCKET,
            "many-parts",
            &id,
            ListPartsOptions::new()
                .with_part_number_marker(150)
                .with_max_parts(333),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(numbers(from_marker), (151..=1_200).collect::<Vec<_>>());
    server.shutdown().await;
}
