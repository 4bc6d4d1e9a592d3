//! Which operation a request is: one explicit table keyed by (method, level, set of
//! sub-resources, copy source). A request that matches no row is refused with `501
//! NotImplemented` before anything else happens, so an operation the server does not know can
//! never be misread as a plain object or bucket operation (a `PUT ?acl` that overwrites the
//! object, a `DELETE ?tagging` that deletes it).

use crate::error::OssError;

/// Every query name OSS treats as a sub-resource: the union of the signed lists of the
/// official SDKs (Python `oss2`, Go and Python v2). V1 signatures cover them, and routing
/// looks at them; any other query name is a plain parameter and is ignored unless the
/// operation reads it. Names starting with `x-oss-` are sub-resources too (see
/// [`is_subresource`]).
pub(crate) const SUBRESOURCES: &[&str] = &[
    "accessPoint",
    "accessPointPolicy",
    "acl",
    "append",
    "asyncFetch",
    "bucketArchiveDirectRead",
    "bucketInfo",
    "callback",
    "callback-var",
    "cloudboxes",
    "cname",
    "comp",
    "continuation-token",
    "cors",
    "delete",
    "encryption",
    "endTime",
    "group",
    "httpsConfig",
    "inventory",
    "inventoryId",
    "lifecycle",
    "link",
    "live",
    "location",
    "logging",
    "metaQuery",
    "objectInfo",
    "objectMeta",
    "partNumber",
    "policy",
    "position",
    "publicAccessBlock",
    "qos",
    "qosInfo",
    "qosRequester",
    "redundancyTransition",
    "referer",
    "regionList",
    "replication",
    "replicationLocation",
    "replicationProgress",
    "requestPayment",
    "requesterQosInfo",
    "resourceGroup",
    "resourcePool",
    "resourcePoolBuckets",
    "resourcePoolInfo",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "security-token",
    "sequential",
    "startTime",
    "stat",
    "status",
    "style",
    "styleName",
    "symlink",
    "tagging",
    "transferAcceleration",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "vod",
    "website",
    "worm",
    "wormExtend",
    "wormId",
];

/// Sub-resources that say how a request is authenticated or billed, not what it does: any
/// operation accepts them.
const NEUTRAL: &[&str] = &[
    "security-token",
    "x-oss-security-token",
    "x-oss-signature-version",
    "x-oss-credential",
    "x-oss-access-key-id",
    "x-oss-date",
    "x-oss-expires",
    "x-oss-signature",
    "x-oss-additional-headers",
    "x-oss-request-payer",
    "x-oss-traffic-limit",
];

/// Whether OSS treats query name `name` as a sub-resource.
pub(crate) fn is_subresource(name: &str) -> bool {
    name.starts_with("x-oss-") || SUBRESOURCES.contains(&name)
}

/// What a request addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    /// `/` without a bucket.
    Service,
    /// A bucket (empty key).
    Bucket,
    /// An object.
    Object,
}

/// The operations the server implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    ListBuckets,
    PutBucket,
    DeleteBucket,
    GetBucketInfo,
    GetBucketLocation,
    GetBucketAcl,
    PutBucketAcl,
    ListLiveChannels,
    DeleteMultiple,
    GetObjectAcl,
    PutObjectAcl,
    GetObjectTagging,
    PutObjectTagging,
    DeleteObjectTagging,
    GetObjectMeta,
    PutSymlink,
    GetSymlink,
    RestoreObject,
    CopyObject,
    AppendObject,
    ListUploads,
    ListObjects,
    Initiate,
    UploadPart,
    UploadPartCopy,
    Complete,
    Abort,
    ListParts,
    PutObject,
    GetObject,
    HeadObject,
    DeleteObject,
}

