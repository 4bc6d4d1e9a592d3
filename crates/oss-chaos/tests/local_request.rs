//! Replays the committed `local_request` fuzz corpus (`fuzz/corpus/local_request/`) on stable,
//! through the same harness the fuzz target uses ([`oss_chaos::raw_http`]): no panic in the
//! server, every reply is HTTP, no 500 on client input, and the server keeps answering.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use oss_chaos::raw_http::{Harness, panics, status};

#[test]
fn local_request_corpus_replays() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/local_request");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus missing at {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    assert!(files.len() >= 30, "corpus too small: {}", files.len());
    let h = Harness::start().unwrap();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for f in &files {
        let input = std::fs::read(f).unwrap();
        let response = h.run(&input);
        let name = f.file_name().unwrap().to_string_lossy();
        if !response.is_empty() {
            let s = status(&response).unwrap_or_else(|| {
                panic!("{name}: not HTTP: {:?}", String::from_utf8_lossy(&response))
            });
            assert_ne!(
                s,
                500,
                "{name}: 500 on client input: {}",
                String::from_utf8_lossy(&response)
            );
            *statuses.entry(s).or_default() += 1;
        }
        assert_eq!(panics(), 0, "{name}: the server panicked");
    }
    assert!(h.healthy(), "the server stopped answering");
    // The signed inputs reach the operations: some succeed.
    assert!(
        statuses.get(&200).copied().unwrap_or(0) >= 5,
        "{statuses:?}"
    );
    println!(
        "local_request replay: {} inputs, statuses {statuses:?}",
        files.len()
    );
}
