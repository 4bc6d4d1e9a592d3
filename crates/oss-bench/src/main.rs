//! `oss-bench`: the benchmark binary `cargo xtask bench` spawns. One sub-command per role;
//! each prints `key=value` records (see `oss_bench::report`) on stdout.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use oss_bench::args::Flags;
use oss_bench::report::Record;

const USAGE: &str = "\
oss-bench <command> [flags]

  sink [--listen ADDR]                      ceiling server; prints `listening on http://ADDR`
  feed --addr ADDR --file F --part-size P --jobs J
                                            ceiling client against a sink
  ours --endpoint URL --file F (--part-size P --jobs J | --defaults) [--key K] [--bucket B] [--ak AK --sk SK]
                                            oss-multipart upload of F (CRC-64 on; --defaults:
                                            the library's own part size and concurrency)
  ours-download --endpoint URL --key K --out F (--part-size P --jobs J | --defaults) [--bucket B] [--ak AK --sk SK]
                                            oss-multipart download of K into F (CRC-64 on)
  fetch --endpoint URL --key K --out F --part-size P --jobs J [--bucket B] [--ak AK --sk SK]
                                            download ceiling: raw ranged GETs of a presigned URL
  parts --endpoint URL --file F [--parts N] [--part-size P] [--jobs J] [--bucket B] [--ak AK --sk SK]
                                            Complete / ListParts / resume timings of N parts
  measure -- PROGRAM ARGS...                run PROGRAM; print its wall, CPU and peak RSS
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match command.as_str() {
        "measure" => return measure(rest),
        "sink" => sink(rest),
        "feed" => feed(rest),
        "ours" => ours(rest),
        "ours-download" => ours_download(rest),
        "fetch" => fetch(rest),
        "parts" => parts(rest),
        "help" | "--help" | "-h" => {
            eprint!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("oss-bench {command}: {message}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))
}

fn sink(args: &[String]) -> Result<(), String> {
    let flags = Flags::parse(args)?;
    let listen = flags.get("listen").unwrap_or("127.0.0.1:0").to_owned();
    let runtime = runtime()?;
    runtime.block_on(async move {
        let addr = oss_bench::sink::start(&listen)
            .await
            .map_err(|e| format!("binding {listen}: {e}"))?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{addr}")
            .and_then(|()| out.flush())
            .map_err(|e| e.to_string())?;
        drop(out);
        // Serve until killed.
        std::future::pending::<()>().await;
        Ok(())
    })
}

fn feed(args: &[String]) -> Result<(), String> {
    let flags = Flags::parse(args)?;
    let addr = flags
        .required("addr")?
        .trim_start_matches("http://")
        .parse()
        .map_err(|e| format!("--addr: {e}"))?;
    let file = PathBuf::from(flags.required("file")?);
    let part_size = flags.size_or("part-size", 8 << 20)?;
    let jobs = jobs(&flags)?;
    let outcome =
        oss_bench::feed::run(addr, &file, part_size, jobs).map_err(|e| format!("feed: {e}"))?;
    report(outcome.bytes, outcome.parts, outcome.elapsed, None)
}

fn target(flags: &Flags) -> Result<oss_bench::ours::Target, String> {
    Ok(oss_bench::ours::Target::new(
        flags.required("endpoint")?,
        flags.get("ak").unwrap_or("bench-ak"),
        flags.get("sk").unwrap_or("bench-sk"),
        flags.get("bucket").unwrap_or("bench"),
    ))
}

fn jobs(flags: &Flags) -> Result<usize, String> {
    flags
        .get("jobs")
        .unwrap_or("4")
        .parse()
        .map_err(|e| format!("--jobs: {e}"))
}

/// The line every timed run prints: bytes, parts (or ranges), seconds and, when the run
/// checked one, the CRC-64.
fn report(
    bytes: impl std::fmt::Display,
    parts: impl std::fmt::Display,
    elapsed: std::time::Duration,
    crc64: Option<u64>,
) -> Result<(), String> {
    let mut record = Record::new("result")
        .field("bytes", bytes)
        .field("parts", parts)
        .field("secs", format!("{:.4}", elapsed.as_secs_f64()));
    if let Some(crc) = crc64 {
        record = record.field("crc64", crc);
    }
    record.emit().map_err(|e| e.to_string())
}

/// The flags of a timed single-object transfer: `--PATH_FLAG` names the local file; `--key`
/// defaults to `default_key` when given.
fn transfer(
    args: &[String],
    path_flag: &str,
    default_key: Option<&str>,
) -> Result<oss_bench::ours::Transfer, String> {
    let flags = Flags::parse(args)?;
    let key = match default_key {
        Some(default) => flags.get("key").unwrap_or(default),
        None => flags.required("key")?,
    };
    Ok(oss_bench::ours::Transfer {
        target: target(&flags)?,
        key: key.to_owned(),
        path: PathBuf::from(flags.required(path_flag)?),
        part_size: flags.size_or("part-size", 8 << 20)?,
        jobs: jobs(&flags)?,
        library_defaults: flags.get("defaults").is_some(),
        hedging: flags.get("no-hedge").is_none(),
    })
}

fn ours(args: &[String]) -> Result<(), String> {
    let t = transfer(args, "file", Some("bench/ours"))?;
    let (out, elapsed) = runtime()?
        .block_on(oss_bench::ours::upload(&t))
        .map_err(|e| error_chain(&e))?;
    report(out.size, out.parts, elapsed, Some(out.crc64))
}

fn ours_download(args: &[String]) -> Result<(), String> {
    let t = transfer(args, "out", None)?;
    let (done, elapsed) = runtime()?
        .block_on(oss_bench::ours::download(&t))
        .map_err(|e| error_chain(&e))?;
    report(done.size, done.ranges, elapsed, Some(done.crc64))
}

fn fetch(args: &[String]) -> Result<(), String> {
    let oss_bench::ours::Transfer {
        target,
        key,
        path: out,
        part_size,
        jobs,
        ..
    } = transfer(args, "out", None)?;
    // Signing and the size are set-up, before the clock starts.
    let (url, size) = runtime()?.block_on(async {
        let client = target.client().map_err(|e| error_chain(&e))?;
        let head = client
            .head_object(&target.bucket, &key)
            .await
            .map_err(|e| error_chain(&e))?;
        let url = client
            .presign(
                http::Method::GET,
                &target.bucket,
                &key,
                std::time::Duration::from_secs(3600),
            )
            .map_err(|e| error_chain(&e))?;
        Ok::<_, String>((url, head.content_length))
    })?;
    let o = oss_bench::fetch::run(&url, &out, size, part_size, jobs)
        .map_err(|e| format!("fetch: {e}"))?;
    report(o.bytes, o.parts, o.elapsed, Some(o.crc64))
}

fn parts(args: &[String]) -> Result<(), String> {
    let flags = Flags::parse(args)?;
    let target = target(&flags)?;
    let file = PathBuf::from(flags.required("file")?);
    let parts: u32 = flags
        .get("parts")
        .unwrap_or("10000")
        .parse()
        .map_err(|e| format!("--parts: {e}"))?;
    let part_size = flags.size_or("part-size", 100 << 10)?;
    let jobs = jobs(&flags)?;
    let t = runtime()?
        .block_on(oss_bench::parts::run(
            &target, &file, parts, part_size, jobs,
        ))
        .map_err(|e| error_chain(&*e))?;
    let _ = std::fs::remove_file(&file);
    Record::new("timing")
        .field("parts", t.parts)
        .field("part_size", part_size)
        .field("upload_s", format!("{:.4}", t.upload.as_secs_f64()))
        .field("complete_s", format!("{:.4}", t.complete.as_secs_f64()))
        .field("list_s", format!("{:.4}", t.list.as_secs_f64()))
        .field("resume_s", format!("{:.4}", t.resume.as_secs_f64()))
        .field(
            "resume_first_s",
            format!("{:.4}", t.resume_first.as_secs_f64()),
        )
        .field(
            "resume_verified_s",
            format!("{:.4}", t.resume_verified.as_secs_f64()),
        )
        .field(
            "resume_cpu_s",
            t.resume_cpu.map_or_else(
                || "unknown".to_owned(),
                |d| format!("{:.4}", d.as_secs_f64()),
            ),
        )
        .field("reused", t.reused)
        .field(
            "cached",
            t.cached
                .map_or_else(|| "unknown".to_owned(), |f| format!("{f:.4}")),
        )
        .emit()
        .map_err(|e| e.to_string())
}

fn measure(args: &[String]) -> ExitCode {
    let args = args.strip_prefix(&["--".to_owned()]).unwrap_or(args);
    let Some((program, rest)) = args.split_first() else {
        eprintln!("oss-bench measure: missing program");
        return ExitCode::from(2);
    };
    match oss_bench::measure::run(Command::new(program).args(rest)) {
        Ok(usage) => {
            if usage.record().emit().is_err() {
                return ExitCode::FAILURE;
            }
            match usage.exit_code {
                Some(0) => ExitCode::SUCCESS,
                _ => ExitCode::FAILURE,
            }
        }
        Err(e) => {
            eprintln!("oss-bench measure: {program}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// An error and its sources, one level each, separated by `: `.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
