//! Wire models for the Alibaba Cloud OSS multipart upload API.
//!
//! What this crate does:
//! - one type per operation in [`ops`] (the seven multipart operations plus PutObject,
//!   HeadObject, GetObject, DeleteObject, PutBucket and ListObjectsV2) that builds a
//!   transport-independent [`OssRequest`] and parses the response into an `…Output`
//!   ([`Operation`]);
//! - the OSS error document as [`ServiceError`] (from an XML body, the `x-oss-err` header of
//!   HEAD responses, or the status alone) and the generated [`ErrorCode`] table;
//! - validated names ([`PartNumber`], [`ObjectKey`], [`BucketName`]) and the [`limits`];
//! - the XML bodies in both directions, so a compatible server (`oss-local`) reads the
//!   Complete request body with [`ops::CompleteMultipartUploadBody::from_xml`] and writes
//!   every result with the outputs' `to_xml`;
//! - `encoding-type=url` handling: outputs always hold decoded keys;
//! - CRC-64/XZ ([`crc64`]): hashing and combining part checksums into the whole-object one.
//!
//! What it does NOT do: no I/O, no clock, no signing (see `oss-auth`), no addressing (virtual
//! host vs path style, `Host`, `Date`, `Content-Length` are the transport's business), no retry
//! policy (only the [`ServiceError::is_retryable`] classification).
//!
//! Hostile input: every decoder caps the body size ([`limits::MAX_XML_BODY`]) and nesting
//! depth ([`limits::MAX_XML_DEPTH`]) before building anything, refuses DOCTYPE declarations,
//! ignores unknown elements (forward compatibility) and rejects a repeated singular element
//! with [`DecodeError::DuplicateElement`] rather than guessing which one wins.
//!
//! Stability: this is an internal layer of `oss-multipart`; it may change faster than the
//! façade crate.
//!
//! ```
//! use http::{HeaderMap, StatusCode};
//! use oss_model::ops::{CompleteMultipartUpload, CompletedPart};
//! use oss_model::{BucketName, ObjectKey, Operation, PartNumber};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let op = CompleteMultipartUpload::new(
//!     BucketName::new("examplebucket")?,
//!     ObjectKey::new("multipart.data")?,
//!     "0004B9894A22E5B1888A1E29F823",
//!     vec![CompletedPart::new(PartNumber::new(1)?, "\"3349DC700140D7F86A0784842780D2B8\"")],
//! );
//! let request = op.to_request()?;
//! assert_eq!(request.method, http::Method::POST);
//! assert_eq!(request.query_string(), "uploadId=0004B9894A22E5B1888A1E29F823&encoding-type=url");
//! assert!(request.body.starts_with(b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"));
//!
//! let body = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>
//! <Error><Code>NoSuchUpload</Code><Message>gone</Message><RequestId>5C3D</RequestId></Error>";
//! let answer = (StatusCode::NOT_FOUND, &HeaderMap::new(), &body[..]);
//! let err = CompleteMultipartUpload::parse_response(answer.0, answer.1, answer.2).unwrap_err();
//! let service = err.as_service().ok_or("expected a service error")?;
//! assert_eq!(service.error_code(), Some(oss_model::ErrorCode::NoSuchUpload));
//! assert!(!err.is_retryable());
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs, rustdoc::broken_intra_doc_links)]
// Public types that may grow are `#[non_exhaustive]` (as in rustls): the lints make that a
// decision per type, and an exception carries its reason.
#![warn(clippy::exhaustive_enums, clippy::exhaustive_structs)]

mod codec;
pub use oss_crc64 as crc64;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod generated {
    pub(crate) mod error_codes;
    pub(crate) mod names;
    pub(crate) mod operations;
}
pub mod limits;
mod names;
pub mod ops;
mod request;
mod service_error;
pub mod spec;
mod xml;
pub use xml::read as xml_read;
pub use xml::write as xml_write;

pub use codec::{
    ContentMd5, EncodingType, content_md5, crc64_from_wire, crc64_to_wire, encode_query, etag_for,
    url_decode, url_encode, url_encode_path,
};
pub use error::{DecodeError, EncodeError, ResponseError, ValidationError};
pub use generated::error_codes::ErrorCode;
pub use generated::names::{header, query};
pub use names::{BucketName, ObjectKey, PartNumber};
pub use request::{Operation, OssRequest};
pub use service_error::{ServiceError, UnknownErrorCode};
