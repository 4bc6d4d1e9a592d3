//! `ossmp cat oss://BUCKET/KEY`: the object's bytes on stdout.

use clap::Args;

use crate::cli::GlobalArgs;
use crate::config::Settings;
use crate::location::OssUrl;

/// `ossmp cat`.
#[derive(Debug, Args)]
pub(crate) struct CatArgs {
    /// The object, oss://BUCKET/KEY.
    #[arg(value_name = "oss://BUCKET/KEY", value_parser = super::stat::parse_object)]
    pub(crate) location: OssUrl,
}

/// `ossmp cat`: the downloader streaming in order (bounded memory, retried ranges, CRC-64 checked).
pub(crate) async fn run(
    global: &GlobalArgs,
    settings: &Settings,
    args: CatArgs,
) -> anyhow::Result<()> {
    let client = crate::client::build(settings, &global.config)?;
    let loc = &args.location;
    let mut stdout = tokio::io::stdout();
    client
        .download_to(&loc.bucket, &loc.key, &mut stdout)
        .await
        .map_err(|e| anyhow::Error::new(e).context(format!("reading {loc}")))?;
    Ok(())
}
