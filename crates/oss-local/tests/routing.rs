//! Every OSS sub-resource with every method, on an object and on a bucket: the server serves
//! the operations it implements and refuses everything else with `501 NotImplemented`,
//! leaving the stored bytes, metadata and listings exactly as they were.
//!
//! Also: addressing (OSS public host names, custom domains) and temporary credentials.

mod common;

use common::*;
use oss_auth::Credentials;
use oss_local::{Config, Credential, Server};

/// The sub-resources the official Python SDK (`oss2` 2.19.1, `auth.py`) signs in V1, plus
/// `x-oss-process` (image processing), which it signs through its `x-oss-` rule.
const OSS2_SUBRESOURCES: &[&str] = &[
    "response-content-type",
    "response-content-language",
    "response-cache-control",
    "logging",
    "response-content-encoding",
    "acl",
    "uploadId",
    "uploads",
    "partNumber",
    "group",
    "link",
    "delete",
    "website",
    "location",
    "objectInfo",
    "objectMeta",
    "response-expires",
    "response-content-disposition",
    "cors",
    "lifecycle",
    "restore",
    "qos",
    "referer",
    "stat",
    "bucketInfo",
    "append",
    "position",
    "live",
    "comp",
    "status",
    "vod",
    "startTime",
    "endTime",
    "x-oss-process",
    "symlink",
    "callback",
    "callback-var",
    "tagging",
    "encryption",
    "versions",
    "versioning",
    "versionId",
    "policy",
    "requestPayment",
    "qosInfo",
    "asyncFetch",
    "sequential",
    "inventory",
    "inventoryId",
    "continuation-token",
    "worm",
    "wormId",
    "wormExtend",
    "replication",
    "replicationLocation",
    "replicationProgress",
    "transferAcceleration",
    "cname",
    "metaQuery",
    "resourceGroup",
    "style",
    "styleName",
    "x-oss-async-process",
    "regionList",
    "x-oss-write-get-object-response",
    "bucketArchiveDirectRead",
    "httpsConfig",
    "redundancyTransition",
    "accessPoint",
    "accessPointPolicy",
    "publicAccessBlock",
    "requesterQosInfo",
    "qosRequester",
    "resourcePoolInfo",
    "resourcePool",
    "resourcePoolBuckets",
];

const METHODS: [&str; 5] = ["GET", "PUT", "POST", "DELETE", "HEAD"];
const KEY: &str = "dir/precious.bin";

/// The (method, level, sub-resource) requests that are operations the server implements,
/// with the one sub-resource alone. Written out by hand from the OSS API reference, so the
/// server's routing table is checked against it rather than against itself.
fn implemented(method: &str, on_object: bool, sub: &str) -> bool {
    let response_override = sub.starts_with("response-");
    matches!(
        (method, on_object, sub),
        ("POST", true, "uploads")                 // InitiateMultipartUpload
            | ("POST", true, "uploadId")          // CompleteMultipartUpload
            | ("DELETE", true, "uploadId")        // AbortMultipartUpload
            | ("GET", true, "uploadId")           // ListParts
            | ("GET", false, "uploads")           // ListMultipartUploads
            | ("GET", false, "continuation-token") // ListObjectsV2
            | ("GET", false, "location")          // GetBucketLocation
            | ("GET", false, "bucketInfo")        // GetBucketInfo
            | ("GET", false, "live")              // ListLiveChannel (always empty)
            | ("POST", false, "delete")           // DeleteMultipleObjects
            | ("GET" | "PUT", true, "acl")        // Get/PutObjectACL
            | ("GET" | "PUT", false, "acl")       // Get/PutBucketAcl
            | ("GET" | "PUT", true, "symlink")    // Get/PutSymlink
            | ("POST", true, "restore")           // RestoreObject
            | ("GET" | "PUT" | "DELETE", true, "tagging") // Get/Put/DeleteObjectTagging
            | ("HEAD", true, "objectMeta") // GetObjectMeta
            | ("PUT", true, "callback" | "callback-var") // PutObject with a callback (the
                                                         // bad "1" is refused, nothing stored)
    ) || (method == "GET" && on_object && response_override)
}

