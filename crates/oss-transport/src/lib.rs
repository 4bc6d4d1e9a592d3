//! Plain HTTP/1.1 transport for `oss-multipart`: a pooled, keep-alive hyper client over TCP or rustls, with
//! connect/read/overall timeouts, streamed request bodies (including file ranges read with positional reads and
//! checksummed on the fly) and bounded or streamed response bodies.
//!
//! # What this crate does not do
//!
//! It knows nothing about OSS: no signing, no XML, no OSS headers, no retries, no status interpretation. It
//! sends an [`http::Request`] and returns an [`http::Response`]; the façade crate decides what to send and what
//! a reply means. It speaks HTTP/1.1 only. It is a lower, faster-moving layer than the façade: its API may
//! change between minor versions.
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
//! # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! # let addr = listener.local_addr()?;
//! # tokio::spawn(async move {
//! #     let (mut sock, _) = listener.accept().await?;
//! #     let mut seen = Vec::new();
//! #     while !seen.ends_with(b"123456789") {
//! #         let mut buf = [0u8; 1024];
//! #         let n = sock.read(&mut buf).await?;
//! #         if n == 0 { break; }
//! #         seen.extend_from_slice(&buf[..n]);
//! #     }
//! #     sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await?;
//! #     Ok::<_, std::io::Error>(())
//! # });
//! use oss_transport::{Client, Digests, RequestBody};
//!
//! let client = Client::builder().build()?;
//! let (body, digest) = RequestBody::from_bytes("123456789").digested(Digests::Crc64);
//! let request = http::Request::put(format!("http://{addr}/object")).body(body)?;
//! let response = client.send_collect(request, 64 * 1024).await?;
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.body().as_ref(), b"ok");
//! // CRC-64/XZ of the bytes that were sent, computed while sending.
//! assert_eq!(digest.result().and_then(|d| d.crc64()), Some(0x995D_C9BB_DF19_39FA));
//! # Ok(())
//! # }
//! ```
//!
//! # Bodies
//!
//! [`RequestBody`] is empty, one [`Bytes`](bytes::Bytes), a chunk list, a caller stream, or a [`FileRange`]
//! (read in 512 KiB chunks by default, straight from the page cache where it holds them, else on tokio's
//! blocking pool one read ahead; never buffered whole). Any body
//! can be [`digested`](RequestBody::digested) (CRC-64/XZ and/or MD5, read back from a [`DigestHandle`]) and
//! [`rate_limited`](RequestBody::rate_limited) by a [`RateLimiter`] shared across requests. A body is used
//! once; to retry, build a new one from the same source.
//!
//! # Slow connections
//!
//! A connection returns to the pool once its response body has been read. A request carrying a
//! [`RetireSlowConnections`] extension is measured from sending to the end of its body; when it took at least
//! the bound current at that moment (shared by every clone, so a caller can tighten it as it learns), its
//! connection is closed instead: a connection that carried one straggler usually carries the next.
//!
//! # Errors
//!
//! [`TransportError`] is opaque, with predicates: [`is_timeout`](TransportError::is_timeout),
//! [`is_connect`](TransportError::is_connect), [`is_tls`](TransportError::is_tls),
//! [`is_body`](TransportError::is_body), [`is_io`](TransportError::is_io),
//! [`is_response_too_large`](TransportError::is_response_too_large),
//! [`is_invalid_request`](TransportError::is_invalid_request), and
//! [`body_fully_sent`](TransportError::body_fully_sent) to tell whether the server may have seen a complete
//! request.
//!
//! # Proxies
//!
//! Off unless set with [`ClientBuilder::proxy`]: [`Proxy::from_env`] follows curl's `HTTPS_PROXY`, `HTTP_PROXY`,
//! `ALL_PROXY` and `NO_PROXY` (hyper-util's matcher), [`Proxy::all`] names one. HTTPS goes through a `CONNECT`
//! tunnel (TLS stays end to end); plain HTTP is sent to the proxy in absolute form. Basic credentials in the proxy
//! URL become `Proxy-Authorization`.
//!
//! # Features
//!
//! - `aws-lc-rs` (default), `ring`: rustls crypto providers. Additive; with both, aws-lc-rs is used unless
//!   [`ClientBuilder::tls_crypto_provider`] picks another (a process-wide default installed with
//!   `CryptoProvider::install_default` wins over both).
//! - `webpki-roots` (default): trust the Mozilla root set compiled in.
//! - `native-roots`: allow trusting the operating system's roots (`ClientBuilder::native_roots`).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

mod body;
mod builder;
mod client;
mod connector;
mod error;
mod progress;
mod proxy;
mod response;
mod retire;
mod tls;

pub use body::{
    BodyDigest, DEFAULT_CHUNK_SIZE, DigestHandle, Digests, FileRange, RateLimiter, RequestBody,
};
pub use builder::{BuildError, ClientBuilder};
pub use client::Client;
pub use error::TransportError;
pub use proxy::Proxy;
pub use response::ResponseBody;
pub use retire::RetireSlowConnections;

/// Re-exported so callers can name certificates and TLS configurations without a direct dependency.
pub use rustls;
