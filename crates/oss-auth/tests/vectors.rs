//! One data-driven runner over the official vector files (crate `oss-test-vectors`; each keeps
//! its `source`) and this crate's Python differential (`tests/data/`).
//!
//! For every vector it checks every stage present (headers added, canonical request,
//! string to sign, signature, Authorization / added query), checks that the `sign` example
//! (same code path, included below) prints the same values, and that the verifier accepts
//! the signed request as a server would receive it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    unreachable_pub
)]

#[path = "../examples/sign.rs"]
#[allow(dead_code)]
mod sign_tool;

use std::time::{Duration, UNIX_EPOCH};

use oss_auth::{Credentials, SignableRequest, Signer, V4Params, Verifier, VerifyRequest};
use serde_json::Value;

/// An official vector file (crate `oss-test-vectors`), or this crate's own `tests/data/` file.
fn load(name: &str) -> Value {
    let own = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = match std::fs::read_to_string(own) {
        Ok(text) => text,
        Err(_) => oss_test_vectors::text(name),
    };
    serde_json::from_str(&text).unwrap()
}

fn s(v: &Value) -> Option<&str> {
    v.as_str()
}

fn pairs(v: &Value) -> Vec<(&str, &str)> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|p| (p[0].as_str().unwrap(), p[1].as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default()
}

fn names(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().map(|n| n.as_str().unwrap()).collect())
        .unwrap_or_default()
}

fn creds(input: &Value) -> Credentials {
    let c = Credentials::new(
        input["access_key_id"].as_str().unwrap(),
        input["access_key_secret"].as_str().unwrap(),
    );
    match s(&input["security_token"]) {
        Some(t) => c.with_security_token(t),
        None => c,
    }
}

fn at(secs: u64) -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// Runs the example's code path on `input` + version/mode and returns its JSON output.
fn tool(signer: &Signer, input: &Value, version: &str, mode: &str) -> Value {
    let mut obj = input.as_object().unwrap().clone();
    obj.insert("version".into(), version.into());
    obj.insert("mode".into(), mode.into());
    let line = Value::Object(obj).to_string();
    let out: Value = serde_json::from_str(&sign_tool::process_line(signer, &line)).unwrap();
    assert!(out.get("error").is_none(), "tool error: {out}");
    out
}

fn secret_of(input: &Value) -> impl Fn(&str) -> Option<String> + '_ {
    move |ak| {
        (ak == input["access_key_id"].as_str().unwrap())
            .then(|| input["access_key_secret"].as_str().unwrap().to_owned())
    }
}

fn verifier_for(input: &Value) -> Verifier {
    Verifier::new(s(&input["region"]).unwrap_or("cn-hangzhou"))
        .with_product(s(&input["product"]).unwrap_or("oss"))
}

