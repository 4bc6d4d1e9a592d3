//! The `oss-local` binary: parses flags, starts the server, prints `listening on URL`, and
//! shuts down gracefully on Ctrl-C / SIGTERM.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use oss_local::Server;
use oss_local::cli::ServerArgs;

/// A local OSS-compatible server for tests, demos and benchmarks.
#[derive(Parser)]
#[command(name = "oss-local", version)]
struct Cli {
    #[command(flatten)]
    args: ServerArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Cli::parse().args.into_config() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("oss-local: {err}");
            return ExitCode::from(2);
        }
    };
    let server = match Server::start(config).await {
        Ok(server) => server,
        Err(err) => {
            let mut message = err.to_string();
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("oss-local: {message}");
            return ExitCode::FAILURE;
        }
    };
    // The first stdout line is a contract (scripts parse it), so write and flush it explicitly.
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "listening on {}", server.endpoint())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    drop(stdout);
    eprintln!("oss-local: data directory {}", server.data_dir().display());
    wait_for_signal().await;
    server.shutdown().await;
    ExitCode::SUCCESS
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
