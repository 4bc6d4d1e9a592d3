//! Async client for Alibaba Cloud OSS multipart uploads.
//!
//! # What this crate does
//!
//! - [`Client`]: one `Clone + Send + Sync` handle per endpoint, built with
//!   [`Client::builder`] or [`Client::from_env`]. It signs requests (V4 or V1, with
//!   `oss-auth`), builds them from `oss-model` operations, sends them through
//!   `oss-transport` (pooled hyper + rustls), and retries idempotent single requests.
//! - [`Client::upload_file`] / [`Client::upload_stream`]: multipart uploads driven by the
//!   sans-IO state machine of `oss-multipart-core`. Memory is bounded by
//!   concurrency × part size, never by the file size; file parts are streamed from disk with
//!   positional reads and checksummed (CRC-64) on the fly.
//! - [`Client::upload_dir`] / [`Client::download_prefix`]: many files at once, composing the
//!   per-file transfers under one byte budget, with globs, `update` and per-file failures.
//! - Content-Type guessed from the extension unless given ([`UploadBuilder::guess_content_type`]).
//! - Resume: from a checkpoint file ([`UploadBuilder::checkpoint_dir`]) or from the server's
//!   list of parts ([`Client::resume_from_server`]).
//! - [`Client::copy_multipart`] (UploadPartCopy), [`Client::presign`] and the presigned
//!   multipart flow [`Client::presign_upload`], paginated [`Client::list_uploads`] /
//!   [`Client::list_parts`], [`Client::abort_upload`], and each operation alone through
//!   [`Client::send`].
//!
//! # What it does not do
//!
//! - Policy in the driver: concurrency, retries, backoff and resume decisions of uploads are
//!   all the state machine's; the driver only executes what it asks.
//! - Credential sources beyond the Alibaba Cloud default chain ([`DefaultChain`]: environment,
//!   OIDC/RRSA, profile files, RAM role ARN, ECS RAM role, credentials URI); bring your own
//!   [`ProvideCredentials`] for others.
//! - Downloads beyond a simple [`Client::get_object`] used for verification.
//!
//! # Example
//!
//! An upload against an in-process `oss-local` server:
//!
//! ```
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use oss_multipart::{Addressing, Client, Credentials};
//!
//! let server = oss_local::Server::start(
//!     oss_local::Config::new("AKID", "SECRET").with_bucket("demo"),
//! ).await?;
//! let client = Client::builder()
//!     .endpoint(server.endpoint())
//!     .region("cn-hangzhou")
//!     .credentials(Credentials::new("AKID", "SECRET"))
//!     .addressing(Addressing::Path)
//!     .build()?;
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("data.bin");
//! let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
//! std::fs::write(&path, &data)?;
//!
//! let out = client
//!     .upload_file("demo", "dir/data.bin", &path)
//!     .part_size(102_400)
//!     .concurrency(2)
//!     .send()
//!     .await?;
//! assert_eq!(out.size, 300_000);
//! assert_eq!(client.get_object("demo", "dir/data.bin").await?, data);
//! # server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Cancel safety and drop
//!
//! - Every future of this crate can be dropped at any `.await`. Dropping a single-request
//!   future (e.g. [`Client::send`]) closes its connection; the request may or may not have
//!   reached OSS.
//! - Dropping an upload future in flight ([`UploadBuilder::send`]) stops all its requests
//!   and, unless [`FailurePolicy::KeepParts`] was chosen or a checkpoint directory is set,
//!   spawns a best-effort AbortMultipartUpload on the current tokio runtime so the parts do
//!   not keep costing storage. With a checkpoint directory the parts are kept, so that the
//!   next run resumes.
//! - Cancellation through [`UploadBuilder::cancellation`] is orderly: in-flight parts are
//!   stopped, the checkpoint is written, the failure policy applies, and the future returns
//!   [`Error::Cancelled`].
//!
//! # Features
//!
//! - `aws-lc-rs` (default): AWS-LC for TLS (rustls) and for signing hashes (the fast choice).
//! - `ring`: rustls' ring provider and the pure-Rust RustCrypto hashes for signing, for targets
//!   without a C compiler: `default-features = false, features = ["ring", "webpki-roots"]`.
//! - `webpki-roots` (default): trust the Mozilla root set compiled in.
//! - `native-roots`: trust the operating system's certificate store too (loaded when the client
//!   is built), e.g. for a corporate CA installed system-wide.
//!
//! Whatever the features, [`ClientBuilder::ca_bundle`] (or `SSL_CERT_FILE`) adds the
//! certificates of a PEM file. Proxies: see [`ClientBuilder::proxy`].
//!
//! # Stability
//!
//! This façade is the stable surface of the workspace; `oss-multipart-core`, `oss-model`
//! and `oss-auth` may change faster.
//!
//! The wire-level items re-exported from `oss-model` for [`Client::send`] and
//! [`Client::presign_op`] are the exception: the [`ops`] module, [`Operation`],
//! [`BucketName`], [`ObjectKey`], [`PartNumber`], [`ErrorCode`], [`ServiceError`],
//! [`HeadObjectOutput`], [`PutObjectOutput`], [`ObjectSummary`], [`PartSummary`] and
//! [`UploadSummary`] are **unstable**: they follow `oss-model`, and a minor release of this
//! crate may change them when the wire model grows. Everything else here follows semver.
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[macro_use]
mod transfer_setters;
mod builder;
mod checkpoint_store;
mod client;
mod config;
mod copy;
mod download;
mod endpoint;
mod error;
mod listing;
mod manual;
mod names;
mod objects;
mod options;
mod presign;
mod progress;
pub mod runtime;
mod skew;
mod transfer;
pub mod transport;
pub mod units;
mod upload;
mod url;

