//! `ossmp cp oss://B/K oss://B2/K2`: a server-side copy through the library's copy manager
//! (UploadPartCopy; the bytes never pass through this machine).

use std::time::Instant;

use oss_multipart::Client;

use crate::cli::{CpArgs, GlobalArgs};
use crate::config::Settings;
use crate::exit::{CliError, Exit};
use crate::location::OssUrl;
use crate::output::Out;
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
    let client = crate::client::build(settings, &global.config)?;
    let started = Instant::now();
    let mut copy = client.copy_multipart(&source.bucket, &source.key, &dest.bucket, &dest.key);
    if let Some(p) = args.part_size {
        copy = copy.part_size(p);
    }
    if let Some(j) = args.jobs {
        copy = copy.concurrency(usize::from(j));
    }
    let o = copy
        .send()
        .await
        .map_err(|e| anyhow::Error::new(e).context(format!("copying {source} to {dest}")))?;
    let verified = same_crc64(&client, &source, o.crc64).await?;
    if out.json {
        out.json_line(&serde_json::json!({
            "status": "ok", "command": "cp", "source": source.to_string(), "destination": dest.to_string(),
            "bucket": o.bucket, "key": o.key, "size": o.size, "parts": o.parts, "etag": o.etag,
            "crc64": o.crc64.map(|c| c.to_string()), "crc64_verified": verified,
            "elapsed_secs": started.elapsed().as_secs_f64(),
        }));
    } else {
        out.info(format!(
            "copied {source} to {dest} on the server: {} in {} part(s){}",
            Bytes(o.size),
            o.parts,
            if verified {
                ", CRC64 equal to the source's"
            } else {
                ""
            }
        ));
    }
    Ok(())
}

/// The copy's CRC-64 against the source's; a difference is an integrity failure (exit 5).
async fn same_crc64(client: &Client, source: &OssUrl, copied: Option<u64>) -> anyhow::Result<bool> {
    let head = client
        .head_object(&source.bucket, &source.key)
        .await
        .map_err(|e| anyhow::Error::new(e).context(format!("checking {source} after the copy")))?;
    match (head.crc64, copied) {
        (Some(a), Some(b)) if a == b => Ok(true),
        (Some(a), Some(b)) => Err(CliError::new(
            Exit::Integrity,
            format!("CRC64 of the copy ({b}) differs from the source's ({a})"),
        )
        .into()),
        _ => Ok(false),
    }
}
