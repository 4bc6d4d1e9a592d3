//! GetObjectAcl: `GET /<key>?acl`, the object's access control.

use http::{HeaderMap, Method, StatusCode};

use super::object_request;
use crate::request::{check_status, request_id};
use crate::xml::{read, write};
use crate::{
    BucketName, DecodeError, EncodeError, ObjectKey, Operation, OssRequest, ResponseError, header,
    limits, query,
};

/// Reads an object's ACL.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetObjectAcl {
    /// Bucket.
    pub bucket: BucketName,
    /// Object key.
    pub key: ObjectKey,
    /// `versionId`.
    pub version_id: Option<String>,
    /// `x-oss-request-payer`.
    pub request_payer: Option<String>,
}

impl GetObjectAcl {
    /// The ACL of `key`.
    pub fn new(bucket: BucketName, key: ObjectKey) -> Self {
        Self {
            bucket,
            key,
            version_id: None,
            request_payer: None,
        }
    }
}

impl Operation for GetObjectAcl {
    type Output = ObjectAcl;

    fn to_request(&self) -> Result<OssRequest, EncodeError> {
        let mut req = object_request(Method::GET, &self.bucket, &self.key);
        req.push_query(query::ACL, String::new());
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
        let mut out = ObjectAcl::from_xml(body)?;
        out.request_id = request_id(headers);
        Ok(out)
    }
}

/// The `AccessControlPolicy` document of an object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectAcl {
    /// The grant: `default` (the bucket's ACL applies), `private`, `public-read` or
    /// `public-read-write`.
    pub grant: String,
    /// The owner's id.
    pub owner_id: String,
    /// The owner's display name.
    pub owner_name: String,
    /// `x-oss-request-id` (header; empty when read from a body alone).
    pub request_id: String,
}

impl ObjectAcl {
    /// Parses `<AccessControlPolicy><Owner>…</Owner><AccessControlList><Grant>…</Grant>…`.
    pub fn from_xml(body: &[u8]) -> Result<Self, DecodeError> {
        let root = read::parse_root(body, "AccessControlPolicy", limits::MAX_XML_BODY)?;
        let (owner_id, owner_name) = match root.child("Owner")? {
            Some(o) => (o.string_or_empty("ID")?, o.string_or_empty("DisplayName")?),
            None => (String::new(), String::new()),
        };
        let grant = match root.child("AccessControlList")? {
            Some(list) => list.string_or_empty("Grant")?,
            None => String::new(),
        };
        Ok(Self {
            grant,
            owner_id,
            owner_name,
            request_id: String::new(),
        })
    }

    /// Writes the document (what a server answers).
    pub fn to_xml(&self) -> String {
        let mut out = String::from(write::DECLARATION);
        write::open(&mut out, "AccessControlPolicy");
        write::open(&mut out, "Owner");
        write::element(&mut out, "ID", &self.owner_id);
        write::element(&mut out, "DisplayName", &self.owner_name);
        write::close(&mut out, "Owner");
        write::open(&mut out, "AccessControlList");
        write::element(&mut out, "Grant", &self.grant);
        write::close(&mut out, "AccessControlList");
        write::close(&mut out, "AccessControlPolicy");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_answer() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<AccessControlPolicy>
    <Owner>
        <ID>0022012****</ID>
        <DisplayName>user_example</DisplayName>
    </Owner>
    <AccessControlList>
        <Grant>public-read</Grant>
    </AccessControlList>
</AccessControlPolicy>"#;
        let acl = ObjectAcl::from_xml(body).unwrap();
        assert_eq!(acl.grant, "public-read");
        assert_eq!(acl.owner_id, "0022012****");
        assert_eq!(acl.owner_name, "user_example");
        assert_eq!(ObjectAcl::from_xml(acl.to_xml().as_bytes()).unwrap(), acl);
    }
}
