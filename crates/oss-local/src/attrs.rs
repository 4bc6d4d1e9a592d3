//! Object attributes clients send and read back: standard headers, storage class,
//! server-side encryption headers (stored and echoed; oss-local does not encrypt), the object
//! ACL and tags, with OSS's validation rules.

use oss_model::xml_write::{DECLARATION, close, element, open};

use crate::error::OssError;
use crate::service::Req;
use crate::store::Attrs;

/// Headers stored with an object and returned on HEAD and GET.
const STORED_HEADERS: &[&str] = &[
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "expires",
    "x-oss-storage-class",
    "x-oss-server-side-encryption",
    "x-oss-server-side-encryption-key-id",
    "x-oss-server-side-data-encryption",
];

/// The server-side encryption headers, echoed on every write of an encrypted object.
pub(crate) const SSE_HEADERS: &[&str] = &[
    "x-oss-server-side-encryption",
    "x-oss-server-side-encryption-key-id",
    "x-oss-server-side-data-encryption",
];

const STORAGE_CLASSES: &[&str] = &[
    "Standard",
    "IA",
    "Archive",
    "ColdArchive",
    "DeepColdArchive",
];
const ACLS: &[&str] = &["default", "private", "public-read", "public-read-write"];
const MAX_TAGS: usize = 10;
const MAX_TAG_KEY: usize = 128;
const MAX_TAG_VALUE: usize = 256;

/// The attributes a PutObject / InitiateMultipartUpload request sets, validated.
pub(crate) fn from_request(req: &Req) -> Result<Attrs, OssError> {
    let mut headers = Vec::new();
    for name in STORED_HEADERS {
        if let Some(value) = req.h(name) {
            headers.push(((*name).to_owned(), value.to_owned()));
        }
    }
    if let Some(class) = req.h("x-oss-storage-class")
        && !STORAGE_CLASSES.contains(&class)
    {
        return Err(OssError::invalid_argument(
            "Invalid storage class: expected Standard, IA, Archive, ColdArchive or \
                 DeepColdArchive.",
            "x-oss-storage-class",
            class,
        ));
    }
    if let Some(sse) = req.h("x-oss-server-side-encryption")
        && !["AES256", "KMS", "SM4"].contains(&sse)
    {
        return Err(OssError::invalid_argument(
            "Invalid server side encryption: expected AES256, KMS or SM4.",
            "x-oss-server-side-encryption",
            sse,
        ));
    }
    let acl = acl_header(req)?;
    let tags = match req.h("x-oss-tagging") {
        Some(value) => parse_tagging_header(value)?,
        None => Vec::new(),
    };
    Ok(Attrs { headers, acl, tags })
}

/// `x-oss-object-acl`, validated (`default` means none of its own).
pub(crate) fn acl_header(req: &Req) -> Result<Option<String>, OssError> {
    match req.h("x-oss-object-acl") {
        None | Some("default") => Ok(None),
        Some(acl) if ACLS.contains(&acl) => Ok(Some(acl.to_owned())),
        Some(acl) => Err(OssError::invalid_argument(
            "The ACL must be private, public-read, public-read-write or default.",
            "x-oss-object-acl",
            acl,
        )),
    }
}

/// `x-oss-tagging: k1=v1&k2=v2` (URL-encoded keys and values).
fn parse_tagging_header(value: &str) -> Result<Vec<(String, String)>, OssError> {
    let mut tags = Vec::new();
    for item in value.split('&').filter(|i| !i.is_empty()) {
        let (k, v) = item.split_once('=').unwrap_or((item, ""));
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| {
                    OssError::invalid_argument(
                        "x-oss-tagging must be URL-encoded UTF-8.",
                        "x-oss-tagging",
                        value,
                    )
                })
        };
        tags.push((decode(k)?, decode(v)?));
    }
    validate_tags(&tags)?;
    Ok(tags)
}

