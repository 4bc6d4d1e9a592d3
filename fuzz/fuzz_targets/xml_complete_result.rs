//! Fuzz target: `oss_model::fuzzing::xml_complete_result` (decode, and round-trip whatever decodes).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| oss_model::fuzzing::xml_complete_result(data));
