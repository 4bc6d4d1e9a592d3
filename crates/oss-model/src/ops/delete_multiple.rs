//! DeleteMultipleObjects: `POST /?delete` naming up to 1,000 keys in one XML body.
//!
//! Keys go in the body as XML text. A key holding a character XML 1.0 cannot carry (control
//! characters other than tab, line feed and carriage return) cannot be named here: delete it
//! with DeleteObject.

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};

use super::bucket_request;
use crate::codec::content_md5;
use crate::request::{check_status, request_id};
use crate::xml::{read, write};
use crate::{
    BucketName, DecodeError, EncodeError, ObjectKey, Operation, OssRequest, ResponseError, header,
    limits, query,
};

/// Most keys one request may name.
pub const MAX_DELETE_KEYS: usize = 1000;

/// Deletes several objects of one bucket in one request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteMultipleObjects {
    /// Bucket.
    pub bucket: BucketName,
    /// The keys, 1 to [`MAX_DELETE_KEYS`].
    pub keys: Vec<ObjectKey>,
    /// Quiet mode (the default): the answer lists only the keys that could not be deleted;
    /// otherwise it also lists every deleted key.
    pub quiet: bool,
    /// `x-oss-request-payer`.
    pub request_payer: Option<String>,
}

impl DeleteMultipleObjects {
    /// Deletes `keys` of `bucket`, in quiet mode.
    pub fn new(bucket: BucketName, keys: Vec<ObjectKey>) -> Self {
        Self {
            bucket,
            keys,
            quiet: true,
            request_payer: None,
        }
    }

    /// Whether `key` can be named in the XML body (see the module doc).
    pub fn can_name(key: &str) -> bool {
        !key.chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    }

    /// The `<Delete>` body.
    pub fn body_xml(&self) -> String {
        let mut out = String::from(write::DECLARATION);
        write::open(&mut out, "Delete");
        write::element(&mut out, "Quiet", if self.quiet { "true" } else { "false" });
        for key in &self.keys {
            write::open(&mut out, "Object");
            write::element(&mut out, "Key", key.as_str());
            write::close(&mut out, "Object");
        }
        write::close(&mut out, "Delete");
        out
    }
}

impl Operation for DeleteMultipleObjects {
    type Output = DeleteMultipleObjectsOutput;

    fn to_request(&self) -> Result<OssRequest, EncodeError> {
        if self.keys.is_empty() || self.keys.len() > MAX_DELETE_KEYS {
            return Err(EncodeError::OutOfRange {
                name: "keys",
                value: self.keys.len() as u64,
                min: 1,
                max: MAX_DELETE_KEYS as u64,
            });
        }
        if let Some(key) = self.keys.iter().find(|k| !Self::can_name(k.as_str())) {
            return Err(EncodeError::OutOfRange {
                name: "keys (a key holds a control character; use DeleteObject)",
                value: key.as_str().len() as u64,
                min: 0,
                max: 0,
            });
        }
        let mut req = bucket_request(Method::POST, &self.bucket);
        req.push_query(query::DELETE, String::new());
        let body = self.body_xml();
        req.set_header(header::CONTENT_MD5, &content_md5(body.as_bytes()))?;
        req.set_header(header::CONTENT_TYPE, "application/xml")?;
        req.set_opt_header(header::X_OSS_REQUEST_PAYER, self.request_payer.as_deref())?;
        req.body = Bytes::from(body);
        Ok(req)
    }

    fn parse_response(
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Self::Output, ResponseError> {
        check_status(status, headers, body)?;
        let mut out = if body.iter().all(u8::is_ascii_whitespace) {
            DeleteMultipleObjectsOutput::default()
        } else {
            DeleteMultipleObjectsOutput::from_xml(body)?
        };
        out.request_id = request_id(headers);
        Ok(out)
    }
}

/// One key the service could not delete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteFailure {
    /// The key.
    pub key: String,
    /// The error code (`AccessDenied`...).
    pub code: String,
    /// The service's message.
    pub message: String,
}

/// The `DeleteResult` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteMultipleObjectsOutput {
    /// Keys reported deleted (empty in quiet mode).
    pub deleted: Vec<String>,
    /// Keys reported not deleted, with the reason.
    pub failed: Vec<DeleteFailure>,
    /// `x-oss-request-id` (header).
    pub request_id: String,
}

impl DeleteMultipleObjectsOutput {
    /// Parses `<DeleteResult><Deleted><Key>…</Key></Deleted>…<Error><Key/><Code/><Message/></Error>…`.
    /// Keys are decoded when the answer says `<EncodingType>url</EncodingType>`.
    pub fn from_xml(body: &[u8]) -> Result<Self, DecodeError> {
        let root = read::parse_root(body, "DeleteResult", limits::MAX_XML_BODY)?;
        let url = root.opt_text("EncodingType")? == Some("url");
        let key = |raw: &str| -> Result<String, DecodeError> {
            if url {
                crate::url_decode("Key", raw)
            } else {
                Ok(raw.to_owned())
            }
        };
        let mut out = Self::default();
        for d in root.children("Deleted") {
            out.deleted.push(key(d.text("Key")?)?);
        }
        for e in root.children("Error") {
            out.failed.push(DeleteFailure {
                key: key(e.text("Key")?)?,
                code: e.string_or_empty("Code")?,
                message: e.string_or_empty("Message")?,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> ObjectKey {
        ObjectKey::new(s).unwrap()
    }

    #[test]
    fn body_names_each_key_escaped_and_carries_its_md5() {
        let b = BucketName::new("bkt").unwrap();
        let op = DeleteMultipleObjects::new(b.clone(), vec![k("a&b.txt"), k("dir/<x>")]);
        let req = op.to_request().unwrap();
        assert_eq!(req.method, Method::POST);
        assert_eq!(req.query_param("delete"), Some(""));
        let body = std::str::from_utf8(&req.body).unwrap();
        assert!(body.contains("<Quiet>true</Quiet>"), "{body}");
        assert!(
            body.contains(
                "<Object><Key>a&amp;b.txt</Key></Object><Object><Key>dir/&lt;x&gt;</Key></Object>"
            ),
            "{body}"
        );
        assert_eq!(req.headers["content-md5"], content_md5(&req.body).as_str());
        // Within the limits only.
        let none = DeleteMultipleObjects::new(b.clone(), Vec::new());
        assert!(none.to_request().is_err());
        let many = DeleteMultipleObjects::new(b.clone(), vec![k("x"); MAX_DELETE_KEYS + 1]);
        assert!(many.to_request().is_err());
        let control = DeleteMultipleObjects::new(b, vec![k("bell\u{7}")]);
        assert!(control.to_request().is_err());
    }

    #[test]
    fn answer_lists_deleted_and_failed_keys() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<DeleteResult>
  <EncodingType>url</EncodingType>
  <Deleted><Key>a%20b</Key></Deleted>
  <Error><Key>c</Key><Code>AccessDenied</Code><Message>no</Message></Error>
</DeleteResult>"#;
        let out = DeleteMultipleObjectsOutput::from_xml(body).unwrap();
        assert_eq!(out.deleted, ["a b"]);
        assert_eq!(out.failed.len(), 1);
        assert_eq!(
            (out.failed[0].key.as_str(), out.failed[0].code.as_str()),
            ("c", "AccessDenied")
        );
    }
}
