//! `ossmp cp SOURCE oss://BUCKET/KEY`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use oss_multipart::CancellationToken;
use oss_multipart::{
    CallbackReply, Client, Error as OssError, FailurePolicy, ObjectOptions, UploadBuilder,
    UploadOutput,
};

use crate::cli::{CpArgs, CpDest, GlobalArgs, MAX_PARTS};
use crate::config::Settings;
use crate::exit::{CliError, Exit, display_chain};
use crate::location::OssUrl;
use crate::lock::UploadLock;
use crate::output::{Out, note, warn};
use crate::progress::{Bar, Snapshot};
use crate::signal::{Signal, wait_for_signal};
use crate::units::Bytes;

/// Where checkpoints go unless `--checkpoint-dir` says otherwise: the user's state directory
/// (`$XDG_STATE_HOME`, else `~/.local/state`; the cache directory where there is none), so they survive
/// reboots and cache clean-ups.
pub(crate) fn default_checkpoint_dir() -> PathBuf {
    dirs::state_dir()
        .or_else(dirs::cache_dir)
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
    /// Keep the parts of a stream (stdin) upload that fails or is interrupted; by default they
    /// are aborted, since a stream cannot resume.
    pub(crate) keep_parts: bool,
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
            keep_parts: args.keep_parts,
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
        if resumable && let Some(dir) = &self.checkpoint_dir {
            b = b.checkpoint_dir(dir.clone());
        }
        if self.no_resume {
            b = b.no_resume();
        }
        if let Some(v) = self.bwlimit {
            b = b.bandwidth_limit(v);
        }
        b = b.options(self.object.clone());
        // Keeping a file's parts is what makes a failed upload resumable; aborting is opt-in.
        // A stream cannot resume: its parts would only be a leak, unless asked for.
        let keep = if resumable {
            !self.abort_on_failure
        } else {
            self.keep_parts
        };
        b.on_failure(if keep {
            FailurePolicy::KeepParts
        } else {
            FailurePolicy::Abort
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
        return Err(
            CliError::usage(format!("{} is a directory", path.display()))
                .hint("add -r to copy the whole directory (ossmp cp -r DIR oss://BUCKET/PREFIX/)"),
        );
    }
    let size = meta.len();
    if let Some(ps) = part_size
        && size.div_ceil(ps) > MAX_PARTS
    {
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

/// Cancels `token` on the first Ctrl-C or SIGTERM, and records which one it was; a second
/// signal exits at once (status 130 or 143).
pub(crate) fn cancel_on_signal(
    token: &CancellationToken,
    bar: &Bar,
    on_cancel: &'static str,
) -> Arc<OnceLock<Signal>> {
    let (token, bar) = (token.clone(), bar.clone());
    let received = Arc::new(OnceLock::new());
    let seen = received.clone();
    tokio::spawn(async move {
        let Some(signal) = wait_for_signal().await else {
            return;
        };
        let _ = seen.set(signal);
        bar.println(format!(
            "{}: {on_cancel} (Ctrl-C again to quit now)",
            signal.stopped()
        ));
        token.cancel();
        if let Some(again) = wait_for_signal().await {
            std::process::exit(i32::from(again.exit().code()));
        }
    });
    received
}

/// `ossmp cp`.
pub(crate) async fn run(
    global: &GlobalArgs,
    settings: &Settings,
    args: CpArgs,
) -> anyhow::Result<()> {
    if args.dir.recursive {
        return super::cp_dir::run(global, settings, args).await;
    }
    let dest = match &args.dest {
        CpDest::Oss(url) if args.source.starts_with("oss://") => {
            return super::cp_copy::run(global, settings, &args, url).await;
        }
        _ if args.source.starts_with("oss://") => {
            return super::cp_download::run(global, settings, args).await;
        }
        CpDest::Oss(url) => url.clone(),
        CpDest::Local(d) => return Err(super::cp_download::no_oss_side(&args.source, d).into()),
    };
    let out = Out::new(global);
    let is_stdin = args.source == "-";
    let path = PathBuf::from(&args.source);
    let dest = destination(&dest, (!is_stdin).then_some(path.as_path()))?;
    let size = if is_stdin {
        None
    } else {
        Some(check_source(&path, args.part_size)?)
    };
    let client = crate::client::build(settings, &global.config)?;
    let opts = UploadOptions::from_args(&args);
    // Held until the run ends: a second run of the same file to the same key would take over
    // this run's upload.
    let _lock = match opts.checkpoint_dir.as_ref().filter(|_| !is_stdin) {
        Some(dir) => {
            prepare_checkpoint_dir(dir)?;
            Some(UploadLock::acquire(dir, &path, &dest)?)
        }
        None => None,
    };
    let bar = Bar::new("upload", size, global.quiet || out.json);
    let checkpoint_warning = Arc::new(OnceLock::new());
    let token = CancellationToken::new();
    let signal = cancel_on_signal(
        &token,
        &bar,
        if is_stdin && !opts.keep_parts {
            "aborting the upload (a stream cannot resume)"
        } else {
            "stopping after the parts in flight and saving the checkpoint"
        },
    );
    let started = Instant::now();
    let result = start(
        &client,
        &dest,
        if is_stdin { None } else { Some(&path) },
        &opts,
    )
    .progress(with_checkpoint_warning(
        progress_fn(&bar),
        &bar,
        &checkpoint_warning,
    ))
    .cancellation(token.clone())
    .send()
    .await;
    bar.finish();
    let stopped_by = signal.get().copied().unwrap_or(Signal::Interrupt);
    let output = result.map_err(|e| annotate(e, &args.source, &dest, stopped_by))?;
    let elapsed = started.elapsed();
    if let Some(id) = &output.aborted_upload_id {
        note(&format!(
            "aborted upload {id}, left by an earlier run of this file: {}",
            if args.no_resume {
                "--no-resume"
            } else {
                "the file changed since it was started, so its stored parts were of other bytes"
            }
        ));
    }
    let check = post_check(&client, &output).await?;
    let mut warnings: Vec<String> = checkpoint_warning.get().cloned().into_iter().collect();
    if let Some(w) = check.warning(&dest) {
        warn(&w);
        warnings.push(w);
    }
    report_success(
        &out,
        &args.source,
        &dest,
        &output,
        &check,
        &warnings,
        elapsed,
    );
    Ok(())
}

/// `oss://b/dir/` means "into dir/", as in ossutil and aws: the key is the prefix plus the file
/// name. A stream has no name, so it needs a full key.
fn destination(dest: &OssUrl, file: Option<&Path>) -> Result<OssUrl, CliError> {
    if !dest.is_prefix() {
        return Ok(dest.clone());
    }
    match file.and_then(Path::file_name) {
        Some(name) => Ok(dest.for_file(&name.to_string_lossy())),
        None => Err(CliError::usage(format!(
            "{dest} ends with `/`: give the object's full key when uploading stdin"
        ))),
    }
}

/// Adds to a progress callback the one warning, on stderr at once, that checkpoint saves have
/// started failing (a full disk): the upload goes on, but resuming it would repeat the parts
/// confirmed since the last checkpoint that was saved. The warning is kept for the summary.
fn with_checkpoint_warning(
    show: impl Fn(&oss_multipart::Progress) + Send + Sync + 'static,
    bar: &Bar,
    warning: &Arc<OnceLock<String>>,
) -> impl Fn(&oss_multipart::Progress) + Send + Sync + 'static {
    let (bar, warning) = (bar.clone(), warning.clone());
    move |p| {
        show(p);
        if let Some(why) = &p.checkpoint_error {
            let text = format!(
                "could not save the checkpoint ({why}); the upload goes on, but a resume would \
                 start from the last checkpoint saved"
            );
            if warning.set(text.clone()).is_ok() {
                bar.suspend(|| warn(&text));
            }
        }
    }
}

/// Creates the checkpoint directory and proves a file can be written in it, before anything is
/// sent: an upload whose checkpoint cannot be saved cannot resume, and would find out only
/// when it is too late.
pub(crate) fn prepare_checkpoint_dir(dir: &Path) -> Result<(), CliError> {
    let unusable = |e: std::io::Error| {
        CliError::usage(format!(
            "the checkpoint directory {} is not writable: {e}",
            dir.display()
        ))
        .hint("pass --checkpoint-dir DIR with a writable directory (the checkpoint is what lets a run resume)")
    };
    std::fs::create_dir_all(dir).map_err(unusable)?;
    let mut probe = tempfile::Builder::new()
        .prefix(".ossmp-probe")
        .tempfile_in(dir)
        .map_err(unusable)?;
    use std::io::Write as _;
    probe
        .write_all(&[b' '; 4096])
        .and_then(|()| probe.as_file().sync_all())
        .map_err(unusable)
}

/// What the look at the stored object after the upload found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PostCheck {
    /// Size and CRC-64 of the stored object equal the source's.
    Verified,
    /// The size is right; the service reports no CRC-64 to compare.
    SizeOnly,
    /// The object is stored (Complete/PutObject succeeded) but could not be looked at again.
    NotChecked(String),
}

impl PostCheck {
    fn name(&self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::SizeOnly => "size_only",
            Self::NotChecked(_) => "failed",
        }
    }

    /// The warning for the user, if any.
    fn warning(&self, dest: &OssUrl) -> Option<String> {
        match self {
            Self::NotChecked(why) => Some(format!("{dest} stored; not re-checked: {why}")),
            _ => None,
        }
    }
}