pub use builder::ClientBuilder;
pub use client::Client;
pub use config::{Addressing, ConfigKey, RetryConfig, SignatureVersion};
pub use copy::{CopyBuilder, CopyOutput, DEFAULT_COPY_PART_SIZE};
pub use download::{DEFAULT_DOWNLOAD_PART_SIZE, DownloadBuilder, DownloadOutput, OnObjectChange};
pub use error::DownloadFailure;
pub use error::{
    Cancelled, CheckpointFailure, ConfigError, CredentialsFailure, Error, IntegrityError,
    IoFailure, ResponseFailure, ServiceFailure, TransportFailure, UploadFailure,
};
pub use listing::{
    ListObjectsOptions, ListPartsOptions, ListUploadsOptions, ObjectListEntry, UploadListEntry,
};
pub use manual::{CallbackReply, InitiateOutput, ObjectOutput, PartBody, PartOutput};
pub use options::{
    MAX_METADATA_BYTES, MAX_TAG_KEY_CHARS, MAX_TAG_VALUE_CHARS, MAX_TAGS, MAX_TRAFFIC_LIMIT,
    MIN_TRAFFIC_LIMIT, ObjectAcl, ObjectOptions, ObjectRequest, OptionsError, StorageClass,
    parse_sse, parse_tagging,
};
pub use presign::{PresignedPart, PresignedRequest, PresignedUpload};
pub use progress::Progress;
pub use transfer::{
    DirOutput, DirProgress, DirTransfer, FileAction, FileFailure, FileTask, SymlinkPolicy,
    UpdateMode,
};
pub use upload::{
    DEFAULT_CONCURRENCY, DEFAULT_PART_SIZE, FailurePolicy, PauseHandle, UploadBuilder, UploadOutput,
};

/// The credential sources one by one (`oss-credentials`), for custom chains.
pub use oss_credentials as credentials;
pub use oss_credentials::{
    ChainConfig, Credentials, CredentialsError, DefaultChain, Env, EnvProvider, ProvideCredentials,
    RefreshPolicy, StaticProvider,
};
// Unstable tier (see "Stability" in the crate docs): the wire model, as `oss-model` has it.
pub use oss_model::ops::{
    HeadObjectOutput, ObjectSummary, PartSummary, PutObjectOutput, UploadSummary,
};
pub use oss_model::{BucketName, ErrorCode, ObjectKey, Operation, PartNumber, ServiceError};
pub use tokio_util::sync::CancellationToken;

/// The wire operations (`oss-model`), for [`Client::send`]. Unstable: see "Stability" in the
/// crate docs.
pub use oss_model::ops;

// The workspace README's Rust examples compile as doctests of this crate, so the quickstart
// users copy first cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct WorkspaceReadmeDoctests;
