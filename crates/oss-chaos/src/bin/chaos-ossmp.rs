//! The `ossmp` CLI, unchanged (`ossmp::run`), built as a binary of this crate so that the crash
//! tests can start it and SIGKILL it at random points.

fn main() -> std::process::ExitCode {
    ossmp::run()
}
