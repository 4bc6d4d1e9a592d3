//! `ossmp`: the command-line face of the `oss-multipart` workspace.
//!
//! This crate is the `ossmp` binary. The library target exists so the binary stays a thin `main` and so the
//! small parsers it relies on (`oss://` locations, sizes, durations, exit codes) are documented and tested.
//! It is not a stable Rust API: embed the `oss-multipart` crate instead.
//!
//! What it does: resumable multipart `cp` up and down with a progress bar, `cp -r` of whole directories
//! (filters, `--update`, `--dry-run`), server-side `cp oss://… oss://…`, `ls`, `rm` (`-r`), `stat` and `cat`, listing/aborting/garbage-collecting
//! unfinished uploads, listing parts, presigned URLs and multipart manifests, shell completions and a man page,
//! running the local server (`serve`), and a self-contained demo. What it does NOT do: bucket management,
//! or two-way sync (`cp -r -u` only adds and replaces, it never deletes).
//!
//! ```
//! use ossmp::location::OssUrl;
//! use ossmp::units::{parse_duration, parse_size};
//!
//! let dest = OssUrl::parse_object("oss://my-bucket/backups/db.tar").unwrap();
//! assert_eq!(dest.bucket, "my-bucket");
//! assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
//! assert_eq!(parse_duration("7d").unwrap().as_secs(), 7 * 24 * 3600);
//! assert_eq!(ossmp::exit::Exit::Network.code(), 4);
//! ```

pub mod exit;
pub mod location;
pub mod units;

mod cli;
mod client;
mod cmd;
mod config;
mod defaults;
mod lock;
mod logging;
mod output;
mod progress;
mod report;
mod signal;

use std::process::ExitCode;

use clap::Parser;

use crate::exit::Exit;

/// Runs `ossmp` with the process's arguments and returns its exit status (see [`exit::Exit`]).
pub fn run() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_error(&e),
    };
    let json = cli.global.json;
    logging::init(cli.global.verbose);
    progress::set_mode(cli.global.progress);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(Exit::Failure.code());
        }
    };
    let result = runtime.block_on(cmd::dispatch(cli));
    // Don't wait for a stuck blocking read (e.g. stdin) once the command is over.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let failure = report::classify(&err);
            if json && !failure.json_reported {
                output::Out {
                    json: true,
                    quiet: false,
                }
                .json_line(&failure.json());
            }
            eprintln!("{}", failure.line());
            ExitCode::from(failure.exit.code())
        }
    }
}

/// Help and version go to stdout with status 0; real parse errors become one line and status 2 (plus the
/// JSON failure on stdout when `--json` was asked for).
fn clap_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let usage = |line: String| {
        if wants_json(std::env::args().skip(1)) {
            let message = line.strip_prefix("error: ").unwrap_or(&line).to_owned();
            let failure = report::Failure {
                exit: Exit::Usage,
                message,
                hint: None,
                checkpoint: None,
                upload_id: None,
                aborted: None,
                json_reported: false,
            };
            output::Out {
                json: true,
                quiet: false,
            }
            .json_line(&failure.json());
        }
        eprintln!("{}", output::escape_controls(&line));
        ExitCode::from(Exit::Usage.code())
    };
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            if e.use_stderr() {
                return usage(one_line(&e.render().to_string(), std::env::args().skip(1)));
            }
            // clap prints help and version to stdout, with status 0.
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ => usage(one_line(&e.render().to_string(), std::env::args().skip(1))),
    }
}

/// Whether `--json` is among the arguments (before a `--` that ends the options).
fn wants_json(mut args: impl Iterator<Item = String>) -> bool {
    args.by_ref()
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

/// Folds clap's multi-line report (error, details, tips, usage) into one line ending with where to look.
fn one_line(rendered: &str, args: impl Iterator<Item = String>) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for line in rendered.lines() {
        let line = line.trim();
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if !line.is_empty() {
            parts.push(line);
        }
    }
    let mut text = parts.join(" ");
    if !text.starts_with("error:") {
        text.insert_str(0, "error: ");
    }
    const SUBCOMMANDS: [&str; 12] = [
        "cp",
        "uploads",
        "parts",
        "presign",
        "serve",
        "demo",
        "ls",
        "rm",
        "stat",
        "cat",
        "completions",
        "man",
    ];
    const NESTED: [&str; 6] = ["ls", "abort", "gc", "get", "put", "upload"];
    let mut args = args.into_iter();
    let help = match args.find(|a| SUBCOMMANDS.contains(&a.as_str())) {
        Some(sub) if sub == "uploads" || sub == "presign" => {
            match args.find(|a| NESTED.contains(&a.as_str())) {
                Some(child) => format!("ossmp {sub} {child} --help"),
                None => format!("ossmp {sub} --help"),
            }
        }
        Some(sub) => format!("ossmp {sub} --help"),
        None => "ossmp --help".to_owned(),
    };
    format!("{text} -- see `{help}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_errors_become_one_line() {
        let rendered = "error: the following required arguments were not provided:\n  <oss://BUCKET/KEY>\n\nUsage: ossmp cp <SOURCE> <oss://BUCKET/KEY>\n\nFor more information, try '--help'.\n";
        let line = one_line(rendered, ["cp".to_owned(), "f".to_owned()].into_iter());
        assert_eq!(
            line,
            "error: the following required arguments were not provided: <oss://BUCKET/KEY> -- see `ossmp cp --help`"
        );
        assert!(one_line("oops", std::iter::empty()).starts_with("error: oops"));
        let args = ["uploads", "gc", "oss://b", "--older-than", "3x"].map(String::from);
        assert!(
            one_line("error: bad", args.into_iter()).ends_with("see `ossmp uploads gc --help`")
        );
    }

    #[test]
    fn json_is_wanted_before_the_end_of_options() {
        let args = |a: &[&str]| {
            a.iter()
                .map(|s| (*s).to_owned())
                .collect::<Vec<_>>()
                .into_iter()
        };
        assert!(wants_json(args(&["cp", "--json", "x"])));
        assert!(!wants_json(args(&["cp", "--", "--json"])));
        assert!(!wants_json(args(&["cp", "--jsonx"])));
    }
}
