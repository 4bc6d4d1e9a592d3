//! `ossmp cp SOURCE oss://BUCKET/KEY`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oss_multipart::CancellationToken;
use oss_multipart::{
    CallbackReply, Client, Error as OssError, FailurePolicy, ObjectOptions, UploadBuilder,
    UploadOutput,
};

use crate::cli::{CpArgs, CpDest, GlobalArgs, MAX_PARTS};
use crate::config::Settings;
use crate::exit::CliError;
use crate::location::OssUrl;
use crate::output::Out;
use crate::progress::{Bar, Snapshot};
use crate::units::Bytes;

/// Where checkpoints go unless `--checkpoint-dir` says otherwise: the user's cache directory, so they survive
/// reboots but are understood to be disposable.
pub(crate) fn default_checkpoint_dir() -> PathBuf {
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("ossmp")
        .join("checkpoints")
}

/// Upload options shared by `cp` and `demo`.
#[derive(Debug, Clone, Default)]
pub(crate) struct UploadOptions {
    pub(crate) part_size: Option<u64>,
    pub(crate) jobs: Option<u16>,
    pub(crate) memory: Option<u64>,
    pub(crate) checkpoint_dir: Option<PathBuf>,
    pub(crate) no_resume: bool,
    pub(crate) bwlimit: Option<u64>,
    /// Object attributes and per-request options (validated by the library before any
    /// request).
    pub(crate) object: ObjectOptions,
    pub(crate) abort_on_failure: bool,
}

impl UploadOptions {
    fn from_args(args: &CpArgs) -> Self {
        Self {
            part_size: args.part_size,
            jobs: args.jobs,
            memory: args.memory,
            checkpoint_dir: Some(
                args.checkpoint_dir
                    .clone()
                    .unwrap_or_else(default_checkpoint_dir),
            ),
            no_resume: args.no_resume,
            bwlimit: args.bwlimit,
            object: object_options(args),
            abort_on_failure: args.abort_on_failure,
        }
    }

    /// Applies every option to a library upload builder.
    pub(crate) fn apply(&self, mut b: UploadBuilder, resumable: bool) -> UploadBuilder {
        if let Some(v) = self.part_size {
            b = b.part_size(v);
        }
        if let Some(v) = self.jobs {
            b = b.concurrency(usize::from(v));
        }
        if let Some(v) = self.memory {
            b = b.memory_budget(v);
        }
        if resumable {
            if let Some(dir) = &self.checkpoint_dir {
                b = b.checkpoint_dir(dir.clone());
            }
        }
        if self.no_resume {
            b = b.no_resume();
        }
        if let Some(v) = self.bwlimit {
            b = b.bandwidth_limit(v);
        }
        b = b.options(self.object.clone());
        // Keeping the parts is what makes a failed upload resumable; aborting is opt-in.
        b.on_failure(if self.abort_on_failure {
            FailurePolicy::Abort
        } else {
            FailurePolicy::KeepParts
        })
    }
}

/// The object options of `ossmp cp`'s flags.
fn object_options(args: &CpArgs) -> ObjectOptions {
    let mut o = ObjectOptions::new()
        .with_tags(args.tagging.clone().map(|t| t.0).unwrap_or_default())
        .with_forbid_overwrite(args.forbid_overwrite || args.no_clobber)
        .with_content_md5(args.content_md5)
        .with_sequential(args.sequential);
    o.metadata.clone_from(&args.meta);
    o.storage_class = args.storage_class;
    o.sse = args.sse;
    o.sse_key_id.clone_from(&args.sse_key_id);
    o.sse_data_encryption.clone_from(&args.sse_data);
    o.acl = args.acl;
    o.content_type.clone_from(&args.content_type);
    o.cache_control.clone_from(&args.cache_control);
    o.content_disposition.clone_from(&args.content_disposition);
    o.content_encoding.clone_from(&args.content_encoding);
    o.content_language.clone_from(&args.content_language);
    o.expires.clone_from(&args.expires);
    o.traffic_limit = args.traffic_limit;
    o.callback.clone_from(&args.callback);
    o.callback_var.clone_from(&args.callback_var);
    o
}

/// Checks a local source file before anything is sent: exists, is a file, and fits in 10,000 parts.
pub(crate) fn check_source(path: &Path, part_size: Option<u64>) -> Result<u64, CliError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(
                CliError::usage(format!("source file {} does not exist", path.display()))
                    .hint("check the path, or use `-` to upload stdin"),
            );
        }
        Err(e) => {
            return Err(CliError::usage(format!(
                "cannot read source file {}: {e}",
                path.display()
            )));
        }
    };
    if meta.is_dir() {
        return Err(CliError::usage(format!("{} is a directory", path.display()))
            .hint("ossmp cp uploads one file; archive the directory first (e.g. tar c DIR | ossmp cp - oss://...)"));
    }
    let size = meta.len();
    if let Some(ps) = part_size {
        if size.div_ceil(ps) > MAX_PARTS {
            let min = size.div_ceil(MAX_PARTS);
            return Err(CliError::usage(format!(
                "{} in parts of {} needs {} parts, more than OSS's 10000",
                Bytes(size),
                Bytes(ps),
                size.div_ceil(ps)
            ))
            .hint(format!(
                "use --part-size {} or more (or leave it out)",
                Bytes(min.next_multiple_of(1 << 20))
            )));
        }
    }
    Ok(size)
}