/// One row of the routing table.
#[derive(Debug)]
pub(crate) struct Route {
    /// The operation's name in the OSS API reference.
    pub(crate) name: &'static str,
    pub(crate) op: Op,
    pub(crate) method: &'static str,
    pub(crate) level: Level,
    /// Sub-resources the request must carry.
    pub(crate) required: &'static [&'static str],
    /// Sub-resources the operation also reads (beside [`NEUTRAL`] ones).
    pub(crate) optional: &'static [&'static str],
    /// `Some(true)`: only with `x-oss-copy-source`; `Some(false)`: only without it.
    pub(crate) copy_source: Option<bool>,
}

const RESPONSE_OVERRIDES: &[&str] = &[
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
];

/// The query form of an upload callback (presigned URLs), read by PutObject and Complete.
const CALLBACK: &[&str] = &["callback", "callback-var"];

const fn route(
    name: &'static str,
    op: Op,
    method: &'static str,
    level: Level,
    required: &'static [&'static str],
) -> Route {
    Route {
        name,
        op,
        method,
        level,
        required,
        optional: &[],
        copy_source: None,
    }
}

const fn with_copy(mut r: Route, copy: bool) -> Route {
    r.copy_source = Some(copy);
    r
}

const fn with_optional(mut r: Route, optional: &'static [&'static str]) -> Route {
    r.optional = optional;
    r
}

/// Every operation the server implements. Anything else is `NotImplemented`.
pub(crate) const ROUTES: &[Route] = &[
    route("ListBuckets", Op::ListBuckets, "GET", Level::Service, &[]),
    route("PutBucket", Op::PutBucket, "PUT", Level::Bucket, &[]),
    route(
        "DeleteBucket",
        Op::DeleteBucket,
        "DELETE",
        Level::Bucket,
        &[],
    ),
    route(
        "GetBucketInfo",
        Op::GetBucketInfo,
        "GET",
        Level::Bucket,
        &["bucketInfo"],
    ),
    route(
        "GetBucketLocation",
        Op::GetBucketLocation,
        "GET",
        Level::Bucket,
        &["location"],
    ),
    with_optional(
        route("ListObjects", Op::ListObjects, "GET", Level::Bucket, &[]),
        &["continuation-token"],
    ),
    route(
        "GetBucketAcl",
        Op::GetBucketAcl,
        "GET",
        Level::Bucket,
        &["acl"],
    ),
    route(
        "PutBucketAcl",
        Op::PutBucketAcl,
        "PUT",
        Level::Bucket,
        &["acl"],
    ),
    route(
        "ListMultipartUploads",
        Op::ListUploads,
        "GET",
        Level::Bucket,
        &["uploads"],
    ),
    with_optional(
        route(
            "InitiateMultipartUpload",
            Op::Initiate,
            "POST",
            Level::Object,
            &["uploads"],
        ),
        &["sequential"],
    ),
    with_copy(
        route(
            "UploadPart",
            Op::UploadPart,
            "PUT",
            Level::Object,
            &["partNumber", "uploadId"],
        ),
        false,
    ),
    with_copy(
        route(
            "UploadPartCopy",
            Op::UploadPartCopy,
            "PUT",
            Level::Object,
            &["partNumber", "uploadId"],
        ),
        true,
    ),
    with_optional(
        route(
            "CompleteMultipartUpload",
            Op::Complete,
            "POST",
            Level::Object,
            &["uploadId"],
        ),
        CALLBACK,
    ),
    route(
        "AbortMultipartUpload",
        Op::Abort,
        "DELETE",
        Level::Object,
        &["uploadId"],
    ),
    route(
        "ListParts",
        Op::ListParts,
        "GET",
        Level::Object,
        &["uploadId"],
    ),
    with_optional(
        with_copy(
            route("PutObject", Op::PutObject, "PUT", Level::Object, &[]),
            false,
        ),
        CALLBACK,
    ),
    route(
        "AppendObject",
        Op::AppendObject,
        "POST",
        Level::Object,
        &["append", "position"],
    ),
    with_copy(
        route("CopyObject", Op::CopyObject, "PUT", Level::Object, &[]),
        true,
    ),
    with_optional(
        route("GetObject", Op::GetObject, "GET", Level::Object, &[]),
        RESPONSE_OVERRIDES,
    ),
    route("HeadObject", Op::HeadObject, "HEAD", Level::Object, &[]),
    route(
        "PutSymlink",
        Op::PutSymlink,
        "PUT",
        Level::Object,
        &["symlink"],
    ),
    route(
        "RestoreObject",
        Op::RestoreObject,
        "POST",
        Level::Object,
        &["restore"],
    ),
    route(
        "GetSymlink",
        Op::GetSymlink,
        "GET",
        Level::Object,
        &["symlink"],
    ),
    route(
        "ListLiveChannel",
        Op::ListLiveChannels,
        "GET",
        Level::Bucket,
        &["live"],
    ),
    route(
        "DeleteMultipleObjects",
        Op::DeleteMultiple,
        "POST",
        Level::Bucket,
        &["delete"],
    ),
    route(
        "GetObjectACL",
        Op::GetObjectAcl,
        "GET",
        Level::Object,
        &["acl"],
    ),
    route(
        "PutObjectACL",
        Op::PutObjectAcl,
        "PUT",
        Level::Object,
        &["acl"],
    ),
    route(
        "GetObjectTagging",
        Op::GetObjectTagging,
        "GET",
        Level::Object,
        &["tagging"],
    ),
    route(
        "PutObjectTagging",
        Op::PutObjectTagging,
        "PUT",
        Level::Object,
        &["tagging"],
    ),
    route(
        "DeleteObjectTagging",
        Op::DeleteObjectTagging,
        "DELETE",
        Level::Object,
        &["tagging"],
    ),
    route(
        "GetObjectMeta",
        Op::GetObjectMeta,
        "HEAD",
        Level::Object,
        &["objectMeta"],
    ),
    route(
        "DeleteObject",
        Op::DeleteObject,
        "DELETE",
        Level::Object,
        &[],
    ),
];

