//! Reaching real deployments: custom domains (CNAME) signed as the official SDKs sign them, and
//! temporary credentials rotating under a long upload.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use oss_multipart::runtime::FixedWallClock;
use oss_multipart::transport::{FnTransport, HttpClient, HttpFuture, HyperClient, RequestBody};
use oss_multipart::{
    Addressing, ChainConfig, Client, Credentials, Env, RefreshPolicy, SignatureVersion,
};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// The request the client sends for `HeadObject` through a custom domain, captured.
async fn captured_head(version: SignatureVersion, time: SystemTime) -> http::Request<Bytes> {
    let doc: Value =
        serde_json::from_str(&oss_test_vectors::text("cname_signatures.json")).unwrap();
    let seen: Arc<Mutex<Option<http::Request<Bytes>>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let client = Client::builder()
        .endpoint(doc["endpoint"].as_str().unwrap())
        .region(doc["region"].as_str().unwrap())
        .addressing(Addressing::Cname)
        .signature_version(version)
        .credentials(Credentials::new(
            doc["access_key_id"].as_str().unwrap(),
            doc["access_key_secret"].as_str().unwrap(),
        ))
        .runtime(Arc::new(FixedWallClock::new(time)))
        .http_client(Arc::new(FnTransport::new(move |req| {
            *sink.lock().unwrap() = Some(req);
            async {
                http::Response::builder()
                    .status(200)
                    .header("content-length", "0")
                    .header("etag", "\"E\"")
                    .body(Bytes::new())
                    .unwrap()
            }
        })))
        .build()
        .unwrap();
    let _ = client
        .head_object(
            doc["bucket"].as_str().unwrap(),
            doc["key"].as_str().unwrap(),
        )
        .await;
    seen.lock().unwrap().take().expect("a request was sent")
}

#[tokio::test]
async fn cname_signatures_equal_the_official_sdks() {
    let doc: Value =
        serde_json::from_str(&oss_test_vectors::text("cname_signatures.json")).unwrap();
    assert!(
        doc["source"]
            .as_str()
            .unwrap()
            .contains("alibabacloud-oss-v2")
    );

    let v4 = &doc["v4"];
    let date = v4["x-oss-date"].as_str().unwrap();
    let time = time::PrimitiveDateTime::parse(
        date,
        time::macros::format_description!("[year][month][day]T[hour][minute][second]Z"),
    )
    .unwrap()
    .assume_utc();
    let req = captured_head(SignatureVersion::V4, time.into()).await;
    // The URL names no bucket; the signature covers /examplebucket/dir/a b.txt as OSS expects.
    assert_eq!(req.uri().to_string(), v4["url"].as_str().unwrap());
    assert_eq!(
        req.headers()["authorization"].to_str().unwrap(),
        v4["authorization"].as_str().unwrap()
    );

    let v1 = &doc["v1"];
    let time = httpdate::parse_http_date(v1["date"].as_str().unwrap()).unwrap();
    let req = captured_head(SignatureVersion::V1, time).await;
    assert_eq!(req.uri().host(), Some("static.example.com"));
    assert_eq!(
        req.headers()["authorization"].to_str().unwrap(),
        v1["authorization"].as_str().unwrap()
    );
}

/// Pairs the fake credentials service hands out: token → expiration.
type Issued = Arc<Mutex<HashMap<String, SystemTime>>>;

/// A credentials URI on 127.0.0.1 handing out pair `ROTi` (accepted by oss-local) valid for
/// `lifetime`, a new one on each call.
async fn credentials_uri(lifetime: Duration, issued: Issued) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/creds", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut n = 0;
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1024];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(k) => buf.extend_from_slice(&chunk[..k]),
                }
            }
            let expiry = SystemTime::now() + lifetime;
            let text = time::OffsetDateTime::from(expiry)
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap();
            // Whole seconds, as the real services answer: the pair is valid until then.
            let text = format!("{}Z", &text[..19]);
            let expiry = httpdate_secs(&text);
            let i = n % PAIRS;
            n += 1;
            issued.lock().unwrap().insert(format!("TOK{i}"), expiry);
            let body = format!(
                r#"{{"AccessKeyId":"ROT{i}","AccessKeySecret":"SK{i}","SecurityToken":"TOK{i}","Expiration":"{text}"}}"#
            );
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(reply.as_bytes()).await;
        }
    });
    url
}

fn httpdate_secs(rfc3339: &str) -> SystemTime {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .into()
}

const PAIRS: usize = 64;

/// Records, for each request, when it left and which security token it carried.
#[derive(Debug)]
struct Recording {
    inner: HyperClient,
    log: Arc<Mutex<Vec<(SystemTime, String)>>>,
}

