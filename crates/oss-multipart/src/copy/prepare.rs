//! Prepare a copy: read the source, decide the new object's headers and the plan, and start
//! the core machine in its copy mode (fresh, or resumed from a checkpoint). The plan's part
//! growth and every later decision are the core's.

use std::path::{Path, PathBuf};
use std::time::Instant;

use oss_model::ops::{GetObjectTagging, HeadObject, HeadObjectOutput};
use oss_multipart_core::{
    Checkpoint, Config as CoreConfig, CopySource, FailurePolicy as CoreFailurePolicy, Plan,
    PlanError, PlanOptions, SourceSize, Target, Upload,
};

use super::CopyBuilder;
use crate::checkpoint_store;
use crate::error::{CheckpointFailure, Error};
use crate::names::{bucket_name, object_key};
use crate::options::{ObjectOptions, ObjectRequest};
use crate::upload::FailurePolicy;
use crate::upload::prepare::{Prepared, abort_stale, plan_error};

pub(super) async fn prepare(b: &CopyBuilder, now: Instant, seed: u64) -> Result<Prepared, Error> {
    b.options.validate()?;
    let head = head_source(b).await?;
    let source = CopySource::new(&b.src_bucket, &b.src_key, &head.etag, head.content_length)
        .map_err(plan_error)?
        .with_version_id(b.src_version.clone())
        .with_crc64(head.crc64);
    let options =
        PlanOptions::for_copy(b.part_size, b.single_copy_threshold).map_err(plan_error)?;
    let plan = Plan::new(SourceSize::Known(source.size()), &options).map_err(plan_error)?;
    // One CopyObject copies the source's headers and tags itself, unless the options replace
    // them (the directives); parts are assembled by Initiate, which must be told them.
    let object = if plan.is_single_put() {
        b.options.clone()
    } else {
        inherited(b, &head).await?
    };
    let checkpointing = b.checkpoint_dir.is_some() && !plan.is_single_put();
    let config = core_config(b, &object, checkpointing)?;
    let target = Target::new(&b.dst_bucket, &b.dst_key).map_err(plan_error)?;

    let fresh = |checkpointing: bool| {
        let (t, s, p, c) = (target.clone(), source.clone(), plan.clone(), config.clone());
        if checkpointing {
            Upload::copy_with_checkpointing(t, s, p, c, now, seed)
        } else {
            Upload::copy(t, s, p, c, now, seed)
        }
        .map_err(plan_error)
    };
    let (mut resumed, mut aborted_upload_id) = (false, None);
    let Some(dir) = b.checkpoint_dir.as_deref().filter(|_| checkpointing) else {
        return Ok(prepared(b, fresh(false)?, None, resumed, aborted_upload_id));
    };
    let path = checkpoint_store::checkpoint_path(dir, &b.dst_bucket, &b.dst_key, &source_name(b));
    let found = if b.no_resume {
        // Starting over: first abort the upload an earlier run left, if any.
        if let Some(id) = checkpoint_store::upload_id_of(&path).await {
            abort_stale(&b.client, &b.dst_bucket, &b.dst_key, &id, &path).await?;
            aborted_upload_id = Some(id);
        }
        None
    } else {
        checkpoint_store::load::<Checkpoint>(&path).await?
    };
    let up = match found {
        None => fresh(true)?,
        Some(cp) => match Upload::copy_from_checkpoint(&cp, &source, config.clone(), now, seed) {
            Ok(up) => {
                resumed = true;
                up
            }
            // The source was replaced since: the journaled parts are of another object.
            Err(PlanError::SourceChanged) => {
                let id = cp.upload_id().to_owned();
                abort_stale(&b.client, &b.dst_bucket, &b.dst_key, &id, &path).await?;
                aborted_upload_id = Some(id);
                fresh(true)?
            }
            Err(e) => {
                return Err(Error::Checkpoint(CheckpointFailure {
                    path,
                    upload_id: Some(cp.upload_id().to_owned()),
                    reason: e.to_string(),
                }));
            }
        },
    };
    Ok(prepared(b, up, Some(path), resumed, aborted_upload_id))
}

/// A started copy as the shared driver loop takes it (no local source).
fn prepared(
    b: &CopyBuilder,
    up: Upload,
    checkpoint_path: Option<PathBuf>,
    resumed: bool,
    aborted_upload_id: Option<String>,
) -> Prepared {
    Prepared {
        up,
        bucket: b.dst_bucket.clone(),
        key: b.dst_key.clone(),
        file: None,
        stream: None,
        source_stamp: None,
        checkpoint_path,
        resumed,
        aborted_upload_id,
    }
}

/// What names the source in the checkpoint's file name (with the destination).
fn source_name(b: &CopyBuilder) -> PathBuf {
    let mut name = format!("oss://{}/{}", b.src_bucket, b.src_key);
    if let Some(v) = &b.src_version {
        name.push_str("?versionId=");
        name.push_str(v);
    }
    Path::new(&name).to_path_buf()
}

async fn head_source(b: &CopyBuilder) -> Result<HeadObjectOutput, Error> {
    let mut op = HeadObject::new(bucket_name(&b.src_bucket)?, object_key(&b.src_key)?);
    op.conditions.version_id.clone_from(&b.src_version);
    b.client.send(op).await
}

/// The options of a multipart copy: the source's content headers and metadata unless the
/// caller's options carry any (then theirs replace all of them, as OSS's `REPLACE`
/// directive does), and the source's tags unless the caller gave tags.
async fn inherited(b: &CopyBuilder, head: &HeadObjectOutput) -> Result<ObjectOptions, Error> {
    let mut o = b.options.clone();
    if !o.replaces_metadata() {
        o.content_type.clone_from(&head.content_type);
        o.cache_control.clone_from(&head.cache_control);
        o.content_disposition.clone_from(&head.content_disposition);
        o.content_encoding.clone_from(&head.content_encoding);
        o.content_language.clone_from(&head.content_language);
        o.expires.clone_from(&head.expires);
        o.metadata.clone_from(&head.metadata);
    }
    if o.tags.is_empty() && head.tagging_count > 0 {
        let mut op = GetObjectTagging::new(bucket_name(&b.src_bucket)?, object_key(&b.src_key)?);
        op.version_id.clone_from(&b.src_version);
        o.tags = b.client.send(op).await?.tags;
    }
    o.validate()?;
    Ok(o)
}

/// The core's config for a copy: the client's retry policy, the builder's concurrency and
/// failure policy, and the object's headers per request kind (the options' one table).
fn core_config(
    b: &CopyBuilder,
    o: &ObjectOptions,
    checkpointing: bool,
) -> Result<CoreConfig, Error> {
    let mut config = CoreConfig::default();
    config.max_in_flight = b.concurrency.clamp(1, 1000);
    config.sequential = o.sequential;
    config.retry = b.client.inner.retry.policy();
    config.on_failure = match (b.on_failure, checkpointing) {
        (FailurePolicy::KeepParts, _) | (_, true) => CoreFailurePolicy::Keep,
        _ => CoreFailurePolicy::Abort,
    };
    if let Some(ct) = &o.content_type {
        config.content_type.clone_from(ct);
    }
    config.extra_headers.initiate = o.headers(ObjectRequest::Initiate)?;
    config.extra_headers.complete = o.headers(ObjectRequest::Complete)?;
    config.extra_headers.upload_part_copy = o.headers(ObjectRequest::UploadPartCopy)?;
    config.extra_headers.copy_object = o.headers(ObjectRequest::CopyObject)?;
    Ok(config)
}
