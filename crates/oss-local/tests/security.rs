//! One test per security rule: unsigned, wrong secret, unknown key, skew, expired and tampered
//! presigned URLs, and keys that try to escape the data directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use std::time::{Duration, SystemTime};

use base64::Engine;
use common::*;

#[tokio::test]
async fn unsigned_request_is_access_denied() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let r = req("PUT", "k")
        .body("x")
        .sign(Sign::None)
        .send(server.addr())
        .await;
    r.assert_error(403, "AccessDenied");
    // And nothing was stored.
    let r = req("GET", "k").send(server.addr()).await;
    r.assert_error(404, "NoSuchKey");
    server.shutdown().await;
}

#[tokio::test]
async fn wrong_secret_is_signature_mismatch_with_string_to_sign() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let r = req("PUT", "k")
        .body("x")
        .sign(Sign::V4Secret("bad"))
        .send(server.addr())
        .await;
    r.assert_error(403, "SignatureDoesNotMatch");
    let sts = r.elem("StringToSign").unwrap();
    assert!(sts.starts_with("OSS4-HMAC-SHA256\n"), "{sts}");
    assert_eq!(r.elem("OSSAccessKeyId").as_deref(), Some(AK));
    assert_eq!(r.header("x-oss-ec"), Some("0002-00000201"));
    // V1 with a wrong secret too (V1 header signed properly is accepted).
    let ok = req("PUT", "v1")
        .body("x")
        .sign(Sign::V1)
        .send(server.addr())
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_access_key_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let r = req("GET", "k")
        .sign(Sign::V4Ak("nobody"))
        .send(server.addr())
        .await;
    r.assert_error(403, "InvalidAccessKeyId");
    server.shutdown().await;
}

#[tokio::test]
async fn skewed_request_time_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let past = SystemTime::now() - Duration::from_secs(16 * 60);
    let r = req("GET", "k")
        .sign(Sign::V4At(past))
        .send(server.addr())
        .await;
    r.assert_error(403, "RequestTimeTooSkewed");
    let near = SystemTime::now() - Duration::from_secs(14 * 60);
    let r = req("GET", "k")
        .sign(Sign::V4At(near))
        .send(server.addr())
        .await;
    r.assert_error(404, "NoSuchKey");
    server.shutdown().await;
}

#[tokio::test]
async fn expired_presigned_url_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    req("PUT", "obj").body("hello").send(server.addr()).await;
    let valid = Sign::PresignV4 {
        time: SystemTime::now(),
        expires: Duration::from_secs(60),
    };
    let r = req("GET", "obj").sign(valid).send(server.addr()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, b"hello");
    let expired = Sign::PresignV4 {
        time: SystemTime::now() - Duration::from_secs(120),
        expires: Duration::from_secs(60),
    };
    let r = req("GET", "obj").sign(expired).send(server.addr()).await;
    r.assert_error(403, "AccessDenied");
    assert!(
        r.elem("Message").unwrap().contains("expired"),
        "{}",
        r.text()
    );
    // V1 presign: valid then expired.
    let r = req("GET", "obj")
        .sign(Sign::PresignV1 {
            at: SystemTime::now() + Duration::from_secs(60),
        })
        .send(server.addr())
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = req("GET", "obj")
        .sign(Sign::PresignV1 {
            at: SystemTime::now() - Duration::from_secs(1),
        })
        .send(server.addr())
        .await;
    r.assert_error(403, "AccessDenied");
    server.shutdown().await;
}

