//! AbortMultipartUpload: `DELETE /<key>?uploadId=<id>`.

use http::{HeaderMap, Method, StatusCode};

use super::object_request;
use crate::request::{check_status, request_id};
use crate::{
    BucketName, EncodeError, ObjectKey, Operation, OssRequest, ResponseError, header, query,
};

/// Aborts an upload and frees its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AbortMultipartUpload {
    /// Bucket.
    pub bucket: BucketName,
    /// Object key.
    pub key: ObjectKey,
    /// Upload id.
    pub upload_id: String,
    /// `x-oss-request-payer`.
    pub request_payer: Option<String>,
}

impl AbortMultipartUpload {
    /// Aborts `upload_id` of `key`.
    pub fn new(bucket: BucketName, key: ObjectKey, upload_id: impl Into<String>) -> Self {
        Self {
            bucket,
            key,
            upload_id: upload_id.into(),
            request_payer: None,
        }
    }
}

impl Operation for AbortMultipartUpload {
    type Output = AbortMultipartUploadOutput;

    fn to_request(&self) -> Result<OssRequest, EncodeError> {
        let mut req = object_request(Method::DELETE, &self.bucket, &self.key);
        req.push_query(query::UPLOAD_ID, self.upload_id.clone());
        req.set_opt_header(header::X_OSS_REQUEST_PAYER, self.request_payer.as_deref())?;
        Ok(req)
    }

    fn parse_response(
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Self::Output, ResponseError> {
        check_status(status, headers, body)?;
        Ok(AbortMultipartUploadOutput {
            request_id: request_id(headers),
        })
    }
}

/// Abort returns 204 and no body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AbortMultipartUploadOutput {
    /// `x-oss-request-id`.
    pub request_id: String,
}
