//! Arbitrary request bytes → `oss-local`'s request handling. oss-local has no raw-bytes entry
//! point (its handler takes hyper's `Incoming`), so the input goes over a loopback socket to an
//! in-process server, through the harness shared with the stable corpus replay
//! (`crates/oss-chaos/src/raw_http.rs`, included by path; see its docs for the input format:
//! first byte even = raw bytes, odd = a request the harness signs, `@ID` = a live upload id).
//!
//! Fails on: a panic anywhere in the server (libFuzzer's panic hook aborts, server tasks
//! included), a reply that is not HTTP, a 500 (a server-side error caused by client input),
//! or a server that stops answering.
#![no_main]

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/oss-chaos/src/raw_http.rs"]
#[allow(dead_code, unreachable_pub)]
mod raw_http;

static HARNESS: OnceLock<raw_http::Harness> = OnceLock::new();
static RUNS: AtomicU64 = AtomicU64::new(0);

fuzz_target!(|data: &[u8]| {
    let h = HARNESS.get_or_init(|| raw_http::Harness::start().expect("oss-local starts"));
    let response = h.run(data);
    if !response.is_empty() {
        let status = raw_http::status(&response);
        assert!(status.is_some(), "not an HTTP response: {:?}", String::from_utf8_lossy(&response[..response.len().min(200)]));
        assert_ne!(status, Some(500), "500 on client input: {}", String::from_utf8_lossy(&response));
    }
    if RUNS.fetch_add(1, Ordering::Relaxed) % 512 == 511 {
        assert!(h.healthy(), "the server stopped answering");
    }
});
