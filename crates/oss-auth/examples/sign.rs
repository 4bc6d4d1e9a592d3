//! Signing debug tool: JSON lines in, one JSON line out per input.
//!
//! ```text
//! cargo run -q -p oss-auth --example sign < requests.jsonl
//! ```
//!
//! Input: an `input` object of the vector files (`method`, `bucket`, `key`, `query` as
//! `[name, value]` pairs (decoded), `headers` as pairs, `access_key_id`,
//! `access_key_secret`, `security_token`, `region`, `product`, `signing_time_unix`,
//! `additional_headers`, `expiration_unix`, optional `extra_subresources` for V1) plus
//! `"version": "v4"|"v1"` and `"mode": "header"|"query"`.
//! Output: `{"signature", "authorization" (header mode), "added_query" (query mode),
//! "string_to_sign", "canonical_request" (v4)}` or `{"error": "..."}`.
//! Compare `string_to_sign` with the `StringToSign` of an OSS `SignatureDoesNotMatch` body.
#![allow(clippy::print_stdout)]

use std::io::{BufRead, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oss_auth::{Credentials, SignableRequest, Signer, V4Params};
use serde_json::{Value, json};

fn opt_str<'v>(v: &'v Value, field: &str) -> Result<Option<&'v str>, String> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("field `{field}` must be a string or null")),
    }
}

fn req_str<'v>(v: &'v Value, field: &str) -> Result<&'v str, String> {
    opt_str(v, field)?.ok_or_else(|| format!("missing field `{field}`"))
}

fn pairs<'v>(v: &'v Value, field: &str) -> Result<Vec<(&'v str, &'v str)>, String> {
    let items = match v.get(field) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(format!(
                "field `{field}` must be an array of [name, value] pairs"
            ));
        }
    };
    items
        .iter()
        .map(|item| match item.as_array().map(Vec::as_slice) {
            Some([Value::String(n), Value::String(v)]) => Ok((n.as_str(), v.as_str())),
            // A null value means "name only", like `?uploads`.
            Some([Value::String(n), Value::Null]) => Ok((n.as_str(), "")),
            _ => Err(format!(
                "each `{field}` entry must be [name, value] strings"
            )),
        })
        .collect()
}

fn names<'v>(v: &'v Value, field: &str) -> Result<Vec<&'v str>, String> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .ok_or_else(|| format!("`{field}` must hold strings"))
            })
            .collect(),
        Some(_) => Err(format!("field `{field}` must be an array of strings")),
    }
}

fn unix(v: &Value, field: &str) -> Result<Option<i64>, String> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("field `{field}` must be an integer")),
    }
}

fn to_time(secs: i64, field: &str) -> Result<SystemTime, String> {
    u64::try_from(secs)
        .ok()
        .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)))
        .ok_or_else(|| format!("`{field}` is out of range"))
}

