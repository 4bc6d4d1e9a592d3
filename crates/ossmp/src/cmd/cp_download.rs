//! `ossmp cp oss://BUCKET/KEY PATH` and `ossmp cp oss://BUCKET/KEY -`: downloads.
//!
//! A file download goes through a temp file beside the target that is renamed into place only
//! once every byte is verified, with a checkpoint so Ctrl-C, a kill or a crash resumes where it
//! stopped. `-` streams to stdout in order (not resumable).

use std::path::{Path, PathBuf};
use std::time::Instant;

use oss_multipart::CancellationToken;
use oss_multipart::{DownloadBuilder, DownloadOutput, Error as OssError};

use super::cp::{cancel_on_signal, default_checkpoint_dir, progress_fn, rate};
use crate::cli::{CpArgs, CpDest, GlobalArgs};
use crate::config::Settings;
use crate::exit::{CliError, Exit};
use crate::location::OssUrl;
use crate::output::Out;
use crate::progress::Bar;
use crate::units::Bytes;

/// The usage error for `cp` with no oss:// side.
pub(crate) fn no_oss_side(source: &str, dest: &str) -> CliError {
    CliError::usage(format!(
        "neither `{source}` nor `{dest}` is an OSS location: cp copies a local file to \
         oss://BUCKET/KEY or oss://BUCKET/KEY to a local path"
    ))
    .hint("write the object as oss://BUCKET/KEY")
}

/// Upload-only flags given to a download: refused rather than silently ignored.
fn upload_only_flags(args: &CpArgs) -> Vec<&'static str> {
    let flags = [
        ("--memory", args.memory.is_some()),
        ("--meta", !args.meta.is_empty()),
        ("--storage-class", args.storage_class.is_some()),
        ("--sse", args.sse.is_some()),
        ("--tagging", args.tagging.is_some()),
        ("--forbid-overwrite", args.forbid_overwrite),
        ("--content-type", args.content_type.is_some()),
        ("--abort-on-failure", args.abort_on_failure),
        ("--bwlimit", args.bwlimit.is_some()),
    ];
    flags
        .into_iter()
        .filter(|(_, set)| *set)
        .map(|(f, _)| f)
        .collect()
}

/// The local file a download writes: `dest` itself, or `dest/<basename of key>` when `dest` is
/// a directory (or ends with a separator).
pub(crate) fn local_target(dest: &str, key: &str) -> Result<PathBuf, CliError> {
    let path = PathBuf::from(dest);
    let is_dir = dest.ends_with('/') || dest.ends_with(std::path::MAIN_SEPARATOR) || path.is_dir();
    if !is_dir {
        return Ok(path);
    }
    let base = key.rsplit('/').next().unwrap_or_default();
    if base.is_empty() || base == "." || base == ".." {
        return Err(CliError::usage(format!(
            "the key `{key}` has no file name to use inside {}",
            path.display()
        ))
        .hint("give the destination file name explicitly"));
    }
    Ok(path.join(base))
}

/// `ossmp cp oss://BUCKET/KEY DEST`.
pub(crate) async fn run(
    global: &GlobalArgs,
    settings: &Settings,
    args: CpArgs,
) -> anyhow::Result<()> {
    let src = OssUrl::parse_object(&args.source).map_err(|e| CliError::usage(e.to_string()))?;
    let dest = match &args.dest {
        CpDest::Local(d) => d.clone(),
        CpDest::Oss(u) => {
            return Err(CliError::usage(format!(
                "both `{}` and `{u}` are OSS locations: cp copies between a local path and OSS",
                args.source
            ))
            .into());
        }
    };
    let refused = upload_only_flags(&args);
    if !refused.is_empty() {
        return Err(CliError::usage(format!(
            "{} only appl{} to uploads",
            refused.join(", "),
            if refused.len() == 1 { "ies" } else { "y" }
        ))
        .into());
    }
    let out = Out::new(global);
    let to_stdout = dest == "-";
    if to_stdout && out.json {
        return Err(CliError::usage("--json cannot share stdout with the downloaded bytes").into());
    }
    let client = crate::client::build(settings, &global.config)?;
    let mut b = client
        .download(&src.bucket, &src.key)
        .no_clobber(args.no_clobber);
    if let Some(v) = args.part_size {
        b = b.part_size(v);
    }
    if let Some(v) = args.jobs {
        b = b.concurrency(usize::from(v));
    }
    let bar = Bar::new("download", None, global.quiet || out.json);
    let token = CancellationToken::new();
    cancel_on_signal(&token, &bar, "stopping and saving the checkpoint");
    b = b.progress(progress_fn(&bar)).cancellation(token.clone());
    let started = Instant::now();
    if to_stdout {
        let mut stdout = tokio::io::stdout();
        let result = b.to_writer(&mut stdout).await;
        bar.finish();
        result.map_err(|e| annotate(e, &src, "stdout"))?;
        return Ok(());
    }
    let path = local_target(&dest, &src.key)?;
    let cp_dir = args
        .checkpoint_dir
        .clone()
        .unwrap_or_else(default_checkpoint_dir);
    std::fs::create_dir_all(&cp_dir).map_err(|e| {
        CliError::usage(format!(
            "cannot create checkpoint directory {}: {e}",
            cp_dir.display()
        ))
        .hint("pass --checkpoint-dir DIR")
    })?;
    b = b.checkpoint_dir(cp_dir);
    if args.no_resume {
        b = b.no_resume();
    }
    let result = run_file(b, &path).await;
    bar.finish();
    let output = result.map_err(|e| annotate(e, &src, &path.display().to_string()))?;
    report(&out, &src, &path, &output, started.elapsed());
    Ok(())
}