/// What must not change: the object's bytes and headers, the object listing, the uploads.
async fn snapshot(addr: std::net::SocketAddr) -> (Vec<u8>, Vec<Option<String>>, String, usize) {
    let got = req("GET", KEY).send(addr).await;
    assert_eq!(got.status, 200, "{}", got.text());
    let headers = [
        "etag",
        "content-type",
        "x-oss-meta-owner",
        "x-oss-hash-crc64ecma",
    ]
    .iter()
    .map(|h| got.header(h).map(str::to_owned))
    .collect();
    let list = req("GET", "").send(addr).await;
    let uploads = req("GET", "").q("uploads", "").send(addr).await;
    (
        got.body,
        headers,
        list.elems("Key").join("\n"),
        uploads.elems("UploadId").len(),
    )
}

#[tokio::test]
async fn every_sub_resource_and_method_is_served_or_refused_without_changes() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let addr = server.addr();
    let body = data(3000, 7);
    let put = req("PUT", KEY)
        .h("content-type", "image/png")
        .h("x-oss-meta-owner", "alice")
        .body(body.clone())
        .send(addr)
        .await;
    assert_eq!(put.status, 200);
    let before = snapshot(addr).await;
    assert_eq!(before.0, body);

    let mut refused = 0;
    for sub in OSS2_SUBRESOURCES {
        for method in METHODS {
            for on_object in [true, false] {
                let key = if on_object { KEY } else { "" };
                // Half the requests are V1-signed as a client of that API signs them (the
                // sub-resource in the canonical resource), the other half V4.
                let sign = if (sub.len() + method.len()) % 2 == 0 {
                    Sign::V1Extra(vec![(*sub).to_owned()])
                } else {
                    Sign::V4
                };
                let r = req(method, key)
                    .q(sub, "1")
                    .h("content-type", "application/xml")
                    .body(b"<Tagging><TagSet/></Tagging>".to_vec())
                    .sign(sign)
                    .send(addr)
                    .await;
                let what = format!(
                    "{method} {} ?{sub}",
                    if on_object { "object" } else { "bucket" }
                );
                if implemented(method, on_object, sub) {
                    assert_ne!(r.status, 501, "{what}: {}", r.text());
                } else {
                    refused += 1;
                    assert_eq!(r.status, 501, "{what}: {}", r.text());
                    if method == "HEAD" {
                        assert!(r.body.is_empty());
                    } else {
                        r.assert_error(501, "NotImplemented");
                    }
                }
                if method != "GET" && method != "HEAD" {
                    let mut after = snapshot(addr).await;
                    if (method, on_object, *sub) == ("POST", true, "uploads") {
                        // InitiateMultipartUpload adds an upload and nothing else.
                        assert_eq!(after.3, before.3 + 1, "{what}");
                        after.3 = before.3;
                        let id = req("GET", "")
                            .q("uploads", "")
                            .send(addr)
                            .await
                            .elem("UploadId")
                            .unwrap();
                        let abort = req("DELETE", KEY).q("uploadId", &id).send(addr).await;
                        assert_eq!(abort.status, 204);
                    }
                    assert_eq!(after, before, "{what} changed the stored state");
                }
            }
        }
    }
    assert!(refused > 700, "only {refused} refusals");
    assert_eq!(snapshot(addr).await, before);
    server.shutdown().await;
}

#[tokio::test]
async fn refused_headers_and_methods_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let addr = server.addr();
    let put = req("PUT", KEY)
        .h("x-oss-meta-owner", "alice")
        .body(b"keep".to_vec())
        .send(addr)
        .await;
    assert_eq!(put.status, 200);
    let before = snapshot(addr).await;
    // A bad tag or ACL header is refused before the body is stored.
    let r = req("PUT", KEY)
        .h("x-oss-tagging", "=v")
        .body(b"new".to_vec())
        .send(addr)
        .await;
    r.assert_error(400, "InvalidTag");
    let r = req("PUT", KEY)
        .h("x-oss-object-acl", "everyone")
        .body(b"new".to_vec())
        .send(addr)
        .await;
    r.assert_error(400, "InvalidArgument");
    // A callback the server cannot make (no callbackBody here) is refused, never dropped.
    let r = req("PUT", KEY)
        .h(
            "x-oss-callback",
            "eyJjYWxsYmFja1VybCI6Imh0dHA6Ly8xMjcuMC4wLjE6MS8ifQ==",
        )
        .body(b"new".to_vec())
        .send(addr)
        .await;
    r.assert_error(400, "InvalidArgument");
    let r = req("PATCH", KEY).body(b"x".to_vec()).send(addr).await;
    r.assert_error(405, "MethodNotAllowed");
    assert_eq!(snapshot(addr).await, before);
    server.shutdown().await;
}

