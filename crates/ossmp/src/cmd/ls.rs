//! `ossmp ls oss://BUCKET[/PREFIX]`: objects (or, with `-m`, unfinished uploads).

use clap::Args;
use futures::TryStreamExt as _;
use oss_multipart::{ListObjectsOptions, ObjectListEntry, ObjectSummary};

use crate::cli::{GlobalArgs, UploadsLsArgs};
use crate::config::Settings;
use crate::location::OssUrl;
use crate::output::Out;
use crate::units::Bytes;

/// `ossmp ls`.
#[derive(Debug, Args)]
pub(crate) struct LsArgs {
    /// oss://BUCKET or oss://BUCKET/PREFIX (every key starting with PREFIX).
    #[arg(value_name = "oss://BUCKET[/PREFIX]")]
    pub(crate) location: OssUrl,
    /// One level only: keys under PREFIX up to the next `/`, deeper ones grouped as `PRE` lines.
    #[arg(short = 'd', long = "dirs")]
    pub(crate) one_level: bool,
    /// Long listing: size, last-modified time, storage class and ETag.
    #[arg(short = 'l', long)]
    pub(crate) long: bool,
    /// List unfinished multipart uploads instead (the same as `ossmp uploads ls`).
    #[arg(short = 'm', long = "multipart")]
    pub(crate) multipart: bool,
}

const AFTER_HELP: &str = "\
Every page is followed: the listing is complete however many objects there are. Keys are printed with
control characters escaped; with --json each entry is one JSON line carrying the exact key, then a summary
line {\"status\":\"ok\",\"command\":\"ls\",\"objects\":N,\"prefixes\":N,\"bytes\":N}.

Examples:
  ossmp ls oss://my-bucket/photos/
  ossmp ls -d -l oss://my-bucket/
  ossmp ls -m oss://my-bucket";

/// The help text shown after the flags.
pub(crate) fn after_help() -> &'static str {
    AFTER_HELP
}

/// `ossmp ls`.
pub(crate) async fn run(
    global: &GlobalArgs,
    settings: &Settings,
    args: LsArgs,
) -> anyhow::Result<()> {
    if args.multipart {
        let location = Some(args.location);
        return super::uploads::ls(global, settings, UploadsLsArgs { location }).await;
    }
    let out = Out::new(global);
    let client = crate::client::build(settings, &global.config)?;
    let loc = &args.location;
    let mut options = ListObjectsOptions::new().with_max_keys(1000);
    if !loc.key.is_empty() {
        options = options.with_prefix(loc.key.clone());
    }
    if args.one_level {
        options = options.with_delimiter("/");
    }
    let mut entries = std::pin::pin!(client.list_objects(&loc.bucket, options));
    let (mut objects, mut prefixes, mut bytes) = (0u64, 0u64, 0u64);
    let context = || format!("listing {loc}");
    while let Some(entry) = entries
        .try_next()
        .await
        .map_err(|e| anyhow::Error::new(e).context(context()))?
    {
        match entry {
            ObjectListEntry::Object(o) => {
                objects += 1;
                bytes += o.size;
                print_object(&out, &loc.bucket, &o, args.long);
            }
            ObjectListEntry::CommonPrefix(p) => {
                prefixes += 1;
                print_prefix(&out, &loc.bucket, &p, args.long);
            }
            _ => {}
        }
    }
    if out.json {
        out.json_line(&serde_json::json!({
            "status": "ok", "command": "ls", "bucket": loc.bucket, "prefix": loc.key,
            "objects": objects, "prefixes": prefixes, "bytes": bytes,
        }));
    } else {
        out.info(format!(
            "{objects} object{}, {}{}",
            if objects == 1 { "" } else { "s" },
            Bytes(bytes),
            if args.one_level {
                format!(", {prefixes} prefixes")
            } else {
                String::new()
            }
        ));
    }
    Ok(())
}

fn print_object(out: &Out, bucket: &str, o: &ObjectSummary, long: bool) {
    if out.json {
        out.document(
            &serde_json::json!({
                "type": "object", "key": o.key, "size": o.size, "last_modified": o.last_modified,
                "storage_class": o.storage_class, "etag": o.etag, "object_type": o.object_type,
            })
            .to_string(),
        );
    } else if long {
        out.result(format!(
            "{:>14} {:<24} {:<16} {:<36} oss://{bucket}/{}",
            o.size, o.last_modified, o.storage_class, o.etag, o.key
        ));
    } else {
        out.result(format!("oss://{bucket}/{}", o.key));
    }
}

fn print_prefix(out: &Out, bucket: &str, prefix: &str, long: bool) {
    if out.json {
        out.document(&serde_json::json!({ "type": "prefix", "prefix": prefix }).to_string());
    } else if long {
        out.result(format!(
            "{:>14} {:<24} {:<16} {:<36} oss://{bucket}/{prefix}",
            "PRE", "", "", ""
        ));
    } else {
        out.result(format!("oss://{bucket}/{prefix}"));
    }
}
