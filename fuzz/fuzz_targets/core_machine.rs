//! Drives the `oss-multipart-core` upload machine with arbitrary input sequences (responses,
//! failures, body reads, hashes, timeouts, commands) and checks its invariants.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = oss_multipart_core::fuzz::run_machine(data, std::time::Instant::now());
});
