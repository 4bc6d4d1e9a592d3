//! Prepare: from an [`UploadBuilder`] to a started [`Upload`] machine (open the source, load a
//! checkpoint, plan, configure). The plan shaping and every other policy are the core's; the
//! mapping from the builder's options to the core's config is pure and unit-tested here.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use oss_multipart_core::{
    Checkpoint, Config as CoreConfig, FailurePolicy as CoreFailurePolicy, Plan, PlanError,
    PlanOptions, SourceSize, Target, Upload,
};

use super::source::{FileStamp, Source, StreamSource, file_identity};
use super::{FailurePolicy, Start, UploadBuilder};
use crate::checkpoint_store;
use crate::client::Client;
use crate::config::RetryConfig;
use crate::error::{CheckpointFailure, Error, IntegrityError};
use crate::options::ObjectRequest;

/// A started machine and what the run loop needs besides it.
pub(crate) struct Prepared {
    pub(crate) up: Upload,
    /// Bucket and key of the upload (a checkpoint may name other ones than the builder).
    pub(crate) bucket: String,
    pub(crate) key: String,
    pub(crate) file: Option<Arc<File>>,
    pub(crate) stream: Option<StreamSource>,
    /// Size and modification time of the file when the upload started, for `Op::CheckSource`.
    pub(crate) source_stamp: Option<FileStamp>,
    pub(crate) checkpoint_path: Option<PathBuf>,
    pub(crate) resumed: bool,
    /// The upload of an earlier run aborted before this one started (see `abort_stale`).
    pub(crate) aborted_upload_id: Option<String>,
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

/// Parts of a stream's memory budget under the adaptive concurrency (its parts are buffered
/// until confirmed, so the default budget does not follow the ceiling).
const STREAM_BUDGET_PARTS: usize = 8;

pub(super) async fn prepare(
    b: &mut UploadBuilder,
    now: Instant,
    seed: u64,
) -> Result<Prepared, Error> {
    let client = b.client.clone();
    let checkpointing = b.checkpoint_dir.is_some();
    let config = core_config(b, &client.inner.retry, checkpointing)?;
    let source = std::mem::replace(&mut b.source, Source::Stream(Box::new(tokio::io::empty())));
    let opened = open(source, checkpointing || !matches!(b.start, Start::Fresh)).await?;
    let size = match &opened {
        Opened::File { meta, .. } => SourceSize::Known(meta.len()),
        Opened::Stream(_) => SourceSize::Unknown,
    };
    let part_size = b.part_size.unwrap_or(super::DEFAULT_PART_SIZE);
    let slots = match size {
        _ if b.options.sequential => 1,
        // A stream's parts are buffered: the adaptive ceiling does not set its budget.
        SourceSize::Unknown if b.parallelism.adaptive => {
            b.parallelism.ceiling().min(STREAM_BUDGET_PARTS)
        }
        _ => b.parallelism.ceiling(),
    };
    let mut options =
        PlanOptions::for_upload(size, part_size, slots, b.memory_budget).map_err(plan_error)?;
    if matches!(b.start, Start::UploadId(_)) {
        // An upload id is a multipart upload, however small the file.
        options.single_put_threshold = 0;
    }

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
            Upload::from_checkpoint(&cp, &file_identity(meta), config, now, seed)
                .map_err(plan_error)?
        }
        (Start::UploadId(id), Opened::File { path, meta, .. }) => {
            let target = Target::new(&bucket, &key).map_err(plan_error)?;
            let plan = Plan::new(size, &options).map_err(plan_error)?;
            let current = file_identity(meta);
            if let Some(dir) = &b.checkpoint_dir {
                checkpoint_path = Some(checkpoint_store::checkpoint_path(dir, &bucket, &key, path));
            }
            let ident = checkpointing.then_some(current);
            resumed = true;
            // Without a part size, the machine adopts the one the upload was started with.
            let resume = if b.part_size.is_some() {
                Upload::resume_upload_id
            } else {
                Upload::resume_upload_id_adopting_part_size
            };
            resume(target, id.clone(), plan, config, ident, now, seed).map_err(plan_error)?
        }
        (Start::Fresh, _) => {
            let target = Target::new(&bucket, &key).map_err(plan_error)?;
            let plan = Plan::new(size, &options).map_err(plan_error)?;
            match (&b.checkpoint_dir, &opened) {
                (Some(dir), Opened::File { path, meta, .. }) => {
                    let cp_path = checkpoint_store::checkpoint_path(dir, &bucket, &key, path);
                    let current = file_identity(meta);
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
pub(crate) async fn abort_stale(
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
/// The object options reach the core as finished headers per request kind
/// ([`ObjectOptions::headers`] is the one table of which header goes where).
fn core_config(
    b: &UploadBuilder,
    retry: &RetryConfig,
    checkpointing: bool,
) -> Result<CoreConfig, Error> {
    if let Some(e) = &b.option_error {
        return Err(e.clone().into());
    }
    let o = &b.options;
    let mut config = CoreConfig::default();
    config.max_in_flight = b.parallelism.ceiling().clamp(1, 1000);
    config.adaptive = b.parallelism.core_adaptive();
    config.hedging = b.parallelism.core_hedging();
    config.sequential = o.sequential;
    config.retry = retry.policy();
    config.on_failure = match (b.on_failure, checkpointing) {
        (FailurePolicy::KeepParts, _) | (_, true) => CoreFailurePolicy::Keep,
        _ => CoreFailurePolicy::Abort,
    };
    if let Some(ct) = &o.content_type {
        config.content_type.clone_from(ct);
    } else if let Some(guessed) = b.guess_content_type.then(|| guessed_type(b)).flatten() {
        config.content_type = guessed.to_owned();
    }
    config.content_md5 = o.content_md5;
    config.extra_headers.initiate = o.headers(ObjectRequest::Initiate)?;
    config.extra_headers.upload_part = o.headers(ObjectRequest::UploadPart)?;
    config.extra_headers.put_object = o.headers(ObjectRequest::PutObject)?;
    config.extra_headers.complete = o.headers(ObjectRequest::Complete)?;
    // A file can change under the upload; a stream is read once and checked as it is read.
    config.check_source = matches!(b.source, Source::File(_));
    Ok(config)
}

/// The MIME type registered for the key's extension, else for the source file's.
fn guessed_type(b: &UploadBuilder) -> Option<&'static str> {
    let by_key = mime_guess::from_path(&b.key).first_raw();
    by_key.or_else(|| match &b.source {
        Source::File(path) => mime_guess::from_path(path).first_raw(),
        Source::Stream(_) => None,
    })
}

pub(crate) fn plan_error(e: PlanError) -> Error {
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{Client, Credentials};

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
        let c = core_config(&b, &retry, false).unwrap();
        assert_eq!(c.max_in_flight, 7);
        assert_eq!(c.retry, retry.policy());
        assert_eq!(c.on_failure, CoreFailurePolicy::Keep);
        assert_eq!(c.content_type, "text/plain");
        assert!(c.check_source);
        let names = |h: &[(http::HeaderName, http::HeaderValue)]| -> Vec<String> {
            h.iter().map(|(n, _)| n.as_str().to_owned()).collect()
        };
        assert_eq!(
            names(&c.extra_headers.initiate),
            [
                "content-type",
                "x-oss-meta-origin",
                "x-oss-forbid-overwrite"
            ]
        );
        assert_eq!(
            names(&c.extra_headers.complete),
            ["x-oss-object-acl", "x-oss-forbid-overwrite"]
        );
        assert!(c.extra_headers.upload_part.is_empty());
        assert!(c.validate().is_ok());

        let bad = builder().object_acl("world-writable");
        assert!(core_config(&bad, &retry, false).unwrap_err().is_usage());

        let b = builder().sequential(true);
        let c = core_config(&b, &retry, true).unwrap();
        assert!(c.sequential);
        assert_eq!(
            c.on_failure,
            CoreFailurePolicy::Keep,
            "checkpointing keeps parts"
        );
        assert_eq!(
            core_config(&builder(), &retry, false).unwrap().on_failure,
            CoreFailurePolicy::Abort
        );
    }

    #[test]
    fn content_type_is_guessed_from_the_key_then_the_file_unless_given_or_disabled() {
        let retry = RetryConfig::default();
        let client = builder().client;
        let of = |b: UploadBuilder| core_config(&b, &retry, false).unwrap().content_type;
        assert_eq!(
            of(client.upload_file("b", "d/pic.jpg", "/x/data")),
            "image/jpeg"
        );
        assert_eq!(
            of(client.upload_file("b", "d/page", "/x/a.html")),
            "text/html"
        );
        assert_eq!(
            of(client.upload_stream("b", "notes.txt", tokio::io::empty())),
            "text/plain"
        );
        let given = client
            .upload_file("b", "pic.jpg", "/x/pic.jpg")
            .content_type("x/y");
        assert_eq!(of(given), "x/y");
        let off = client
            .upload_file("b", "pic.jpg", "/x/pic.jpg")
            .guess_content_type(false);
        assert_eq!(of(off), "application/octet-stream");
        assert_eq!(
            of(client.upload_file("b", "blob", "/x/blob")),
            "application/octet-stream"
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