/// Header-mode vectors (V4 and V1).
fn run_header_vector(signer: &Signer, v: &Value, version: &str) {
    let id = v["id"].as_str().unwrap();
    assert!(v["source"].is_string(), "{id}: source kept");
    let input = &v["input"];
    let exp = &v["expected"];
    let query = pairs(&input["query"]);
    let headers = pairs(&input["headers"]);
    let req = SignableRequest::new(
        input["method"].as_str().unwrap(),
        s(&input["bucket"]),
        s(&input["key"]),
    )
    .with_query(&query)
    .with_headers(&headers);
    let creds = creds(input);
    let time = at(input["signing_time_unix"].as_u64().unwrap());
    let signed = if version == "v4" {
        let additional = names(&input["additional_headers"]);
        let params = V4Params::new(input["region"].as_str().unwrap(), time)
            .with_product(input["product"].as_str().unwrap())
            .with_additional_headers(&additional);
        signer.sign_v4_header(&req, &creds, &params).unwrap()
    } else {
        let extra = names(&input["extra_subresources"]);
        signer.sign_v1_header(&req, &creds, time, &extra).unwrap()
    };

    // Stage: headers the signer adds (exactly those, plus Authorization).
    let added = exp["headers_added_by_signer"].as_object().unwrap();
    for (name, value) in added {
        let got = signed
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name));
        assert_eq!(
            got.map(|(_, v)| v.as_str()),
            value.as_str(),
            "{id}: added header {name}"
        );
    }
    assert_eq!(
        signed.headers.len(),
        added.len() + 1,
        "{id}: no extra headers"
    );
    assert_eq!(signed.headers.last().unwrap().0, "Authorization");
    // Stages: canonical request, string to sign, signature, Authorization.
    if let Some(cr) = s(&exp["canonical_request"]) {
        assert_eq!(
            signed.canonical_request.as_deref(),
            Some(cr),
            "{id}: canonical request"
        );
    }
    assert_eq!(
        signed.string_to_sign,
        exp["string_to_sign"].as_str().unwrap(),
        "{id}: string to sign"
    );
    assert_eq!(
        signed.signature,
        exp["signature"].as_str().unwrap(),
        "{id}: signature"
    );
    assert_eq!(
        signed.authorization,
        exp["authorization"].as_str().unwrap(),
        "{id}: authorization"
    );

    // The debug tool prints the same.
    let out = tool(signer, input, version, "header");
    assert_eq!(out["signature"], exp["signature"], "{id}: tool signature");
    assert_eq!(
        out["authorization"], exp["authorization"],
        "{id}: tool authorization"
    );
    assert_eq!(
        out["string_to_sign"], exp["string_to_sign"],
        "{id}: tool string to sign"
    );
    if version == "v4" {
        assert_eq!(
            out["canonical_request"], exp["canonical_request"],
            "{id}: tool canonical request"
        );
    } else {
        assert!(
            out.get("canonical_request").is_none(),
            "{id}: no canonical request for v1"
        );
    }

    // A server receiving this request (raw query as on the wire) accepts it.
    let mut all: Vec<(&str, &str)> = headers
        .iter()
        .filter(|(n, _)| {
            !signed
                .headers
                .iter()
                .any(|(a, _)| a.eq_ignore_ascii_case(n))
        })
        .copied()
        .collect();
    all.extend(signed.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    let incoming = VerifyRequest::new(
        input["method"].as_str().unwrap(),
        s(&input["bucket"]),
        s(&input["key"]),
        input["raw_query"].as_str().unwrap(),
        &all,
    );
    let vres = verifier_for(input).verify(&incoming, secret_of(input), time);
    // V1 vectors that sign extra sub-resources outside the built-in list cannot verify
    // without telling the server; none of the vectors needs that.
    let identity =
        vres.unwrap_or_else(|e| panic!("{id}: verify failed: {e} sts={:?}", e.string_to_sign()));
    assert_eq!(
        identity.access_key_id,
        input["access_key_id"].as_str().unwrap()
    );
}

