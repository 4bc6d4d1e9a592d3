//! InitiateMultipartUpload: `POST /<key>?uploads`.

use http::{HeaderMap, Method, StatusCode};

use super::{ObjectAttributes, object_request};
use crate::codec::{EncodingType, maybe_decode, maybe_encode};
use crate::request::{check_status, request_id};
use crate::xml::{read, write};
use crate::{
    BucketName, DecodeError, EncodeError, ObjectKey, Operation, OssRequest, ResponseError, header,
    limits, query,
};

/// Starts a multipart upload and returns its upload id.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InitiateMultipartUpload {
    /// Bucket.
    pub bucket: BucketName,
    /// Key of the object the upload will create.
    pub key: ObjectKey,
    /// Content headers, metadata, storage class, encryption and tagging of the final object.
    pub attributes: ObjectAttributes,
    /// `x-oss-request-payer: requester`.
    pub request_payer: Option<String>,
    /// The `sequential` sub-resource: parts must be uploaded in order.
    pub sequential: bool,
    /// `encoding-type`; `Some(Url)` by default so any key survives the XML reply.
    pub encoding_type: Option<EncodingType>,
}

impl InitiateMultipartUpload {
    /// An upload of `key` in `bucket` with default attributes.
    pub fn new(bucket: BucketName, key: ObjectKey) -> Self {
        Self {
            bucket,
            key,
            attributes: ObjectAttributes::default(),
            request_payer: None,
            sequential: false,
            encoding_type: Some(EncodingType::Url),
        }
    }
}

impl Operation for InitiateMultipartUpload {
    type Output = InitiateMultipartUploadOutput;

    fn to_request(&self) -> Result<OssRequest, EncodeError> {
        let mut req = object_request(Method::POST, &self.bucket, &self.key);
        req.push_query(query::UPLOADS, "");
        req.push_opt_query(
            query::ENCODING_TYPE,
            self.encoding_type.map(EncodingType::as_str),
        );
        if self.sequential {
            req.push_query(query::SEQUENTIAL, "");
        }
        self.attributes.apply(&mut req)?;
        req.set_opt_header(header::X_OSS_REQUEST_PAYER, self.request_payer.as_deref())?;
        Ok(req)
    }

    fn parse_response(
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Self::Output, ResponseError> {
        check_status(status, headers, body)?;
        let mut out = InitiateMultipartUploadOutput::from_xml(body)?;
        out.request_id = request_id(headers);
        Ok(out)
    }
}

/// `InitiateMultipartUploadResult`, with the key decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InitiateMultipartUploadOutput {
    /// Bucket.
    pub bucket: String,
    /// Object key (decoded).
    pub key: String,
    /// The upload id to pass to every later call.
    pub upload_id: String,
    /// The encoding the reply used (the key above is already decoded).
    pub encoding_type: Option<EncodingType>,
    /// `x-oss-request-id` (not part of the XML).
    pub request_id: String,
}

impl InitiateMultipartUploadOutput {
    /// Parses the XML body.
    pub fn from_xml(body: &[u8]) -> Result<Self, DecodeError> {
        let root = read::parse_root(body, "InitiateMultipartUploadResult", limits::MAX_XML_BODY)?;
        let encoding_type = root.opt_text("EncodingType")?.and_then(EncodingType::parse);
        Ok(Self {
            bucket: root.string_or_empty("Bucket")?,
            key: maybe_decode(encoding_type, "Key", root.text("Key")?.to_owned())?,
            upload_id: root.text("UploadId")?.to_owned(),
            encoding_type,
            request_id: String::new(),
        })
    }

    /// Writes the XML body (the key encoded when `encoding_type` says so).
    pub fn to_xml(&self) -> String {
        let mut out = String::from(write::DECLARATION);
        write::open(&mut out, "InitiateMultipartUploadResult");
        write::opt_element(
            &mut out,
            "EncodingType",
            self.encoding_type.map(EncodingType::as_str),
        );
        write::element(&mut out, "Bucket", &self.bucket);
        write::element(
            &mut out,
            "Key",
            &maybe_encode(self.encoding_type, &self.key),
        );
        write::element(&mut out, "UploadId", &self.upload_id);
        write::close(&mut out, "InitiateMultipartUploadResult");
        out
    }
}
