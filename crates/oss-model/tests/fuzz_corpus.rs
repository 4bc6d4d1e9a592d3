//! Replays the committed cargo-fuzz corpora (`fuzz/corpus/xml_*`) through the same entry
//! points the fuzz targets call, so stable `cargo test` catches regressions without nightly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::PathBuf;

use oss_model::fuzzing::TARGETS;

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

#[test]
fn every_target_has_a_binary_and_a_corpus_that_replays() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for (name, run) in TARGETS {
        let source = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let text = std::fs::read_to_string(&source).unwrap_or_else(|e| panic!("{source:?}: {e}"));
        assert!(
            text.contains(&format!("oss_model::fuzzing::{name}(")),
            "{name}: target calls another entry point"
        );
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "{name}: no [[bin]] in fuzz/Cargo.toml"
        );

        let corpus = fuzz_dir().join("corpus").join(name);
        let mut count = 0;
        for entry in std::fs::read_dir(&corpus).unwrap_or_else(|e| panic!("{corpus:?}: {e}")) {
            let path = entry.unwrap().path();
            run(&std::fs::read(&path).unwrap());
            count += 1;
        }
        assert!(count >= 3, "{name}: corpus has only {count} inputs");
    }
}
