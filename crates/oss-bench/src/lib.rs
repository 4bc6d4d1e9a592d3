//! Benchmark harness of the workspace (`publish = false`), driven by `cargo xtask bench`.
//!
//! # What this crate does
//!
//! - [`sink`]: the *ceiling* server, a minimal hyper HTTP/1.1 PUT sink that computes the
//!   CRC-64 of each body, answers it in `x-oss-hash-crc64ecma` and discards the bytes.
//! - [`feed`]: the *ceiling* client, plain threads and blocking sockets that send a file in
//!   parts with positional reads into one reused buffer per connection, hashing as they read.
//!   Together they are the loopback limit of the machine for the same bytes, with no
//!   signing, no XML and no state machine.
//! - [`ours`]: the `oss-multipart` runner (a file upload with CRC-64 on), and [`parts`], the
//!   10,000-part Complete and resume timings against `oss-local`.
//! - [`measure`]: runs a child process and reports its wall time, CPU time and peak RSS from
//!   `wait4`, so every client is measured by the OS, not by itself.
//! - [`report`]: the one-line `key=value` records these tools print and `xtask` parses.
//!
//! # What it does not do
//!
//! - Start `oss-local`, create data files, run the official SDK or write the report: that is
//!   `cargo xtask bench e2e`, which spawns the `oss-bench` binary for each measurement.
//! - Assert timings. Nothing here fails because a machine is slow.
//!
//! # Example
//!
//! The ceiling pair on a small file:
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("data.bin");
//! std::fs::write(&path, vec![7u8; 300_000])?;
//! let runtime = tokio::runtime::Runtime::new()?;
//! let addr = runtime.block_on(oss_bench::sink::start("127.0.0.1:0"))?;
//! let outcome = oss_bench::feed::run(addr, &path, 100_000, 2)?;
//! assert_eq!(outcome.bytes, 300_000);
//! assert_eq!(outcome.parts, 3);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod args;
pub mod feed;
pub mod fetch;
pub mod measure;
pub mod ours;
pub mod parts;
pub mod report;
pub mod sink;

/// CRC-64/XZ (the OSS `crc64ecma`) of `bytes`, the checksum every client and sink here
/// computes.
pub fn crc64(bytes: &[u8]) -> u64 {
    oss_model::crc64::crc64(bytes)
}

/// A fresh incremental CRC-64/XZ digest.
pub fn crc64_digest() -> oss_model::crc64::Crc64 {
    oss_model::crc64::Crc64::new()
}
