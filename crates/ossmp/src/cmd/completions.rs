//! `ossmp completions SHELL` and `ossmp man`: generated from the command tree, so they never drift from it.

use clap::{Args, CommandFactory as _};
use clap_complete::Shell;

use crate::cli::Cli;

/// `ossmp completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub(crate) shell: Shell,
}

/// Writes the completion script on stdout.
pub(crate) fn completions(args: &CompletionsArgs) {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "ossmp", &mut std::io::stdout());
}

/// Writes the man page (roff) on stdout.
pub(crate) fn man() -> anyhow::Result<()> {
    clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
    Ok(())
}
