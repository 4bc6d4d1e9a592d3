//! The official OSS test vectors, one copy for the whole workspace.
//!
//! The files under `data/` were produced from software we did not write (the official SDKs, their
//! test suites and Alibaba Cloud's documentation); each names where it comes from: the JSON files
//! in their `generator`/`sdk` fields and per-vector `source`, the XML bodies in `data/xml/index.json`.
//! They are kept byte for byte as received; tests of several crates (signing in `oss-auth`, XML in
//! `oss-model`, the error documents of `oss-local`, the core's parsers, the façade's presigning)
//! read them from here, so a correction lands everywhere at once.
//!
//! Test-only (`publish = false`): the accessors panic with the path when a file is missing.
//!
//! ```
//! let crc = oss_test_vectors::text("crc64.json");
//! assert!(crc.contains("\"vectors\""));
//! assert!(oss_test_vectors::path("xml/index.json").is_file());
//! ```

use std::path::{Path, PathBuf};

/// The path of vector file `name`, relative to `data/` (e.g. `"xml/ListPartsResult.xml"`).
pub fn path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

/// The bytes of vector file `name`; panics naming the path if it cannot be read.
pub fn bytes(name: &str) -> Vec<u8> {
    let path = path(name);
    std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// The text of vector file `name`; panics naming the path if it cannot be read or is not UTF-8.
pub fn text(name: &str) -> String {
    let path = path(name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}
