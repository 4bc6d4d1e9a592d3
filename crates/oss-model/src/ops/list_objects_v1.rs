//! The `ListBucketResult` of the original ListObjects (`GET /` without `list-type=2`).
//!
//! Only the body is modelled, for servers that still answer V1 listings (`oss-local`) and for
//! reading them; clients should send [`super::ListObjectsV2`].

use super::ObjectSummary;
use super::bucket::{read_entries, write_entries};
use crate::codec::{EncodingType, maybe_decode, maybe_encode};
use crate::xml::{read, write};
use crate::{DecodeError, limits};

/// `ListBucketResult` of ListObjects (V1), with keys, markers and prefixes decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListObjectsV1Output {
    /// Bucket (`Name`).
    pub name: String,
    /// Prefix that applied (decoded).
    pub prefix: String,
    /// `Marker` this page started after (decoded).
    pub marker: String,
    /// `NextMarker` for the next page (decoded); empty when not truncated.
    pub next_marker: String,
    /// Page size that applied.
    pub max_keys: u32,
    /// Delimiter that applied (decoded).
    pub delimiter: String,
    /// Whether more entries follow.
    pub is_truncated: bool,
    /// Objects.
    pub contents: Vec<ObjectSummary>,
    /// `CommonPrefixes/Prefix` values (decoded).
    pub common_prefixes: Vec<String>,
    /// The encoding the reply used (fields above already decoded).
    pub encoding_type: Option<EncodingType>,
}

impl ListObjectsV1Output {
    /// Parses the XML body.
    pub fn from_xml(body: &[u8]) -> Result<Self, DecodeError> {
        let root = read::parse_root(body, "ListBucketResult", limits::MAX_XML_BODY)?;
        let enc = root.opt_text("EncodingType")?.and_then(EncodingType::parse);
        let decoded = |name: &'static str| -> Result<String, DecodeError> {
            maybe_decode(enc, name, root.string_or_empty(name)?)
        };
        let (contents, common_prefixes) = read_entries(&root, enc)?;
        Ok(Self {
            name: root.string_or_empty("Name")?,
            prefix: decoded("Prefix")?,
            marker: decoded("Marker")?,
            next_marker: decoded("NextMarker")?,
            max_keys: root.u32_or_zero("MaxKeys")?,
            delimiter: decoded("Delimiter")?,
            is_truncated: root.bool_or_false("IsTruncated")?,
            contents,
            common_prefixes,
            encoding_type: enc,
        })
    }

    /// Writes the XML body (keys, markers and prefixes encoded when `encoding_type` says so);
    /// `NextMarker` only when the page is truncated, as OSS does.
    pub fn to_xml(&self) -> String {
        let enc = self.encoding_type;
        let mut out = String::with_capacity(512 + self.contents.len() * 256);
        out.push_str(write::DECLARATION);
        write::open(&mut out, "ListBucketResult");
        write::element(&mut out, "Name", &self.name);
        write::element(&mut out, "Prefix", &maybe_encode(enc, &self.prefix));
        write::element(&mut out, "Marker", &maybe_encode(enc, &self.marker));
        write::element(&mut out, "MaxKeys", &self.max_keys.to_string());
        write::element(&mut out, "Delimiter", &maybe_encode(enc, &self.delimiter));
        write::opt_element(&mut out, "EncodingType", enc.map(EncodingType::as_str));
        write::element(&mut out, "IsTruncated", super::bool_str(self.is_truncated));
        if self.is_truncated || !self.next_marker.is_empty() {
            write::element(
                &mut out,
                "NextMarker",
                &maybe_encode(enc, &self.next_marker),
            );
        }
        write_entries(&mut out, enc, &self.contents, &self.common_prefixes);
        write::close(&mut out, "ListBucketResult");
        out
    }
}
