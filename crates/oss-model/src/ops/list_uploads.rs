//! ListMultipartUploads: `GET /?uploads` on a bucket.

use http::{HeaderMap, Method, StatusCode};

use super::bucket::read_common_prefixes;
use super::{bucket_request, check_range};
use crate::codec::{EncodingType, maybe_decode, maybe_encode};
use crate::request::{check_status, request_id};
use crate::xml::{read, write};
use crate::{
    BucketName, DecodeError, EncodeError, Operation, OssRequest, ResponseError, header, limits,
    query,
};

/// Lists the uploads in progress in a bucket, one page at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListMultipartUploads {
    /// Bucket.
    pub bucket: BucketName,
    /// `prefix`: only keys starting with it.
    pub prefix: Option<String>,
    /// `delimiter`: group keys into common prefixes.
    pub delimiter: Option<String>,
    /// `key-marker`: start after this key.
    pub key_marker: Option<String>,
    /// `upload-id-marker`: with `key_marker`, start after this upload.
    pub upload_id_marker: Option<String>,
    /// `max-uploads`, 1..=1000 (OSS default 1000).
    pub max_uploads: Option<u32>,
    /// `encoding-type`; `Some(Url)` by default.
    pub encoding_type: Option<EncodingType>,
    /// `x-oss-request-payer`.
    pub request_payer: Option<String>,
}

impl ListMultipartUploads {
    /// The first page of `bucket`'s uploads.
    pub fn new(bucket: BucketName) -> Self {
        Self {
            bucket,
            prefix: None,
            delimiter: None,
            key_marker: None,
            upload_id_marker: None,
            max_uploads: None,
            encoding_type: Some(EncodingType::Url),
            request_payer: None,
        }
    }
}

impl ListMultipartUploads {
    /// The request for the page after `page`, or `None` when `page` was the last one.
    pub fn next_page(&self, page: &ListMultipartUploadsOutput) -> Option<Self> {
        page.is_truncated.then(|| Self {
            key_marker: Some(page.next_key_marker.clone()),
            upload_id_marker: Some(page.next_upload_id_marker.clone()),
            ..self.clone()
        })
    }
}

impl Operation for ListMultipartUploads {
    type Output = ListMultipartUploadsOutput;

    fn to_request(&self) -> Result<OssRequest, EncodeError> {
        check_range("max-uploads", self.max_uploads, 1, limits::MAX_LIST_UPLOADS)?;
        let mut req = bucket_request(Method::GET, &self.bucket);
        req.push_query(query::UPLOADS, "");
        req.push_opt_query(query::PREFIX, self.prefix.as_deref());
        req.push_opt_query(query::DELIMITER, self.delimiter.as_deref());
        req.push_opt_query(query::KEY_MARKER, self.key_marker.as_deref());
        req.push_opt_query(query::UPLOAD_ID_MARKER, self.upload_id_marker.as_deref());
        req.push_opt_query(query::MAX_UPLOADS, self.max_uploads);
        req.push_opt_query(
            query::ENCODING_TYPE,
            self.encoding_type.map(EncodingType::as_str),
        );
        req.set_opt_header(header::X_OSS_REQUEST_PAYER, self.request_payer.as_deref())?;
        Ok(req)
    }

    fn parse_response(
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Self::Output, ResponseError> {
        check_status(status, headers, body)?;
        let mut out = ListMultipartUploadsOutput::from_xml(body)?;
        out.request_id = request_id(headers);
        Ok(out)
    }
}

/// One `<Upload>` of a ListMultipartUploads page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadSummary {
    /// Object key (decoded).
    pub key: String,
    /// Upload id.
    pub upload_id: String,
    /// Storage class.
    pub storage_class: String,
    /// `Initiated` (ISO 8601 as sent).
    pub initiated: String,
}

impl UploadSummary {
    /// An upload entry.
    pub fn new(key: impl Into<String>, upload_id: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            upload_id: upload_id.into(),
            ..Self::default()
        }
    }
}

