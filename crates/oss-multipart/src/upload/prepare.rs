//! Prepare: from an [`UploadBuilder`] to a started [`Upload`] machine (open the source, load a
//! checkpoint, plan, configure). The plan shaping and every other policy are the core's; the
//! mapping from the builder's options to the core's config is pure and unit-tested here.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, UNIX_EPOCH};

use oss_multipart_core::{
    Checkpoint, Config as CoreConfig, FailurePolicy as CoreFailurePolicy, Plan, PlanError,
    PlanOptions, SourceIdentity, SourceSize, Target, Upload,
};

use super::source::{FileStamp, Source, StreamSource};
use super::{FailurePolicy, Start, UploadBuilder};
use crate::checkpoint_store;
use crate::client::Client;
use crate::config::RetryConfig;
use crate::error::{CheckpointFailure, Error, IntegrityError};

/// A started machine and what the run loop needs besides it.
pub(super) struct Prepared {
    pub(super) up: Upload,
    /// Bucket and key of the upload (a checkpoint may name other ones than the builder).
    pub(super) bucket: String,
    pub(super) key: String,
    pub(super) file: Option<Arc<File>>,
    pub(super) stream: Option<StreamSource>,
    /// Size and modification time of the file when the upload started, for `Op::CheckSource`.
    pub(super) source_stamp: Option<FileStamp>,
    pub(super) checkpoint_path: Option<PathBuf>,
    pub(super) resumed: bool,
    /// The upload of an earlier run aborted before this one started (see `abort_stale`).
    pub(super) aborted_upload_id: Option<String>,
}

/// The source as opened: a file with its metadata, or a stream.
enum Opened {
    File {
        file: Arc<File>,
        path: PathBuf,
        meta: std::fs::Metadata,
    },
    Stream(StreamSource),
}

pub(super) async fn prepare(
    b: &mut UploadBuilder,
    now: Instant,
    seed: u64,
) -> Result<Prepared, Error> {
    let client = b.client.clone();
    let checkpointing = b.checkpoint_dir.is_some();
    let config = core_config(b, &client.inner.retry, checkpointing);
    let source = std::mem::replace(&mut b.source, Source::Stream(Box::new(tokio::io::empty())));
    let opened = open(source, checkpointing || !matches!(b.start, Start::Fresh)).await?;
    let size = match &opened {
        Opened::File { meta, .. } => SourceSize::Known(meta.len()),
        Opened::Stream(_) => SourceSize::Unknown,
    };
    let part_size = match (b.part_size, &b.start) {
        (Some(p), _) => p,
        (None, Start::UploadId(id)) => first_part_size(&client, &b.bucket, &b.key, id)
            .await
            .unwrap_or(super::DEFAULT_PART_SIZE),
        (None, _) => super::DEFAULT_PART_SIZE,
    };
    let concurrency = if b.sequential { 1 } else { b.concurrency };
    let options = PlanOptions::for_upload(size, part_size, concurrency, b.memory_budget)
        .map_err(plan_error)?;

    let (mut bucket, mut key) = (b.bucket.clone(), b.key.clone());
    let mut checkpoint_path = None;
    let mut resumed = false;
    let mut aborted_upload_id = None;
    let up = match (&b.start, &opened) {
        (Start::Checkpoint(cp_path), Opened::File { meta, .. }) => {
            let cp: Checkpoint = checkpoint_store::load(cp_path)
                .await?
                .ok_or_else(|| Error::config("checkpoint", "no checkpoint at this path"))?;
            let target = cp.target().map_err(plan_error)?;
            bucket = target.bucket().to_owned();
            key = target.key().to_owned();
            checkpoint_path = Some(cp_path.clone());
            resumed = true;
            Upload::from_checkpoint(&cp, &core_identity(meta), config, now, seed)
                .map_err(plan_error)?
        }
        (Start::UploadId(id), Opened::File { path, meta, .. }) => {
            let target = Target::new(&bucket, &key).map_err(plan_error)?;
            let plan = Plan::new(size, &options).map_err(plan_error)?;
            let ident = checkpointing.then(|| core_identity(meta));
            if let Some(dir) = &b.checkpoint_dir {
                checkpoint_path = Some(checkpoint_store::checkpoint_path(dir, &bucket, &key, path));
            }
            resumed = true;
            Upload::resume_upload_id(target, id.clone(), plan, config, ident, now, seed)
                .map_err(plan_error)?
        }
        (Start::Fresh, _) => {
            let target = Target::new(&bucket, &key).map_err(plan_error)?;
            let plan = Plan::new(size, &options).map_err(plan_error)?;
            match (&b.checkpoint_dir, &opened) {
                (Some(dir), Opened::File { path, meta, .. }) => {
                    let cp_path = checkpoint_store::checkpoint_path(dir, &bucket, &key, path);
                    let current = core_identity(meta);
                    let from_cp = if b.no_resume {
                        // Starting over: first abort the upload an earlier run left, if any.
                        if let Some(id) = checkpoint_store::upload_id_of(&cp_path).await {
                            abort_stale(&client, &bucket, &key, &id, &cp_path).await?;
                            aborted_upload_id = Some(id);
                        }
                        None
                    } else {
                        match checkpoint_store::load::<Checkpoint>(&cp_path).await? {
                            None => None,
                            Some(cp) => {
                                match Upload::from_checkpoint(
                                    &cp,
                                    &current,
                                    config.clone(),
                                    now,
                                    seed,
                                ) {
                                    Ok(up) => Some(up),
                                    // The file changed since: its stored parts are of other
                                    // bytes. Abort that upload rather than leak it.
                                    Err(PlanError::SourceChanged) => {
                                        let id = cp.upload_id().to_owned();
                                        abort_stale(&client, &bucket, &key, &id, &cp_path).await?;
                                        aborted_upload_id = Some(id);
                                        None
                                    }
                                    Err(e) => {
                                        return Err(Error::Checkpoint(CheckpointFailure {
                                            path: cp_path,
                                            upload_id: Some(cp.upload_id().to_owned()),
                                            reason: e.to_string(),
                                        }));
                                    }
                                }
                            }
                        }
                    };
                    checkpoint_path = Some(cp_path);
                    match from_cp {
                        Some(up) => {
                            resumed = true;
                            up
                        }
                        None if plan.is_single_put() => {
                            Upload::new(target, plan, config, now, seed).map_err(plan_error)?
                        }
                        None => {
                            Upload::with_checkpointing(target, plan, config, current, now, seed)
                                .map_err(plan_error)?
                        }
                    }
                }
                _ => Upload::new(target, plan, config, now, seed).map_err(plan_error)?,
            }
        }
        // `open` refuses streams for anything but a fresh start.
        (_, Opened::Stream(_)) => return Err(Error::config("source", "resume needs a file")),
    };

    let (file, stream, source_stamp) = match opened {
        Opened::File { file, meta, .. } => (Some(file), None, Some(FileStamp::of(&meta))),
        Opened::Stream(s) => (None, Some(s), None),
    };
    Ok(Prepared {
        up,
        bucket,
        key,
        file,
        stream,
        source_stamp,
        checkpoint_path,
        resumed,
        aborted_upload_id,
    })
}

