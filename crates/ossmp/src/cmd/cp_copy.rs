//! `ossmp cp oss://B/K oss://B2/K2`: a server-side copy through the library's copy manager
//! (one CopyObject up to 1 GiB, else UploadPartCopy parts pinned to the source's ETag; the
//! bytes never pass through this machine). Resumable like an upload: a checkpoint is kept
//! and the same command continues an interrupted copy.

use std::path::Path;
use std::time::Instant;

use oss_multipart::{
    CancellationToken, Client, CopyOutput, DEFAULT_SINGLE_COPY_THRESHOLD, Error as OssError,
    FailurePolicy,
};

use crate::cli::{CpArgs, GlobalArgs};
use crate::cmd::cp::{
    cancel_on_signal, default_checkpoint_dir, object_options, prepare_checkpoint_dir, progress_fn,
    rate,
};
use crate::config::Settings;
use crate::exit::{CliError, Exit, display_chain};
use crate::location::OssUrl;
use crate::lock::UploadLock;
use crate::output::{Out, note, warn};
use crate::progress::Bar;
use crate::signal::Signal;
use crate::units::Bytes;

/// `ossmp cp oss://… oss://…`.
pub(crate) async fn run(
    global: &GlobalArgs,
    settings: &Settings,
    args: &CpArgs,
    dest: &OssUrl,
) -> anyhow::Result<()> {
    let out = Out::new(global);
    let source = OssUrl::parse_object(&args.source).map_err(|e| CliError::usage(e.to_string()))?;
    let name = source.key.rsplit('/').next().unwrap_or(&source.key);
    let dest = dest.for_file(name);
    if args
        .copy_threshold
        .is_some_and(|t| t > DEFAULT_SINGLE_COPY_THRESHOLD)
    {
        return Err(CliError::usage(
            "--copy-threshold is at most 1GiB: CopyObject copies nothing larger",
        )
        .into());
    }
    for (flag, given) in [
        ("--bwlimit", args.bwlimit.is_some()),
        ("--memory", args.memory.is_some()),
        ("--content-md5", args.content_md5),
    ] {
        if given {
            return Err(CliError::usage(format!(
                "{flag} does not apply to a copy between two objects: no byte passes through \
                 this machine"
            ))
            .into());
        }
    }
    let client = crate::client::build(settings, &global.config)?;
    let dir = args
        .checkpoint_dir
        .clone()
        .unwrap_or_else(default_checkpoint_dir);
    prepare_checkpoint_dir(&dir)?;
    // Held until the run ends: a second run of the same copy would take over this one's upload.
    let _lock = UploadLock::acquire(&dir, Path::new(&source.to_string()), &dest)?;
    let bar = Bar::new("copy", None, global.quiet || out.json);
    let token = CancellationToken::new();
    let signal = cancel_on_signal(
        &token,
        &bar,
        "stopping after the parts in flight and saving the checkpoint",
    );
    let mut copy = client
        .copy_multipart(&source.bucket, &source.key, &dest.bucket, &dest.key)
        .options(object_options(args))
        .checkpoint_dir(dir)
        .on_failure(if args.abort_on_failure {
            FailurePolicy::Abort
        } else {
            FailurePolicy::KeepParts
        })
        .progress(progress_fn(&bar))
        .cancellation(token.clone());
    if let Some(p) = args.part_size {
        copy = copy.part_size(p);
    }
    if let Some(j) = args.jobs {
        copy = copy.concurrency(usize::from(j));
    }
    if let Some(t) = args.copy_threshold {
        copy = copy.single_copy_threshold(t);
    }
    if args.no_resume {
        copy = copy.no_resume();
    }
    let started = Instant::now();
    let result = copy.send().await;
    bar.finish();
    let stopped_by = signal.get().copied().unwrap_or(Signal::Interrupt);
    let o = result.map_err(|e| annotate(e, &source, &dest, stopped_by))?;
    let elapsed = started.elapsed();
    if let Some(id) = &o.aborted_upload_id {
        note(&format!(
            "aborted upload {id}, left by an earlier run of this copy: {}",
            if args.no_resume {
                "--no-resume"
            } else {
                "the source was replaced since, so its parts were of another object"
            }
        ));
    }
    let check = post_check(&client, &o).await?;
    let mut warnings = Vec::new();
    if let Err(why) = &check {
        let w = format!("{dest} stored; not re-checked: {why}");
        warn(&w);
        warnings.push(w);
    }
    let verified = matches!(check, Ok(true));
    if out.json {
        out.json_line(&serde_json::json!({
            "status": "ok", "command": "cp", "source": source.to_string(), "destination": dest.to_string(),
            "bucket": o.bucket, "key": o.key, "size": o.size, "parts": o.parts,
            "parts_reused": o.parts_reused, "resumed": o.resumed, "upload_id": o.upload_id,
            "aborted_upload_id": o.aborted_upload_id, "etag": o.etag,
            "crc64": o.crc64.map(|c| c.to_string()), "crc64_verified": verified,
            "warnings": warnings, "elapsed_secs": elapsed.as_secs_f64(),
            "bytes_per_sec": rate(o.size, elapsed), "request_id": o.request_id,
        }));
        return Ok(());
    }
    if o.resumed {
        out.info(format!(
            "resumed copy {}: {} of {} parts were already copied and were not copied again",
            o.upload_id.as_deref().unwrap_or("?"),
            o.parts_reused,
            o.parts
        ));
    }
    out.info(format!(
        "copied {source} to {dest} on the server: {} in {} part{} in {:.1}s{}",
        Bytes(o.size),
        o.parts,
        if o.parts == 1 { "" } else { "s" },
        elapsed.as_secs_f64(),
        if verified {
            ", CRC64 of the copy equal to the source's"
        } else {
            ""
        }
    ));
    Ok(())
}

/// HEADs the copy: its size and CRC-64 must be what the copy reported (which the library
/// checked against the source's). `Ok(false)`: no CRC-64 to compare; `Err`: the HEAD failed
/// (the object exists, so that is a warning, not a failure).
///
/// # Errors
/// Exit 5 when the stored object differs.
async fn post_check(client: &Client, o: &CopyOutput) -> Result<Result<bool, String>, CliError> {
    let head = match client.head_object(&o.bucket, &o.key).await {
        Ok(head) => head,
        Err(e) => return Ok(Err(display_chain(&e))),
    };
    let differs = |what: String| {
        CliError::new(Exit::Integrity, what)
            .hint("make sure nothing else writes that key, then copy it again")
    };
    if head.content_length != o.size {
        return Err(differs(format!(
            "oss://{}/{} holds {} bytes after the copy, not the source's {}",
            o.bucket, o.key, head.content_length, o.size
        )));
    }
    match (head.crc64, o.crc64) {
        (Some(a), Some(b)) if a != b => Err(differs(format!(
            "CRC64 of oss://{}/{} ({a}) differs from the source's ({b})",
            o.bucket, o.key
        ))),
        (Some(_), Some(_)) => Ok(Ok(true)),
        _ => Ok(Ok(false)),
    }
}

fn annotate(e: OssError, source: &OssUrl, dest: &OssUrl, signal: Signal) -> anyhow::Error {
    if !e.is_cancelled() {
        return anyhow::Error::new(e).context(format!("copying {source} to {dest}"));
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
        signal.exit(),
        format!(
            "copy of {source} to {dest} {}; the parts copied so far are kept",
            signal.stopped()
        ),
    )
    .hint(hint)
    .checkpoint(checkpoint.map(Path::to_path_buf))
    .upload_id(e.upload_id().map(str::to_owned))
    .into()
}
