//! `ossmp cp SOURCE oss://BUCKET/KEY`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use oss_multipart::CancellationToken;
use oss_multipart::ops::ServerSideEncryption;
use oss_multipart::{Client, Error as OssError, FailurePolicy, UploadBuilder, UploadOutput};

use crate::cli::{CpArgs, GlobalArgs, MAX_PARTS};
use crate::config::Settings;
use crate::exit::{CliError, Exit, display_chain};
use crate::location::OssUrl;
use crate::lock::UploadLock;
use crate::output::{Out, note, warn};
use crate::progress::{Bar, Snapshot};
use crate::signal::{Signal, wait_for_signal};
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
    pub(crate) meta: Vec<(String, String)>,
    pub(crate) storage_class: Option<String>,
    pub(crate) sse: Option<ServerSideEncryption>,
    pub(crate) tagging: Vec<(String, String)>,
    pub(crate) forbid_overwrite: bool,
    pub(crate) content_type: Option<String>,
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
            meta: args.meta.clone(),
            storage_class: args.storage_class.clone(),
            sse: args.sse,
            tagging: args.tagging.clone().map(|t| t.0).unwrap_or_default(),
            forbid_overwrite: args.forbid_overwrite,
            content_type: args.content_type.clone(),
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
        for (k, v) in &self.meta {
            b = b.metadata(k.clone(), v.clone());
        }
        if let Some(v) = &self.storage_class {
            b = b.storage_class(v.clone());
        }
        if let Some(v) = self.sse {
            b = b.server_side_encryption(v);
        }
        for (k, v) in &self.tagging {
            b = b.tagging(k.clone(), v.clone());
        }
        if self.forbid_overwrite {
            b = b.forbid_overwrite(true);
        }
        if let Some(v) = &self.content_type {
            b = b.content_type(v.clone());
        }
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
    // Held until the run ends: a second run of the same file to the same key would take over
    // this run's upload.
    let _lock = match opts.checkpoint_dir.as_ref().filter(|_| !is_stdin) {
        Some(dir) => {
            prepare_checkpoint_dir(dir)?;
            Some(UploadLock::acquire(dir, &path, &args.dest)?)
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
        &args.dest,
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
    let output = result.map_err(|e| annotate(e, &args.source, &args.dest, stopped_by))?;
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
    if let Some(w) = check.warning(&args.dest) {
        warn(&w);
        warnings.push(w);
    }
    report_success(
        &out,
        &args.source,
        &args.dest,
        &output,
        &check,
        &warnings,
        elapsed,
    );
    Ok(())
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
            "CRC64 mismatch for oss://{}/{}: local data {:#018x}, stored object {remote:#018x}",
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
        }));
        return;
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
            "CRC64 verified end to end: {:#018x} (local data = stored object), ETag {}",
            o.crc64, o.etag
        ),
        PostCheck::SizeOnly => format!(
            "local CRC64 {:#018x}; the service reports none for the stored object, so its size and \
             the per-part checks were verified; ETag {}",
            o.crc64, o.etag
        ),
        PostCheck::NotChecked(_) => format!(
            "local CRC64 {:#018x}; the per-part checks passed; ETag {}",
            o.crc64, o.etag
        ),
    });
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
