//! `oss-chaos`: the workspace's reliability and security suite (test-only, never published).
//!
//! What it does: its integration tests try hard to break the upload promise — an upload either
//! completes with exactly the source's bytes, or stops with a state that resumes; never a wrong
//! object, never a leaked secret, never a panic on bad input:
//! - `tests/chaos.rs`: many file and stream uploads against an in-process `oss-local` that
//!   injects 5xx, dropped connections, latency and bandwidth caps; each ends bit-exact, resuming
//!   when the retries run out (`cargo xtask chaos --time S` runs the long variant);
//! - `tests/crash.rs`: the real `ossmp cp` (binary `chaos-ossmp`) SIGKILLed at random points and
//!   re-run, and the `oss-local` server (binary `chaos-oss-local`) SIGKILLed and restarted on its
//!   data directory, with server-side evidence that no finished part was sent twice;
//! - `tests/bad_input.rs`: the bad-input table of `docs/RELIABILITY.md`;
//! - `tests/security.rs`: secrets never in `Debug`/`Display`/errors/TRACE logs, every operation
//!   refuses unsigned or wrongly signed requests, presign expiry/tampering, request limits;
//! - `tests/local_request.rs`: replays the `local_request` fuzz corpus through [`raw_http`].
//!
//! What it does NOT do: ship anything. Its library half only holds shared test support (data
//! generation, on-disk evidence readers, the raw-HTTP harness the fuzz target also uses).
//!
//! ```
//! let bytes = oss_chaos::data(1000, 7);
//! assert_eq!(bytes, oss_chaos::data(1000, 7));
//! assert_ne!(bytes, oss_chaos::data(1000, 8));
//! assert_eq!(oss_chaos::crc64(b"123456789"), 0x995d_c9bb_df19_39fa);
//! ```

pub mod evidence;
pub mod raw_http;

use std::time::Duration;

use oss_multipart::{Addressing, Client, Credentials, RetryConfig};

/// Access key id every test server accepts.
pub const AK: &str = "chaos-ak";
/// Its secret: distinctive, so that tests can scan output for it.
pub const SK: &str = "chaos-SECRET-9f3b2a7c1d";
/// Region of the V4 scope.
pub const REGION: &str = "cn-hangzhou";
/// Bucket created on every test server.
pub const BUCKET: &str = "chaos-bucket";

/// Deterministic pseudo-random bytes (xorshift64): `data(len, seed)` never repeats a pattern
/// at part boundaries, so a part stored at the wrong offset is detected.
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let take = (len - out.len()).min(8);
        out.extend_from_slice(&x.to_le_bytes()[..take]);
    }
    out
}

/// CRC-64/XZ (the `x-oss-hash-crc64ecma` algorithm).
pub fn crc64(bytes: &[u8]) -> u64 {
    oss_crc64::crc64(bytes)
}

/// An `oss-local` configuration with this crate's credentials and bucket, without fsync
/// (SIGKILL safety does not need it).
pub fn local_config() -> oss_local::Config {
    oss_local::Config::new(AK, SK)
        .with_bucket(BUCKET)
        .with_fsync(false)
}

/// A retry policy with short delays, so chaos runs spend their time uploading.
pub fn fast_retry(max_retries: u32) -> RetryConfig {
    let mut r = RetryConfig::default();
    r.max_retries = max_retries;
    r.initial_backoff = Duration::from_millis(2);
    r.max_backoff = Duration::from_millis(40);
    r.retry_timeout = Duration::from_secs(60);
    r
}

/// A path-style client for `endpoint` with this crate's credentials.
///
/// # Errors
/// When the façade rejects the configuration.
pub fn client(endpoint: &str, retry: RetryConfig) -> Result<Client, oss_multipart::Error> {
    Client::builder()
        .endpoint(endpoint)
        .region(REGION)
        .credentials(Credentials::new(AK, SK))
        .addressing(Addressing::Path)
        .retry(retry)
        .read_timeout(Duration::from_secs(20))
        .build()
}