/// Aborts the multipart upload a checkpoint names, before a new upload of the same file
/// replaces it (`no_resume`, or the file changed), and removes that checkpoint. An upload the
/// server no longer has is fine; any other failure stops here, so nothing is leaked silently.
async fn abort_stale(
    client: &Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
    checkpoint: &std::path::Path,
) -> Result<(), Error> {
    match client.abort_upload(bucket, key, upload_id).await {
        Ok(()) => {}
        Err(e)
            if e.service_error()
                .is_some_and(|s| s.code() == "NoSuchUpload") => {}
        Err(e) => {
            return Err(Error::Checkpoint(CheckpointFailure {
                path: checkpoint.to_path_buf(),
                upload_id: Some(upload_id.to_owned()),
                reason: format!("its upload could not be aborted before starting over ({e})"),
            }));
        }
    }
    tracing::info!(
        upload_id,
        "aborted the upload of an earlier run before starting over"
    );
    checkpoint_store::remove(checkpoint).await
}

/// Opens the source; a stream cannot be checkpointed or resumed (it cannot be read again).
async fn open(source: Source, needs_rereading: bool) -> Result<Opened, Error> {
    match source {
        Source::File(path) => {
            let p = path.clone();
            let (file, meta) = tokio::task::spawn_blocking(move || {
                let f = File::open(&p)?;
                let m = f.metadata()?;
                Ok::<_, std::io::Error>((f, m))
            })
            .await
            .map_err(|e| {
                Error::io(
                    "could not open the source",
                    Some(&path),
                    std::io::Error::other(e),
                )
            })?
            .map_err(|e| Error::io("could not open the source", Some(&path), e))?;
            if !meta.is_file() {
                return Err(Error::config(
                    "source",
                    "the source path is not a regular file",
                ));
            }
            Ok(Opened::File {
                file: Arc::new(file),
                path,
                meta,
            })
        }
        Source::Stream(_) if needs_rereading => Err(Error::config(
            "checkpoint_dir",
            "stream sources cannot be checkpointed or resumed",
        )),
        Source::Stream(r) => Ok(Opened::Stream(StreamSource::new(r))),
    }
}

