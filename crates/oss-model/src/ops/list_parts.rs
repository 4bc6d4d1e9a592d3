//! ListParts: `GET /<key>?uploadId=<id>`.

use http::{HeaderMap, Method, StatusCode};

use super::{check_range, object_request};
use crate::codec::{EncodingType, crc64_to_wire, maybe_decode, maybe_encode};
use crate::request::{check_status, request_id};
use crate::xml::{read, write};
use crate::{
    BucketName, DecodeError, EncodeError, ObjectKey, Operation, OssRequest, PartNumber,
    ResponseError, header, limits, query,
};

/// Lists the parts uploaded so far, one page at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListParts {
    /// Bucket.
    pub bucket: BucketName,
    /// Object key.
    pub key: ObjectKey,
    /// Upload id.
    pub upload_id: String,
    /// `max-parts`, 1..=1000 (OSS default 1000).
    pub max_parts: Option<u32>,
    /// `part-number-marker`: list parts numbered above it, 0..=10000.
    pub part_number_marker: Option<u32>,
    /// `encoding-type`; `Some(Url)` by default.
    pub encoding_type: Option<EncodingType>,
    /// `x-oss-request-payer`.
    pub request_payer: Option<String>,
}

impl ListParts {
    /// The first page of `upload_id`'s parts.
    pub fn new(bucket: BucketName, key: ObjectKey, upload_id: impl Into<String>) -> Self {
        Self {
            bucket,
            key,
            upload_id: upload_id.into(),
            max_parts: None,
            part_number_marker: None,
            encoding_type: Some(EncodingType::Url),
            request_payer: None,
        }
    }
}

impl ListParts {
    /// The request for the page after `page`, or `None` when `page` was the last one.
    pub fn next_page(&self, page: &ListPartsOutput) -> Option<Self> {
        page.is_truncated.then(|| Self {
            part_number_marker: Some(page.next_part_number_marker),
            ..self.clone()
        })
    }
}

impl Operation for ListParts {
    type Output = ListPartsOutput;

    fn to_request(&self) -> Result<OssRequest, EncodeError> {
        check_range("max-parts", self.max_parts, 1, limits::MAX_LIST_PARTS)?;
        check_range(
            "part-number-marker",
            self.part_number_marker,
            0,
            limits::MAX_PART_COUNT,
        )?;
        let mut req = object_request(Method::GET, &self.bucket, &self.key);
        req.push_query(query::UPLOAD_ID, self.upload_id.clone());
        req.push_opt_query(query::MAX_PARTS, self.max_parts);
        req.push_opt_query(query::PART_NUMBER_MARKER, self.part_number_marker);
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
        let mut out = ListPartsOutput::from_xml(body)?;
        out.request_id = request_id(headers);
        Ok(out)
    }
}

/// One `<Part>` of a ListParts page.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartSummary {
    /// Part number.
    pub part_number: PartNumber,
    /// ETag (quoted).
    pub etag: String,
    /// Size in bytes.
    pub size: u64,
    /// `HashCrc64ecma`, when sent.
    pub crc64: Option<u64>,
    /// `LastModified` (ISO 8601 as sent).
    pub last_modified: String,
}

impl PartSummary {
    /// A part entry with no CRC and no timestamp.
    pub fn new(part_number: PartNumber, etag: impl Into<String>, size: u64) -> Self {
        Self {
            part_number,
            etag: etag.into(),
            size,
            crc64: None,
            last_modified: String::new(),
        }
    }
}

/// `ListPartsResult`, with the key decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListPartsOutput {
    /// Bucket.
    pub bucket: String,
    /// Object key (decoded).
    pub key: String,
    /// Upload id.
    pub upload_id: String,
    /// Storage class of the upload.
    pub storage_class: String,
    /// The marker this page started after.
    pub part_number_marker: u32,
    /// The marker for the next page (the last part number returned).
    pub next_part_number_marker: u32,
    /// Page size that applied.
    pub max_parts: u32,
    /// Whether more parts follow.
    pub is_truncated: bool,
    /// Parts, ascending.
    pub parts: Vec<PartSummary>,
    /// The encoding the reply used (the key above is already decoded).
    pub encoding_type: Option<EncodingType>,
    /// `x-oss-request-id` (header).
    pub request_id: String,
}

impl ListPartsOutput {
    /// Parses the XML body.
    pub fn from_xml(body: &[u8]) -> Result<Self, DecodeError> {
        let root = read::parse_root(body, "ListPartsResult", limits::MAX_XML_BODY)?;
        let encoding_type = root.opt_text("EncodingType")?.and_then(EncodingType::parse);
        let mut parts = Vec::new();
        for part in root.children("Part") {
            let number = part.text("PartNumber")?;
            parts.push(PartSummary {
                part_number: number
                    .trim()
                    .parse()
                    .map_err(|_| DecodeError::InvalidValue {
                        name: "PartNumber",
                        reason: "not an integer in 1..=10000",
                    })?,
                etag: part.text("ETag")?.to_owned(),
                size: part.opt_u64("Size")?.unwrap_or(0),
                crc64: part.opt_u64("HashCrc64ecma")?,
                last_modified: part.string_or_empty("LastModified")?,
            });
        }
        Ok(Self {
            bucket: root.string_or_empty("Bucket")?,
            key: maybe_decode(encoding_type, "Key", root.string_or_empty("Key")?)?,
            upload_id: root.string_or_empty("UploadId")?,
            storage_class: root.string_or_empty("StorageClass")?,
            part_number_marker: root.u32_or_zero("PartNumberMarker")?,
            next_part_number_marker: root.u32_or_zero("NextPartNumberMarker")?,
            max_parts: root.u32_or_zero("MaxParts")?,
            is_truncated: root.bool_or_false("IsTruncated")?,
            parts,
            encoding_type,
            request_id: String::new(),
        })
    }

    /// Writes the XML body (the key encoded when `encoding_type` says so).
    pub fn to_xml(&self) -> String {
        let mut out = String::with_capacity(512 + self.parts.len() * 200);
        out.push_str(write::DECLARATION);
        write::open(&mut out, "ListPartsResult");
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
        write::element(&mut out, "StorageClass", &self.storage_class);
        write::element(
            &mut out,
            "PartNumberMarker",
            &self.part_number_marker.to_string(),
        );
        write::element(
            &mut out,
            "NextPartNumberMarker",
            &self.next_part_number_marker.to_string(),
        );
        write::element(&mut out, "MaxParts", &self.max_parts.to_string());
        write::element(&mut out, "IsTruncated", super::bool_str(self.is_truncated));
        for part in &self.parts {
            write::open(&mut out, "Part");
            write::element(&mut out, "PartNumber", &part.part_number.to_string());
            write::element(&mut out, "LastModified", &part.last_modified);
            write::element(&mut out, "ETag", &part.etag);
            if let Some(crc) = part.crc64 {
                write::element(&mut out, "HashCrc64ecma", &crc64_to_wire(crc));
            }
            write::element(&mut out, "Size", &part.size.to_string());
            write::close(&mut out, "Part");
        }
        write::close(&mut out, "ListPartsResult");
        out
    }
}
