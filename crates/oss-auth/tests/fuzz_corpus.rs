//! Replays the committed `fuzz/corpus/auth_verify/` seeds through the fuzz target's
//! function on stable. Seeds named `ok-*` are correctly signed requests and must verify;
//! the rest only must not panic.
//!
//! Regenerate the seeds from the vectors with
//! `cargo test -p oss-auth --test fuzz_corpus -- --ignored write_seed_corpus`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    unreachable_pub
)]

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use oss_auth::{Credentials, SignableRequest, Signer, V4Params};
use serde_json::Value;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/auth_verify")
}

#[test]
fn replay_corpus() {
    let mut seen = 0;
    let mut ok = 0;
    for entry in std::fs::read_dir(corpus_dir()).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let outcome = oss_auth::fuzzing::verify_bytes(&data);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("ok-") {
            assert!(outcome.starts_with("ok "), "{name}: {outcome}");
            ok += 1;
        }
        seen += 1;
    }
    assert!(
        ok >= 50 && seen > ok,
        "corpus too small: {seen} files, {ok} ok-seeds"
    );
}

fn enc(s: &str) -> String {
    const STRICT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, STRICT).to_string()
}

fn seed(
    method: &str,
    now: u64,
    bucket: Option<&str>,
    key: Option<&str>,
    raw: &str,
    headers: &[(String, String)],
) -> String {
    let path = match (bucket, key) {
        (None, _) => String::new(),
        (Some(b), None) => b.to_owned(),
        (Some(b), Some(k)) => format!("{b}/{k}"),
    };
    let mut out = format!("{method} {now}\n{path}\n{raw}\n");
    for (n, v) in headers {
        out.push_str(&format!("{n}: {v}\n"));
    }
    out
}

#[test]
#[ignore = "writes the seed corpus; run on purpose"]
fn write_seed_corpus() {
    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let signer = Signer::new();
    let creds = Credentials::new("ak", "sk");
    let mut n = 0;
    for file in ["signing_v4.json", "signing_v1.json", "presign.json"] {
        let doc: Value = serde_json::from_str(&oss_test_vectors::text(file)).unwrap();
        for v in doc["vectors"].as_array().unwrap() {
            let id = v["id"].as_str().unwrap();
            let i = &v["input"];
            let q: Vec<(&str, &str)> = i["query"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_str().unwrap(), p[1].as_str().unwrap_or("")))
                .collect();
            let h: Vec<(&str, &str)> = i["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_str().unwrap(), p[1].as_str().unwrap()))
                .collect();
            if q.iter().any(|(n, v)| n.contains('\n') || v.contains('\n')) {
                continue;
            }
            let (bucket, key) = (i["bucket"].as_str(), i["key"].as_str());
            let r = SignableRequest::new(i["method"].as_str().unwrap(), bucket, key)
                .with_query(&q)
                .with_headers(&h);
            let t = i["signing_time_unix"].as_u64().unwrap_or(1_735_732_800);
            let time = UNIX_EPOCH + Duration::from_secs(t);
            let raw: String = q
                .iter()
                .map(|(n, v)| format!("{}={}", enc(n), enc(v)))
                .collect::<Vec<_>>()
                .join("&");
            let base: Vec<(String, String)> = h
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect();
            let merge = |added: &[(String, String)]| {
                let mut all: Vec<(String, String)> = base
                    .iter()
                    .filter(|(n, _)| !added.iter().any(|(a, _)| a.eq_ignore_ascii_case(n)))
                    .cloned()
                    .collect();
                all.extend(added.iter().cloned());
                all
            };
            let params = V4Params::new("cn-hangzhou", time);
            let s4 = signer.sign_v4_header(&r, &creds, &params).unwrap();
            let s1 = signer.sign_v1_header(&r, &creds, time, &[]).unwrap();
            let p4 = signer
                .presign_v4(&r, &creds, &params, Duration::from_secs(600))
                .unwrap();
            let p1 = signer
                .presign_v1(&r, &creds, time + Duration::from_secs(600), &[])
                .unwrap();
            let join = |extra: String| {
                if raw.is_empty() {
                    extra
                } else {
                    format!("{raw}&{extra}")
                }
            };
            let method = i["method"].as_str().unwrap();
            let seeds = [
                (
                    "v4h",
                    seed(method, t, bucket, key, &raw, &merge(&s4.headers)),
                ),
                (
                    "v1h",
                    seed(method, t, bucket, key, &raw, &merge(&s1.headers)),
                ),
                (
                    "v4q",
                    seed(method, t, bucket, key, &join(p4.to_query_string()), &base),
                ),
                (
                    "v1q",
                    seed(method, t, bucket, key, &join(p1.to_query_string()), &base),
                ),
            ];
            // One scheme per vector, rotating, keeps the corpus small but covers all four.
            for (mode, text) in seeds.into_iter().skip(n % 4).take(1) {
                std::fs::write(dir.join(format!("ok-{id}-{mode}")), text).unwrap();
                n += 1;
            }
        }
    }
    let bad = [
        ("err-empty", String::new()),
        ("err-garbage-auth", "PUT 1735732800\nb/k\n\nAuthorization: OSS4-HMAC-SHA256 Credential=,,Signature\n".to_owned()),
        ("err-v1-no-colon", "GET 1735732800\nb/k\n\nAuthorization: OSS ak\nDate: Wed, 01 Jan 2025 12:00:00 GMT\n".to_owned()),
        ("err-v4q-bad-expires", "GET 1735732800\nb/k\nx-oss-signature-version=OSS4-HMAC-SHA256&x-oss-expires=0&x-oss-date=20250101T120000Z&x-oss-credential=ak%2F20250101%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-signature=00\n".to_owned()),
        ("err-anonymous", "GET 1735732800\nb/k\nuploads\n".to_owned()),
    ];
    for (name, text) in bad {
        std::fs::write(dir.join(name), text).unwrap();
    }
    println!("wrote {n} ok-seeds");
}
