//! Service and bucket operations: ListBuckets, PutBucket, DeleteBucket, GetBucketInfo,
//! GetBucketLocation.

use std::sync::Arc;

use http::{Response, StatusCode};
use oss_model::xml_write::{DECLARATION, close, element, open};

use crate::auth::iso_ms;
use crate::body::empty;
use crate::ops_attrs::OWNER_ID;
use crate::ops_multipart::STORAGE_CLASS;
use crate::ops_object::{list_limit, store_err};
use crate::service::{Ctx, OpResult, Req, blocking, set_header, xml_ok};

fn owner(out: &mut String) {
    open(out, "Owner");
    element(out, "ID", OWNER_ID);
    element(out, "DisplayName", OWNER_ID);
    close(out, "Owner");
}

/// `oss-<region>`, what OSS calls a bucket's location.
fn location(ctx: &Ctx) -> String {
    format!("oss-{}", ctx.config.region)
}

/// The endpoint a client reached this server by (its Host header): oss-local has no other.
fn endpoint(host: &str) -> &str {
    host
}

pub(crate) async fn put_bucket(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    if let Some(body) = req.take_body() {
        // The CreateBucketConfiguration (storage class, redundancy) is accepted and ignored:
        // oss-local has one storage class.
        crate::body::read_limited(body, ctx.config.limits.max_xml_body).await?;
    }
    let store = ctx.store.clone();
    let (bucket, now) = (req.bucket.clone(), req.now);
    blocking(move || store.create_bucket(&bucket, now)).await??;
    let mut response = Response::new(empty());
    set_header(&mut response, "location", &format!("/{}", req.bucket));
    Ok(response)
}

pub(crate) async fn delete_bucket(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    let store = ctx.store.clone();
    let bucket = req.bucket.clone();
    blocking(move || store.delete_bucket(&bucket))
        .await?
        .map_err(|e| store_err(e, &req.bucket, "", "", ""))?;
    let mut response = Response::new(empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

/// `GET /` (service level): prefix, marker, max-keys.
pub(crate) async fn list_buckets(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    let prefix = req.q("prefix").unwrap_or_default().to_owned();
    let marker = req.q("marker").unwrap_or_default().to_owned();
    let max = list_limit(req, "max-keys", 100)?;
    let mut buckets: Vec<_> = ctx
        .store
        .list_buckets()
        .into_iter()
        .filter(|(name, _)| name.starts_with(&prefix) && *name > marker)
        .collect();
    let truncated = buckets.len() > max;
    buckets.truncate(max);
    let mut out = String::from(DECLARATION);
    open(&mut out, "ListAllMyBucketsResult");
    if !prefix.is_empty() {
        element(&mut out, "Prefix", &prefix);
    }
    if !marker.is_empty() {
        element(&mut out, "Marker", &marker);
    }
    if req.q("max-keys").is_some() {
        element(&mut out, "MaxKeys", &max.to_string());
    }
    element(
        &mut out,
        "IsTruncated",
        if truncated { "true" } else { "false" },
    );
    if truncated && let Some((last, _)) = buckets.last() {
        element(&mut out, "NextMarker", last);
    }
    owner(&mut out);
    open(&mut out, "Buckets");
    for (name, meta) in &buckets {
        open(&mut out, "Bucket");
        element(&mut out, "CreationDate", &iso_ms(meta.created));
        element(&mut out, "ExtranetEndpoint", endpoint(&req.host));
        element(&mut out, "IntranetEndpoint", endpoint(&req.host));
        element(&mut out, "Location", &location(ctx));
        element(&mut out, "Name", name);
        element(&mut out, "Region", &ctx.config.region);
        element(&mut out, "StorageClass", STORAGE_CLASS);
        close(&mut out, "Bucket");
    }
    close(&mut out, "Buckets");
    close(&mut out, "ListAllMyBucketsResult");
    Ok(xml_ok(out))
}

pub(crate) async fn get_bucket_info(ctx: &Arc<Ctx>, req: &mut Req) -> OpResult {
    let meta = ctx
        .store
        .bucket_meta(&req.bucket)
        .map_err(|e| store_err(e, &req.bucket, "", "", ""))?;
    let mut out = String::from(DECLARATION);
    open(&mut out, "BucketInfo");
    open(&mut out, "Bucket");
    element(&mut out, "AccessMonitor", "Disabled");
    element(&mut out, "CreationDate", &iso_ms(meta.created));
    element(&mut out, "CrossRegionReplication", "Disabled");
    element(&mut out, "DataRedundancyType", "LRS");
    element(&mut out, "ExtranetEndpoint", endpoint(&req.host));
    element(&mut out, "IntranetEndpoint", endpoint(&req.host));
    element(&mut out, "Location", &location(ctx));
    element(&mut out, "Name", &req.bucket);
    element(&mut out, "Region", &ctx.config.region);
    element(&mut out, "StorageClass", STORAGE_CLASS);
    element(&mut out, "TransferAcceleration", "Disabled");
    owner(&mut out);
    open(&mut out, "AccessControlList");
    element(&mut out, "Grant", "private");
    close(&mut out, "AccessControlList");
    close(&mut out, "Bucket");
    close(&mut out, "BucketInfo");
    Ok(xml_ok(out))
}

pub(crate) async fn get_bucket_location(ctx: &Arc<Ctx>, _req: &mut Req) -> OpResult {
    let mut out = String::from(DECLARATION);
    element(&mut out, "LocationConstraint", &location(ctx));
    Ok(xml_ok(out))
}