/// Signer-level query (presign) vectors.
fn run_presign_vector(signer: &Signer, v: &Value) {
    let id = v["id"].as_str().unwrap();
    assert!(v["source"].is_string(), "{id}: source kept");
    let version = if v["mode"] == "v4-query" { "v4" } else { "v1" };
    let input = &v["input"];
    let exp = &v["expected"];
    let query = pairs(&input["query"]);
    let headers = pairs(&input["headers"]);
    let req = SignableRequest::new(
        input["method"].as_str().unwrap(),
        s(&input["bucket"]),
        s(&input["key"]),
    )
    .with_query(&query)
    .with_headers(&headers);
    let creds = creds(input);
    let expiration = input["expiration_unix"].as_u64().unwrap();
    let (presigned, now) = if version == "v4" {
        let st = input["signing_time_unix"].as_u64().unwrap();
        let additional = names(&input["additional_headers"]);
        let params = V4Params::new(input["region"].as_str().unwrap(), at(st))
            .with_product(input["product"].as_str().unwrap())
            .with_additional_headers(&additional);
        (
            signer
                .presign_v4(&req, &creds, &params, Duration::from_secs(expiration - st))
                .unwrap(),
            st,
        )
    } else {
        (
            signer
                .presign_v1(&req, &creds, at(expiration), &[])
                .unwrap(),
            expiration - 60,
        )
    };

    let expected_added: Vec<(String, String)> = pairs(&exp["added_query"])
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    let sig_name = if version == "v4" {
        "x-oss-signature"
    } else {
        "Signature"
    };
    let (last, rest) = presigned.params.split_last().unwrap();
    assert_eq!(rest, expected_added.as_slice(), "{id}: added query");
    assert_eq!(last.0, sig_name, "{id}: signature parameter last");
    assert_eq!(
        last.1,
        exp["signature"].as_str().unwrap(),
        "{id}: signature param"
    );
    if let Some(cr) = s(&exp["canonical_request"]) {
        assert_eq!(
            presigned.canonical_request.as_deref(),
            Some(cr),
            "{id}: canonical request"
        );
    }
    assert_eq!(
        presigned.string_to_sign,
        exp["string_to_sign"].as_str().unwrap(),
        "{id}: string to sign"
    );
    assert_eq!(
        presigned.signature,
        exp["signature"].as_str().unwrap(),
        "{id}: signature"
    );

    let out = tool(signer, input, version, "query");
    assert_eq!(out["signature"], exp["signature"], "{id}: tool signature");
    assert_eq!(
        out["string_to_sign"], exp["string_to_sign"],
        "{id}: tool string to sign"
    );
    let tool_added: Vec<(String, String)> =
        serde_json::from_value(out["added_query"].clone()).unwrap();
    assert_eq!(tool_added, presigned.params, "{id}: tool added query");
    if version == "v4" {
        assert_eq!(
            out["canonical_request"], exp["canonical_request"],
            "{id}: tool canonical request"
        );
    }

    // The URL as a server receives it verifies; one second after expiry it does not.
    let raw = input["raw_query"].as_str().unwrap();
    let raw_query = if raw.is_empty() {
        presigned.to_query_string()
    } else {
        format!("{raw}&{}", presigned.to_query_string())
    };
    let incoming = VerifyRequest::new(
        input["method"].as_str().unwrap(),
        s(&input["bucket"]),
        s(&input["key"]),
        &raw_query,
        &headers,
    );
    let verifier = verifier_for(input);
    verifier
        .verify(&incoming, secret_of(input), at(now))
        .unwrap_or_else(|e| panic!("{id}: verify failed: {e} sts={:?}", e.string_to_sign()));
    let late = verifier
        .verify(&incoming, secret_of(input), at(presigned.expires_unix + 1))
        .unwrap_err();
    assert_eq!(late.code(), "AccessDenied", "{id}");
}

/// Client-level presigned URLs: re-derive each from its URL parts and verify the URL.
fn run_client_presign(signer: &Signer, v: &Value) {
    let id = v["id"].as_str().unwrap();
    assert!(v["source"].is_string(), "{id}: source kept");
    let exp = &v["expected"];
    let url = exp["url"].as_str().unwrap();
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path_query) = rest.split_once('/').unwrap();
    let bucket = host.split('.').next().unwrap();
    let (path, raw_query) = path_query.split_once('?').unwrap();
    let key = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .unwrap()
        .into_owned();
    let decoded: Vec<(String, String)> = raw_query
        .split('&')
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            let d = |x: &str| {
                percent_encoding::percent_decode_str(x)
                    .decode_utf8()
                    .unwrap()
                    .into_owned()
            };
            (d(n), d(v))
        })
        .collect();
    let signature_name = if v["signature_version"] == "v4" {
        "x-oss-signature"
    } else {
        "Signature"
    };
    let url_sig = decoded
        .iter()
        .find(|(n, _)| n == signature_name)
        .unwrap()
        .1
        .clone();
    let owned = [
        "x-oss-signature-version",
        "x-oss-date",
        "x-oss-expires",
        "x-oss-credential",
        "x-oss-signature",
        "OSSAccessKeyId",
        "Expires",
        "Signature",
    ];
    let query: Vec<(&str, &str)> = decoded
        .iter()
        .filter(|(n, _)| !owned.contains(&n.as_str()))
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let headers: Vec<(&str, &str)> = exp["signed_headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str().unwrap()))
        .collect();
    let method = exp["method"].as_str().unwrap();
    let req = SignableRequest::new(method, Some(bucket), Some(&key))
        .with_query(&query)
        .with_headers(&headers);
    let c = &v["credentials"];
    let creds = Credentials::new(
        c["access_key_id"].as_str().unwrap(),
        c["access_key_secret"].as_str().unwrap(),
    );
    let st = v["signing_time_unix"].as_u64().unwrap();
    let exp_unix = v["expiration_unix"].as_u64().unwrap();
    let region = v["region"].as_str().unwrap();
    let presigned = if v["signature_version"] == "v4" {
        let params = V4Params::new(region, at(st));
        signer
            .presign_v4(&req, &creds, &params, Duration::from_secs(exp_unix - st))
            .unwrap()
    } else {
        signer.presign_v1(&req, &creds, at(exp_unix), &[]).unwrap()
    };
    assert_eq!(presigned.signature, url_sig, "{id}: signature");

    let incoming = VerifyRequest::new(method, Some(bucket), Some(&key), raw_query, &headers);
    let ak = c["access_key_id"].as_str().unwrap();
    let sk = c["access_key_secret"].as_str().unwrap();
    let identity = Verifier::new(region)
        .verify(&incoming, |a| (a == ak).then(|| sk.to_owned()), at(st))
        .unwrap_or_else(|e| panic!("{id}: verify failed: {e}"));
    assert_eq!(identity.access_key_id, ak);
}

