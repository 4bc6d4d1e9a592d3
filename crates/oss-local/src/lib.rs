//! `oss-local`: a local, on-disk server that speaks the Alibaba Cloud OSS wire protocol for the
//! multipart-upload API, for tests, demos and benchmarks.
//!
//! What it does:
//! - verifies every request's signature (V4 `OSS4-HMAC-SHA256` and V1 `OSS`, Authorization
//!   header or presigned query; clock skew and expiry enforced) and answers failures with the
//!   same error documents as OSS;
//! - serves the bucket, object and multipart operations SDKs use (the list, with what each
//!   honours, is in `docs/OSS-LOCAL.md`, checked against the routing table by a test), with
//!   OSS's headers (`x-oss-request-id`, ETag, `x-oss-hash-crc64ecma`, `x-oss-object-type`),
//!   conditions, stored attributes (standard headers, storage class, SSE headers, ACL, tags)
//!   and rules;
//! - refuses everything else with `501 NotImplemented` before any state changes: requests are
//!   routed by (method, level, set of sub-resources) through one table;
//! - stores everything crash-safely on disk (see the `store` module notes: temp file + rename,
//!   recovery at start-up), or discards bodies for benchmarks ([`StorageMode::Discard`]);
//! - injects faults on demand ([`FaultConfig`]): 500/503 before or after storing, dropped
//!   connections, latency, bandwidth caps, all seeded.
//!
//! It also executes upload callbacks (`x-oss-callback`) on PutObject and
//! CompleteMultipartUpload, to hosts of an allow list only (loopback by default; see
//! [`CallbackTarget`]).
//!
//! What it does NOT do: TLS, access control (ACLs are stored and returned but every request
//! must be signed by a configured key pair), versioning, signed or https callbacks, real server-side
//! encryption (the headers are stored and echoed only), storage-class behaviour (restore),
//! symlinks, image processing, or any operation not in its routing table. It is a test
//! server, not a storage product.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use oss_local::{Config, Server};
//!
//! let config = Config::new("test-ak", "test-sk").with_bucket("demo-bucket");
//! let server = Server::start(config).await?;
//! assert!(server.endpoint().starts_with("http://127.0.0.1:"));
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! The binary `oss-local` takes the flags of `cli::ServerArgs` (feature `cli`, on by default;
//! `oss-local --help` lists them) and prints `listening on http://ADDR:PORT` as its first
//! stdout line once it accepts connections.
//!
//! Stability: this crate follows the workspace version but its API may change faster than the
//! `oss-multipart` façade.

mod acl;
mod addressing;
mod attrs;
mod auth;
mod body;
mod callback;
#[cfg(feature = "cli")]
pub mod cli;
mod conditions;
mod config;
mod conn;
mod error;
mod fault;
#[doc(hidden)]
pub mod fuzzing;
mod gzip;
mod ops_attrs;
mod ops_bucket;
mod ops_multipart;
mod ops_object;
mod ops_restore;
mod ops_symlink;
mod route;
mod server;
mod service;
mod store;

pub use callback::CallbackTarget;
pub use config::{
    Cname, Config, ConfigError, Credential, EtagMode, FaultConfig, FaultOp, Limits, StorageMode,
};
pub use server::{Server, ServerHandle, StartError};
