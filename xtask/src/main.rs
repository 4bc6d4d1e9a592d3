//! `cargo xtask`: the project's automation, in plain Rust so it runs wherever cargo does.
//!
//! Every task is a function that shells out to cargo (through the `CARGO` variable cargo sets
//! for us) or to a tool the task installs itself; nothing here depends on the workspace's own
//! crates, so a broken crate never breaks the tool that diagnoses it. Its only dependency is
//! `serde_json`, to read `cargo metadata`.

mod bench;
mod chaos;
mod ci;
mod codegen;
mod fuzz;
mod interop;
mod interop_clients;
mod metadata;
mod msrv;
mod release;
mod tidy;
mod util;

use std::process::ExitCode;

const HELP: &str = "\
cargo xtask <task> [args]

tasks:
  bench e2e|download|memory|parts|report  end-to-end benchmarks vs ceiling and official SDK
  bench link [--quick] [--link RATE] [--per-conn RATE]  shaped link in a network namespace (root)
  bench peers [--size S]  ours vs OpenDAL, the official Python SDK v2 and ali-oss, equal and default settings
  chaos [--time S] [--kills N] [--rounds N]  long chaos uploads, SIGKILL/resume, mixed disruptions (oss-chaos, release)
  ci                 fmt check, clippy -D warnings (all targets), tests, docs with warnings denied,
                     ossmp without `local`, release dry-run, interop
  codegen [--check]  regenerate crates/oss-model/src/generated from its spec (or check it is fresh)
  fuzz [--time S] [TARGET..]    every fuzz target S seconds (default 60), executions per target
  help               this text
  interop [PYTEST..] official Python SDKs (venv in target/interop-venv) against oss-local
  msrv               check that rust-version is the newest one the published crates' dependencies need
  release --dry-run [--verify]  check versions, changelog and manifests, then `cargo package`
                     every published crate in dependency order (--verify: also build each package)
  tidy               public docs cite no internal files (also a test)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match task {
        "bench" => bench::run(rest),
        "chaos" => chaos::run(rest),
        "ci" => ci::run(rest),
        "codegen" => codegen::run(rest),
        "fuzz" => fuzz::run(rest),
        "interop" => interop::run(rest),
        "msrv" => msrv::run(rest),
        "release" => release::run(rest),
        "tidy" => tidy::run(rest),
        "help" | "--help" | "-h" => {
            eprint!("{HELP}");
            Ok(())
        }
        other => Err(format!("unknown task `{other}`; run `cargo xtask help`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}