#[test]
fn every_vector_passes_every_stage() {
    let signer = Signer::new();
    let mut count = 0;
    for (file, version) in [("signing_v4.json", "v4"), ("signing_v1.json", "v1")] {
        for v in load(file)["vectors"].as_array().unwrap() {
            run_header_vector(&signer, v, version);
            count += 1;
        }
    }
    let presign = load("presign.json");
    for v in presign["vectors"].as_array().unwrap() {
        run_presign_vector(&signer, v);
        count += 1;
    }
    for v in presign["client_presign"].as_array().unwrap() {
        run_client_presign(&signer, v);
        count += 1;
    }
    // 35 V4 + 15 V1 + 23 presign + 6 client presign: fails if a file silently shrinks.
    assert_eq!(count, 35 + 15 + 23 + 6);
}

/// Random inputs signed by the official Python SDK v2 (see `tests/data/py2_harness.py`):
/// repeated/mixed-case headers, padded values, unicode keys, empty values, STS.
#[test]
fn tool_matches_python_sdk_on_random_inputs() {
    let signer = Signer::new();
    let doc = load("py2_differential.json");
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 40);
    for v in vectors {
        let id = v["id"].as_str().unwrap();
        assert!(v["source"].is_string(), "{id}: source kept");
        let input = &v["input"];
        let out = tool(
            &signer,
            input,
            input["version"].as_str().unwrap(),
            input["mode"].as_str().unwrap(),
        );
        for (field, want) in v["expected"].as_object().unwrap() {
            assert_eq!(&out[field], want, "{id}: {field}");
        }
    }
}

#[test]
fn tool_reports_errors_on_bad_lines() {
    let signer = Signer::new();
    for line in [
        "not json",
        "[1,2]",
        r#"{"version":"v4","mode":"header"}"#,
        r#"{"version":"v9","mode":"header","method":"GET","access_key_id":"a","access_key_secret":"s"}"#,
        r#"{"version":"v4","mode":"query","method":"GET","access_key_id":"a","access_key_secret":"s","region":"r","signing_time_unix":100,"expiration_unix":100}"#,
        r#"{"version":"v4","mode":"query","method":"GET","access_key_id":"a","access_key_secret":"s","region":"r","signing_time_unix":100,"expiration_unix":604901}"#,
        r#"{"version":"v4","mode":"header","method":"GET","access_key_id":"a","access_key_secret":"s","region":"r","signing_time_unix":-5}"#,
        r#"{"version":"v4","mode":"header","method":"GET","query":[["a"]],"access_key_id":"a","access_key_secret":"s","region":"r","signing_time_unix":5}"#,
    ] {
        let out: Value = serde_json::from_str(&sign_tool::process_line(&signer, line)).unwrap();
        assert!(out["error"].is_string(), "{line} -> {out}");
    }
}