/// Signs one parsed input; the error string becomes `{"error": ...}`.
pub fn sign_value(signer: &Signer, v: &Value) -> Result<Value, String> {
    if !v.is_object() {
        return Err("input must be a JSON object".to_owned());
    }
    let version = opt_str(v, "version")?.unwrap_or("v4");
    let mode = opt_str(v, "mode")?.unwrap_or("header");
    let method = req_str(v, "method")?;
    let bucket = opt_str(v, "bucket")?;
    let key = opt_str(v, "key")?;
    let query = pairs(v, "query")?;
    let headers = pairs(v, "headers")?;
    let mut creds = Credentials::new(
        req_str(v, "access_key_id")?,
        req_str(v, "access_key_secret")?,
    );
    if let Some(token) = opt_str(v, "security_token")? {
        creds = creds.with_security_token(token);
    }
    let req = SignableRequest::new(method, bucket, key)
        .with_query(&query)
        .with_headers(&headers);
    let signing_time = unix(v, "signing_time_unix")?;
    let expiration = unix(v, "expiration_unix")?;
    let need = |t: Option<i64>, f: &str| t.ok_or_else(|| format!("missing field `{f}`"));
    let err = |e: oss_auth::SignError| e.to_string();

    let mut out = serde_json::Map::new();
    match (version, mode) {
        ("v4", _) => {
            let region = opt_str(v, "region")?.unwrap_or("");
            let product = opt_str(v, "product")?.unwrap_or("oss");
            let additional = names(v, "additional_headers")?;
            let st = need(signing_time, "signing_time_unix")?;
            let params = V4Params::new(region, to_time(st, "signing_time_unix")?)
                .with_product(product)
                .with_additional_headers(&additional);
            if mode == "header" {
                let s = signer.sign_v4_header(&req, &creds, &params).map_err(err)?;
                out.insert("signature".into(), json!(s.signature));
                out.insert("authorization".into(), json!(s.authorization));
                out.insert("string_to_sign".into(), json!(s.string_to_sign));
                out.insert("canonical_request".into(), json!(s.canonical_request));
            } else if mode == "query" {
                let exp = need(expiration, "expiration_unix")?;
                let secs = i128::from(exp) - i128::from(st);
                if !(1..=604_800).contains(&secs) {
                    return Err(oss_auth::SignError::InvalidExpiry { seconds: secs }.to_string());
                }
                let expires_in =
                    Duration::from_secs(u64::try_from(secs).map_err(|e| e.to_string())?);
                let p = signer
                    .presign_v4(&req, &creds, &params, expires_in)
                    .map_err(err)?;
                out.insert("signature".into(), json!(p.signature));
                out.insert("added_query".into(), json!(p.params));
                out.insert("string_to_sign".into(), json!(p.string_to_sign));
                out.insert("canonical_request".into(), json!(p.canonical_request));
            } else {
                return Err(format!("unknown mode `{mode}` (header|query)"));
            }
        }
        ("v1", "header") => {
            let extra = names(v, "extra_subresources")?;
            let st = need(signing_time, "signing_time_unix")?;
            let s = signer
                .sign_v1_header(&req, &creds, to_time(st, "signing_time_unix")?, &extra)
                .map_err(err)?;
            out.insert("signature".into(), json!(s.signature));
            out.insert("authorization".into(), json!(s.authorization));
            out.insert("string_to_sign".into(), json!(s.string_to_sign));
        }
        ("v1", "query") => {
            let extra = names(v, "extra_subresources")?;
            let exp = need(expiration, "expiration_unix")?;
            let p = signer
                .presign_v1(&req, &creds, to_time(exp, "expiration_unix")?, &extra)
                .map_err(err)?;
            out.insert("signature".into(), json!(p.signature));
            out.insert("added_query".into(), json!(p.params));
            out.insert("string_to_sign".into(), json!(p.string_to_sign));
        }
        ("v1", _) => return Err(format!("unknown mode `{mode}` (header|query)")),
        _ => return Err(format!("unknown version `{version}` (v4|v1)")),
    }
    Ok(Value::Object(out))
}

/// One input line to one output line (never fails).
pub fn process_line(signer: &Signer, line: &str) -> String {
    let result = serde_json::from_str::<Value>(line)
        .map_err(|e| format!("invalid JSON: {e}"))
        .and_then(|v| sign_value(signer, &v));
    match result {
        Ok(v) => v.to_string(),
        Err(e) => json!({ "error": e }).to_string(),
    }
}

#[allow(dead_code)] // the vectors test includes this file for `process_line` only
fn main() {
    let signer = Signer::new();
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut buf = Vec::new();
    let mut input = stdin.lock();
    loop {
        buf.clear();
        match input.read_until(b'\n', &mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) => {
                let _ = writeln!(out, "{}", json!({ "error": format!("read error: {e}") }));
                return;
            }
        }
        // Bytes, not `lines()`, so a non-UTF-8 line is reported on its own line and skipped.
        let reply = match std::str::from_utf8(&buf) {
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) => process_line(&signer, line.trim_end_matches(['\n', '\r'])),
            Err(_) => json!({ "error": "input line is not valid UTF-8" }).to_string(),
        };
        if writeln!(out, "{reply}").and_then(|()| out.flush()).is_err() {
            return; // stdout closed
        }
    }
}
