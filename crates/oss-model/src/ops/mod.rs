//! One type per OSS operation: public input fields, a constructor taking the required ones,
//! [`Operation`](crate::Operation) to build the request and parse the response, and an
//! `…Output` type. Outputs that have an XML body also read and write it (`from_xml` /
//! `to_xml`) so a server can reuse them.
//!
//! Inputs take validated [`BucketName`], [`ObjectKey`] and [`PartNumber`](crate::PartNumber) values, so the only
//! errors left for `to_request` are range checks and header values HTTP cannot carry.

mod abort;
mod bucket;
mod complete;
mod copy_object;
mod delete_multiple;
mod initiate;
mod list_objects_v1;
mod list_parts;
mod list_uploads;
mod object;
mod object_acl;
mod tagging;
mod upload_part;

pub use abort::{AbortMultipartUpload, AbortMultipartUploadOutput};
pub use bucket::{
    CreateBucketConfiguration, ListObjectsV2, ListObjectsV2Output, ObjectSummary, PutBucket,
    PutBucketOutput,
};
pub use complete::{
    CompleteMultipartUpload, CompleteMultipartUploadBody, CompleteMultipartUploadOutput,
    CompletedPart,
};
pub use copy_object::{CopyDirective, CopyObject, CopyObjectOutput};
pub use delete_multiple::{
    DeleteFailure, DeleteMultipleObjects, DeleteMultipleObjectsOutput, MAX_DELETE_KEYS,
};
pub use initiate::{InitiateMultipartUpload, InitiateMultipartUploadOutput};
pub use list_objects_v1::ListObjectsV1Output;
pub use list_parts::{ListParts, ListPartsOutput, PartSummary};
pub use list_uploads::{ListMultipartUploads, ListMultipartUploadsOutput, UploadSummary};
pub use object::{
    DeleteObject, DeleteObjectOutput, GetObject, GetObjectOutput, HeadObject, HeadObjectOutput,
    PutObject, PutObjectOutput, ReadConditions,
};
pub use object_acl::{GetObjectAcl, ObjectAcl};
pub use tagging::{GetObjectTagging, Tagging};
pub use upload_part::{UploadPart, UploadPartCopy, UploadPartCopyOutput, UploadPartOutput};

use http::Method;

use crate::header;
use crate::{BucketName, EncodeError, ObjectKey, OssRequest};

/// `x-oss-server-side-encryption`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ServerSideEncryption {
    /// `AES256`, keys managed by OSS.
    Aes256,
    /// `KMS`, optionally with `x-oss-server-side-encryption-key-id`.
    Kms,
    /// `SM4`.
    Sm4,
}

impl ServerSideEncryption {
    /// The wire value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Aes256 => "AES256",
            Self::Kms => "KMS",
            Self::Sm4 => "SM4",
        }
    }
}

/// A request on `/<key>` of `bucket`.
fn object_request(method: Method, bucket: &BucketName, key: &ObjectKey) -> OssRequest {
    OssRequest::new(
        method,
        Some(bucket.as_str().to_owned()),
        Some(key.as_str().to_owned()),
    )
}

/// A request on `/` of `bucket`.
fn bucket_request(method: Method, bucket: &BucketName) -> OssRequest {
    OssRequest::new(method, Some(bucket.as_str().to_owned()), None)
}

/// Checks `value` against `min..=max` for parameter `name`.
fn check_range(
    name: &'static str,
    value: Option<u32>,
    min: u32,
    max: u32,
) -> Result<(), EncodeError> {
    match value {
        Some(v) if !(min..=max).contains(&v) => Err(EncodeError::OutOfRange {
            name,
            value: u64::from(v),
            min: u64::from(min),
            max: u64::from(max),
        }),
        _ => Ok(()),
    }
}

/// `k1=v1&k2=v2`, each part URL-encoded: the `x-oss-tagging` form.
fn tagging_value(tags: &[(String, String)]) -> Option<String> {
    if tags.is_empty() {
        return None;
    }
    let pairs: Vec<String> = tags
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                crate::codec::url_encode(k),
                crate::codec::url_encode(v)
            )
        })
        .collect();
    Some(pairs.join("&"))
}

/// Headers shared by PutObject and InitiateMultipartUpload: the object's future metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectAttributes {
    /// `Content-Type` of the final object.
    pub content_type: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// `Content-Disposition`.
    pub content_disposition: Option<String>,
    /// `Content-Encoding`.
    pub content_encoding: Option<String>,
    /// `Expires`.
    pub expires: Option<String>,
    /// User metadata, sent as `x-oss-meta-<name>` (names are lower-cased).
    pub metadata: Vec<(String, String)>,
    /// `x-oss-forbid-overwrite`: refuse to replace an existing object.
    pub forbid_overwrite: Option<bool>,
    /// `x-oss-storage-class` (`Standard`, `IA`, `Archive`, ...).
    pub storage_class: Option<String>,
    /// `x-oss-server-side-encryption`.
    pub server_side_encryption: Option<ServerSideEncryption>,
    /// `x-oss-server-side-encryption-key-id` (KMS).
    pub sse_key_id: Option<String>,
    /// `x-oss-server-side-data-encryption` (`SM4` with KMS).
    pub server_side_data_encryption: Option<String>,
    /// `x-oss-tagging`, given as pairs and encoded here.
    pub tagging: Vec<(String, String)>,
}

impl ObjectAttributes {
    fn apply(&self, req: &mut OssRequest) -> Result<(), EncodeError> {
        req.set_opt_header(header::CONTENT_TYPE, self.content_type.as_deref())?;
        req.set_opt_header(header::CACHE_CONTROL, self.cache_control.as_deref())?;
        req.set_opt_header(
            header::CONTENT_DISPOSITION,
            self.content_disposition.as_deref(),
        )?;
        req.set_opt_header(header::CONTENT_ENCODING, self.content_encoding.as_deref())?;
        req.set_opt_header(header::EXPIRES, self.expires.as_deref())?;
        req.set_metadata(&self.metadata)?;
        req.set_opt_header(
            header::X_OSS_FORBID_OVERWRITE,
            self.forbid_overwrite.map(bool_str),
        )?;
        req.set_opt_header(header::X_OSS_STORAGE_CLASS, self.storage_class.as_deref())?;
        req.set_opt_header(
            header::X_OSS_SERVER_SIDE_ENCRYPTION,
            self.server_side_encryption
                .map(ServerSideEncryption::as_str),
        )?;
        req.set_opt_header(
            header::X_OSS_SERVER_SIDE_ENCRYPTION_KEY_ID,
            self.sse_key_id.as_deref(),
        )?;
        req.set_opt_header(
            header::X_OSS_SERVER_SIDE_DATA_ENCRYPTION,
            self.server_side_data_encryption.as_deref(),
        )?;
        req.set_opt_header(
            header::X_OSS_TAGGING,
            tagging_value(&self.tagging).as_deref(),
        )?;
        Ok(())
    }
}

const fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// The `x-oss-meta-*` response headers as (suffix, value) pairs, sorted by name.
fn metadata_from(headers: &http::HeaderMap) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(name, value)| {
            let suffix = name.as_str().strip_prefix(header::X_OSS_META_PREFIX)?;
            Some((suffix.to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    out.sort();
    out
}
