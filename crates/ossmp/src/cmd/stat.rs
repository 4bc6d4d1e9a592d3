//! `ossmp stat oss://BUCKET/KEY`: the object's metadata (HEAD), its ACL (GetObjectAcl) and its
//! tags (GetObjectTagging).

use clap::Args;

use crate::cli::GlobalArgs;
use crate::config::Settings;
use crate::exit::display_chain;
use crate::location::OssUrl;
use crate::output::{Out, warn};
use crate::units::Bytes;

/// `ossmp stat`.
#[derive(Debug, Args)]
pub(crate) struct StatArgs {
    /// The object, oss://BUCKET/KEY.
    #[arg(value_name = "oss://BUCKET/KEY", value_parser = parse_object)]
    pub(crate) location: OssUrl,
}

pub(crate) fn parse_object(s: &str) -> Result<OssUrl, String> {
    OssUrl::parse_object(s).map_err(|e| e.to_string())
}

/// `ossmp stat`.
pub(crate) async fn run(
    global: &GlobalArgs,
    settings: &Settings,
    args: StatArgs,
) -> anyhow::Result<()> {
    let out = Out::new(global);
    let client = crate::client::build(settings, &global.config)?;
    let loc = &args.location;
    let head = client
        .head_object(&loc.bucket, &loc.key)
        .await
        .map_err(|e| anyhow::Error::new(e).context(format!("reading the metadata of {loc}")))?;
    // The ACL and the tags need permissions of their own (oss:GetObjectAcl,
    // oss:GetObjectTagging): without one, the rest is still shown.
    let (acl, tags) = tokio::join!(
        client.get_object_acl(&loc.bucket, &loc.key),
        client.get_object_tagging(&loc.bucket, &loc.key),
    );
    let acl = acl.inspect_err(|e| unreadable("ACL", loc, e)).ok();
    let tags = tags.inspect_err(|e| unreadable("tags", loc, e)).ok();
    let metadata: serde_json::Map<String, serde_json::Value> = head
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::from(v.clone())))
        .collect();
    if out.json {
        out.json_line(&serde_json::json!({
            "status": "ok", "command": "stat", "bucket": loc.bucket, "key": loc.key,
            "size": head.content_length, "etag": head.etag,
            // Decimal, as OSS sends it (x-oss-hash-crc64ecma), and as a string: it does not fit a JSON double.
            "crc64": head.crc64.map(|c| c.to_string()),
            "content_type": head.content_type, "last_modified": head.last_modified,
            "storage_class": head.storage_class, "object_type": head.object_type,
            "version_id": head.version_id, "metadata": metadata, "acl": acl,
            "tags": tags.as_ref().map(|t| t.iter().map(|(k, v)| (k.clone(), serde_json::Value::from(v.clone()))).collect::<serde_json::Map<_, _>>()),
            "request_id": head.request_id,
        }));
        return Ok(());
    }
    let none = || "-".to_owned();
    let rows = [
        ("Object", loc.to_string()),
        (
            "Size",
            format!("{} ({})", head.content_length, Bytes(head.content_length)),
        ),
        ("ETag", head.etag.clone()),
        ("CRC64", head.crc64.map_or_else(none, |c| c.to_string())),
        (
            "Content-Type",
            head.content_type.clone().unwrap_or_else(none),
        ),
        (
            "Last-Modified",
            head.last_modified.clone().unwrap_or_else(none),
        ),
        (
            "Storage class",
            head.storage_class.clone().unwrap_or_else(none),
        ),
        ("Object type", head.object_type.clone().unwrap_or_else(none)),
        ("Version id", head.version_id.clone().unwrap_or_else(none)),
        ("ACL", acl.clone().unwrap_or_else(none)),
    ];
    for (name, value) in rows {
        out.result(format!("{name:<14} {value}"));
    }
    for (k, v) in &head.metadata {
        out.result(format!("{:<14} {k}={v}", "Meta"));
    }
    match tags.as_deref() {
        Some(tags) if !tags.is_empty() => {
            for (k, v) in tags {
                out.result(format!("{:<14} {k}={v}", "Tag"));
            }
        }
        _ => out.result(format!("{:<14} -", "Tags")),
    }
    Ok(())
}

/// Warns that one part of the description could not be read (the command still succeeds).
fn unreadable(what: &str, loc: &OssUrl, e: &oss_multipart::Error) {
    warn(&format!(
        "could not read the {what} of {loc}: {}",
        display_chain(e)
    ));
}
