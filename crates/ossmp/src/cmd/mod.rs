//! One module per subcommand; [`dispatch`] picks one.

pub(crate) mod cat;
pub(crate) mod completions;
pub(crate) mod cp;
pub(crate) mod cp_copy;
pub(crate) mod cp_dir;
pub(crate) mod cp_download;
#[cfg(feature = "local")]
pub(crate) mod demo;
pub(crate) mod ls;
pub(crate) mod presign;
pub(crate) mod rm;
#[cfg(feature = "local")]
pub(crate) mod serve;
pub(crate) mod stat;
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
    // These need no account either: they only describe the command tree.
    match &cli.command {
        Command::Completions(args) => {
            completions::completions(args);
            return Ok(());
        }
        Command::Man => return completions::man(),
        _ => {}
    }
    let settings = settings(&cli)?;
    let g = &cli.global;
    match cli.command {
        Command::Cp(mut args) => {
            crate::defaults::apply(g, &mut args)?;
            cp::run(g, &settings, *args).await
        }
        Command::Uploads(UploadsCommand::Ls(args)) => uploads::ls(g, &settings, args).await,
        Command::Uploads(UploadsCommand::Abort(args)) => uploads::abort(g, &settings, args).await,
        Command::Uploads(UploadsCommand::Complete(args)) => {
            uploads::complete(g, &settings, args).await
        }
        Command::Uploads(UploadsCommand::Gc(args)) => uploads::gc(g, &settings, args).await,
        Command::Parts(args) => uploads::parts(g, &settings, args).await,
        Command::Presign(cmd) => presign::run(g, &settings, cmd).await,
        Command::Ls(args) => ls::run(g, &settings, args).await,
        Command::Rm(args) => rm::run(g, &settings, args).await,
        Command::Stat(args) => stat::run(g, &settings, args).await,
        Command::Cat(args) => cat::run(g, &settings, args).await,
        Command::Completions(_) | Command::Man => Ok(()),
        #[cfg(feature = "local")]
        Command::Demo(_) | Command::Serve(_) => Ok(()),
    }
}
