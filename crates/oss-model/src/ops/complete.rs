//! CompleteMultipartUpload: `POST /<key>?uploadId=<id>` with the part list as XML.

use std::fmt::Write as _;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};

use super::object_request;
use crate::codec::{EncodingType, content_md5, maybe_decode, maybe_encode};
use crate::request::{check_status, crc64, header_string, request_id};
use crate::xml::{read, write};
use crate::{
    BucketName, DecodeError, EncodeError, ObjectKey, Operation, OssRequest, PartNumber,
    ResponseError, ServiceError, header, limits, query,
};

/// One `<Part>` of the Complete body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct CompletedPart {
    /// Part number.
    pub part_number: PartNumber,
    /// ETag exactly as UploadPart returned it (quoted).
    pub etag: String,
}

impl CompletedPart {
    /// A part entry.
    pub fn new(part_number: PartNumber, etag: impl Into<String>) -> Self {
        Self {
            part_number,
            etag: etag.into(),
        }
    }
}

/// The `<CompleteMultipartUpload>` request body: written by clients, read by servers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompleteMultipartUploadBody {
    /// Parts in the order they are written (OSS requires ascending part numbers; this type
    /// keeps whatever order it is given so a server can report `InvalidPartOrder`).
    pub parts: Vec<CompletedPart>,
}

impl CompleteMultipartUploadBody {
    /// A body listing `parts`.
    pub fn new(parts: Vec<CompletedPart>) -> Self {
        Self { parts }
    }

    /// Writes the compact form, without XML declaration, quotes literal:
    /// `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"…"</ETag></Part>…`.
    pub fn to_xml(&self) -> String {
        let mut out = String::with_capacity(32 + self.parts.len() * 96);
        write::open(&mut out, "CompleteMultipartUpload");
        for part in &self.parts {
            write::open(&mut out, "Part");
            write::open(&mut out, "PartNumber");
            // Formatting straight into the buffer avoids one allocation per part.
            let _ = write!(out, "{}", part.part_number);
            write::close(&mut out, "PartNumber");
            write::element(&mut out, "ETag", &part.etag);
            write::close(&mut out, "Part");
        }
        write::close(&mut out, "CompleteMultipartUpload");
        out
    }

    /// Parses a body (server side): at most [`limits::MAX_COMPLETE_BODY`] bytes and
    /// [`limits::MAX_PART_COUNT`] parts, each with a valid `PartNumber` and an `ETag`.
    /// Order and duplicates are not judged here; that is the server's business.
    pub fn from_xml(body: &[u8]) -> Result<Self, DecodeError> {
        let root = read::parse_root(body, "CompleteMultipartUpload", limits::MAX_COMPLETE_BODY)?;
        let mut parts = Vec::new();
        for part in root.children("Part") {
            if parts.len() == limits::MAX_PART_COUNT as usize {
                return Err(DecodeError::InvalidValue {
                    name: "Part",
                    reason: "more than 10000 parts",
                });
            }
            let number = part.text("PartNumber")?;
            let part_number = number
                .trim()
                .parse()
                .map_err(|_| DecodeError::InvalidValue {
                    name: "PartNumber",
                    reason: "not an integer in 1..=10000",
                })?;
            parts.push(CompletedPart::new(part_number, part.text("ETag")?.trim()));
        }
        Ok(Self { parts })
    }
}

/// Completes an upload from a part list, or from every uploaded part (`complete_all`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompleteMultipartUpload {
    /// Bucket.
    pub bucket: BucketName,
    /// Object key.
    pub key: ObjectKey,
    /// Upload id.
    pub upload_id: String,
    /// Parts, written in the given order (sort them ascending; OSS rejects anything else).
    pub parts: Vec<CompletedPart>,
    /// `x-oss-complete-all: yes`: OSS uses every uploaded part; `parts` must then be empty.
    pub complete_all: bool,
    /// `x-oss-forbid-overwrite`.
    pub forbid_overwrite: Option<bool>,
    /// `x-oss-object-acl` (`private`, `public-read`, ...).
    pub object_acl: Option<String>,
    /// Callback description as JSON text; base64-encoded into `x-oss-callback` here.
    pub callback: Option<String>,
    /// Callback variables as JSON text; base64-encoded into `x-oss-callback-var` here.
    pub callback_var: Option<String>,
    /// `encoding-type`; `Some(Url)` by default.
    pub encoding_type: Option<EncodingType>,
    /// `x-oss-request-payer`.
    pub request_payer: Option<String>,
}

impl CompleteMultipartUpload {
    /// Completes `upload_id` with `parts`.
    pub fn new(
        bucket: BucketName,
        key: ObjectKey,
        upload_id: impl Into<String>,
        parts: Vec<CompletedPart>,
    ) -> Self {
        Self {
            bucket,
            key,
            upload_id: upload_id.into(),
            parts,
            complete_all: false,
            forbid_overwrite: None,
            object_acl: None,
            callback: None,
            callback_var: None,
            encoding_type: Some(EncodingType::Url),
            request_payer: None,
        }
    }
}

impl Operation for CompleteMultipartUpload {
    type Output = CompleteMultipartUploadOutput;

