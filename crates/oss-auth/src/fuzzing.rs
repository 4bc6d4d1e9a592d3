//! Entry points for the fuzz targets and the corpus-replay test. Not a stable API.

use std::time::{Duration, UNIX_EPOCH};

use crate::{Verifier, VerifyRequest};

/// Runs one fuzz input through header/query parsing and verification.
///
/// Format (UTF-8, lossy): line 1 `METHOD UNIX_NOW`, line 2 `bucket/key` (empty = service
/// level, no `/` = bucket level), line 3 the raw query, then `Name: value` header lines.
/// The only known key is `ak` with secret `sk`, region `cn-hangzhou`. Returns the outcome
/// as a short string so the replay test can assert that seeds verify.
pub fn verify_bytes(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let first = lines.next().unwrap_or_default();
    let (method, now) = first.split_once(' ').unwrap_or((first, "0"));
    let now =
        UNIX_EPOCH + Duration::from_secs(now.trim().parse::<u64>().unwrap_or(0) % 253_402_300_799);
    let path = lines.next().unwrap_or_default();
    let (bucket, key) = match path.split_once('/') {
        _ if path.is_empty() => (None, None),
        Some((b, k)) => (Some(b), Some(k)),
        None => (Some(path), None),
    };
    let raw_query = lines.next().unwrap_or_default();
    let headers: Vec<(&str, &str)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n, v.trim_start()))
        .collect();
    let req = VerifyRequest::new(method, bucket, key, raw_query, &headers);
    let verifier = Verifier::new("cn-hangzhou");
    match verifier.verify(&req, |ak| (ak == "ak").then(|| "sk".to_owned()), now) {
        Ok(id) => format!("ok {:?} {:?}", id.version, id.location),
        Err(e) => {
            // Exercise the error accessors too.
            let _ = (
                e.http_status(),
                e.string_to_sign(),
                e.canonical_request(),
                e.to_string(),
            );
            format!("err {}", e.code())
        }
    }
}
