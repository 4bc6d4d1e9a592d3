//! `ossmp cp -r DIR oss://BUCKET/PREFIX/` and `ossmp cp -r oss://BUCKET/PREFIX/ DIR`: the
//! library's transfer manager with the cp flags.

use std::path::PathBuf;

use clap::Args;
use oss_multipart::{
    CancellationToken, DirOutput, DirTransfer, FileAction, FileTask, SymlinkPolicy, UpdateMode,
};

use crate::cli::{CpArgs, CpDest, GlobalArgs};
use crate::config::Settings;
use crate::exit::{CliError, Exit, display_chain};
use crate::location::OssUrl;
use crate::output::{Out, warn};
use crate::progress::Bar;
use crate::signal::Signal;
use crate::units::Bytes;

/// The `cp` flags for directories (flattened into `ossmp cp`).
#[derive(Debug, Args)]
pub(crate) struct DirArgs {
    /// Copy a whole directory up (its contents go under the prefix), or everything under a
    /// prefix down into a directory.
    #[arg(short = 'r', long)]
    pub(crate) recursive: bool,
    /// With -r: only files whose path (relative, `/`-separated) matches this glob; repeatable.
    /// A glob without `/` matches file names at any depth (`*.jpg`).
    #[arg(long, value_name = "GLOB", requires = "recursive")]
    pub(crate) include: Vec<String>,
    /// With -r: leave out files matching this glob; repeatable; wins over --include.
    #[arg(long, value_name = "GLOB", requires = "recursive")]
    pub(crate) exclude: Vec<String>,
    /// With -r: skip files whose size and CRC-64 already match at the destination.
    #[arg(short = 'u', long, requires = "recursive")]
    pub(crate) update: bool,
    /// With -u: compare size and modification time instead of CRC-64 (reads nothing).
    #[arg(long, requires = "update")]
    pub(crate) by_mtime: bool,
    /// With -r: list what would be copied (after filters and -u) and copy nothing.
    #[arg(long, requires = "recursive")]
    pub(crate) dry_run: bool,
    /// With -r (uploads): skip symbolic links instead of following them.
    #[arg(long, requires = "recursive")]
    pub(crate) no_follow_symlinks: bool,
}

/// `ossmp cp -r`.
pub(crate) async fn run(
    global: &GlobalArgs,
    settings: &Settings,
    args: CpArgs,
) -> anyhow::Result<()> {
    let out = Out::new(global);
    let client = crate::client::build(settings, &global.config)?;
    let (transfer, from, to) = match (&args.dest, args.source.strip_prefix("oss://")) {
        (CpDest::Oss(url), None) => {
            let dir = PathBuf::from(&args.source);
            if !dir.is_dir() {
                return Err(
                    CliError::usage(format!("{} is not a directory", args.source))
                        .hint("cp -r uploads a directory; drop -r to upload one file")
                        .into(),
                );
            }
            let prefix = as_prefix(&url.key);
            let to = format!("oss://{}/{prefix}", url.bucket);
            (
                client.upload_dir(dir, &url.bucket, &prefix),
                args.source.clone(),
                to,
            )
        }
        (CpDest::Local(dir), Some(_)) => {
            let url: OssUrl = args
                .source
                .parse()
                .map_err(|e: crate::location::UrlError| CliError::usage(e.to_string()))?;
            let prefix = as_prefix(&url.key);
            let from = format!("oss://{}/{prefix}", url.bucket);
            (
                client.download_prefix(&url.bucket, &prefix, dir),
                from,
                dir.clone(),
            )
        }
        _ => {
            return Err(CliError::usage("cp -r copies between a local directory and oss://BUCKET/PREFIX/")
                .hint("e.g. ossmp cp -r ./site oss://bucket/site/  or  ossmp cp -r oss://bucket/site/ ./site")
                .into());
        }
    };
    let transfer = configure(transfer, &args);
    if args.dir.dry_run {
        let plan = transfer.plan().await.map_err(|e| context(e, &from, &to))?;
        report_plan(&out, &from, &to, &plan);
        return Ok(());
    }
    let bar = Bar::new("copy", None, global.quiet || out.json);
    let token = CancellationToken::new();
    let signal = super::cp::cancel_on_signal(&token, &bar, "stopping after the files in flight");
    let progress_bar = bar.clone();
    let result = transfer
        .cancellation(token)
        .progress(move |p| progress_bar.update_files(p))
        .send()
        .await;
    bar.finish();
    let output = result.map_err(|e| context(e, &from, &to))?;
    let stopped_by = signal.get().copied().unwrap_or(Signal::Interrupt);
    report(&out, &from, &to, &output, stopped_by)
}

/// `dir` → `dir/`: `-r` always means "into this prefix". The bucket root stays empty.
fn as_prefix(key: &str) -> String {
    if key.is_empty() || key.ends_with('/') {
        key.to_owned()
    } else {
        format!("{key}/")
    }
}

