//! Security: every `oss-local` operation refuses unsigned, wrongly signed, wrong-key, skewed and
//! tampered requests and changes nothing when it does; presigned URLs expire and cannot be
//! altered; keys never escape the data directory (end to end through the façade); request size
//! limits hold and the server keeps serving afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use oss_chaos::raw_http::{Auth, HARNESS_AK, HARNESS_BUCKET, HARNESS_SK, Reply, Spec, send};
use oss_chaos::{client, data, fast_retry};

async fn harness_server(limits: Option<oss_local::Limits>) -> oss_local::ServerHandle {
    let mut config = oss_local::Config::new(HARNESS_AK, HARNESS_SK)
        .with_bucket(HARNESS_BUCKET)
        .with_fsync(false);
    if let Some(l) = limits {
        config = config.with_limits(l);
    }
    oss_local::Server::start(config).await.unwrap()
}

async fn go(addr: SocketAddr, spec: &Spec) -> Reply {
    send(addr, &spec.to_bytes(addr).unwrap()).await
}

fn spec(method: &str, key: &str, query: &[(&str, &str)]) -> Spec {
    let mut s = Spec::new(method, key);
    s.query = query
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    s
}

/// Every operation oss-local serves, as (name, request) on existing state.
fn operations(upload_id: &str) -> Vec<(&'static str, Spec)> {
    let mut put = spec("PUT", "sec/new-object", &[]);
    put.body = b"payload".to_vec();
    let mut part = spec(
        "PUT",
        "sec/mp",
        &[("partNumber", "1"), ("uploadId", upload_id)],
    );
    part.body = vec![7u8; 1000];
    let mut copy = spec(
        "PUT",
        "sec/mp",
        &[("partNumber", "2"), ("uploadId", upload_id)],
    );
    copy.headers.push((
        "x-oss-copy-source".into(),
        format!("/{HARNESS_BUCKET}/sec/existing"),
    ));
    let mut complete = spec("POST", "sec/mp", &[("uploadId", upload_id)]);
    complete.body = b"<CompleteMultipartUpload></CompleteMultipartUpload>".to_vec();
    let mut bucket = spec("PUT", "", &[]);
    bucket.bucket = Some("sec-new-bucket".into());
    vec![
        ("PutBucket", bucket),
        (
            "InitiateMultipartUpload",
            spec("POST", "sec/other", &[("uploads", "")]),
        ),
        ("UploadPart", part),
        ("UploadPartCopy", copy),
        ("CompleteMultipartUpload", complete),
        (
            "AbortMultipartUpload",
            spec("DELETE", "sec/mp", &[("uploadId", upload_id)]),
        ),
        (
            "ListParts",
            spec("GET", "sec/mp", &[("uploadId", upload_id)]),
        ),
        ("ListMultipartUploads", spec("GET", "", &[("uploads", "")])),
        ("PutObject", put),
        ("GetObject", spec("GET", "sec/existing", &[])),
        ("HeadObject", spec("HEAD", "sec/existing", &[])),
        ("DeleteObject", spec("DELETE", "sec/existing", &[])),
        ("ListObjects", spec("GET", "", &[])),
        ("ListObjectsV2", spec("GET", "", &[("list-type", "2")])),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_refuses_bad_authentication_and_changes_nothing() {
    let server = harness_server(None).await;
    let addr = server.addr();
    let mut put = spec("PUT", "sec/existing", &[]);
    put.body = b"original".to_vec();
    assert_eq!(go(addr, &put).await.status, 200);
    let init = go(addr, &spec("POST", "sec/mp", &[("uploads", "")])).await;
    let upload_id = init.elem("UploadId").unwrap();

    let mut tried = 0;
    for (name, good) in operations(&upload_id) {
        let mut variants: Vec<(&str, Spec, &[&str])> = Vec::new();
        let mut unsigned = good.clone();
        unsigned.auth = Auth::None;
        variants.push(("unsigned", unsigned, &["AccessDenied"]));
        let mut wrong_secret = good.clone();
        wrong_secret.creds.1 = "not-the-secret".into();
        variants.push(("wrong secret", wrong_secret, &["SignatureDoesNotMatch"]));
        let mut wrong_v1 = good.clone();
        wrong_v1.creds.1 = "not-the-secret".into();
        wrong_v1.auth = Auth::V1;
        variants.push(("wrong secret V1", wrong_v1, &["SignatureDoesNotMatch"]));
        let mut wrong_ak = good.clone();
        wrong_ak.creds.0 = "someone-else".into();
        variants.push(("unknown key id", wrong_ak, &["InvalidAccessKeyId"]));
        let mut skewed = good.clone();
        skewed.auth = Auth::V4At(SystemTime::now() - Duration::from_secs(3600));
        variants.push(("skewed clock", skewed, &["RequestTimeTooSkewed"]));
        for (what, variant, codes) in variants {
            let r = go(addr, &variant).await;
            assert_eq!(r.status, 403, "{name} {what}: {} {}", r.status, r.text());
            if variant.method != "HEAD" {
                let code = r.elem("Code").unwrap_or_default();
                assert!(codes.contains(&code.as_str()), "{name} {what}: code {code}");
            }
            tried += 1;
        }
        // Tampering after signing: the signed request sent for another path.
        let mut bytes = good.to_bytes(addr).unwrap();
        let target_end = bytes
            .iter()
            .position(|&b| b == b'?')
            .into_iter()
            .chain(bytes.windows(9).position(|w| w == b" HTTP/1.1"))
            .min()
            .unwrap();
        bytes.splice(target_end..target_end, b"zz".iter().copied());
        let r = send(addr, &bytes).await;
        // OSS names a missing bucket before it checks credentials: a tampered PutBucket path
        // addresses an object in a bucket that does not exist, which is refused as such.
        let missing_bucket = name == "PutBucket"
            && r.status == 404
            && r.elem("Code").as_deref() == Some("NoSuchBucket");
        assert!(
            r.status == 403 || missing_bucket,
            "{name} tampered path: {} {}",
            r.status,
            r.text()
        );
        tried += 1;
    }
    // Nothing changed: the object, the upload and its (zero) parts are as they were; no new
    // bucket, no new object.
    let get = go(addr, &spec("GET", "sec/existing", &[])).await;
    assert_eq!((get.status, get.body.as_slice()), (200, &b"original"[..]));
    let parts = go(addr, &spec("GET", "sec/mp", &[("uploadId", &upload_id)])).await;
    assert_eq!(parts.status, 200);
    assert!(
        !parts.text().contains("<Part>"),
        "a part was stored: {}",
        parts.text()
    );
    assert_eq!(
        go(addr, &spec("HEAD", "sec/new-object", &[])).await.status,
        404
    );
    let mut b = spec("GET", "", &[]);
    b.bucket = Some("sec-new-bucket".into());
    assert_eq!(go(addr, &b).await.status, 404);
    let uploads = go(addr, &spec("GET", "", &[("uploads", "")])).await;
    assert_eq!(
        uploads.text().matches("<Upload>").count(),
        1,
        "{}",
        uploads.text()
    );
    println!("SECURITY auth: {tried} bad requests over 14 operations refused");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presigned_urls_expire_and_resist_tampering() {
    let server = harness_server(None).await;
    let addr = server.addr();
    let c = oss_multipart::Client::builder()
        .endpoint(server.endpoint())
        .region("cn-hangzhou")
        .credentials(oss_multipart::Credentials::new(HARNESS_AK, HARNESS_SK))
        .addressing(oss_multipart::Addressing::Path)
        .build()
        .unwrap();
    c.put_object(HARNESS_BUCKET, "pre/obj", b"presigned body".to_vec())
        .await
        .unwrap();
    let get_url = |url: &str| {
        let target = url.strip_prefix(&server.endpoint()).unwrap().to_owned();
        format!("GET {target} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n").into_bytes()
    };
    let url = c
        .presign(
            http::Method::GET,
            HARNESS_BUCKET,
            "pre/obj",
            Duration::from_secs(2),
        )
        .unwrap();
    assert!(!url.contains(HARNESS_SK));
    let ok = send(addr, &get_url(&url)).await;
    println!("{ok:?}");
    assert_eq!(
        (ok.status, ok.body.as_slice()),
        (200, &b"presigned body"[..])
    );
    // Tampered: another key, a flipped signature character, a longer expiry.
    let other_key = url.replacen("pre/obj", "pre/other", 1);
    let sig_pos = url
        .rfind("x-oss-signature=")
        .or_else(|| url.rfind("Signature="))
        .unwrap();
    let mut flipped = url.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).unwrap();
    let longer = url.replacen("x-oss-expires=2", "x-oss-expires=9999", 1);
    assert!(sig_pos > 0);
    for (what, u) in [
        ("key", &other_key),
        ("signature", &flipped),
        ("expires", &longer),
    ] {
        if u == &url {
            continue;
        }
        let r = send(addr, &get_url(u)).await;
        assert_eq!(r.status, 403, "tampered {what}: {}", r.text());
    }
    // Expired.
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let late = send(addr, &get_url(&url)).await;
    assert_eq!(late.status, 403, "{}", late.text());
    assert_eq!(
        late.elem("Code").as_deref(),
        Some("AccessDenied"),
        "{}",
        late.text()
    );
    server.shutdown().await;
}

fn files_under(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                files_under(&p, out);
            }
            out.push(p);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_escapes_the_data_dir_end_to_end() {
    let outer = tempfile::tempdir().unwrap();
    let data_dir = outer.path().join("data");
    let server = oss_local::Server::start(oss_chaos::local_config().with_data_dir(&data_dir))
        .await
        .unwrap();
    let c = client(&server.endpoint(), fast_retry(0)).unwrap();
    let src = outer.path().join("src.bin");
    let body = data(250_000, 1);
    std::fs::write(&src, &body).unwrap();
    let keys = [
        "../escape-1",
        "../../escape-2",
        "a/../../../escape-3",
        "/escape-4",
        "..\\escape-5",
        "%2e%2e/escape-6",
        "./././escape-7",
        "a//b///../escape-8",
    ];
    let mut stored = 0;
    for key in keys {
        // Some keys may be refused by the client (invalid names); none may escape.
        let single = c.put_object(oss_chaos::BUCKET, key, b"x".to_vec()).await;
        let multi = c
            .upload_file(oss_chaos::BUCKET, key, &src)
            .part_size(102_400)
            .send()
            .await;
        if let Ok(out) = multi {
            assert_eq!(out.size, body.len() as u64);
            assert_eq!(
                c.get_object(oss_chaos::BUCKET, key).await.unwrap(),
                body,
                "{key}"
            );
            stored += 1;
        }
        let _ = single;
    }
    let mut all = Vec::new();
    files_under(outer.path(), &mut all);
    for p in &all {
        let name = p.file_name().unwrap().to_string_lossy();
        assert!(
            !name.contains("escape"),
            "a key became a file name: {}",
            p.display()
        );
        assert!(
            p.starts_with(&data_dir) || p == &src || p == &data_dir,
            "file outside the data dir: {}",
            p.display()
        );
    }
    println!(
        "SECURITY escape: {} keys tried, {stored} stored, none outside the data dir",
        keys.len()
    );
    assert!(stored >= 4);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_size_limits_hold_and_the_server_survives() {
    let mut limits = oss_local::Limits::default();
    limits.max_xml_body = 4096;
    limits.max_body = 200_000;
    limits.max_header_bytes = 16 * 1024;
    limits.max_headers = 40;
    let server = harness_server(Some(limits)).await;
    let addr = server.addr();
    let healthy = || async move { go(addr, &spec("HEAD", "probe", &[])).await.status == 404 };

    // Head too large: refused (431 or closed), never answered as a success.
    let mut big_head = spec("GET", "k", &[]);
    big_head
        .headers
        .push(("x-oss-meta-big".into(), "a".repeat(64 * 1024)));
    let r = go(addr, &big_head).await;
    assert!(
        r.status == 431 || r.status == 400 || r.status == 0,
        "huge header: {}",
        r.status
    );
    assert!(healthy().await);
    // Too many headers.
    let mut many = spec("GET", "k", &[]);
    for i in 0..200 {
        many.headers.push((format!("x-oss-meta-h{i}"), "v".into()));
    }
    let r = go(addr, &many).await;
    assert!(
        r.status == 431 || r.status == 400 || r.status == 0,
        "many headers: {}",
        r.status
    );
    assert!(healthy().await);
    // Body over max_body, announced: refused without storing.
    let mut put = spec("PUT", "too-big", &[]);
    put.body = vec![1u8; 200_001];
    let r = go(addr, &put).await;
    assert!(
        r.status == 400 || r.status == 413 || r.status == 0,
        "big body: {} {}",
        r.status,
        r.text()
    );
    assert_eq!(go(addr, &spec("HEAD", "too-big", &[])).await.status, 404);
    // A Complete body over max_xml_body.
    let init = go(addr, &spec("POST", "mp", &[("uploads", "")])).await;
    let id = init.elem("UploadId").unwrap();
    let mut complete = spec("POST", "mp", &[("uploadId", &id)]);
    let mut xml = String::from("<CompleteMultipartUpload>");
    while xml.len() < 8192 {
        xml.push_str("<Part><PartNumber>1</PartNumber><ETag>\"x\"</ETag></Part>");
    }
    xml.push_str("</CompleteMultipartUpload>");
    complete.body = xml.into_bytes();
    let r = go(addr, &complete).await;
    assert!(
        (400..500).contains(&r.status) || r.status == 0,
        "big XML: {} {}",
        r.status,
        r.text()
    );
    assert_eq!(go(addr, &spec("HEAD", "mp", &[])).await.status, 404);
    // An endless chunked body is cut at the limit, not buffered.
    let mut chunked = format!(
        "PUT /{HARNESS_BUCKET}/chunked HTTP/1.1\r\nhost: {addr}\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for _ in 0..300 {
        chunked.extend_from_slice(b"400\r\n");
        chunked.extend_from_slice(&[b'z'; 0x400]);
        chunked.extend_from_slice(b"\r\n");
    }
    let r = send(addr, &chunked).await;
    assert_ne!(r.status, 200, "unsigned endless chunked body accepted");
    assert!(healthy().await);
    server.shutdown().await;
}
