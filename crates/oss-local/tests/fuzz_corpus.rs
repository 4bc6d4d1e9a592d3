//! Replays the committed fuzz corpus of `fuzz/fuzz_targets/local_*.rs` on stable.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[test]
fn replay_local_addressing_corpus() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/local_addressing"
    );
    let mut outcomes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        outcomes.push((
            name,
            oss_local::fuzzing::target_bytes(&std::fs::read(&path).unwrap()),
        ));
    }
    outcomes.sort();
    assert!(outcomes.len() >= 5);
    let get = |n: &str| {
        outcomes
            .iter()
            .find(|(name, _)| name == n)
            .map(|(_, o)| o.clone())
            .unwrap()
    };
    assert_eq!(
        get("path_style"),
        "bucket=Some(\"bucket\") key_len=7 query=2 range 0-9"
    );
    assert!(
        get("virtual_host").starts_with("bucket=Some(\"bkt\")"),
        "{}",
        get("virtual_host")
    );
    assert!(get("virtual_host").ends_with("range 5-9"));
    assert_eq!(get("leading_slash"), "error InvalidObjectName");
    assert_eq!(get("bad_utf8"), "error InvalidObjectName");
    assert_eq!(get("bad_bucket"), "error InvalidBucketName");
}
