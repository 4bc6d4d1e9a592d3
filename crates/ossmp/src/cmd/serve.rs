//! `ossmp serve`: runs the local OSS-compatible server in the foreground until Ctrl-C.

use crate::cli::{GlobalArgs, ServeArgs};
use crate::exit::CliError;
use crate::output::Out;
use crate::signal::wait_for_signal;

/// Builds the server's argument list: `ossmp`'s own global credential and region flags (which clap consumed
/// before `serve` could see them) go first, so anything written after `serve` still wins.
fn server_args(global: &GlobalArgs, args: &[String]) -> Vec<String> {
    let mut all = Vec::new();
    if let Some(v) = &global.access_key_id {
        all.extend(["--access-key-id".to_owned(), v.clone()]);
    }
    if let Some(v) = &global.access_key_secret {
        all.extend(["--access-key-secret".to_owned(), v.clone()]);
    }
    if let Some(v) = &global.region {
        all.extend(["--region".to_owned(), v.clone()]);
    }
    all.extend(args.iter().cloned());
    all
}

/// `ossmp serve`.
pub(crate) async fn run(global: &GlobalArgs, args: ServeArgs) -> anyhow::Result<()> {
    let out = Out::new(global);
    let config = match oss_local::Config::from_args(server_args(global, &args.args), |n| {
        std::env::var(n).ok()
    }) {
        Ok(Some(c)) => c,
        Ok(None) => {
            out.result(format!(
                "usage: ossmp serve [FLAGS]\n\n{}",
                oss_local::USAGE
            ));
            return Ok(());
        }
        Err(e) => {
            return Err(CliError::usage(e.to_string())
                .hint("see `ossmp serve --help`")
                .into());
        }
    };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    #[test]
    fn global_credentials_are_forwarded_first() {
        let cli = Cli::try_parse_from([
            "ossmp",
            "serve",
            "--access-key-id",
            "ak",
            "--access-key-secret",
            "sk",
            "--listen",
            "127.0.0.1:0",
        ])
        .unwrap();
        let Command::Serve(s) = cli.command else {
            panic!("not serve")
        };
        let all = server_args(&cli.global, &s.args);
        let pos = |flag: &str| all.iter().position(|a| a == flag);
        assert!(pos("--access-key-id").is_some() && pos("--access-key-secret").is_some());
        assert_eq!(all.last().map(String::as_str), Some("127.0.0.1:0"));
    }
}
