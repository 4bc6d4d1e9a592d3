//! Conditional GET/HEAD, response header overrides and `x-oss-traffic-limit`.

mod common;

use std::time::{Duration, SystemTime};

use common::*;

#[tokio::test]
async fn conditions_on_get_and_head() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let addr = server.addr();
    let body = data(1000, 3);
    let put = req("PUT", "k").body(body.clone()).send(addr).await;
    let etag = put.header("etag").unwrap().to_owned();
    let stale = "\"0123456789ABCDEF0123456789ABCDEF\"";

    // A resumable download's ranged GET with the ETag it started with.
    let r = req("GET", "k")
        .h("range", "bytes=100-199")
        .h("if-match", &etag)
        .send(addr)
        .await;
    assert_eq!(r.status, 206);
    assert_eq!(r.body, body[100..200]);
    // The object changed since: 412, not the new bytes.
    let r = req("GET", "k")
        .h("range", "bytes=100-199")
        .h("if-match", stale)
        .send(addr)
        .await;
    r.assert_error(412, "PreconditionFailed");
    assert_eq!(r.elem("Condition").as_deref(), Some("if-match"));
    let r = req("HEAD", "k").h("if-match", stale).send(addr).await;
    assert_eq!(r.status, 412);
    assert!(r.body.is_empty());

    let r = req("GET", "k").h("if-none-match", &etag).send(addr).await;
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    let r = req("GET", "k").h("if-none-match", stale).send(addr).await;
    assert_eq!((r.status, r.body.len()), (200, 1000));

    let future = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3600));
    let past = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(3600));
    let r = req("GET", "k")
        .h("if-modified-since", &future)
        .send(addr)
        .await;
    assert_eq!(r.status, 304);
    let r = req("GET", "k")
        .h("if-modified-since", &past)
        .send(addr)
        .await;
    assert_eq!(r.status, 200);
    let r = req("GET", "k")
        .h("if-unmodified-since", &past)
        .send(addr)
        .await;
    r.assert_error(412, "PreconditionFailed");
    let r = req("HEAD", "k")
        .h("if-unmodified-since", &future)
        .send(addr)
        .await;
    assert_eq!(r.status, 200);
    server.shutdown().await;
}

#[tokio::test]
async fn response_overrides_also_on_presigned_urls() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let addr = server.addr();
    let put = req("PUT", "report.csv")
        .h("content-type", "text/csv")
        .body(b"a,b".to_vec())
        .send(addr)
        .await;
    assert_eq!(put.status, 200);
    let r = req("GET", "report.csv")
        .q("response-content-type", "application/octet-stream")
        .q(
            "response-content-disposition",
            "attachment; filename=\"r.csv\"",
        )
        .q("response-cache-control", "no-cache")
        .sign(Sign::PresignV4 {
            time: SystemTime::now(),
            expires: Duration::from_secs(60),
        })
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"r.csv\"")
    );
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    let r = req("GET", "report.csv").sign(Sign::V1).send(addr).await;
    assert_eq!(r.header("content-type"), Some("text/csv"));
    server.shutdown().await;
}

#[tokio::test]
async fn traffic_limit_is_validated_before_anything_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let addr = server.addr();
    for bad in ["819199", "838860801", "fast"] {
        let r = req("PUT", "t")
            .h("x-oss-traffic-limit", bad)
            .body(b"x".to_vec())
            .send(addr)
            .await;
        r.assert_error(400, "InvalidArgument");
    }
    let r = req("GET", "t").send(addr).await;
    r.assert_error(404, "NoSuchKey");
    let r = req("PUT", "t")
        .h("x-oss-traffic-limit", "819200")
        .body(b"x".to_vec())
        .send(addr)
        .await;
    assert_eq!(r.status, 200);
    let r = req("GET", "t")
        .q("x-oss-traffic-limit", "1")
        .send(addr)
        .await;
    r.assert_error(400, "InvalidArgument");
    server.shutdown().await;
}
