//! Bucket ACLs (PutBucketAcl, GetBucketAcl) and the anonymous access they grant.
//!
//! A request without any signature is refused with `AccessDenied` unless an ACL grants it,
//! as on OSS: the object's own ACL when it has one (not `default`), else the bucket's.
//! `public-read` lets anyone read (GetObject, HeadObject, GetObjectMeta, GetSymlink) and list
//! the bucket; `public-read-write` also lets anyone write objects (PutObject, multipart,
//! AppendObject, DeleteObject). Bucket-level administration always needs a signature.

use std::sync::Arc;

use http::Response;

use crate::attrs::acl_xml;
use crate::body::empty;
use crate::error::OssError;
use crate::ops_attrs::OWNER_ID;
use crate::ops_object::store_err;
use crate::route::Op;
use crate::service::{Ctx, OpResult, Req, blocking};

const PRIVATE: &str = "private";
const ACLS: [&str; 3] = [PRIVATE, "public-read", "public-read-write"];

/// `GET /?acl` on a bucket.
pub(crate) async fn get_bucket_acl(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    let meta = ctx
        .store
        .bucket_meta(&req.bucket)
        .map_err(|e| store_err(e, &req.bucket, "", "", ""))?;
    Ok(crate::service::xml_ok(acl_xml(
        Some(meta.acl.as_deref().unwrap_or(PRIVATE)),
        OWNER_ID,
    )))
}

/// `PUT /?acl` on a bucket with `x-oss-acl`.
pub(crate) async fn put_bucket_acl(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    let acl = req.h("x-oss-acl").unwrap_or_default().to_owned();
    if !ACLS.contains(&acl.as_str()) {
        return Err(OssError::invalid_argument(
            "x-oss-acl must be private, public-read or public-read-write.",
            "x-oss-acl",
            &acl,
        )
        .into());
    }
    let store = ctx.store.clone();
    let bucket = req.bucket.clone();
    blocking(move || store.set_bucket_acl(&bucket, &acl))
        .await?
        .map_err(|e| store_err(e, &req.bucket, "", "", ""))?;
    Ok(Response::new(empty()))
}

/// Whether the request carries no signature of any kind (header or presigned query).
pub(crate) fn is_anonymous(headers: &http::HeaderMap, query: &[(String, String)]) -> bool {
    !headers.contains_key(http::header::AUTHORIZATION)
        && !query.iter().any(|(name, _)| {
            matches!(
                name.as_str(),
                "Signature" | "OSSAccessKeyId" | "x-oss-signature" | "x-oss-signature-version"
            )
        })
}

/// Whether the ACLs let an anonymous client run `op` on `bucket`/`key`.
pub(crate) fn anonymous_allowed(ctx: &Ctx, op: Op, bucket: &str, key: &str) -> bool {
    let (reads, writes) = match op {
        Op::GetObject | Op::HeadObject | Op::GetObjectMeta | Op::GetSymlink | Op::ListObjects => {
            (true, false)
        }
        Op::PutObject
        | Op::AppendObject
        | Op::DeleteObject
        | Op::Initiate
        | Op::UploadPart
        | Op::Complete
        | Op::Abort
        | Op::ListParts => (false, true),
        _ => return false,
    };
    let object_acl = (!key.is_empty())
        .then(|| ctx.store.head(bucket, key).ok())
        .flatten()
        .and_then(|meta| meta.attrs.acl)
        .filter(|acl| acl != "default");
    let acl = match object_acl {
        Some(acl) => acl,
        None => match ctx.store.bucket_meta(bucket) {
            Ok(meta) => meta.acl.unwrap_or_else(|| PRIVATE.to_owned()),
            Err(_) => return false,
        },
    };
    match acl.as_str() {
        "public-read-write" => reads || writes,
        "public-read" => reads,
        _ => false,
    }
}
