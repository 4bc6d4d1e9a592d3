//! V2 (`OSS2`) verification against requests the official `oss2` SDK signed
//! (`oss-test-vectors/data/signing_v2.json`, with their source): each verifies as signed, and
//! any change to what was signed, a wrong secret, a stale date or an expired URL is refused
//! with OSS's code.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oss_auth::{
    AuthLocation, SignatureVersion, VerifiedIdentity, Verifier, VerifyError, VerifyErrorKind,
    VerifyRequest,
};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

/// RFC 3986 unreserved bytes stay; everything else is escaped.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

#[derive(Clone)]
struct Case {
    name: String,
    mode: String,
    method: String,
    bucket: Option<String>,
    key: Option<String>,
    raw_query: String,
    headers: Vec<(String, String)>,
}

fn vectors() -> (Value, Vec<Case>) {
    let doc: Value = serde_json::from_str(&oss_test_vectors::text("signing_v2.json")).unwrap();
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    let pairs = |v: &Value| -> Vec<(String, String)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| (text(&p[0]), text(&p[1])))
            .collect()
    };
    let cases = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let raw_query = match c.get("raw_query") {
                Some(raw) => text(raw),
                None => pairs(&c["query"])
                    .iter()
                    .map(|(n, v)| {
                        let n = utf8_percent_encode(n, COMPONENT);
                        if v.is_empty() {
                            n.to_string()
                        } else {
                            format!("{n}={}", utf8_percent_encode(v, COMPONENT))
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("&"),
            };
            let non_empty = |v: &Value| Some(text(v)).filter(|s| !s.is_empty());
            Case {
                name: text(&c["name"]),
                mode: text(&c["mode"]),
                method: text(&c["method"]),
                bucket: non_empty(&c["bucket"]),
                key: non_empty(&c["key"]),
                raw_query,
                headers: pairs(&c["headers"]),
            }
        })
        .collect();
    (doc, cases)
}

