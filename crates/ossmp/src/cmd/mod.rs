//! One module per subcommand; [`dispatch`] picks one.

pub(crate) mod cp;
#[cfg(feature = "local")]
pub(crate) mod demo;
pub(crate) mod presign;
#[cfg(feature = "local")]
pub(crate) mod serve;
pub(crate) mod uploads;

use crate::cli::{Cli, Command, UploadsCommand};
use crate::config::{Settings, load_profile, resolve};

fn settings(cli: &Cli) -> anyhow::Result<Settings> {
    let profile = load_profile(cli.global.config_file.as_deref(), &cli.global.profile)?;
    Ok(resolve(&cli.global, profile)?)
}

/// Runs the parsed command line.
pub(crate) async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    // These two need no account: they bring their own server.
    #[cfg(feature = "local")]
    match cli.command {
        Command::Demo(args) => return demo::run(&cli.global, args).await,
        Command::Serve(args) => return serve::run(&cli.global, args).await,
        _ => {}
    }
    let settings = settings(&cli)?;
    let g = &cli.global;
    match cli.command {
        Command::Cp(args) => cp::run(g, &settings, args).await,
        Command::Uploads(UploadsCommand::Ls(args)) => uploads::ls(g, &settings, args).await,
        Command::Uploads(UploadsCommand::Abort(args)) => uploads::abort(g, &settings, args).await,
        Command::Uploads(UploadsCommand::Gc(args)) => uploads::gc(g, &settings, args).await,
        Command::Parts(args) => uploads::parts(g, &settings, args).await,
        Command::Presign(cmd) => presign::run(g, &settings, cmd).await,
        #[cfg(feature = "local")]
        Command::Demo(_) | Command::Serve(_) => Ok(()),
    }
}