async fn run_file(b: DownloadBuilder, path: &Path) -> Result<DownloadOutput, OssError> {
    b.to_file(path).await
}

fn annotate(e: OssError, src: &OssUrl, dest: &str) -> anyhow::Error {
    if e.is_cancelled() {
        let hint = match e.checkpoint_path() {
            Some(p) => format!(
                "run the same command again to resume (checkpoint {})",
                p.display()
            ),
            None => "run the same command again; downloads to stdout start over".to_owned(),
        };
        return CliError::new(
            Exit::Interrupted,
            format!("download of {src} to {dest} interrupted; nothing was written to {dest}"),
        )
        .hint(hint)
        .checkpoint(e.checkpoint_path().map(Path::to_path_buf))
        .into();
    }
    if let OssError::Io(io) = &e
        && io.io_error().kind() == std::io::ErrorKind::AlreadyExists
    {
        return CliError::usage(format!("{dest} exists and --no-clobber was given"))
            .hint("remove it or drop --no-clobber")
            .into();
    }
    if e.is_integrity() {
        // The upload-oriented advice of the generic report does not fit a download.
        return CliError::new(
            Exit::Integrity,
            format!(
                "downloading {src} to {dest}: {}",
                crate::exit::display_chain(&e)
            ),
        )
        .hint("nothing was written to the destination; run the command again to fetch the object as it is now")
        .into();
    }
    anyhow::Error::new(e).context(format!("downloading {src} to {dest}"))
}

fn report(out: &Out, src: &OssUrl, path: &Path, o: &DownloadOutput, elapsed: std::time::Duration) {
    let rate = rate(o.size, elapsed);
    if out.json {
        out.json_line(&serde_json::json!({
            "status": "ok",
            "command": "cp",
            "direction": "download",
            "source": src.to_string(),
            "destination": path.display().to_string(),
            "bucket": o.bucket,
            "key": o.key,
            "size": o.size,
            "ranges": o.ranges,
            "ranges_reused": o.ranges_reused,
            "resumed": o.resumed,
            "etag": o.etag,
            "crc64": o.crc64.to_string(),
            "crc64_verified": o.crc_verified,
            "elapsed_secs": elapsed.as_secs_f64(),
            "bytes_per_sec": rate,
        }));
        return;
    }
    if o.resumed {
        out.info(format!(
            "resumed download: {} of {} ranges were already on disk, re-verified and not fetched again",
            o.ranges_reused, o.ranges
        ));
    }
    out.info(escape_controls(&format!(
        "downloaded {src} to {}: {} in {:.1}s ({}/s)",
        path.display(),
        Bytes(o.size),
        elapsed.as_secs_f64(),
        Bytes(rate),
    )));
    if o.crc_verified {
        out.info(format!(
            "CRC64 verified end to end: {:#018x} (file = stored object), ETag {}",
            o.crc64, o.etag
        ));
    } else {
        out.info(format!(
            "size verified; the service reports no CRC64 for this object (local CRC64 {:#018x}), ETag {}",
            o.crc64, o.etag
        ));
    }
}

/// Keys and paths may hold control characters: never let them reach the terminal raw.
fn escape_controls(line: &str) -> String {
    line.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_destination_takes_the_key_basename() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_string_lossy().into_owned();
        assert_eq!(
            local_target(&d, "a/b/c.bin").unwrap(),
            dir.path().join("c.bin")
        );
        assert_eq!(
            local_target("out/", "c.bin").unwrap(),
            PathBuf::from("out/c.bin")
        );
        assert_eq!(
            local_target("file.bin", "a/c.bin").unwrap(),
            PathBuf::from("file.bin")
        );
        let e = local_target(&d, "prefix/").unwrap_err();
        assert_eq!(e.exit(), Exit::Usage);
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_controls("a\u{1b}[2Jb\n"), "a\\u{1b}[2Jb\\n");
    }

    #[test]
    fn two_local_sides_are_a_usage_error_naming_both() {
        let e = no_oss_side("a", "b");
        assert_eq!(e.exit(), Exit::Usage);
        assert!(e.to_string().contains("`a`") && e.to_string().contains("`b`"));
    }
}
