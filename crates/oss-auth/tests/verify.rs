//! Verification rejects what it must, with the OSS codes a server returns.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    unreachable_pub
)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oss_auth::{
    AuthLocation, Credentials, SignableRequest, SignatureVersion, Signer, V4Params, Verifier,
    VerifyErrorKind, VerifyRequest,
};

const T: u64 = 1_735_732_800;
const QUERY: [(&str, &str); 2] = [("partNumber", "1"), ("uploadId", "abc")];
const RAW: &str = "partNumber=1&uploadId=abc";

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn known(ak: &str) -> Option<String> {
    (ak == "ak").then(|| "sk".to_owned())
}

fn req() -> SignableRequest<'static> {
    SignableRequest::new("PUT", Some("bucket"), Some("a b+c/d.txt")).with_query(&QUERY)
}

fn v4_headers(
    creds: &Credentials,
    additional: &[&str],
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let r = req().with_headers(extra);
    let params = V4Params::new("cn-hangzhou", at(T)).with_additional_headers(additional);
    let signed = Signer::new().sign_v4_header(&r, creds, &params).unwrap();
    let mut h: Vec<(String, String)> = extra
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    h.extend(signed.headers);
    h
}

fn check(
    headers: &[(String, String)],
    raw: &str,
    now: u64,
) -> Result<oss_auth::VerifiedIdentity, oss_auth::VerifyError> {
    let h: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    Verifier::new("cn-hangzhou").verify(
        &VerifyRequest::new("PUT", Some("bucket"), Some("a b+c/d.txt"), raw, &h),
        known,
        at(now),
    )
}

fn set(headers: &mut [(String, String)], name: &str, value: &str) {
    for h in headers.iter_mut() {
        if h.0.eq_ignore_ascii_case(name) {
            h.1 = value.to_owned();
        }
    }
}

#[test]
fn v4_header_accepts_and_reports_identity() {
    let creds = Credentials::new("ak", "sk").with_security_token("Zq9STS");
    let h = v4_headers(&creds, &[], &[]);
    let id = check(&h, RAW, T + 899).unwrap();
    assert_eq!(id.access_key_id, "ak");
    assert_eq!(id.security_token.as_deref(), Some("Zq9STS"));
    assert!(id.has_security_token());
    assert_eq!(id.version, SignatureVersion::V4);
    assert_eq!(id.location, AuthLocation::Header);
    assert!(!format!("{id:?}").contains("Zq9STS"));
}

#[test]
fn v4_header_both_separators_and_any_order() {
    let creds = Credentials::new("ak", "sk");
    let h = v4_headers(&creds, &["range"], &[("Range", "bytes=0-9")]);
    let auth = h
        .iter()
        .find(|(n, _)| n == "Authorization")
        .unwrap()
        .1
        .clone();
    let body = auth.strip_prefix("OSS4-HMAC-SHA256 ").unwrap();
    let parts: Vec<&str> = body.split(',').collect();
    assert_eq!(parts.len(), 3);
    for variant in [
        format!("OSS4-HMAC-SHA256 {}", parts.join(", ")),
        format!("OSS4-HMAC-SHA256 {}, {}, {}", parts[2], parts[0], parts[1]),
        format!("OSS4-HMAC-SHA256 {},{},{}", parts[1], parts[2], parts[0]),
    ] {
        let mut h2 = h.clone();
        set(&mut h2, "Authorization", &variant);
        check(&h2, RAW, T).unwrap_or_else(|e| panic!("{variant}: {e}"));
    }
}

#[test]
fn raw_query_plus_and_slash_forms_are_equivalent() {
    let q = [("prefix", "a b/c")];
    let r = SignableRequest::new("GET", Some("bucket"), None).with_query(&q);
    let signed = Signer::new()
        .sign_v4_header(
            &r,
            &Credentials::new("ak", "sk"),
            &V4Params::new("cn-hangzhou", at(T)),
        )
        .unwrap();
    let h: Vec<(&str, &str)> = signed
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    for raw in [
        "prefix=a%20b%2Fc",
        "prefix=a+b/c",
        "prefix=a%20b/c",
        "prefix=a+b%2fc",
    ] {
        Verifier::new("cn-hangzhou")
            .verify(
                &VerifyRequest::new("GET", Some("bucket"), None, raw, &h),
                known,
                at(T),
            )
            .unwrap_or_else(|e| panic!("{raw}: {e}"));
    }
}

#[test]
fn rejects_wrong_secret_with_string_to_sign() {
    let h = v4_headers(&Credentials::new("ak", "wrong"), &[], &[]);
    let e = check(&h, RAW, T).unwrap_err();
    assert_eq!(e.kind(), VerifyErrorKind::SignatureDoesNotMatch);
    assert_eq!(e.code(), "SignatureDoesNotMatch");
    assert_eq!(e.http_status(), 403);
    assert!(
        e.string_to_sign()
            .unwrap()
            .starts_with("OSS4-HMAC-SHA256\n20250101T120000Z\n")
    );
    assert!(
        e.canonical_request()
            .unwrap()
            .starts_with("PUT\n/bucket/a%20b%2Bc/d.txt\npartNumber=1&uploadId=abc\n")
    );
    assert_eq!(e.access_key_id(), Some("ak"));
    assert!(e.signature_provided().is_some());
    assert!(!format!("{e:?}").contains("sk"));
}

#[test]
fn rejects_unknown_access_key() {
    let h = v4_headers(&Credentials::new("nobody", "sk"), &[], &[]);
    let e = check(&h, RAW, T).unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("InvalidAccessKeyId", 403));
}

#[test]
fn rejects_skew_over_15_minutes() {
    let h = v4_headers(&Credentials::new("ak", "sk"), &[], &[]);
    check(&h, RAW, T + 900).unwrap();
    check(&h, RAW, T - 900).unwrap();
    for now in [T + 901, T - 901] {
        let e = check(&h, RAW, now).unwrap_err();
        assert_eq!(e.code(), "RequestTimeTooSkewed");
        assert_eq!(e.request_time(), Some("20250101T120000Z"));
        assert!(e.server_time().is_some());
    }
}

#[test]
fn rejects_bad_scope_and_payload_hash() {
    let h = v4_headers(&Credentials::new("ak", "sk"), &[], &[]);
    let mut wrong_hash = h.clone();
    set(
        &mut wrong_hash,
        "x-oss-content-sha256",
        "e3b0c44298fc1c149afbf4c8996fb924",
    );
    assert_eq!(
        check(&wrong_hash, RAW, T).unwrap_err().code(),
        "InvalidArgument"
    );
    let other_region = Verifier::new("us-west-1");
    let hs: Vec<(&str, &str)> = h.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let e = other_region
        .verify(
            &VerifyRequest::new("PUT", Some("bucket"), Some("a b+c/d.txt"), RAW, &hs),
            known,
            at(T),
        )
        .unwrap_err();
    assert_eq!(e.code(), "InvalidArgument");
    let mut bad_date = h.clone();
    set(&mut bad_date, "x-oss-date", "20250102T120000Z");
    assert_eq!(
        check(&bad_date, RAW, T + 86_400).unwrap_err().code(),
        "InvalidArgument"
    );
    let mut garbage = h;
    set(
        &mut garbage,
        "Authorization",
        "OSS4-HMAC-SHA256 Credential=ak",
    );
    assert_eq!(check(&garbage, RAW, T).unwrap_err().http_status(), 400);
}

#[test]
fn rejects_missing_auth_as_access_denied() {
    let e = check(&[], RAW, T).unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("AccessDenied", 403));
}

fn presigned_raw(v4: bool, creds: &Credentials) -> String {
    let signer = Signer::new();
    let p = if v4 {
        signer
            .presign_v4(
                &req(),
                creds,
                &V4Params::new("cn-hangzhou", at(T)),
                Duration::from_secs(60),
            )
            .unwrap()
    } else {
        signer.presign_v1(&req(), creds, at(T + 60), &[]).unwrap()
    };
    format!("{RAW}&{}", p.to_query_string())
}

#[test]
fn presign_accepts_then_expires() {
    for v4 in [true, false] {
        let creds = Credentials::new("ak", "sk").with_security_token("t+k/n=");
        let raw = presigned_raw(v4, &creds);
        let id = check(&[], &raw, T + 60).unwrap();
        assert_eq!(id.location, AuthLocation::Query);
        assert_eq!(id.security_token.as_deref(), Some("t+k/n="));
        let e = check(&[], &raw, T + 61).unwrap_err();
        assert_eq!(
            (e.code(), e.http_status(), e.message()),
            ("AccessDenied", 403, "Request has expired.")
        );
    }
}

