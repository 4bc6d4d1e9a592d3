//! The CLI as a process among others: stopped by signals and SIGKILL, drawn in a real terminal,
//! deleting and inspecting objects, with the requests counted at the server's door. One test
//! binary (one link) for all of them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;
mod dir_interrupts;
mod progress_tty;
mod rm_stat;
