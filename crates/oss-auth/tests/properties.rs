//! proptest: signing/verification never panic, sign→verify round-trips for all four
//! schemes, and any single-byte change to a signed part makes verification fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    unreachable_pub
)]

use std::time::{Duration, UNIX_EPOCH};

use oss_auth::{Credentials, SignableRequest, Signer, V4Params, Verifier, VerifyRequest};
use proptest::prelude::*;

const NOW: u64 = 1_735_732_800;

fn encode(s: &str) -> String {
    const STRICT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, STRICT).to_string()
}

fn raw_query(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(n, v)| format!("{}={}", encode(n), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn lookup(ak: &str) -> Option<String> {
    (ak == "ak").then(|| "sk".to_owned())
}

/// Header names we generate: signed by default, additional candidates, or unsigned.
fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "x-oss-meta-[a-z0-9]{1,6}",
        "X-OSS-META-[A-Z]{1,4}",
        Just("Content-Type".to_owned()),
        Just("content-md5".to_owned()),
        Just("Range".to_owned()),
        Just("host".to_owned()),
        "[a-z][a-z0-9-]{0,8}".prop_filter("not authorization", |n| n != "authorization"),
    ]
}

#[derive(Debug, Clone)]
struct Req {
    method: String,
    key: Option<String>,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    additional: Vec<String>,
    token: Option<String>,
}

fn any_req() -> impl Strategy<Value = Req> {
    (
        prop_oneof![
            Just("GET"),
            Just("PUT"),
            Just("POST"),
            Just("DELETE"),
            Just("HEAD")
        ],
        proptest::option::weighted(0.9, "\\PC{1,24}"),
        proptest::collection::vec(("[a-zA-Z0-9 +%/=&_.~中-]{1,8}", "\\PC{0,10}"), 0..5),
        proptest::collection::vec((header_name(), "[ -~]{0,12}"), 0..5),
        proptest::collection::vec(
            prop_oneof![
                Just("range"),
                Just("Host"),
                Just("content-type"),
                Just("x-nope")
            ],
            0..3,
        ),
        proptest::option::of("[A-Za-z0-9+/=]{1,30}"),
    )
        .prop_map(|(method, key, query, headers, additional, token)| Req {
            method: method.to_owned(),
            key,
            query,
            headers,
            additional: additional.into_iter().map(str::to_owned).collect(),
            token,
        })
}

fn creds(token: Option<&String>) -> Credentials {
    let c = Credentials::new("ak", "sk");
    match token {
        Some(t) => c.with_security_token(t.clone()),
        None => c,
    }
}

fn strs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

/// Headers as the server sees them: request headers, signer's headers replacing same names.
fn merged(req: &[(String, String)], added: &[(String, String)]) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = req
        .iter()
        .filter(|(n, _)| !added.iter().any(|(a, _)| a.eq_ignore_ascii_case(n)))
        .cloned()
        .collect();
    all.extend(added.iter().cloned());
    all
}

#[derive(Debug, Clone, Copy)]
enum Scheme {
    V4Header,
    V4Query,
    V1Header,
    V1Query,
}