    fn to_request(&self) -> Result<OssRequest, EncodeError> {
        let mut req = object_request(Method::POST, &self.bucket, &self.key);
        req.push_query(query::UPLOAD_ID, self.upload_id.clone());
        req.push_opt_query(
            query::ENCODING_TYPE,
            self.encoding_type.map(EncodingType::as_str),
        );
        if self.complete_all {
            if !self.parts.is_empty() {
                return Err(EncodeError::Conflict {
                    reason: "complete_all requires an empty part list",
                });
            }
            req.set_header(header::X_OSS_COMPLETE_ALL, "yes")?;
        } else {
            let body = CompleteMultipartUploadBody {
                parts: self.parts.clone(),
            }
            .to_xml();
            req.set_header(header::CONTENT_MD5, &content_md5(body.as_bytes()))?;
            req.body = Bytes::from(body);
        }
        req.set_opt_header(
            header::X_OSS_FORBID_OVERWRITE,
            self.forbid_overwrite.map(super::bool_str),
        )?;
        req.set_opt_header(header::X_OSS_OBJECT_ACL, self.object_acl.as_deref())?;
        let b64 = |s: &String| base64::engine::general_purpose::STANDARD.encode(s);
        req.set_opt_header(
            header::X_OSS_CALLBACK,
            self.callback.as_ref().map(b64).as_deref(),
        )?;
        req.set_opt_header(
            header::X_OSS_CALLBACK_VAR,
            self.callback_var.as_ref().map(b64).as_deref(),
        )?;
        req.set_opt_header(header::X_OSS_REQUEST_PAYER, self.request_payer.as_deref())?;
        Ok(req)
    }

    fn parse_response(
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Self::Output, ResponseError> {
        check_status(status, headers, body)?;
        // 203 means the object exists but the callback failed; the body is an error document.
        if status == StatusCode::NON_AUTHORITATIVE_INFORMATION {
            return Err(ResponseError::Service(ServiceError::from_response(
                status, headers, body,
            )));
        }
        let mut out = CompleteMultipartUploadOutput::from_xml(body)?;
        out.crc64 = crc64(headers)?;
        out.version_id = header_string(headers, "x-oss-version-id");
        out.request_id = request_id(headers);
        Ok(out)
    }
}

impl CompleteMultipartUpload {
    /// Parses the answer to a Complete sent with [`callback`](Self::callback): the body is
    /// the callback server's reply, not XML (see [`Operation::parse_response`] otherwise).
    /// `203` (the object exists, the callback failed) is a [`ResponseError::Service`].
    ///
    /// # Errors
    /// As [`Operation::parse_response`].
    pub fn parse_callback_response(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<CompleteMultipartUploadOutput, ResponseError> {
        check_status(status, headers, body)?;
        if status == StatusCode::NON_AUTHORITATIVE_INFORMATION {
            return Err(ResponseError::Service(ServiceError::from_response(
                status, headers, body,
            )));
        }
        Ok(CompleteMultipartUploadOutput {
            bucket: self.bucket.as_str().to_owned(),
            key: self.key.as_str().to_owned(),
            etag: header_string(headers, "etag").unwrap_or_default(),
            callback_body: Some(Bytes::copy_from_slice(body)),
            crc64: crc64(headers)?,
            version_id: header_string(headers, "x-oss-version-id"),
            request_id: request_id(headers),
            ..CompleteMultipartUploadOutput::default()
        })
    }
}

/// `CompleteMultipartUploadResult` plus the headers that come with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompleteMultipartUploadOutput {
    /// Bucket.
    pub bucket: String,
    /// Object key (decoded).
    pub key: String,
    /// ETag of the whole object (opaque; not an MD5).
    pub etag: String,
    /// URL of the object.
    pub location: String,
    /// `x-oss-hash-crc64ecma` of the whole object (header), when sent.
    pub crc64: Option<u64>,
    /// `x-oss-version-id` (header) on versioned buckets.
    pub version_id: Option<String>,
    /// `x-oss-request-id` (header).
    pub request_id: String,
    /// The callback server's reply ([`CompleteMultipartUpload::parse_callback_response`]).
    pub callback_body: Option<Bytes>,
    /// The encoding the reply used (the key above is already decoded).
    pub encoding_type: Option<EncodingType>,
}

impl CompleteMultipartUploadOutput {
    /// Parses the XML body (header fields stay empty).
    pub fn from_xml(body: &[u8]) -> Result<Self, DecodeError> {
        let root = read::parse_root(body, "CompleteMultipartUploadResult", limits::MAX_XML_BODY)?;
        let encoding_type = root.opt_text("EncodingType")?.and_then(EncodingType::parse);
        Ok(Self {
            location: root.string_or_empty("Location")?,
            bucket: root.string_or_empty("Bucket")?,
            key: maybe_decode(encoding_type, "Key", root.text("Key")?.to_owned())?,
            etag: root.text("ETag")?.to_owned(),
            encoding_type,
            ..Self::default()
        })
    }

    /// Writes the XML body (the key encoded when `encoding_type` says so).
    pub fn to_xml(&self) -> String {
        let mut out = String::from(write::DECLARATION);
        write::open(&mut out, "CompleteMultipartUploadResult");
        write::opt_element(
            &mut out,
            "EncodingType",
            self.encoding_type.map(EncodingType::as_str),
        );
        write::element(&mut out, "Location", &self.location);
        write::element(&mut out, "Bucket", &self.bucket);
        write::element(
            &mut out,
            "Key",
            &maybe_encode(self.encoding_type, &self.key),
        );
        write::element(&mut out, "ETag", &self.etag);
        write::close(&mut out, "CompleteMultipartUploadResult");
        out
    }
}
