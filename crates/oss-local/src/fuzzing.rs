//! Entry points for the fuzz targets and the corpus-replay test. Not a stable API.

use oss_model::url_encode;

use crate::addressing::{HostRules, parse_query, resolve};
use crate::ops_object::parse_range;

/// Runs one fuzz input through request addressing (Host + path → bucket/key), query decoding,
/// `encoding-type=url` encoding and Range parsing, checking their invariants.
///
/// Format (UTF-8, lossy), one field per line: `Host`, raw path, raw query, `Range` value,
/// object size. Returns a short outcome string so the replay test can see what happened.
///
/// # Panics
/// When an invariant breaks (that is the bug the fuzzer looks for): a resolved key longer
/// than 1023 bytes or starting with `/`, an encoded key that does not decode back, or a range
/// outside the object.
pub fn target_bytes(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let host = lines.next().unwrap_or_default();
    let path = lines.next().unwrap_or_default();
    let query = lines.next().unwrap_or_default();
    let range = lines.next().unwrap_or_default();
    let size: u64 = lines
        .next()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let pairs = parse_query(Some(query));
    let suffix = pairs
        .iter()
        .find(|(n, _)| n == "suffix")
        .map(|(_, v)| v.as_str());
    let rules = HostRules {
        suffix: suffix.map(str::to_owned),
        cnames: Vec::new(),
    };
    let target = match resolve(Some(host), path, &rules) {
        Ok(target) => target,
        Err(err) => return format!("error {}", err.code()),
    };
    assert!(target.key.len() <= 1023 && !target.key.starts_with('/'));
    let encoded = url_encode(&target.key);
    let decoded = percent_encoding::percent_decode_str(&encoded).decode_utf8();
    assert_eq!(decoded.ok().as_deref(), Some(target.key.as_str()));
    let range = match parse_range(range, size) {
        Ok(Some((first, last))) => {
            assert!(first <= last && last < size);
            format!("range {first}-{last}")
        }
        Ok(None) => "whole".to_owned(),
        Err(err) => format!("range error {}", err.code()),
    };
    format!(
        "bucket={:?} key_len={} query={} {range}",
        target.bucket,
        target.key.len(),
        pairs.len()
    )
}