/// Signs `r` with `scheme` and returns (headers, raw query) as the server receives them.
fn sign(signer: &Signer, r: &Req, scheme: Scheme) -> (Vec<(String, String)>, String) {
    let q = strs(&r.query);
    let h = strs(&r.headers);
    let add: Vec<&str> = r.additional.iter().map(String::as_str).collect();
    let req = SignableRequest::new(&r.method, Some("bucket"), r.key.as_deref())
        .with_query(&q)
        .with_headers(&h);
    let c = creds(r.token.as_ref());
    let time = UNIX_EPOCH + Duration::from_secs(NOW);
    let params = V4Params::new("cn-hangzhou", time).with_additional_headers(&add);
    match scheme {
        Scheme::V4Header => {
            let s = signer.sign_v4_header(&req, &c, &params).unwrap();
            (merged(&r.headers, &s.headers), raw_query(&r.query))
        }
        Scheme::V1Header => {
            let s = signer.sign_v1_header(&req, &c, time, &[]).unwrap();
            (merged(&r.headers, &s.headers), raw_query(&r.query))
        }
        Scheme::V4Query | Scheme::V1Query => {
            let p = if matches!(scheme, Scheme::V4Query) {
                signer
                    .presign_v4(&req, &c, &params, Duration::from_secs(600))
                    .unwrap()
            } else {
                signer
                    .presign_v1(&req, &c, UNIX_EPOCH + Duration::from_secs(NOW + 600), &[])
                    .unwrap()
            };
            let owned: Vec<&str> = p.params.iter().map(|(n, _)| n.as_str()).collect();
            let kept: Vec<(String, String)> = r
                .query
                .iter()
                .filter(|(n, _)| !owned.contains(&n.as_str()))
                .cloned()
                .collect();
            let mut raw = raw_query(&kept);
            if !raw.is_empty() {
                raw.push('&');
            }
            raw.push_str(&p.to_query_string());
            (r.headers.clone(), raw)
        }
    }
}

fn verify(
    method: &str,
    key: Option<&str>,
    headers: &[(String, String)],
    raw: &str,
) -> Result<(), String> {
    let h = strs(headers);
    let incoming = VerifyRequest::new(method, Some("bucket"), key, raw, &h);
    Verifier::new("cn-hangzhou")
        .verify(&incoming, lookup, UNIX_EPOCH + Duration::from_secs(NOW + 5))
        .map(|_| ())
        .map_err(|e| format!("{e} / {:?}", e.string_to_sign()))
}

const SCHEMES: [Scheme; 4] = [
    Scheme::V4Header,
    Scheme::V4Query,
    Scheme::V1Header,
    Scheme::V1Query,
];

