//! `ossmp presign get|put|upload`.

use crate::cli::{GlobalArgs, PresignCommand, PresignOneArgs, PresignUploadArgs};
use crate::cmd::cp::check_source;
use crate::config::Settings;
use crate::output::Out;

/// `ossmp presign ...`.
pub(crate) async fn run(
    global: &GlobalArgs,
    settings: &Settings,
    cmd: PresignCommand,
) -> anyhow::Result<()> {
    match cmd {
        PresignCommand::Get(a) => one(global, settings, http::Method::GET, a).await,
        PresignCommand::Put(a) => one(global, settings, http::Method::PUT, a).await,
        PresignCommand::Upload(a) => upload(global, settings, a).await,
    }
}

async fn one(
    global: &GlobalArgs,
    settings: &Settings,
    method: http::Method,
    a: PresignOneArgs,
) -> anyhow::Result<()> {
    let out = Out::new(global);
    let client = crate::client::build(settings, &global.config)?;
    let url = client
        .presign(
            method.clone(),
            &a.location.bucket,
            &a.location.key,
            a.expires,
        )
        .map_err(|e| {
            anyhow::Error::new(e).context(format!("presigning {method} {}", a.location))
        })?;
    if out.json {
        out.json_line(&serde_json::json!({
            "status": "ok", "command": "presign", "method": method.as_str(), "url": url,
            "expires_in_secs": a.expires.as_secs(),
        }));
    } else {
        out.result(url);
    }
    Ok(())
}

async fn upload(
    global: &GlobalArgs,
    settings: &Settings,
    a: PresignUploadArgs,
) -> anyhow::Result<()> {
    let out = Out::new(global);
    let size = match (&a.file, a.size) {
        (Some(path), _) => check_source(path, Some(a.part_size))?,
        (None, Some(size)) => size,
        // clap's `required_unless_present` makes this unreachable; keep a clear message anyway.
        (None, None) => return Err(crate::exit::CliError::usage("give --size or --file").into()),
    };
    let client = crate::client::build(settings, &global.config)?;
    let manifest = client
        .presign_upload(
            &a.location.bucket,
            &a.location.key,
            size,
            a.part_size,
            a.expires,
        )
        .await
        .map_err(|e| {
            anyhow::Error::new(e).context(format!("starting a presigned upload to {}", a.location))
        })?;
    // The manifest is the output in both modes: it is what the uploading side consumes.
    let value = serde_json::to_value(&manifest)?;
    if out.json {
        out.json_line(&value);
    } else {
        out.document(&serde_json::to_string_pretty(&value)?);
    }
    Ok(())
}
