//! `ossmp serve`: runs the local OSS-compatible server in the foreground until Ctrl-C.

use crate::cli::{GlobalArgs, ServeArgs};
use crate::exit::CliError;
use crate::output::Out;
use crate::signal::wait_for_signal;

/// The server configuration: `serve`'s flags plus `ossmp`'s global key pair and region (their
/// flags or `OSS_ACCESS_KEY_ID` / `OSS_ACCESS_KEY_SECRET` / `OSS_REGION`).
pub(crate) fn server_config(
    global: &GlobalArgs,
    args: ServeArgs,
) -> Result<oss_local::Config, CliError> {
    args.server
        .into_config(
            global.access_key_id.clone(),
            global.access_key_secret.clone(),
            global.region.clone(),
        )
        .map_err(|e| CliError::usage(e.to_string()).hint("see `ossmp serve --help`"))
}

/// `ossmp serve`.
pub(crate) async fn run(global: &GlobalArgs, args: ServeArgs) -> anyhow::Result<()> {
    let out = Out::new(global);
    let config = server_config(global, args)?;
    let buckets = config.buckets.clone();
    let server = oss_local::Server::start(config).await?;
    let endpoint = server.endpoint();
    // Scripts and tests wait for this exact line, so it is printed even with --quiet.
    if out.json {
        out.json_line(
            &serde_json::json!({ "status": "listening", "endpoint": endpoint, "buckets": buckets }),
        );
    } else {
        out.result(format!("listening on {endpoint}"));
        if !buckets.is_empty() {
            out.info(format!("buckets: {}", buckets.join(", ")));
        }
        out.info(format!(
            "use it with: OSS_ENDPOINT={endpoint} OSS_REGION=<the --region above, default cn-hangzhou> \
             OSS_ACCESS_KEY_ID=... OSS_ACCESS_KEY_SECRET=... ossmp cp FILE oss://BUCKET/KEY"
        ));
        out.info(format!(
            "data directory {}; press Ctrl-C to stop",
            server.data_dir().display()
        ));
    }
    // Ctrl-C, or SIGTERM (what service managers and test harnesses send).
    let _ = wait_for_signal().await;
    server.shutdown().await;
    Ok(())
}
