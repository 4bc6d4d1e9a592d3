//! The only place that writes to stdout: human lines, tables and `--json` documents.

use crate::cli::GlobalArgs;

/// Where results go: human lines (silenced by `--quiet`) or one JSON document (`--json`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Out {
    pub(crate) json: bool,
    pub(crate) quiet: bool,
}

impl Out {
    pub(crate) fn new(global: &GlobalArgs) -> Self {
        Self {
            json: global.json,
            quiet: global.quiet,
        }
    }

    /// A human-readable line on stdout (nothing in `--json` or `--quiet` mode).
    #[allow(clippy::print_stdout)] // This is the CLI's output channel.
    pub(crate) fn info(&self, line: impl AsRef<str>) {
        if !self.json && !self.quiet {
            println!("{}", line.as_ref());
        }
    }

    /// A result line that is the point of the command (a URL, a table row): printed even with `--quiet`.
    #[allow(clippy::print_stdout)]
    pub(crate) fn result(&self, line: impl AsRef<str>) {
        if !self.json {
            println!("{}", line.as_ref());
        }
    }

    /// The `--json` document (one line, so it can be piped into `jq` or parsed line by line).
    #[allow(clippy::print_stdout)]
    pub(crate) fn json_line(&self, value: &serde_json::Value) {
        println!("{value}");
    }
}