/// Asks OSS for the stored object's size and CRC-64 and compares them with what was read and
/// sent. The library already checked each part's CRC-64 and, when the service reports one,
/// Complete's; this second look at the stored object is what lets us say "end to end".
///
/// Once Complete (or PutObject) succeeded the object exists and the checkpoint is gone, so a
/// HEAD that fails is a warning, never a failure: failing would make the user upload it again.
///
/// # Errors
/// Exit 5 when the stored size or CRC-64 differs from the source's.
pub(crate) async fn post_check(client: &Client, o: &UploadOutput) -> Result<PostCheck, CliError> {
    let head = match client.head_object(&o.bucket, &o.key).await {
        Ok(head) => head,
        Err(e) => return Ok(PostCheck::NotChecked(display_chain(&e))),
    };
    let differs = |what: String| {
        CliError::new(Exit::Integrity, what).hint(
            "the stored object is not what was sent: make sure nothing else writes that key \
             and nothing modifies the source, then upload it again",
        )
    };
    if head.content_length != o.size {
        return Err(differs(format!(
            "oss://{}/{} holds {} bytes after the upload, not the {} bytes sent",
            o.bucket, o.key, head.content_length, o.size
        )));
    }
    match head.crc64 {
        Some(remote) if remote == o.crc64 => Ok(PostCheck::Verified),
        Some(remote) => Err(differs(format!(
            "CRC64 mismatch for oss://{}/{}: local data {}, stored object {remote}",
            o.bucket, o.key, o.crc64
        ))),
        None => Ok(PostCheck::SizeOnly),
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

fn annotate(e: OssError, source: &str, dest: &OssUrl, signal: Signal) -> anyhow::Error {
    if !e.is_cancelled() {
        return anyhow::Error::new(e).context(format!("uploading {source} to {dest}"));
    }
    let (exit, stopped) = (signal.exit(), signal.stopped());
    let upload_id = e.upload_id().map(str::to_owned);
    if source == "-" {
        // A stream cannot resume: its upload was aborted, or kept because --keep-parts said so.
        let err = match &upload_id {
            Some(id) => CliError::new(
                exit,
                format!("upload of stdin to {dest} {stopped}; its parts are kept as upload {id}"),
            )
            .hint(format!(
                "a stream cannot resume: `ossmp uploads abort {dest} {id}` deletes them"
            ))
            .aborted(false),
            None => CliError::new(
                exit,
                format!(
                    "upload of stdin to {dest} {stopped}; the upload was aborted, nothing is stored"
                ),
            )
            .hint("send the data again with the same command")
            .aborted(true),
        };
        return err.upload_id(upload_id).into();
    }
    let checkpoint = e.checkpoint_path().filter(|p| p.is_file());
    let hint = match checkpoint {
        Some(p) => format!(
            "run the same command again to resume (checkpoint {})",
            p.display()
        ),
        None => "run the same command again".to_owned(),
    };
    CliError::new(
        exit,
        format!("upload of {source} to {dest} {stopped}; the parts stored so far are kept"),
    )
    .hint(hint)
    .checkpoint(checkpoint.map(Path::to_path_buf))
    .upload_id(upload_id)
    .into()
}

fn report_success(
    out: &Out,
    source: &str,
    dest: &OssUrl,
    o: &UploadOutput,
    check: &PostCheck,
    warnings: &[String],
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
            "aborted_upload_id": o.aborted_upload_id,
            "etag": o.etag,
            "crc64": o.crc64.to_string(),
            "crc64_verified": *check == PostCheck::Verified,
            "post_check": check.name(),
            "warnings": warnings,
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
    out.info(match check {
        PostCheck::Verified => format!(
            "CRC64 verified end to end: {} (local data = stored object), ETag {}",
            o.crc64, o.etag
        ),
        PostCheck::SizeOnly => format!(
            "local CRC64 {}; the service reports none for the stored object, so its size and \
             the per-part checks were verified; ETag {}",
            o.crc64, o.etag
        ),
        PostCheck::NotChecked(_) => format!(
            "local CRC64 {}; the per-part checks passed; ETag {}",
            o.crc64, o.etag
        ),
    });
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
        assert_eq!(e.exit(), Exit::Usage);
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