/// `ListMultipartUploadsResult`, with keys, markers and prefixes decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListMultipartUploadsOutput {
    /// Bucket.
    pub bucket: String,
    /// The key marker this page started after (decoded).
    pub key_marker: String,
    /// The upload-id marker this page started after.
    pub upload_id_marker: String,
    /// `key-marker` for the next page (decoded).
    pub next_key_marker: String,
    /// `upload-id-marker` for the next page.
    pub next_upload_id_marker: String,
    /// Delimiter that applied (decoded).
    pub delimiter: String,
    /// Prefix that applied (decoded).
    pub prefix: String,
    /// Page size that applied.
    pub max_uploads: u32,
    /// Whether more uploads follow.
    pub is_truncated: bool,
    /// Uploads, by key then initiation.
    pub uploads: Vec<UploadSummary>,
    /// `CommonPrefixes/Prefix` values (decoded).
    pub common_prefixes: Vec<String>,
    /// The encoding the reply used (the fields above are already decoded).
    pub encoding_type: Option<EncodingType>,
    /// `x-oss-request-id` (header).
    pub request_id: String,
}

impl ListMultipartUploadsOutput {
    /// Parses the XML body.
    pub fn from_xml(body: &[u8]) -> Result<Self, DecodeError> {
        let root = read::parse_root(body, "ListMultipartUploadsResult", limits::MAX_XML_BODY)?;
        let enc = root.opt_text("EncodingType")?.and_then(EncodingType::parse);
        let decoded = |name: &'static str| -> Result<String, DecodeError> {
            maybe_decode(enc, name, root.string_or_empty(name)?)
        };
        let mut uploads = Vec::new();
        for upload in root.children("Upload") {
            uploads.push(UploadSummary {
                key: maybe_decode(enc, "Key", upload.text("Key")?.to_owned())?,
                upload_id: upload.text("UploadId")?.to_owned(),
                storage_class: upload.string_or_empty("StorageClass")?,
                initiated: upload.string_or_empty("Initiated")?,
            });
        }
        let common_prefixes = read_common_prefixes(&root, enc)?;
        Ok(Self {
            bucket: root.string_or_empty("Bucket")?,
            key_marker: decoded("KeyMarker")?,
            upload_id_marker: root.string_or_empty("UploadIdMarker")?,
            next_key_marker: decoded("NextKeyMarker")?,
            next_upload_id_marker: root.string_or_empty("NextUploadIdMarker")?,
            delimiter: decoded("Delimiter")?,
            prefix: decoded("Prefix")?,
            max_uploads: root.u32_or_zero("MaxUploads")?,
            is_truncated: root.bool_or_false("IsTruncated")?,
            uploads,
            common_prefixes,
            encoding_type: enc,
            request_id: String::new(),
        })
    }

    /// Writes the XML body (keys, markers and prefixes encoded when `encoding_type` says so).
    pub fn to_xml(&self) -> String {
        let enc = self.encoding_type;
        let mut out = String::from(write::DECLARATION);
        write::open(&mut out, "ListMultipartUploadsResult");
        write::opt_element(&mut out, "EncodingType", enc.map(EncodingType::as_str));
        write::element(&mut out, "Bucket", &self.bucket);
        write::element(&mut out, "KeyMarker", &maybe_encode(enc, &self.key_marker));
        write::element(&mut out, "UploadIdMarker", &self.upload_id_marker);
        write::element(
            &mut out,
            "NextKeyMarker",
            &maybe_encode(enc, &self.next_key_marker),
        );
        write::element(&mut out, "NextUploadIdMarker", &self.next_upload_id_marker);
        write::element(&mut out, "Delimiter", &maybe_encode(enc, &self.delimiter));
        write::element(&mut out, "Prefix", &maybe_encode(enc, &self.prefix));
        write::element(&mut out, "MaxUploads", &self.max_uploads.to_string());
        write::element(&mut out, "IsTruncated", super::bool_str(self.is_truncated));
        for upload in &self.uploads {
            write::open(&mut out, "Upload");
            write::element(&mut out, "Key", &maybe_encode(enc, &upload.key));
            write::element(&mut out, "UploadId", &upload.upload_id);
            write::element(&mut out, "StorageClass", &upload.storage_class);
            write::element(&mut out, "Initiated", &upload.initiated);
            write::close(&mut out, "Upload");
        }
        for prefix in &self.common_prefixes {
            write::open(&mut out, "CommonPrefixes");
            write::element(&mut out, "Prefix", &maybe_encode(enc, prefix));
            write::close(&mut out, "CommonPrefixes");
        }
        write::close(&mut out, "ListMultipartUploadsResult");
        out
    }
}
