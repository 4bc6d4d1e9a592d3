//! The stop signals the CLI obeys, Ctrl-C (SIGINT) and SIGTERM, and the one place that waits for
//! them (`cp` stops gracefully on them, `serve` shuts down).

use crate::exit::Exit;

/// Which stop signal arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// Ctrl-C (SIGINT).
    Interrupt,
    /// SIGTERM: what service managers, `timeout` and a plain `kill` send.
    Terminate,
}

impl Signal {
    /// The exit status of a command stopped by this signal (128 + its number, as shells report).
    pub(crate) fn exit(self) -> Exit {
        match self {
            Self::Interrupt => Exit::Interrupted,
            Self::Terminate => Exit::Terminated,
        }
    }

    /// How a message says the run ended.
    pub(crate) fn stopped(self) -> &'static str {
        match self {
            Self::Interrupt => "interrupted",
            Self::Terminate => "terminated",
        }
    }
}

/// Resolves at the next Ctrl-C or SIGTERM; `None` when no handler could be installed.
pub(crate) async fn wait_for_signal() -> Option<Signal> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                r = tokio::signal::ctrl_c() => r.ok().map(|()| Signal::Interrupt),
                r = term.recv() => r.map(|()| Signal::Terminate),
            };
        }
    }
    tokio::signal::ctrl_c()
        .await
        .ok()
        .map(|()| Signal::Interrupt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_statuses_follow_the_shell_convention() {
        // 128 + SIGINT (2), 128 + SIGTERM (15).
        assert_eq!(Signal::Interrupt.exit().code(), 130);
        assert_eq!(Signal::Terminate.exit().code(), 143);
    }
}