/// Progress callback feeding a [`Bar`].
pub(crate) fn progress_fn(bar: &Bar) -> impl Fn(&oss_multipart::Progress) + Send + Sync + 'static {
    let bar = bar.clone();
    move |p| {
        bar.update(&Snapshot {
            bytes_done: p.bytes_done,
            bytes_total: p.bytes_total,
            parts_done: p.parts_done,
            parts_in_flight: p.parts_in_flight,
            parts_total: p.parts_total,
            retries: p.retries,
        });
    }
}

/// Cancels `token` on the first Ctrl-C; a second Ctrl-C exits at once (status 130).
pub(crate) fn cancel_on_ctrl_c(token: &CancellationToken, bar: &Bar) {
    let token = token.clone();
    let bar = bar.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        bar.println("interrupted: stopping after the parts in flight and saving the checkpoint (Ctrl-C again to quit now)");
        token.cancel();
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });
}

/// `ossmp cp`.
pub(crate) async fn run(
    global: &GlobalArgs,
    settings: &Settings,
    args: CpArgs,
) -> anyhow::Result<()> {
    let dest = match &args.dest {
        _ if args.source.starts_with("oss://") => {
            return super::cp_download::run(global, settings, args).await;
        }
        CpDest::Oss(url) => url.clone(),
        CpDest::Local(d) => return Err(super::cp_download::no_oss_side(&args.source, d).into()),
    };
    let out = Out::new(global);
    let is_stdin = args.source == "-";
    let path = PathBuf::from(&args.source);
    let size = if is_stdin {
        None
    } else {
        Some(check_source(&path, args.part_size)?)
    };
    let client = crate::client::build(settings, &global.config)?;
    let opts = UploadOptions::from_args(&args);
    if let Some(dir) = opts.checkpoint_dir.as_ref().filter(|_| !is_stdin) {
        std::fs::create_dir_all(dir).map_err(|e| {
            CliError::usage(format!(
                "cannot create checkpoint directory {}: {e}",
                dir.display()
            ))
            .hint("pass --checkpoint-dir DIR")
        })?;
    }
    let bar = Bar::new("upload", size, global.quiet || out.json);
    let token = CancellationToken::new();
    cancel_on_ctrl_c(&token, &bar);
    let started = Instant::now();
    let result = start(
        &client,
        &dest,
        if is_stdin { None } else { Some(&path) },
        &opts,
    )
    .progress(progress_fn(&bar))
    .cancellation(token.clone())
    .send()
    .await;
    bar.finish();
    let output = result.map_err(|e| annotate(e, &args.source, &dest))?;
    let elapsed = started.elapsed();
    let verified = verify_crc64(&client, &output).await?;
    report_success(&out, &args.source, &dest, &output, verified, elapsed);
    Ok(())
}

/// Asks OSS for the stored object's CRC64 and compares it with the CRC64 of the bytes we read and sent.
/// The library already compares the CompleteMultipartUpload response's CRC64; this second look at the stored
/// object is what lets us say "end to end". `Ok(false)` when the service reports no CRC64.
pub(crate) async fn verify_crc64(client: &Client, o: &UploadOutput) -> anyhow::Result<bool> {
    let head = client.head_object(&o.bucket, &o.key).await.map_err(|e| {
        anyhow::Error::new(e).context(format!(
            "checking oss://{}/{} after the upload",
            o.bucket, o.key
        ))
    })?;
    match head.crc64 {
        Some(remote) if remote == o.crc64 => Ok(true),
        Some(remote) => Err(CliError::new(
            crate::exit::Exit::Integrity,
            format!(
                "CRC64 mismatch for oss://{}/{}: local data {:#018x}, stored object {remote:#018x}",
                o.bucket, o.key, o.crc64
            ),
        )
        .hint(
            "make sure nothing modifies the source while it uploads, then re-run with --no-resume",
        )
        .into()),
        None => Ok(false),
    }
}

/// The library builder for a file or stdin upload, with every option applied.
pub(crate) fn start(
    client: &Client,
    dest: &OssUrl,
    path: Option<&Path>,
    opts: &UploadOptions,
) -> UploadBuilder {
    match path {
        Some(p) => opts.apply(client.upload_file(&dest.bucket, &dest.key, p), true),
        None => opts.apply(
            client.upload_stream(&dest.bucket, &dest.key, tokio::io::stdin()),
            false,
        ),
    }
}