#[tokio::test]
async fn tampered_presigned_url_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let id = initiate(server.addr(), "obj").await;
    // Presign part 1, then send it as part 2 by editing the URL.
    let mut request = req("PUT", "obj")
        .q("partNumber", "1")
        .q("uploadId", &id)
        .body(vec![1u8; 10])
        .sign(Sign::PresignV4 {
            time: SystemTime::now(),
            expires: Duration::from_secs(60),
        });
    request.query[0].1 = "1".into();
    let good_query = {
        // Sign once to get the URL, then tamper with the raw URI.
        let creds = oss_auth::Credentials::new(AK, SK);
        let q = [("partNumber", "1"), ("uploadId", id.as_str())];
        let signable =
            oss_auth::SignableRequest::new("PUT", Some(BUCKET), Some("obj")).with_query(&q);
        oss_auth::Signer::new()
            .presign_v4(
                &signable,
                &creds,
                &oss_auth::V4Params::new(REGION, SystemTime::now()),
                Duration::from_secs(60),
            )
            .unwrap()
            .to_query_string()
    };
    let ok_uri = format!("/{BUCKET}/obj?partNumber=1&uploadId={id}&{good_query}");
    let r = send_raw(server.addr(), "PUT", &ok_uri, &[], vec![1; 10], None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let bad_uri = format!("/{BUCKET}/obj?partNumber=2&uploadId={id}&{good_query}");
    let r = send_raw(server.addr(), "PUT", &bad_uri, &[], vec![1; 10], None).await;
    r.assert_error(403, "SignatureDoesNotMatch");
    let bad_key = format!("/{BUCKET}/other?partNumber=1&uploadId={id}&{good_query}");
    let r = send_raw(server.addr(), "PUT", &bad_key, &[], vec![1; 10], None).await;
    r.assert_error(403, "SignatureDoesNotMatch");
    drop(request);
    server.shutdown().await;
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[tokio::test]
async fn path_escape_keys_stay_inside_the_data_dir() {
    let outer = tempfile::tempdir().unwrap();
    let data = outer.path().join("data");
    let server = start(&data).await;
    let long = "x/".repeat(511) + "y"; // 1023 bytes
    let keys = [
        "../../escape",
        "../outside",
        "a/../../../etc/passwd",
        "a\0b",
        "..",
        "C:\\windows\\x",
        long.as_str(),
    ];
    for (i, key) in keys.iter().enumerate() {
        let body = format!("body {i}");
        let r = req("PUT", key).body(body.clone()).send(server.addr()).await;
        assert_eq!(r.status, 200, "{key:?}: {}", r.text());
        let r = req("GET", key).send(server.addr()).await;
        assert_eq!(r.body, body.as_bytes(), "{key:?}");
    }
    // Escaped slashes in the raw path reach the same keys.
    let r = send_get_raw(server.addr(), &format!("/{BUCKET}/..%2F..%2Fescape")).await;
    assert_eq!(r.body, b"body 0");
    // Multipart with an escaping key too.
    let id = initiate(server.addr(), "../../mp").await;
    let etag = upload_part(server.addr(), "../../mp", &id, 1, b"part").await;
    let r = req("POST", "../../mp")
        .q("uploadId", &id)
        .body(complete_body(&[(1, &etag)]))
        .send(server.addr())
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Nothing but the data dir exists under the parent, and no file name carries key text.
    let entries: Vec<_> = std::fs::read_dir(outer.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, vec![std::ffi::OsString::from("data")]);
    for file in files_under(&data) {
        let name = file
            .strip_prefix(&data)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            !name.contains("escape") && !name.contains("passwd") && !name.contains(".."),
            "{name}"
        );
    }
    // Too long and leading-slash keys are refused.
    let too_long = "k".repeat(1024);
    req("PUT", &too_long)
        .body("x")
        .send(server.addr())
        .await
        .assert_error(400, "InvalidObjectName");
    let r = send_get_raw(server.addr(), &format!("/{BUCKET}//abs")).await;
    r.assert_error(400, "InvalidObjectName");
    server.shutdown().await;
}

async fn send_get_raw(addr: std::net::SocketAddr, path: &str) -> Resp {
    // Sign for the decoded key the server will see.
    let key = percent_encoding::percent_decode_str(path.trim_start_matches(&format!("/{BUCKET}/")))
        .decode_utf8()
        .unwrap()
        .into_owned();
    let creds = oss_auth::Credentials::new(AK, SK);
    let signable = oss_auth::SignableRequest::new("GET", Some(BUCKET), Some(&key));
    let signed = oss_auth::Signer::new()
        .sign_v4_header(
            &signable,
            &creds,
            &oss_auth::V4Params::new(REGION, SystemTime::now()),
        )
        .unwrap();
    send_raw(addr, "GET", path, &signed.headers, Vec::new(), None).await
}

#[tokio::test]
async fn head_errors_travel_in_x_oss_err() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let r = req("HEAD", "missing").send(server.addr()).await;
    assert_eq!(r.status, 404);
    assert!(r.body.is_empty());
    let xml = base64::engine::general_purpose::STANDARD
        .decode(r.header("x-oss-err").unwrap())
        .unwrap();
    let xml = String::from_utf8(xml).unwrap();
    assert_eq!(elem(&xml, "Code").as_deref(), Some("NoSuchKey"));
    assert_eq!(
        elem(&xml, "RequestId").as_deref(),
        r.header("x-oss-request-id")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn virtual_host_addressing() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        oss_local::Server::start(config(dir.path()).with_virtual_host_suffix("oss.localhost"))
            .await
            .unwrap();
    let mut r = req("PUT", "vh/key").body("virtual");
    r.raw_path = Some("/vh/key".into());
    r.host = Some("test-bucket.oss.localhost".into());
    let r = r.send(server.addr()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = req("GET", "vh/key").send(server.addr()).await;
    assert_eq!(r.body, b"virtual");
    server.shutdown().await;
}
