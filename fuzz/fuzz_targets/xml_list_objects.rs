//! Fuzz target: `oss_model::fuzzing::xml_list_objects` (decode, and round-trip whatever decodes).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| oss_model::fuzzing::xml_list_objects(data));