impl HttpClient for Recording {
    fn send(&self, request: http::Request<RequestBody>) -> HttpFuture {
        let token = request
            .headers()
            .get("x-oss-security-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        self.log.lock().unwrap().push((SystemTime::now(), token));
        self.inner.send(request)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_part_upload_spans_credential_rotations() {
    let mut config = common::local_config();
    for i in 0..PAIRS {
        config = config.with_credential(
            oss_local::Credential::new(format!("ROT{i}"), format!("SK{i}"))
                .with_security_token(format!("TOK{i}")),
        );
    }
    let server = common::server_with(config).await;
    let issued: Issued = Arc::default();
    // Pairs live 5 s (4 to 5 s once rounded to the second) and are replaced 4 s ahead: a new
    // pair every second or so, fetched by the chain from the credentials URI, with seconds to
    // spare before any pair expires even on a loaded machine.
    let uri = credentials_uri(Duration::from_secs(5), Arc::clone(&issued)).await;
    let home = tempfile::tempdir().unwrap();
    let env = Env::from_pairs([
        ("ALIBABA_CLOUD_CREDENTIALS_URI", uri.as_str()),
        ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true"),
        ("HOME", &home.path().display().to_string()),
    ]);
    let log: Arc<Mutex<Vec<(SystemTime, String)>>> = Arc::default();
    let client = Client::builder()
        .endpoint(server.endpoint())
        .region("cn-hangzhou")
        .credentials_chain(ChainConfig::default().env(env).refresh(RefreshPolicy::new(
            Duration::from_secs(4),
            Duration::from_millis(100),
        )))
        .http_client(Arc::new(Recording {
            inner: HyperClient::new(oss_transport::Client::builder().build().unwrap()),
            log: Arc::clone(&log),
        }))
        .retry(common::fast_retry())
        .build()
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let data = common::data(200 * 102_400, 7);
    let path = common::write_file(dir.path(), "big.bin", &data);
    // 20 MB at 4 MB/s: about five seconds, so several pairs expire during the upload.
    let out = client
        .upload_file(common::BUCKET, "rotating.bin", &path)
        .part_size(102_400)
        .concurrency(4)
        .bandwidth_limit(4_000_000)
        .send()
        .await
        .unwrap();
    assert_eq!(out.size, data.len() as u64);

    let log = log.lock().unwrap().clone();
    let issued = issued.lock().unwrap().clone();
    assert!(
        log.len() >= 202,
        "initiate + 200 parts + complete: {}",
        log.len()
    );
    for (sent, token) in &log {
        let expiry = issued
            .get(token)
            .unwrap_or_else(|| panic!("unknown token {token:?}"));
        assert!(sent < expiry, "a request carried {token} after it expired");
    }
    let used: std::collections::BTreeSet<&str> = log.iter().map(|(_, t)| t.as_str()).collect();
    assert!(
        used.len() >= 4,
        "at least three rotations, saw tokens {used:?}"
    );
    assert_eq!(
        client
            .get_object(common::BUCKET, "rotating.bin")
            .await
            .unwrap(),
        data
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skewed_clock_is_corrected_from_the_server_time() {
    let server = common::server().await;
    // Our clock is an hour behind: oss-local answers RequestTimeTooSkewed with its ServerTime.
    let behind = SystemTime::now() - Duration::from_secs(3600);
    let client = Client::builder()
        .endpoint(server.endpoint())
        .region("cn-hangzhou")
        .credentials(Credentials::new(common::AK, common::SK))
        .runtime(Arc::new(FixedWallClock::new(behind)))
        .retry(common::fast_retry())
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = common::data(350_000, 3);
    let path = common::write_file(dir.path(), "f", &data);
    let out = client
        .upload_file(common::BUCKET, "skewed.bin", &path)
        .part_size(102_400)
        .send()
        .await
        .unwrap();
    assert_eq!(out.parts, 4);
    // Presigned URLs use the corrected time too: oss-local accepts this one.
    let url = client
        .presign(
            http::Method::GET,
            common::BUCKET,
            "skewed.bin",
            Duration::from_secs(60),
        )
        .unwrap();
    let transport = oss_transport::Client::builder().build().unwrap();
    let req = http::Request::get(url).body(RequestBody::empty()).unwrap();
    let resp = transport.send_collect(req, 1 << 20).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.body().as_ref(), &data[..]);
    server.shutdown().await;
}

#[tokio::test]
async fn an_expired_static_token_is_refused_before_sending() {
    let expired = Credentials::new("STS.expired", "secret")
        .with_security_token("token")
        .with_expiration(SystemTime::now() - Duration::from_secs(60));
    let client = Client::builder()
        .endpoint("http://127.0.0.1:9")
        .region("cn-hangzhou")
        .credentials(expired)
        .http_client(Arc::new(FnTransport::new(|_| async {
            panic!("nothing is sent with expired credentials")
        })))
        .build()
        .unwrap();
    let err = client.head_object("bucket", "k").await.unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    let text = error_chain(&err);
    assert!(
        text.contains("STS.expired") && text.contains("expired at"),
        "{text}"
    );
    assert!(
        !text.contains("secret") && !text.contains("token\""),
        "{text}"
    );
}

fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        out.push_str(": ");
        out.push_str(&e.to_string());
        source = e.source();
    }
    out
}
