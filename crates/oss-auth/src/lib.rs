//! Alibaba Cloud OSS request signing and verification.
//!
//! # What this crate does
//!
//! * **V4** (`OSS4-HMAC-SHA256`) Authorization-header signing ([`Signer::sign_v4_header`])
//!   and presigned URLs ([`Signer::presign_v4`], validity 1 s ..= 7 days), with STS
//!   tokens, region/product scope, additional headers and a signing-key cache per
//!   (secret, date, region, product).
//! * **V1** (`OSS AK:signature`, HMAC-SHA1) header signing ([`Signer::sign_v1_header`]) and
//!   presigned URLs ([`Signer::presign_v1`]).
//! * **Verification** for servers ([`Verifier::verify`]): V4 header (`,` or `, `
//!   separators, any parameter order), V4 presign query, V2 (`OSS2`, HMAC-SHA256) header
//!   and presign query, V1 header, V1 presign query, STS token; typed [`VerifyError`]s carrying the OSS code, HTTP status and, for
//!   `SignatureDoesNotMatch`, the string to sign and canonical request.
//! * **Credentials** ([`Credentials`], whose `Debug`/`Display` never show the secret or
//!   token) and a runtime-agnostic provider trait ([`ProvideCredentials`]). Loading them
//!   (environment, profile files, STS, instance metadata) is the `oss-credentials` crate's job.
//!
//! Every signing output exposes the canonical request and string to sign for debugging.
//!
//! # What it does NOT do
//!
//! No I/O, no clock reads (the signing time and the server's `now` are required inputs),
//! no async runtime, no HTTP types (it takes borrowed `(name, value)` slices and returns
//! the headers or query parameters to add), no body hashing (OSS signs
//! `UNSIGNED-PAYLOAD`), no credential loading, refresh policy or STS client (the
//! `oss-credentials` crate does that; only the types live here), no URL building beyond
//! [`PresignedQuery::to_query_string`]. Stability: this is an internal building block of
//! the `oss-multipart` façade and may change faster than it.
//!
//! # Crypto backends (cargo features)
//!
//! * `aws-lc-rs` (default): SHA-256 and HMAC from AWS-LC's assembly, which selects AVX2 or
//!   SHA-NI code at run time. Hashing is most of a V4 signature's cost, so this is the fast
//!   choice; it is the crate `rustls` (and so the `oss-multipart` façade) already links.
//! * `rust-crypto`: the pure-Rust RustCrypto crates, for targets without a C compiler:
//!   `default-features = false, features = ["rust-crypto"]`.
//!
//! Both pass the same official vectors; with both enabled, `aws-lc-rs` is used.
//!
//! # Example
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use oss_auth::{Credentials, SignableRequest, Signer, V4Params, VerifyRequest, Verifier};
//!
//! let creds = Credentials::new("ak", "sk");
//! let signer = Signer::new();
//! let now = UNIX_EPOCH + Duration::from_secs(1_735_732_800); // 2025-01-01T12:00:00Z
//! let query = [("partNumber", "1"), ("uploadId", "0004B989")];
//! let req = SignableRequest::new("PUT", Some("examplebucket"), Some("dir/a b.txt"))
//!     .with_query(&query);
//! let signed = signer.sign_v4_header(&req, &creds, &V4Params::new("cn-hangzhou", now))?;
//! assert!(signed.authorization.starts_with(
//!     "OSS4-HMAC-SHA256 Credential=ak/20250101/cn-hangzhou/oss/aliyun_v4_request,Signature="));
//!
//! // The server side: same request as received (raw query, all headers).
//! let headers: Vec<(&str, &str)> =
//!     signed.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
//! let incoming = VerifyRequest::new("PUT", Some("examplebucket"), Some("dir/a b.txt"),
//!     "partNumber=1&uploadId=0004B989", &headers);
//! let id = Verifier::new("cn-hangzhou")
//!     .verify(&incoming, |ak| (ak == "ak").then(|| "sk".to_owned()), now)
//!     .expect("signature verifies");
//! assert_eq!(id.access_key_id, "ak");
//! # Ok::<(), oss_auth::SignError>(())
//! ```
//!
//! # Rules
//!
//! * Canonical URI: `/bucket/key` from the **decoded** key, every byte except
//!   `A-Z a-z 0-9 - _ . ~ /` percent-encoded (upper-case hex).
//! * Canonical query: decoded pairs re-encoded strictly (`/` too, space as `%20`), sorted
//!   by encoded name then value, `name` alone when the value is empty.
//! * Headers: names lower-cased, values verbatim, a repeated name (any case) keeps its
//!   last value, as the official SDKs' header maps do (so do not send padded values or
//!   repeated names: an HTTP server would trim/combine them). V4 signs `x-oss-*`, `content-type`,
//!   `content-md5` plus the additional headers that are present (lower-cased, sorted,
//!   de-duplicated, default-signed names dropped).
//! * V1 sub-resources: the Go SDK v2 list (`acl`, `uploads`, `uploadId`, `partNumber`,
//!   `security-token`, `response-*`, `versionId`, ...) plus `resourceGroup` (Python SDK v2)
//!   plus every query key starting with `x-oss-` (e.g. `x-oss-process`, which OSS
//!   documents as signed), plus caller extras. Values are signed decoded. Names outside
//!   that set (`encoding-type`, `max-parts`, `prefix`, ...) are not signed.
//! * V1 + STS: the token travels as the signed `x-oss-security-token` header (Go SDKs,
//!   `oss2`; the Python SDK v2 sends an unsigned `security-token` header instead, which
//!   we treat as its bug), and as the `security-token` sub-resource in
//!   presigned URLs.
//! * Repeated query names are all signed (sorted by value too); the Python SDK v2
//!   presigner keeps only the last one, so avoid repeated names in presigned URLs.
//! * Verification: an unsigned request yields `AccessDenied` (403), which is what OSS
//!   returns for anonymous access to a private resource; an expired presigned URL also
//!   yields `AccessDenied` ("Request has expired."); malformed Authorization/credential
//!   scope, dates, expiry or payload hash yield `InvalidArgument` (400).
//!
//! # Debugging `SignatureDoesNotMatch`: the `sign` example
//!
//! `cargo run -q -p oss-auth --example sign` reads JSON lines on stdin (the `input`
//! objects of the vector files, plus `"version": "v4"|"v1"` and
//! `"mode": "header"|"query"`) and prints one JSON line per input with `signature`,
//! `authorization` (header mode), `added_query` (query mode, decoded pairs, signature
//! last), `string_to_sign` and `canonical_request` (V4), or `{"error": "..."}`. Compare
//! its `string_to_sign` with the `StringToSign` in the OSS error body:
//!
//! ```text
//! echo '{"version":"v4","mode":"header","method":"GET","bucket":"b","key":"k",
//!        "query":[],"headers":[],"access_key_id":"ak","access_key_secret":"sk",
//!        "region":"cn-hangzhou","signing_time_unix":1735732800}' \
//!   | cargo run -q -p oss-auth --example sign
//! ```

#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]
// Public types that may grow are `#[non_exhaustive]` (as in rustls): the lints make that a
// decision per type, and an exception carries its reason.
#![warn(clippy::exhaustive_enums, clippy::exhaustive_structs)]

mod canon;
mod credentials;
mod crypto;
mod encode;
mod error;
mod header_map;
mod key_cache;
mod request;
mod sign;
mod time;
mod verify;

#[doc(hidden)]
pub mod fuzzing;

pub use credentials::{Credentials, CredentialsError, CredentialsFuture, ProvideCredentials};
pub use error::SignError;
pub use request::{PresignedQuery, SignableRequest, SignedHeaders, V4Params};
pub use sign::{MAX_PRESIGN_EXPIRY, Signer};
pub use verify::{
    AuthLocation, DEFAULT_MAX_SKEW, SignatureVersion, VerifiedIdentity, Verifier, VerifyError,
    VerifyErrorKind, VerifyRequest,
};