#[test]
fn tampered_presign_fails() {
    for v4 in [true, false] {
        let raw = presigned_raw(v4, &Credentials::new("ak", "sk"));
        for tampered in [
            raw.replace("partNumber=1", "partNumber=2"),
            raw.replace("uploadId=abc", "uploadId=abd"),
            raw.replace("x-oss-expires=60", "x-oss-expires=600"),
            raw.replace("Expires=1735732860", "Expires=1735732861"),
        ] {
            if tampered == raw {
                continue;
            }
            let e = check(&[], &tampered, T).unwrap_err();
            assert_eq!(e.code(), "SignatureDoesNotMatch", "{tampered}");
        }
        let wrong = presigned_raw(v4, &Credentials::new("ak", "other"));
        assert_eq!(
            check(&[], &wrong, T).unwrap_err().code(),
            "SignatureDoesNotMatch"
        );
    }
}

#[test]
fn presign_expiry_bounds() {
    let signer = Signer::new();
    let params = V4Params::new("cn-hangzhou", at(T));
    let c = Credentials::new("ak", "sk");
    for secs in [0, 604_801] {
        let e = signer
            .presign_v4(&req(), &c, &params, Duration::from_secs(secs))
            .unwrap_err();
        assert_eq!(
            e,
            oss_auth::SignError::InvalidExpiry {
                seconds: i128::from(secs)
            }
        );
    }
    for secs in [1, 604_800] {
        let p = signer
            .presign_v4(&req(), &c, &params, Duration::from_secs(secs))
            .unwrap();
        assert_eq!(p.expires_unix, T + secs);
    }
}

#[test]
fn v1_header_round_trip_and_skew() {
    let creds = Credentials::new("ak", "sk").with_security_token("tok");
    let signed = Signer::new()
        .sign_v1_header(&req(), &creds, at(T), &[])
        .unwrap();
    assert_eq!(
        signed.headers[1],
        ("x-oss-security-token".to_owned(), "tok".to_owned())
    );
    let id = check(&signed.headers, RAW, T).unwrap();
    assert_eq!(
        (id.version, id.has_security_token()),
        (SignatureVersion::V1, true)
    );
    assert_eq!(
        check(&signed.headers, RAW, T + 901).unwrap_err().code(),
        "RequestTimeTooSkewed"
    );
    let wrong = Signer::new()
        .sign_v1_header(&req(), &Credentials::new("ak", "x"), at(T), &[])
        .unwrap();
    let e = check(&wrong.headers, RAW, T).unwrap_err();
    assert_eq!(e.code(), "SignatureDoesNotMatch");
    assert!(
        e.string_to_sign()
            .unwrap()
            .ends_with("/bucket/a b+c/d.txt?partNumber=1&uploadId=abc")
    );
}

#[test]
fn signer_and_verifier_are_send_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Signer>();
    assert_send_sync::<Verifier>();
    assert_send_sync::<oss_auth::VerifyError>();
}

#[test]
fn key_cache_is_per_secret_date_region() {
    // Same signer, different secrets/dates/regions: each signature matches a fresh signer.
    let shared = Signer::new();
    for (secret, day, region) in [
        ("a", 0, "r1"),
        ("b", 0, "r1"),
        ("a", 1, "r1"),
        ("a", 0, "r2"),
        ("a", 0, "r1"),
    ] {
        let creds = Credentials::new("ak", secret);
        let params = V4Params::new(region, at(T + day * 86_400));
        let fresh = Signer::new()
            .sign_v4_header(&req(), &creds, &params)
            .unwrap();
        assert_eq!(
            shared.sign_v4_header(&req(), &creds, &params).unwrap(),
            fresh
        );
    }
}

#[test]
fn v1_extra_subresources_must_be_known_to_the_verifier() {
    let q = [("resourcePool", "p1")];
    let r = SignableRequest::new("GET", Some("bucket"), None).with_query(&q);
    let signed = Signer::new()
        .sign_v1_header(&r, &Credentials::new("ak", "sk"), at(T), &["resourcePool"])
        .unwrap();
    assert!(signed.string_to_sign.ends_with("/bucket/?resourcePool=p1"));
    let h: Vec<(&str, &str)> = signed
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let incoming = VerifyRequest::new("GET", Some("bucket"), None, "resourcePool=p1", &h);
    let plain = Verifier::new("cn-hangzhou")
        .verify(&incoming, known, at(T))
        .unwrap_err();
    assert_eq!(plain.code(), "SignatureDoesNotMatch");
    Verifier::new("cn-hangzhou")
        .with_v1_extra_subresources(["resourcePool"])
        .verify(&incoming, known, at(T))
        .unwrap();
}