fn annotate(e: OssError, source: &str, dest: &OssUrl) -> anyhow::Error {
    if e.is_cancelled() {
        let resume = match e.checkpoint_path() {
            Some(p) => format!(
                "run the same command again to resume (checkpoint {})",
                p.display()
            ),
            None => "run the same command again; stdin uploads start over".to_owned(),
        };
        return CliError::new(
            crate::exit::Exit::Interrupted,
            format!("upload of {source} to {dest} interrupted; the parts stored so far are kept"),
        )
        .hint(resume)
        .checkpoint(e.checkpoint_path().map(Path::to_path_buf))
        .into();
    }
    anyhow::Error::new(e).context(format!("uploading {source} to {dest}"))
}

fn report_success(
    out: &Out,
    source: &str,
    dest: &OssUrl,
    o: &UploadOutput,
    verified: bool,
    elapsed: Duration,
) {
    let rate = rate(o.size, elapsed);
    if out.json {
        out.json_line(&serde_json::json!({
            "status": "ok",
            "command": "cp",
            "source": source,
            "destination": dest.to_string(),
            "bucket": o.bucket,
            "key": o.key,
            "size": o.size,
            "parts": o.parts,
            "parts_reused": o.parts_reused,
            "resumed": o.resumed,
            "upload_id": o.upload_id,
            "etag": o.etag,
            "crc64": o.crc64.to_string(),
            "crc64_verified": verified,
            "elapsed_secs": elapsed.as_secs_f64(),
            "bytes_per_sec": rate,
            "request_id": o.request_id,
            "callback": o.callback.as_ref().map(callback_json),
        }));
        return;
    }
    if let Some(reply) = &o.callback {
        match &reply.error {
            Some(e) => out.info(format!(
                "warning: the object was stored, but its callback failed: {} ({})",
                e.message().escape_debug(),
                e.code().escape_debug()
            )),
            // The reply comes from a third party: escape control characters.
            None => out.info(format!(
                "callback reply: {}",
                String::from_utf8_lossy(&reply.body).escape_debug()
            )),
        }
    }
    if o.resumed {
        out.info(format!(
            "resumed upload {}: {} of {} parts were already stored and were not sent again",
            o.upload_id.as_deref().unwrap_or("?"),
            o.parts_reused,
            o.parts
        ));
    }
    out.info(format!(
        "uploaded {source} to {dest}: {} in {} part{} in {:.1}s ({}/s)",
        Bytes(o.size),
        o.parts,
        if o.parts == 1 { "" } else { "s" },
        elapsed.as_secs_f64(),
        Bytes(rate),
    ));
    if verified {
        out.info(format!(
            "CRC64 verified end to end: {:#018x} (local data = stored object), ETag {}",
            o.crc64, o.etag
        ));
    } else {
        out.info(format!(
            "local CRC64 {:#018x}; the service does not report one, so only the per-part checks were made; ETag {}",
            o.crc64, o.etag
        ));
    }
}

/// The callback reply for `--json`: the body as JSON when it is JSON, else as text.
fn callback_json(reply: &CallbackReply) -> serde_json::Value {
    let body = reply.json::<serde_json::Value>().unwrap_or_else(|_| {
        serde_json::Value::String(String::from_utf8_lossy(&reply.body).into_owned())
    });
    serde_json::json!({
        "failed": reply.is_failed(),
        "error_code": reply.error.as_ref().map(|e| e.code().to_owned()),
        "body": body,
    })
}

/// Bytes per second, rounded down; zero for a zero duration.
pub(crate) fn rate(bytes: u64, elapsed: Duration) -> u64 {
    let secs = elapsed.as_secs_f64();
    if secs <= 0.0 {
        return 0;
    }
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let r = (bytes as f64 / secs) as u64;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_directory_sources_are_usage_errors() {
        let dir = tempfile::tempdir().unwrap();
        let e = check_source(&dir.path().join("nope"), None).unwrap_err();
        assert_eq!(e.exit(), crate::exit::Exit::Usage);
        assert!(e.to_string().contains("does not exist"));
        let e = check_source(dir.path(), None).unwrap_err();
        assert!(e.to_string().contains("directory"));
    }

    #[test]
    fn too_many_parts_is_a_usage_error_with_a_fix() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let f = std::fs::File::create(&p).unwrap();
        f.set_len(10_001 * 102_400).unwrap();
        let e = check_source(&p, Some(102_400)).unwrap_err();
        assert!(e.hint_text().unwrap().contains("--part-size"));
        assert_eq!(check_source(&p, Some(1 << 20)).unwrap(), 10_001 * 102_400);
    }

    #[test]
    fn rates() {
        assert_eq!(rate(100, Duration::from_secs(2)), 50);
        assert_eq!(rate(100, Duration::ZERO), 0);
    }
}