fn configure(mut t: DirTransfer, args: &CpArgs) -> DirTransfer {
    let d = &args.dir;
    for g in &d.include {
        t = t.include(g.clone());
    }
    for g in &d.exclude {
        t = t.exclude(g.clone());
    }
    if d.update {
        t = t.update(if d.by_mtime {
            UpdateMode::SizeAndMtime
        } else {
            UpdateMode::SizeAndCrc64
        });
    }
    if d.no_follow_symlinks {
        t = t.symlinks(SymlinkPolicy::Skip);
    }
    if let Some(j) = args.jobs {
        t = t.concurrency(usize::from(j));
    }
    if let Some(p) = args.part_size {
        t = t.part_size(p);
    }
    if let Some(m) = args.memory {
        t = t.memory_budget(m);
    }
    let checkpoints = args
        .checkpoint_dir
        .clone()
        .unwrap_or_else(super::cp::default_checkpoint_dir);
    if !args.no_resume && std::fs::create_dir_all(&checkpoints).is_ok() {
        t = t.checkpoint_dir(checkpoints);
    }
    t
}

fn context(e: oss_multipart::Error, from: &str, to: &str) -> anyhow::Error {
    anyhow::Error::new(e).context(format!("copying {from} to {to}"))
}

fn action_name(a: &FileAction) -> &'static str {
    match a {
        FileAction::Transfer => "copy",
        FileAction::Unchanged => "unchanged",
        FileAction::Symlink => "symlink",
        FileAction::Refused(_) => "refused",
        _ => "other",
    }
}

fn task_json(t: &FileTask) -> serde_json::Value {
    let reason = match &t.action {
        FileAction::Refused(why) => Some(why.as_str()),
        _ => None,
    };
    serde_json::json!({ "path": t.path.to_string_lossy(), "key": t.key, "size": t.size, "action": action_name(&t.action), "reason": reason })
}

fn shown(t: &FileTask) -> String {
    format!("{} <-> {}", t.path.display(), t.key)
}

fn report_plan(out: &Out, from: &str, to: &str, plan: &[FileTask]) {
    let copy: Vec<_> = plan
        .iter()
        .filter(|t| t.action == FileAction::Transfer)
        .collect();
    if out.json {
        let files: Vec<_> = plan.iter().map(task_json).collect();
        out.json_line(&serde_json::json!({
            "status": "ok", "command": "cp", "recursive": true, "dry_run": true, "source": from, "destination": to,
            "would_copy": copy.len(), "bytes": copy.iter().map(|t| t.size).sum::<u64>(), "files": files,
        }));
        return;
    }
    for t in plan {
        out.result(format!("{:<9} {}", action_name(&t.action), shown(t)));
    }
    out.info(format!(
        "dry run: {} file(s), {} would be copied from {from} to {to}; nothing was",
        copy.len(),
        Bytes(copy.iter().map(|t| t.size).sum())
    ));
}

/// How a copy that did not do everything ends: its exit status and the one-line report.
fn verdict(o: &DirOutput, refused: usize, stopped_by: Signal) -> CliError {
    if !o.failed.is_empty() && o.failed.iter().all(|f| f.error.is_cancelled()) {
        return CliError::new(
            stopped_by.exit(),
            format!(
                "copy {}: {} file(s) not copied",
                stopped_by.stopped(),
                o.failed.len()
            ),
        )
        .hint("run the same command with -u to continue; finished parts of big files are reused");
    }
    CliError::new(
        Exit::Failure,
        format!(
            "{} file(s) failed and {refused} were refused",
            o.failed.len()
        ),
    )
    .hint("each one is listed above; re-run with -u to retry only what is missing")
}

fn report(
    out: &Out,
    from: &str,
    to: &str,
    o: &DirOutput,
    stopped_by: Signal,
) -> anyhow::Result<()> {
    let refused: Vec<_> = o
        .skipped
        .iter()
        .filter(|t| matches!(t.action, FileAction::Refused(_)))
        .collect();
    let unchanged = o
        .skipped
        .iter()
        .filter(|t| t.action == FileAction::Unchanged)
        .count();
    for t in &refused {
        if let FileAction::Refused(why) = &t.action {
            warn(&format!("refused {}: {why}", t.key));
        }
    }
    for f in &o.failed {
        warn(&format!(
            "failed {} <-> {}: {}",
            f.path.display(),
            f.key,
            display_chain(&f.error)
        ));
    }
    let error = (!o.is_complete()).then(|| verdict(o, refused.len(), stopped_by));
    if out.json {
        let failed: Vec<_> = o
            .failed
            .iter()
            .map(|f| serde_json::json!({ "path": f.path.to_string_lossy(), "key": f.key, "error": display_chain(&f.error) }))
            .collect();
        let refused: Vec<_> = refused.iter().map(|t| task_json(t)).collect();
        // One line whatever the outcome: a failure's status, exit code and advice are in it.
        out.json_line(&serde_json::json!({
            "status": if error.is_none() { "ok" } else { "error" }, "command": "cp", "recursive": true,
            "dry_run": false, "source": from, "destination": to, "copied": o.transferred.len(),
            "bytes": o.bytes(), "unchanged": unchanged, "skipped": o.skipped.len(), "refused": refused,
            "failed": failed,
            "exit_code": error.as_ref().map_or(0, |e| e.exit().code()),
            "kind": error.as_ref().map(|e| e.exit().name()),
            "message": error.as_ref().map(ToString::to_string),
            "hint": error.as_ref().and_then(CliError::hint_text),
        }));
    } else {
        out.info(format!(
            "copied {} file(s), {}, from {from} to {to}; {unchanged} unchanged, {} skipped, {} failed",
            o.transferred.len(),
            Bytes(o.bytes()),
            o.skipped.len() - unchanged,
            o.failed.len()
        ));
    }
    match error {
        None => Ok(()),
        Some(e) if out.json => Err(e.json_reported().into()),
        Some(e) => Err(e.into()),
    }
}