/// Replaces the byte at `pos` (mod len) with a different printable ASCII byte.
fn flip(s: &str, pos: usize) -> Option<String> {
    if s.is_empty() || !s.is_ascii() {
        return None;
    }
    let mut b = s.as_bytes().to_vec();
    let i = pos % b.len();
    b[i] = if b[i] == b'x' { b'y' } else { b'x' };
    String::from_utf8(b).ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn signing_never_panics(
        method in "\\PC{0,6}",
        bucket in proptest::option::of("\\PC{0,10}"),
        key in proptest::option::of("\\PC{0,30}"),
        query in proptest::collection::vec(("\\PC{0,8}", "\\PC{0,8}"), 0..4),
        headers in proptest::collection::vec(("\\PC{0,8}", "\\PC{0,8}"), 0..4),
        additional in proptest::collection::vec("\\PC{0,8}", 0..3),
        secret in "\\PC{0,10}",
        token in proptest::option::of("\\PC{0,10}"),
        secs in any::<u64>(),
        expires in any::<u64>(),
    ) {
        let q = strs(&query);
        let h = strs(&headers);
        let add: Vec<&str> = additional.iter().map(String::as_str).collect();
        let req = SignableRequest::new(&method, bucket.as_deref(), key.as_deref()).with_query(&q).with_headers(&h);
        let mut c = Credentials::new("ak", secret);
        if let Some(t) = token { c = c.with_security_token(t); }
        let time = UNIX_EPOCH.checked_add(Duration::from_secs(secs)).unwrap_or(UNIX_EPOCH);
        let params = V4Params::new("r", time).with_additional_headers(&add);
        let signer = Signer::new();
        let _ = signer.sign_v4_header(&req, &c, &params);
        let _ = signer.presign_v4(&req, &c, &params, Duration::from_secs(expires));
        let _ = signer.sign_v1_header(&req, &c, time, &add);
        let _ = signer.presign_v1(&req, &c, time, &add);
    }

    #[test]
    fn verification_never_panics(
        method in "\\PC{0,6}",
        key in proptest::option::of("\\PC{0,20}"),
        raw in "[a-zA-Z0-9%&=+/;,.:_ -]{0,80}",
        auth in prop_oneof![
            "OSS4-HMAC-SHA256 [a-zA-Z0-9=,;/ _-]{0,80}",
            "OSS [a-z:=/+]{0,20}",
            "\\PC{0,30}",
        ],
        date in prop_oneof!["[0-9TZ]{0,16}", Just("20250101T120000Z".to_owned()), "\\PC{0,30}"],
        extra in proptest::collection::vec(("\\PC{0,8}", "\\PC{0,8}"), 0..3),
        now in any::<u64>(),
    ) {
        let mut headers = vec![
            ("Authorization".to_owned(), auth),
            ("x-oss-date".to_owned(), date.clone()),
            ("Date".to_owned(), date),
            ("x-oss-content-sha256".to_owned(), "UNSIGNED-PAYLOAD".to_owned()),
        ];
        headers.extend(extra);
        let h = strs(&headers);
        let now = UNIX_EPOCH.checked_add(Duration::from_secs(now % 300_000_000_000)).unwrap_or(UNIX_EPOCH);
        let v = Verifier::new("cn-hangzhou");
        let _ = v.verify(&VerifyRequest::new(&method, Some("b"), key.as_deref(), &raw, &h), lookup, now);
        // Also without the header, so the query parsers run on `raw`.
        let q = format!("x-oss-signature-version=OSS4-HMAC-SHA256&{raw}&OSSAccessKeyId=ak&Signature=x");
        let _ = v.verify(&VerifyRequest::new(&method, Some("b"), key.as_deref(), &q, &h[1..]), lookup, now);
        let _ = oss_auth::fuzzing::verify_bytes(raw.as_bytes());
    }

    #[test]
    fn sign_then_verify_round_trips(r in any_req()) {
        let signer = Signer::new();
        for scheme in SCHEMES {
            let (headers, raw) = sign(&signer, &r, scheme);
            let res = verify(&r.method, r.key.as_deref(), &headers, &raw);
            prop_assert!(res.is_ok(), "{scheme:?}: {res:?}");
        }
    }

    #[test]
    fn single_byte_changes_break_the_signature(
        key in "[ -~]{1,20}",
        value in "[ -~]{1,12}",
        meta in "[ -~]{1,12}",
        pos in any::<usize>(),
        target in 0u8..4,
    ) {
        let r = Req {
            method: "PUT".to_owned(),
            key: Some(key.clone()),
            // `uploadId` is a V1 sub-resource, so V1 signs this value too.
            query: vec![("uploadId".to_owned(), value.clone()), ("partNumber".to_owned(), "3".to_owned())],
            headers: vec![("x-oss-meta-m".to_owned(), meta.clone())],
            additional: vec![],
            token: None,
        };
        let signer = Signer::new();
        for scheme in SCHEMES {
            let (mut headers, raw) = sign(&signer, &r, scheme);
            prop_assert!(verify(&r.method, Some(&key), &headers, &raw).is_ok());
            let (mut method, mut k, mut raw2) = (r.method.clone(), key.clone(), raw.clone());
            match target {
                0 => method = flip(&method, pos).unwrap(),
                1 => k = flip(&key, pos).unwrap(),
                2 => {
                    let changed = flip(&value, pos).unwrap();
                    raw2 = raw.replacen(&format!("uploadId={}", encode(&value)), &format!("uploadId={}", encode(&changed)), 1);
                }
                _ => {
                    let changed = flip(&meta, pos).unwrap();
                    for h in &mut headers {
                        if h.0 == "x-oss-meta-m" { h.1 = changed.clone(); }
                    }
                }
            }
            prop_assert!(verify(&method, Some(&k), &headers, &raw2).is_err(), "{scheme:?} target {target}");
        }
    }
}
