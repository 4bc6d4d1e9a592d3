//! `ossmp stat oss://BUCKET/KEY`: the object's metadata (HEAD) and its ACL (GetObjectAcl).

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
    // The ACL needs its own permission (oss:GetObjectAcl): without it the rest is still shown.
    let acl = match client.get_object_acl(&loc.bucket, &loc.key).await {
        Ok(grant) => Some(grant),
        Err(e) => {
            warn(&format!(
                "could not read the ACL of {loc}: {}",
                display_chain(&e)
            ));
            None
        }
    };
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
    Ok(())
}
