//! oss-local request addressing, query decoding, key encoding and Range parsing never panic
//! and keep their invariants (see `oss_local::fuzzing::target_bytes`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = oss_local::fuzzing::target_bytes(data);
});
