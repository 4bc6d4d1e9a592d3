//! `-v` / `-vv` / `RUST_LOG`: the library's request log on stderr.
//!
//! The library emits one event per request attempt (operation, method, bucket, key, status,
//! request id, time) and never logs headers or signatures, so a log holds no secret.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

/// What each `-v` count shows when `RUST_LOG` is unset.
fn directives(verbose: u8) -> Option<&'static str> {
    match verbose {
        0 => None,
        1 => Some("warn,oss_multipart=debug,oss_credentials=info,ossmp=debug"),
        _ => Some("warn,oss_multipart=trace,oss_credentials=debug,oss_transport=debug,ossmp=trace"),
    }
}

/// Installs the stderr subscriber: `RUST_LOG` when set (it wins over `-v`), else the level
/// `-v` asks for, else nothing (no subscriber, no cost).
pub(crate) fn init(verbose: u8) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::new(spec),
        _ => match directives(verbose) {
            Some(d) => EnvFilter::new(d),
            None => return,
        },
    };
    // A second init (tests calling `run` twice) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_level_parses_and_grows() {
        assert_eq!(directives(0), None);
        for v in 1..=3 {
            let d = directives(v).expect("a level");
            assert!(d.parse::<EnvFilter>().is_ok(), "{d}");
        }
        assert_ne!(directives(1), directives(2));
    }
}
