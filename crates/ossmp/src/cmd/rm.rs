//! `ossmp rm oss://BUCKET/KEY` and `ossmp rm -r oss://BUCKET/PREFIX/`.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use clap::Args;
use futures::{StreamExt as _, TryStreamExt as _};
use oss_multipart::ops::MAX_DELETE_KEYS;
use oss_multipart::{Client, ListObjectsOptions, ObjectListEntry};

use crate::cli::GlobalArgs;
use crate::config::Settings;
use crate::exit::{CliError, Exit, display_chain};
use crate::location::OssUrl;
use crate::output::{Out, escape_controls, warn};

/// DeleteMultipleObjects requests in flight at once for `rm -r`.
const BATCHES_IN_FLIGHT: usize = 4;

/// `ossmp rm`.
#[derive(Debug, Args)]
pub(crate) struct RmArgs {
    /// The object (oss://BUCKET/KEY), or with -r the prefix (oss://BUCKET/PREFIX/).
    #[arg(value_name = "oss://BUCKET/KEY")]
    pub(crate) location: OssUrl,
    /// Delete every object under the prefix (a prefix without a trailing `/` gets one, so
    /// `rm -r oss://b/logs` never touches `logs-old/`).
    #[arg(short = 'r', long)]
    pub(crate) recursive: bool,
    /// List what would be deleted and delete nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Do not ask for confirmation (asked only when stdin and stderr are a terminal).
    #[arg(short = 'f', long)]
    pub(crate) force: bool,
}

/// `ossmp rm`.
pub(crate) async fn run(
    global: &GlobalArgs,
    settings: &Settings,
    args: RmArgs,
) -> anyhow::Result<()> {
    let out = Out::new(global);
    let loc = &args.location;
    if !args.recursive && loc.is_prefix() {
        return Err(CliError::usage(format!("{loc} names no object"))
            .hint("give oss://BUCKET/KEY, or add -r to delete everything under the prefix")
            .into());
    }
    let client = crate::client::build(settings, &global.config)?;
    let keys = if args.recursive {
        list_keys(&client, &loc.bucket, &dir_prefix(&loc.key)).await?
    } else {
        vec![loc.key.clone()]
    };
    if args.dry_run {
        for key in &keys {
            out.result(format!("would delete oss://{}/{key}", loc.bucket));
        }
        report(&out, loc, &keys, &[], true);
        return Ok(());
    }
    if args.recursive
        && !args.force
        && !keys.is_empty()
        && interactive()
        && !confirm(loc, keys.len())?
    {
        return Err(CliError::new(Exit::Failure, "nothing deleted: not confirmed").into());
    }
    let failures = delete_all(&client, &loc.bucket, &keys).await;
    let failed: std::collections::HashSet<&str> =
        failures.iter().map(|(k, _)| k.as_str()).collect();
    let deleted: Vec<String> = keys
        .iter()
        .filter(|k| !failed.contains(k.as_str()))
        .cloned()
        .collect();
    for key in &deleted {
        out.info(format!("deleted oss://{}/{key}", loc.bucket));
    }
    for (key, cause) in &failures {
        warn(&format!(
            "could not delete oss://{}/{key}: {cause}",
            loc.bucket
        ));
    }
    report(&out, loc, &deleted, &failures, false);
    if failures.is_empty() {
        return Ok(());
    }
    let e = CliError::new(
        Exit::Failure,
        format!(
            "{} of {} objects could not be deleted",
            failures.len(),
            keys.len()
        ),
    )
    .hint("re-run the same command to retry the rest");
    // The JSON summary above already says so: one command, one JSON line.
    Err(if out.json { e.json_reported() } else { e }.into())
}

/// `logs` → `logs/`; the bucket root stays empty.
fn dir_prefix(key: &str) -> String {
    if key.is_empty() || key.ends_with('/') {
        key.to_owned()
    } else {
        format!("{key}/")
    }
}

async fn list_keys(client: &Client, bucket: &str, prefix: &str) -> anyhow::Result<Vec<String>> {
    let mut options = ListObjectsOptions::new().with_max_keys(1000);
    if !prefix.is_empty() {
        options = options.with_prefix(prefix.to_owned());
    }
    client
        .list_objects(bucket, options)
        .try_filter_map(|e| async move {
            Ok(match e {
                ObjectListEntry::Object(o) => Some(o.key),
                _ => None,
            })
        })
        .try_collect()
        .await
        .map_err(|e| anyhow::Error::new(e).context(format!("listing oss://{bucket}/{prefix}")))
}

/// Deletes every key: one DeleteObject for a single key, DeleteMultipleObjects in batches of
/// 1,000 (a few batches at a time) for more. Returns the keys that failed, with their cause:
/// the service's per-key error, or the batch request's failure for each of its keys.
async fn delete_all(client: &Client, bucket: &str, keys: &[String]) -> Vec<(String, String)> {
    if let [key] = keys {
        return match client.delete_object(bucket, key).await {
            Ok(()) => Vec::new(),
            Err(e) => vec![(key.clone(), display_chain(&e))],
        };
    }
    let batches: Vec<Vec<(String, String)>> = futures::stream::iter(keys.chunks(MAX_DELETE_KEYS))
        .map(|batch| async move {
            match client.delete_objects(bucket, batch).await {
                Ok(out) => out
                    .failed
                    .into_iter()
                    .map(|f| (f.key, format!("{}: {}", f.code, f.message)))
                    .collect(),
                Err(e) => {
                    let cause = display_chain(&e);
                    batch.iter().map(|k| (k.clone(), cause.clone())).collect()
                }
            }
        })
        .buffer_unordered(BATCHES_IN_FLIGHT)
        .collect()
        .await;
    batches.into_iter().flatten().collect()
}

fn report(out: &Out, loc: &OssUrl, keys: &[String], failures: &[(String, String)], dry_run: bool) {
    if out.json {
        let failed: Vec<_> = failures
            .iter()
            .map(|(k, cause)| serde_json::json!({ "key": k, "error": cause }))
            .collect();
        out.json_line(&serde_json::json!({
            "status": if failures.is_empty() { "ok" } else { "error" },
            "exit_code": if failures.is_empty() { 0 } else { Exit::Failure.code() },
            "command": "rm", "bucket": loc.bucket, "dry_run": dry_run,
            if dry_run { "would_delete" } else { "deleted" }: keys, "failed": failed,
        }));
    } else if dry_run {
        out.info(format!(
            "dry run: {} object(s) would be deleted, nothing was",
            keys.len()
        ));
    }
}

fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

#[allow(clippy::print_stderr)] // The question goes where the user looks, not into piped output.
fn confirm(loc: &OssUrl, count: usize) -> anyhow::Result<bool> {
    eprint!(
        "delete {count} object(s) under {}? [y/N] ",
        escape_controls(&loc.to_string())
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_is_a_directory() {
        assert_eq!(dir_prefix("logs"), "logs/");
        assert_eq!(dir_prefix("logs/"), "logs/");
        assert_eq!(dir_prefix(""), "");
    }
}