/// OSS's tag rules: at most 10 tags, unique keys of 1..=128 characters, values of at most
/// 256 characters.
fn validate_tags(tags: &[(String, String)]) -> Result<(), OssError> {
    if tags.len() > MAX_TAGS {
        return Err(OssError::invalid_tag(&format!(
            "An object can have at most {MAX_TAGS} tags."
        )));
    }
    for (i, (key, value)) in tags.iter().enumerate() {
        let key_len = key.chars().count();
        if key_len == 0 || key_len > MAX_TAG_KEY {
            return Err(OssError::invalid_tag(&format!(
                "A tag key must have 1 to {MAX_TAG_KEY} characters."
            )));
        }
        if value.chars().count() > MAX_TAG_VALUE {
            return Err(OssError::invalid_tag(&format!(
                "A tag value must have at most {MAX_TAG_VALUE} characters."
            )));
        }
        let allowed = |c: char| c.is_alphanumeric() || " +-=._:/".contains(c);
        if !key.chars().all(allowed) || !value.chars().all(allowed) {
            return Err(OssError::invalid_tag(
                "Tag keys and values may hold letters, digits, spaces and + - = . _ : / only.",
            ));
        }
        if tags[..i].iter().any(|(k, _)| k == key) {
            return Err(OssError::invalid_tag("Tag keys must be unique."));
        }
    }
    Ok(())
}

/// The `<Tagging>` body of PutObjectTagging.
pub(crate) fn parse_tagging_body(body: &[u8]) -> Result<Vec<(String, String)>, OssError> {
    let root = oss_model::xml_read::parse_root(body, "Tagging", 64 * 1024)
        .map_err(|_| OssError::malformed_xml())?;
    let mut tags = Vec::new();
    if let Some(set) = root
        .child("TagSet")
        .map_err(|_| OssError::malformed_xml())?
    {
        for tag in set.children("Tag") {
            let key = tag.text("Key").map_err(|_| OssError::malformed_xml())?;
            let value = tag
                .opt_text("Value")
                .map_err(|_| OssError::malformed_xml())?;
            tags.push((key.to_owned(), value.unwrap_or_default().to_owned()));
        }
    }
    validate_tags(&tags)?;
    Ok(tags)
}

/// The GetObjectTagging answer.
pub(crate) fn tagging_xml(tags: &[(String, String)]) -> String {
    let mut out = String::from(DECLARATION);
    open(&mut out, "Tagging");
    open(&mut out, "TagSet");
    for (key, value) in tags {
        open(&mut out, "Tag");
        element(&mut out, "Key", key);
        element(&mut out, "Value", value);
        close(&mut out, "Tag");
    }
    close(&mut out, "TagSet");
    close(&mut out, "Tagging");
    out
}

/// The GetObjectAcl answer.
pub(crate) fn acl_xml(acl: Option<&str>, owner: &str) -> String {
    let mut out = String::from(DECLARATION);
    open(&mut out, "AccessControlPolicy");
    open(&mut out, "Owner");
    element(&mut out, "ID", owner);
    element(&mut out, "DisplayName", owner);
    close(&mut out, "Owner");
    open(&mut out, "AccessControlList");
    element(&mut out, "Grant", acl.unwrap_or("default"));
    close(&mut out, "AccessControlList");
    close(&mut out, "AccessControlPolicy");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagging_header_rules() {
        let tags = parse_tagging_header("a=1&b%20c=d%2Be&e=").unwrap();
        assert_eq!(
            tags,
            [
                ("a".into(), "1".into()),
                ("b c".into(), "d+e".into()),
                ("e".into(), String::new())
            ]
        );
        let eleven: Vec<String> = (0..11).map(|i| format!("k{i}=v")).collect();
        assert_eq!(
            parse_tagging_header(&eleven.join("&")).unwrap_err().code(),
            "InvalidTag"
        );
        let long_key = format!("{}=v", "k".repeat(129));
        assert!(parse_tagging_header(&long_key).is_err());
        let long_value = format!("k={}", "v".repeat(257));
        assert!(parse_tagging_header(&long_value).is_err());
        assert!(parse_tagging_header("=v").is_err());
        assert!(parse_tagging_header("a=1&a=2").is_err());
        assert!(parse_tagging_header("a=%FF").is_err());
        assert!(parse_tagging_header("%25%40abc=v").is_err());
        assert!(parse_tagging_header("k=a@b").is_err());
        assert!(parse_tagging_header("path=/a/b:c+d_e.f%3Dg").is_ok());
    }

    #[test]
    fn tagging_body_round_trip() {
        let tags = vec![
            ("a b+c".to_owned(), "x=y/z:1".to_owned()),
            ("中文".to_owned(), String::new()),
        ];
        assert_eq!(
            parse_tagging_body(tagging_xml(&tags).as_bytes()).unwrap(),
            tags
        );
        assert!(parse_tagging_body(b"<Nope/>").is_err());
    }
}
