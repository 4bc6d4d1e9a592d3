//! `ossmp`: the command-line face of the `oss-multipart` workspace.
//!
//! This crate is the `ossmp` binary. The library target exists so the binary stays a thin `main` and so the
//! small parsers it relies on (`oss://` locations, sizes, durations, exit codes) are documented and tested.
//! It is not a stable Rust API: embed the `oss-multipart` crate instead.
//!
//! What it does: resumable multipart `cp` with a progress bar, listing/aborting/garbage-collecting unfinished
//! uploads, listing parts, presigned URLs and multipart manifests, running the local server, and a
//! self-contained demo. What it does NOT do: downloads of whole buckets, sync, deletes of objects, bucket
//! management, or anything beyond the multipart upload workflow.
//!
//! ```
//! use ossmp::location::OssUrl;
//! use ossmp::units::{parse_duration, parse_size};
//!
//! let dest = OssUrl::parse_object("oss://my-bucket/backups/db.tar").unwrap();
//! assert_eq!(dest.bucket, "my-bucket");
//! assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
//! assert_eq!(parse_duration("7d").unwrap().as_secs(), 7 * 24 * 3600);
//! assert_eq!(ossmp::exit::Exit::Network.code(), 4);
//! ```

pub mod exit;
pub mod location;
pub mod units;

#[allow(dead_code)] // Wired to the subcommands as they land.
mod cli;
#[allow(dead_code)]
mod config;
#[allow(dead_code)]
mod progress;