fn verify(
    case: &Case,
    headers: &[(String, String)],
    raw_query: &str,
    secret: &str,
    now: u64,
) -> Result<VerifiedIdentity, VerifyError> {
    let h: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let req = VerifyRequest::new(
        &case.method,
        case.bucket.as_deref(),
        case.key.as_deref(),
        raw_query,
        &h,
    );
    let secret = secret.to_owned();
    Verifier::new("cn-hangzhou").verify(&req, |_| Some(secret), at(now))
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[test]
fn every_request_the_sdk_signed_verifies_and_names_its_signer() {
    let (doc, cases) = vectors();
    let secret = doc["access_key_secret"].as_str().unwrap();
    let now = doc["now_unix"].as_u64().unwrap();
    assert!(cases.len() >= 10);
    for case in &cases {
        let id = verify(case, &case.headers, &case.raw_query, secret, now)
            .unwrap_or_else(|e| panic!("{}: {e:?} {:?}", case.name, e.string_to_sign()));
        assert_eq!(id.version, SignatureVersion::V2, "{}", case.name);
        assert_eq!(id.access_key_id, doc["access_key_id"].as_str().unwrap());
        let location = match case.mode.as_str() {
            "header" => AuthLocation::Header,
            _ => AuthLocation::Query,
        };
        assert_eq!(id.location, location, "{}", case.name);
        let token_sent = case.name.contains("token");
        assert_eq!(
            id.security_token.as_deref(),
            token_sent.then(|| doc["security_token"].as_str().unwrap()),
            "{}",
            case.name
        );
    }
}

#[test]
fn a_change_to_anything_signed_is_a_mismatch() {
    let (doc, cases) = vectors();
    let secret = doc["access_key_secret"].as_str().unwrap();
    let now = doc["now_unix"].as_u64().unwrap();
    let mismatch = |r: Result<VerifiedIdentity, VerifyError>, what: &str| {
        let err = r.expect_err(what);
        assert_eq!(err.kind(), VerifyErrorKind::SignatureDoesNotMatch, "{what}");
        assert_eq!(err.http_status(), 403, "{what}");
        assert!(err.string_to_sign().is_some(), "{what}");
    };
    for case in &cases {
        let name = &case.name;
        mismatch(
            verify(case, &case.headers, &case.raw_query, "another-secret", now),
            &format!("{name}: wrong secret"),
        );
        // Every header the SDK signed (x-oss-*, Content-Type/MD5, the additional ones) is a
        // mismatch when changed; any other header may change.
        let additional = additional_headers(case);
        for (i, (header, _)) in case.headers.iter().enumerate() {
            let lower = header.to_ascii_lowercase();
            if matches!(lower.as_str(), "authorization" | "date") {
                continue;
            }
            let mut changed = case.headers.clone();
            changed[i].1.push('x');
            let result = verify(case, &changed, &case.raw_query, secret, now);
            let signed = lower.starts_with("x-oss-")
                || matches!(lower.as_str(), "content-type" | "content-md5")
                || additional.contains(&lower);
            if signed {
                mismatch(result, &format!("{name}: header {header} changed"));
            } else {
                assert!(
                    result.is_ok(),
                    "{name}: unsigned {header} changed: {result:?}"
                );
            }
        }
        // Every query parameter is signed in V2, not only sub-resources.
        let extra = match case.raw_query.as_str() {
            "" => "unsigned=1".to_owned(),
            q => format!("{q}&unsigned=1"),
        };
        mismatch(
            verify(case, &case.headers, &extra, secret, now),
            &format!("{name}: parameter added"),
        );
        if case.bucket.is_none() {
            continue; // the service: no key in the resource
        }
        let mut other = case.clone();
        other.key = Some(format!("{}x", case.key.clone().unwrap_or_default()));
        mismatch(
            verify(&other, &case.headers, &case.raw_query, secret, now),
            &format!("{name}: another key"),
        );
    }
}

#[test]
fn stale_dates_and_expired_urls_are_refused() {
    let (doc, cases) = vectors();
    let secret = doc["access_key_secret"].as_str().unwrap();
    let now = doc["now_unix"].as_u64().unwrap();
    for case in &cases {
        if case.mode == "header" {
            let err = verify(case, &case.headers, &case.raw_query, secret, now + 16 * 60)
                .expect_err(&case.name);
            assert_eq!(
                err.kind(),
                VerifyErrorKind::RequestTimeTooSkewed,
                "{}",
                case.name
            );
            // `x-oss-date` is the request time when sent (as OSS judges it).
            let mut dated = case.headers.clone();
            dated.push(("x-oss-date".into(), "Tue, 02 Dec 2025 16:00:00 GMT".into()));
            let err = verify(case, &dated, &case.raw_query, secret, now).expect_err(&case.name);
            assert_eq!(
                err.kind(),
                VerifyErrorKind::RequestTimeTooSkewed,
                "{}",
                case.name
            );
            assert_eq!(
                err.message(),
                "The difference between the request time and the current time is too large."
            );
        } else {
            let err = verify(case, &case.headers, &case.raw_query, secret, now + 700_000)
                .expect_err(&case.name);
            assert_eq!(err.kind(), VerifyErrorKind::AccessDenied, "{}", case.name);
            assert_eq!(err.message(), "Request has expired.");
        }
    }
}

/// The additional header names the SDK listed (Authorization or query), lower case.
fn additional_headers(case: &Case) -> Vec<String> {
    let from_header = case
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        .and_then(|(_, v)| {
            v.split(',')
                .find_map(|p| p.strip_prefix("AdditionalHeaders:"))
        })
        .map(str::to_owned);
    let from_query = case.raw_query.split('&').find_map(|p| {
        let v = p.strip_prefix("x-oss-additional-headers=")?;
        Some(
            percent_encoding::percent_decode_str(v)
                .decode_utf8()
                .unwrap()
                .into_owned(),
        )
    });
    from_header
        .or(from_query)
        .unwrap_or_default()
        .split(';')
        .filter(|h| !h.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}
