//! Transfer defaults from the profile file (`part_size`, `jobs`, `bwlimit`), used by `cp`
//! when the flags leave them out. Flags always win.

use crate::cli::{CpArgs, GlobalArgs, parse_part_size};
use crate::config::load_profile;
use crate::exit::CliError;
use crate::units;

/// Fills the transfer options `args` leaves unset from the profile.
pub(crate) fn apply(global: &GlobalArgs, args: &mut CpArgs) -> Result<(), CliError> {
    let name = global.profile.as_deref().unwrap_or("default");
    let profile = load_profile(global.config_file.as_deref(), name)?;
    let bad = |key: &str, e: String| {
        CliError::usage(format!("profile `{name}`: {key}: {e}")).hint(
            "fix the value in the profile file, e.g. part_size = \"64MiB\", bwlimit = \"50MiB/s\"",
        )
    };
    if args.part_size.is_none()
        && let Some(v) = &profile.part_size
    {
        args.part_size = Some(parse_part_size(v).map_err(|e| bad("part_size", e))?);
    }
    if args.jobs.is_none()
        && let Some(j) = profile.jobs
    {
        if !(1..=256).contains(&j) {
            return Err(bad("jobs", format!("{j} is not in 1..=256")));
        }
        args.jobs = Some(j);
    }
    if args.bwlimit.is_none()
        && let Some(v) = &profile.bwlimit
    {
        let rate = units::parse_rate(v).map_err(|e| bad("bwlimit", e.to_string()))?;
        args.bwlimit = Some(rate).filter(|r| *r > 0);
    }
    Ok(())
}