/// The core's config for the builder's options, the client's retry policy field for field.
fn core_config(b: &UploadBuilder, retry: &RetryConfig, checkpointing: bool) -> CoreConfig {
    let mut config = CoreConfig::default();
    config.max_in_flight = b.concurrency.clamp(1, 1000);
    config.sequential = b.sequential;
    config.retry = retry.policy();
    config.on_failure = match (b.on_failure, checkpointing) {
        (FailurePolicy::KeepParts, _) | (_, true) => CoreFailurePolicy::Keep,
        _ => CoreFailurePolicy::Abort,
    };
    if let Some(ct) = &b.attributes.content_type {
        config.content_type.clone_from(ct);
    }
    config.forbid_overwrite = b.attributes.forbid_overwrite.unwrap_or(false);
    config.attributes = b.attributes.clone();
    config.object_acl.clone_from(&b.object_acl);
    config.callback.clone_from(&b.callback);
    // A file can change under the upload; a stream is read once and checked as it is read.
    config.check_source = matches!(b.source, Source::File(_));
    config
}

fn plan_error(e: PlanError) -> Error {
    match e {
        PlanError::SourceChanged => Error::Integrity(IntegrityError::SourceChanged {
            reason: "the source differs from the checkpoint".to_owned(),
        }),
        PlanError::PartSizeOutOfRange { requested, .. } => Error::config(
            "part_size",
            format!(
                "part size {requested} bytes is out of range: OSS accepts 102,400 bytes \
                 (100 KiB) to 5 GiB"
            ),
        ),
        other => Error::config("upload", other.to_string()),
    }
}

fn core_identity(meta: &std::fs::Metadata) -> SourceIdentity {
    let mut id = SourceIdentity::new(meta.len());
    id.mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .and_then(|d| i128::try_from(d.as_nanos()).ok());
    id
}

/// Size of the server's part 1 of `upload_id` (to plan a stateless resume the same way).
async fn first_part_size(client: &Client, bucket: &str, key: &str, upload_id: &str) -> Option<u64> {
    use futures::StreamExt as _;
    let mut parts = std::pin::pin!(client.list_parts(bucket, key, upload_id));
    match parts.next().await {
        Some(Ok(p)) if p.part_number.get() == 1 && p.size >= oss_model::limits::MIN_PART_SIZE => {
            Some(p.size)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::Credentials;

    fn builder() -> UploadBuilder {
        let client = Client::builder()
            .endpoint("http://127.0.0.1:9")
            .region("cn-hangzhou")
            .credentials(Credentials::new("ak", "sk"))
            .build()
            .expect("client");
        client.upload_file("bucket", "key", "/nonexistent")
    }

    #[test]
    fn core_config_maps_every_option() {
        let retry = RetryConfig {
            max_retries: 9,
            retry_timeout: Duration::from_secs(7),
            ..RetryConfig::default()
        };
        let b = builder()
            .concurrency(7)
            .content_type("text/plain")
            .forbid_overwrite(true)
            .metadata("origin", "test")
            .object_acl("private")
            .on_failure(FailurePolicy::KeepParts);
        let c = core_config(&b, &retry, false);
        assert_eq!(c.max_in_flight, 7);
        assert_eq!(c.retry, retry.policy());
        assert_eq!(c.on_failure, CoreFailurePolicy::Keep);
        assert_eq!(c.content_type, "text/plain");
        assert!(c.forbid_overwrite && c.check_source);
        assert_eq!(
            c.attributes.metadata,
            vec![("origin".into(), "test".into())]
        );
        assert_eq!(c.object_acl.as_deref(), Some("private"));
        assert!(c.validate().is_ok());

        let b = builder().sequential(true);
        let c = core_config(&b, &retry, true);
        assert!(c.sequential);
        assert_eq!(
            c.on_failure,
            CoreFailurePolicy::Keep,
            "checkpointing keeps parts"
        );
        assert_eq!(
            core_config(&builder(), &retry, false).on_failure,
            CoreFailurePolicy::Abort
        );
    }

    #[test]
    fn part_size_errors_are_usage_errors_that_name_the_range() {
        let e = plan_error(PlanError::PartSizeOutOfRange {
            requested: 1,
            min: 102_400,
            max: 5 << 30,
        });
        assert!(e.is_usage());
        assert!(format!("{e:?}").contains("part size 1 bytes"), "{e:?}");
    }
}