#[tokio::test]
async fn a_missing_bucket_is_reported_before_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let r = req("GET", "k")
        .bucket("no-such-bucket")
        .sign(Sign::V4Secret("wrong"))
        .send(server.addr())
        .await;
    r.assert_error(404, "NoSuchBucket");
    let r = req("GET", "k")
        .sign(Sign::V4Secret("wrong"))
        .send(server.addr())
        .await;
    r.assert_error(403, "SignatureDoesNotMatch");
    server.shutdown().await;
}

#[tokio::test]
async fn oss_host_names_and_custom_domains_address_buckets() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path())
        .with_bucket("site")
        .with_cname("static.example.com", "site");
    let server = Server::start(config).await.unwrap();
    let addr = server.addr();
    // What ali-oss sends to an IP endpoint: the OSS public name as Host, the key as path.
    let host = format!("{BUCKET}.oss-{REGION}.aliyuncs.com");
    let r = req("PUT", "vh/a.txt")
        .host(&host)
        .path("/vh/a.txt")
        .body(b"hello".to_vec())
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = req("GET", "vh/a.txt").send(addr).await;
    assert_eq!(r.body, b"hello");
    // A bound custom domain, Host with a port.
    let r = req("PUT", "index.html")
        .bucket("site")
        .host("Static.Example.com:8080")
        .path("/index.html")
        .body(b"<html/>".to_vec())
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = req("GET", "index.html").bucket("site").send(addr).await;
    assert_eq!(r.body, b"<html/>");
    // Complete answers with the virtual-hosted location.
    let id = initiate(addr, "m").await;
    let etag = upload_part(addr, "m", &id, 1, b"abc").await;
    let r = req("POST", "m")
        .q("uploadId", &id)
        .host(&host)
        .path("/m")
        .body(complete_body(&[(1, &etag)]))
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.elem("Location").as_deref(),
        Some(format!("http://{host}/m").as_str())
    );
    server.shutdown().await;
}

#[tokio::test]
async fn temporary_credentials_need_their_token() {
    let dir = tempfile::tempdir().unwrap();
    let config: Config = config(dir.path())
        .with_credential(Credential::new("sts-ak", "sts-sk").with_security_token("sts-token"))
        .with_credential(Credential::new("second-ak", "second-sk"));
    let server = Server::start(config).await.unwrap();
    let addr = server.addr();
    let sts = Credentials::new("sts-ak", "sts-sk").with_security_token("sts-token");
    let r = req("PUT", "t")
        .body(b"1".to_vec())
        .sign(Sign::V4Creds(sts))
        .send(addr)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let no_token = Credentials::new("sts-ak", "sts-sk");
    let r = req("PUT", "t")
        .body(b"2".to_vec())
        .sign(Sign::V4Creds(no_token))
        .send(addr)
        .await;
    r.assert_error(403, "InvalidSecurityToken");
    let wrong = Credentials::new("sts-ak", "sts-sk").with_security_token("other");
    let r = req("PUT", "t")
        .body(b"3".to_vec())
        .sign(Sign::V4Creds(wrong))
        .send(addr)
        .await;
    r.assert_error(403, "InvalidSecurityToken");
    let second = Credentials::new("second-ak", "second-sk");
    let r = req("GET", "t").sign(Sign::V4Creds(second)).send(addr).await;
    assert_eq!((r.status, r.body.as_slice()), (200, &b"1"[..]));
    let bad = Credentials::new("second-ak", "sts-sk");
    let r = req("GET", "t").sign(Sign::V4Creds(bad)).send(addr).await;
    r.assert_error(403, "SignatureDoesNotMatch");
    server.shutdown().await;
}
