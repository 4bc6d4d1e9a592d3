//! The `ossmp` binary; everything lives in the library half of the crate.

fn main() -> std::process::ExitCode {
    ossmp::run()
}
