//! `ossmp rm oss://BUCKET/KEY` and `ossmp rm -r oss://BUCKET/PREFIX/`.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use clap::Args;
use futures::{StreamExt as _, TryStreamExt as _};
use oss_multipart::{Client, ListObjectsOptions, ObjectListEntry};

use crate::cli::GlobalArgs;
use crate::config::Settings;
use crate::exit::{CliError, Exit, display_chain};
use crate::location::OssUrl;
use crate::output::{Out, escape_controls, warn};

/// Deletions in flight at once for `rm -r`.
const DELETE_CONCURRENCY: usize = 16;

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
        Ok(())
    } else {
        Err(CliError::new(
            Exit::Failure,
            format!(
                "{} of {} objects could not be deleted",
                failures.len(),
                keys.len()
            ),
        )
        .hint("re-run the same command to retry the rest")
        .into())
    }
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

/// Deletes every key, a few at a time; returns the ones that failed with their cause.
async fn delete_all(client: &Client, bucket: &str, keys: &[String]) -> Vec<(String, String)> {
    futures::stream::iter(keys)
        .map(|key| async move {
            client
                .delete_object(bucket, key)
                .await
                .err()
                .map(|e| (key.clone(), display_chain(&e)))
        })
        .buffer_unordered(DELETE_CONCURRENCY)
        .filter_map(|r| async move { r })
        .collect()
        .await
}

fn report(out: &Out, loc: &OssUrl, keys: &[String], failures: &[(String, String)], dry_run: bool) {
    if out.json {
        let failed: Vec<_> = failures
            .iter()
            .map(|(k, cause)| serde_json::json!({ "key": k, "error": cause }))
            .collect();
        out.json_line(&serde_json::json!({
            "status": if failures.is_empty() { "ok" } else { "error" },
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
