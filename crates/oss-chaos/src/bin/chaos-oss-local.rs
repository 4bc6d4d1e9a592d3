//! The `oss-local` server with its own flags (`oss_local::cli::ServerArgs`), built as a binary
//! of this crate so that the crash tests can SIGKILL it and restart it on the same data dir.
//! Prints `listening on http://ADDR:PORT` as its first stdout line, then serves until killed.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: oss_local::cli::ServerArgs,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let config = match Cli::parse().args.into_config() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("chaos-oss-local: {err}");
            return ExitCode::from(2);
        }
    };
    let server = match oss_local::Server::start(config).await {
        Ok(server) => server,
        Err(err) => {
            eprintln!("chaos-oss-local: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    if writeln!(out, "listening on {}", server.endpoint())
        .and_then(|()| out.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    drop(out);
    // Serve until killed: this binary exists to be SIGKILLed.
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}
