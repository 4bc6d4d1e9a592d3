//! Our error documents against the shared samples (`xml/Error-*.xml` of `oss-test-vectors`, sources in its
//! `index.json`): same Code, same HTTP status as OSS documents,
//! the sample's elements present in the same order, the same EC where the sample has one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use std::time::{Duration, SystemTime};

use common::*;

/// Names of the children of `<Error>`, in order.
fn element_names(xml: &str) -> Vec<String> {
    let body = xml.split_once("<Error>").unwrap().1;
    let mut names = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.find('<') {
        let after = &rest[i + 1..];
        let end = after.find('>').unwrap();
        let name = &after[..end];
        if name.starts_with('/') {
            if name == "/Error" {
                break;
            }
            rest = &after[end + 1..];
            continue;
        }
        names.push(name.to_owned());
        // Skip to the matching close tag (no nesting inside <Error>).
        let close = format!("</{name}>");
        let j = after.find(&close).unwrap();
        rest = &after[j + close.len()..];
    }
    names
}

fn check(vector: &str, status: u16, r: &Resp) {
    let sample = oss_test_vectors::text(&format!("xml/{vector}"));
    let code = elem(&sample, "Code").unwrap();
    r.assert_error(status, &code);
    let ours = element_names(&r.text());
    let mut it = ours.iter();
    for name in element_names(&sample)
        .iter()
        .filter(|n| *n != "RecommendDoc")
    {
        assert!(
            it.any(|o| o == name),
            "{vector}: `{name}` missing or out of order in {ours:?}"
        );
    }
    if let Some(ec) = elem(&sample, "EC") {
        assert_eq!(r.elem("EC"), Some(ec), "{vector}");
    }
}

#[tokio::test]
async fn error_documents_follow_the_samples() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let addr = server.addr();
    let key = "vec";
    let id = initiate(addr, key).await;
    let e1 = upload_part(addr, key, &id, 1, b"one").await;
    let e2 = upload_part(addr, key, &id, 2, b"two").await;
    let complete = |body: String| req("POST", key).q("uploadId", &id).body(body);

    let r = req("PUT", key)
        .q("partNumber", "10001")
        .q("uploadId", &id)
        .body("x")
        .send(addr)
        .await;
    check("Error-InvalidArgument-PartNumber.xml", 400, &r);
    let r = req("PUT", key)
        .q("partNumber", "1")
        .q("uploadId", &id)
        .h("content-md5", &md5_b64(b"other"))
        .body("x")
        .send(addr)
        .await;
    check("Error-InvalidDigest.xml", 400, &r);
    let r = complete(complete_body(&[(1, "\"0000\"")])).send(addr).await;
    check("Error-InvalidPart.xml", 400, &r);
    let r = complete(complete_body(&[(2, &e2), (1, &e1)]))
        .send(addr)
        .await;
    check("Error-InvalidPartOrder.xml", 400, &r);
    let r = complete(complete_body(&[(1, &e1), (2, &e2)]))
        .send(addr)
        .await;
    check("Error-EntityTooSmall.xml", 400, &r);
    let r = complete("<CompleteMultipartUpload><Part>".into())
        .send(addr)
        .await;
    check("Error-MalformedXML.xml", 400, &r);
    let r = complete(complete_body(&[(1, &e1)]))
        .h("x-oss-complete-all", "yes")
        .send(addr)
        .await;
    check("Error-InvalidArgument-CompleteAllWithBody.xml", 400, &r);
    req("PUT", "exists").body("x").send(addr).await;
    let id2 = initiate(addr, "exists").await;
    let e = upload_part(addr, "exists", &id2, 1, b"x").await;
    let r = req("POST", "exists")
        .q("uploadId", &id2)
        .h("x-oss-forbid-overwrite", "true")
        .body(complete_body(&[(1, &e)]))
        .send(addr)
        .await;
    check("Error-FileAlreadyExists.xml", 409, &r);
    let r = req("GET", "k").bucket("test").send(addr).await;
    check("Error-NoSuchBucket.xml", 404, &r);
    let r = req("DELETE", key)
        .q("uploadId", "00358B75E5C546AF822369CE04A48A14")
        .send(addr)
        .await;
    check("Error-NoSuchUpload.xml", 404, &r);
    let r = req("GET", key)
        .sign(Sign::V4Secret("wrong"))
        .send(addr)
        .await;
    check("Error-SignatureDoesNotMatch-V4.xml", 403, &r);
    let r = req("GET", key)
        .sign(Sign::V4Ak("LTAI5tNoSuchKey"))
        .send(addr)
        .await;
    check("Error-InvalidAccessKeyId.xml", 403, &r);
    let skewed = SystemTime::now() - Duration::from_secs(3600);
    let r = req("GET", key).sign(Sign::V4At(skewed)).send(addr).await;
    check("Error-RequestTimeTooSkewed.xml", 403, &r);
    let r = req("GET", key).sign(Sign::None).send(addr).await;
    check("Error-AccessDenied.xml", 403, &r);
    let expired = Sign::PresignV4 {
        time: SystemTime::now() - Duration::from_secs(120),
        expires: Duration::from_secs(60),
    };
    let r = req("GET", key).sign(expired).send(addr).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.elem("Code").as_deref(), Some("AccessDenied"));
    server.shutdown().await;
}
