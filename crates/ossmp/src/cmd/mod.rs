//! One module per subcommand; [`dispatch`] picks one.

pub(crate) mod cp;
pub(crate) mod cp_download;
#[cfg(feature = "local")]
pub(crate) mod demo;
pub(crate) mod presign;
#[cfg(feature = "local")]
pub(crate) mod serve;
pub(crate) mod uploads;

use crate::cli::{Cli, Command, UploadsCommand};
use oss_multipart::Env;

use crate::config::{Settings, load_profile, resolve};

fn settings(cli: &Cli) -> anyhow::Result<Settings> {
    let name = cli.global.profile.as_deref().unwrap_or("default");
    let profile = load_profile(cli.global.config_file.as_deref(), name)?;
    Ok(resolve(&cli.global, profile, Env::process())?)
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
        Command::Cp(args) => cp::run(g, &settings, *args).await,
        Command::Uploads(UploadsCommand::Ls(args)) => uploads::ls(g, &settings, args).await,
        Command::Uploads(UploadsCommand::Abort(args)) => uploads::abort(g, &settings, args).await,
        Command::Uploads(UploadsCommand::Complete(args)) => {
            uploads::complete(g, &settings, args).await
        }
        Command::Uploads(UploadsCommand::Gc(args)) => uploads::gc(g, &settings, args).await,
        Command::Parts(args) => uploads::parts(g, &settings, args).await,
        Command::Presign(cmd) => presign::run(g, &settings, cmd).await,
        #[cfg(feature = "local")]
        Command::Demo(_) | Command::Serve(_) => Ok(()),
    }
}
