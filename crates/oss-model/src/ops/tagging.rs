//! GetObjectTagging: `GET /<key>?tagging`, the object's tags.

use http::{HeaderMap, Method, StatusCode};

use super::object_request;
use crate::request::{check_status, request_id};
use crate::xml::{read, write};
use crate::{
    BucketName, DecodeError, EncodeError, ObjectKey, Operation, OssRequest, ResponseError, header,
    limits, query,
};

/// Reads an object's tags.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetObjectTagging {
    /// Bucket.
    pub bucket: BucketName,
    /// Object key.
    pub key: ObjectKey,
    /// `versionId`.
    pub version_id: Option<String>,
    /// `x-oss-request-payer`.
    pub request_payer: Option<String>,
}

impl GetObjectTagging {
    /// The tags of `key`.
    pub fn new(bucket: BucketName, key: ObjectKey) -> Self {
        Self {
            bucket,
            key,
            version_id: None,
            request_payer: None,
        }
    }
}

impl Operation for GetObjectTagging {
    type Output = Tagging;

    fn to_request(&self) -> Result<OssRequest, EncodeError> {
        let mut req = object_request(Method::GET, &self.bucket, &self.key);
        req.push_query(query::TAGGING, String::new());
        req.push_opt_query(query::VERSION_ID, self.version_id.as_deref());
        req.set_opt_header(header::X_OSS_REQUEST_PAYER, self.request_payer.as_deref())?;
        Ok(req)
    }

    fn parse_response(
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Self::Output, ResponseError> {
        check_status(status, headers, body)?;
        let mut out = Tagging::from_xml(body)?;
        out.request_id = request_id(headers);
        Ok(out)
    }
}

/// The `Tagging` document: an object's tags, in the order OSS lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tagging {
    /// (key, value) pairs.
    pub tags: Vec<(String, String)>,
    /// `x-oss-request-id` (header; empty when read from a body alone).
    pub request_id: String,
}

impl Tagging {
    /// Parses `<Tagging><TagSet><Tag><Key/><Value/></Tag>…</TagSet></Tagging>`.
    pub fn from_xml(body: &[u8]) -> Result<Self, DecodeError> {
        let root = read::parse_root(body, "Tagging", limits::MAX_XML_BODY)?;
        let mut tags = Vec::new();
        if let Some(set) = root.child("TagSet")? {
            for tag in set.children("Tag") {
                tags.push((tag.text("Key")?.to_owned(), tag.string_or_empty("Value")?));
            }
        }
        Ok(Self {
            tags,
            request_id: String::new(),
        })
    }

    /// Writes the document (the body of PutObjectTagging and of GetObjectTagging's answer).
    pub fn to_xml(&self) -> String {
        let mut out = String::from(write::DECLARATION);
        write::open(&mut out, "Tagging");
        write::open(&mut out, "TagSet");
        for (key, value) in &self.tags {
            write::open(&mut out, "Tag");
            write::element(&mut out, "Key", key);
            write::element(&mut out, "Value", value);
            write::close(&mut out, "Tag");
        }
        write::close(&mut out, "TagSet");
        write::close(&mut out, "Tagging");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_with_escaping_and_empty_values() {
        let t = Tagging {
            tags: vec![
                ("a&b".into(), "<c>".into()),
                ("empty".into(), String::new()),
            ],
            request_id: String::new(),
        };
        assert_eq!(Tagging::from_xml(t.to_xml().as_bytes()).unwrap(), t);
        let none = Tagging::from_xml(b"<Tagging><TagSet/></Tagging>").unwrap();
        assert!(none.tags.is_empty());
        assert!(
            Tagging::from_xml(b"<Tagging><TagSet><Tag><Value>v</Value></Tag></TagSet></Tagging>")
                .is_err()
        );
    }

    #[test]
    fn request_has_the_sub_resource() {
        let mut op = GetObjectTagging::new(
            BucketName::new("bucket").unwrap(),
            ObjectKey::new("k").unwrap(),
        );
        op.version_id = Some("v".into());
        let req = op.to_request().unwrap();
        assert_eq!(req.method, Method::GET);
        assert_eq!(req.query_string(), "tagging&versionId=v");
    }
}