/// Headers that ask for behaviour the server does not have; a request carrying one is refused
/// rather than served without it.
const UNSUPPORTED_HEADERS: &[&str] = &["x-oss-process"];

/// The route of a request, or the `NotImplemented` error naming what was not understood.
pub(crate) fn route_of<'q>(
    method: &str,
    level: Level,
    query_names: impl IntoIterator<Item = &'q str>,
    has_header: impl Fn(&str) -> bool,
) -> Result<&'static Route, OssError> {
    let mut subresources: Vec<&str> = query_names
        .into_iter()
        .filter(|n| is_subresource(n) && !NEUTRAL.contains(n))
        .collect();
    subresources.sort_unstable();
    subresources.dedup();
    let copy = has_header("x-oss-copy-source");
    let found = ROUTES.iter().find(|r| {
        r.method == method
            && r.level == level
            && r.copy_source.is_none_or(|c| c == copy)
            && r.required.iter().all(|s| subresources.contains(s))
            && subresources
                .iter()
                .all(|s| r.required.contains(s) || r.optional.contains(s))
    });
    let Some(found) = found else {
        if !["GET", "PUT", "POST", "DELETE", "HEAD"].contains(&method) {
            return Err(OssError::method_not_allowed());
        }
        let what = if subresources.is_empty() {
            format!("{method} on {}", level_name(level))
        } else {
            format!(
                "{method} on {} with ?{}",
                level_name(level),
                subresources.join("&")
            )
        };
        return Err(OssError::not_implemented(&what));
    };
    if let Some(header) = UNSUPPORTED_HEADERS.iter().find(|h| has_header(h)) {
        return Err(OssError::not_implemented(&format!(
            "The {header} header ({})",
            found.name
        )));
    }
    Ok(found)
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Service => "the service",
        Level::Bucket => "a bucket",
        Level::Object => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(method: &str, level: Level, query: &[&str], copy: bool) -> Option<Op> {
        route_of(method, level, query.iter().copied(), |h| {
            copy && h == "x-oss-copy-source"
        })
        .ok()
        .map(|r| r.op)
    }

    #[test]
    fn the_table_routes_what_it_lists_and_nothing_else() {
        assert_eq!(
            op("PUT", Level::Object, &["partNumber", "uploadId"], false),
            Some(Op::UploadPart)
        );
        assert_eq!(
            op("PUT", Level::Object, &["uploadId", "partNumber"], true),
            Some(Op::UploadPartCopy)
        );
        assert_eq!(
            op("PUT", Level::Object, &["x-oss-signature", "foo"], false),
            Some(Op::PutObject)
        );
        // A V2 presigned URL's own parameters say nothing of the operation.
        let v2 = [
            "x-oss-signature-version",
            "x-oss-expires",
            "x-oss-access-key-id",
            "x-oss-additional-headers",
            "x-oss-signature",
        ];
        assert_eq!(op("PUT", Level::Object, &v2, false), Some(Op::PutObject));
        assert_eq!(op("PUT", Level::Object, &[], true), Some(Op::CopyObject));
        assert_eq!(
            op("PUT", Level::Object, &["acl"], false),
            Some(Op::PutObjectAcl)
        );
        assert_eq!(op("PUT", Level::Object, &["acl", "tagging"], false), None);
        assert_eq!(
            op("PUT", Level::Object, &["symlink"], false),
            Some(Op::PutSymlink)
        );
        assert_eq!(op("PUT", Level::Object, &["symlink", "acl"], false), None);
        assert_eq!(op("PUT", Level::Object, &["partNumber"], false), None);
        assert_eq!(
            op("DELETE", Level::Object, &["tagging"], false),
            Some(Op::DeleteObjectTagging)
        );
        assert_eq!(op("DELETE", Level::Object, &["versionId"], false), None);
        assert_eq!(
            op("GET", Level::Bucket, &["acl"], false),
            Some(Op::GetBucketAcl)
        );
        assert_eq!(op("GET", Level::Bucket, &["acl", "cors"], false), None);
        assert_eq!(op("GET", Level::Object, &["x-oss-process"], false), None);
        assert_eq!(
            op("GET", Level::Object, &["response-content-type"], false),
            Some(Op::GetObject)
        );
        assert_eq!(
            op("POST", Level::Object, &["uploads", "sequential"], false),
            Some(Op::Initiate)
        );
        assert_eq!(op("POST", Level::Object, &["sequential"], false), None);
    }

    #[test]
    fn every_routed_sub_resource_is_a_known_sub_resource() {
        for r in ROUTES {
            for s in r.required.iter().chain(r.optional) {
                assert!(is_subresource(s), "{} uses {s}", r.name);
            }
        }
        let mut sorted = SUBRESOURCES.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, SUBRESOURCES, "keep SUBRESOURCES sorted and unique");
    }

    /// docs/OSS-LOCAL.md lists every routed operation as implemented, and nothing else.
    #[test]
    fn docs_list_every_operation() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/OSS-LOCAL.md");
        let doc = std::fs::read_to_string(path).unwrap();
        let section = doc
            .split("## Supported operations")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .unwrap();
        let mut implemented = Vec::new();
        let mut refused = Vec::new();
        for line in section.lines().filter(|l| l.starts_with("| ")) {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let (names, status) = (cells[1], cells[2]);
            for name in names.split(", ") {
                match status {
                    "implemented" => implemented.push(name.to_owned()),
                    "refused" => refused.push(name.to_owned()),
                    _ => {}
                }
            }
        }
        let mut routed: Vec<String> = ROUTES.iter().map(|r| r.name.to_owned()).collect();
        routed.sort();
        routed.dedup();
        implemented.sort();
        assert_eq!(implemented, routed, "docs/OSS-LOCAL.md vs ROUTES");
        for name in &refused {
            assert!(!routed.contains(name), "{name} is documented as refused");
        }
        assert!(refused.len() >= 5);
    }

    #[test]
    fn no_two_routes_overlap() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                let same_shape = a.method == b.method
                    && a.level == b.level
                    && a.required == b.required
                    && (a.copy_source.is_none()
                        || b.copy_source.is_none()
                        || a.copy_source == b.copy_source);
                assert!(!same_shape, "{} and {} overlap", a.name, b.name);
            }
        }
    }
}
