//! `cargo xtask bench`: end-to-end upload benchmarks, measured side by side in one run.
//!
//! - `e2e [--size S] [--part-size P] [--jobs J] [--reps N] [--quick] [--no-official]
//!   [--no-realistic] [--keep-data]`: builds `oss-bench` and `oss-local` (release), starts
//!   `oss-local --etag fast --storage discard` and the ceiling sink on 127.0.0.1, writes a
//!   pseudo-random data file, then runs ceiling / ours / official in rotating order, `N`
//!   times each, every client as a child of `oss-bench measure` so that its CPU time and peak
//!   RSS come from `wait4`. A realistic pass follows (`--etag md5`, disk storage). Prints a
//!   table and the `e2e:` summary line, appends to `benches/history.tsv` and rewrites
//!   `docs/PERFORMANCE.md` and `docs/performance-throughput.svg` from that history.
//! - `memory [--sizes 1GiB,8GiB]`: peak RSS of ours uploading sparse files of each size, then
//!   downloading each object back into a file (`bench/memory.rs`).
//! - `parts [--parts N] [--part-size P]`: Complete of N parts, ListParts of all pages, and a
//!   resume from the server's list (with CRC re-verification), against discard storage.
//! - `download [--size S] [--part-size P] [--jobs J] [--reps N] [--no-official]`: one object
//!   on `oss-local --storage disk`, downloaded by the ceiling (`oss-bench fetch`), ours
//!   (`oss-bench ours-download`) and the official Python SDK v2 downloader, in rotating order;
//!   prints the `download:` summary line and records the figures like `e2e`.
//! - `link [--size S] [--files N] [--link RATE] [--per-conn RATE] [--latency-ms N]
//!   [--slow-rate P] [--slow-factor F] [--seed N] [--quick] [--keep-data] [--peers
//!   [--part-size P] [--jobs J] [--peer-cap SECS]]`: needs root.
//!   `oss-local` in a network namespace behind a `tc`-shaped veth pair; ours at its defaults
//!   uploads (a), uploads with slow connections (b), uploads many small files (c) and
//!   downloads (d). With `--peers`, the peers and ours at equal settings (8 MiB × 16 unless
//!   given) in (a), (b) and (d) too, each peer run capped (`link_peers`). Writes one SVG chart
//!   per scenario and the `link` section of `docs/PERFORMANCE.md`; prints
//!   `link-peers: equal=X defaults=Y` (with `--peers`) and `link: a=R b=T c=R d=R` last.
//! - `peers [--size S] [--part-size P] [--jobs J] [--reps N] [--quick] [--no-opendal]
//!   [--no-python] [--no-node]`: ours, OpenDAL, the official Python SDK v2 and ali-oss on one
//!   `oss-local`, each with equal settings and with its defaults; writes the `peers` section
//!   of `docs/PERFORMANCE.md` and prints `peers: equal=R defaults=R` (ours / best peer).
//! - `report`: rewrite the docs from the history only.
//!
//! Nothing here asserts a timing: the goals are read off the report.

mod chart;
mod doc;
mod history;
mod link;
mod link_peers;
mod memory;
mod netns;
mod peers;
mod procs;
mod sections;

use std::path::{Path, PathBuf};

use crate::util::workspace_root;
use history::{Entry, History};
use procs::{Binaries, Measured, OssLocal, Sink};

pub(crate) const AK: &str = "bench-ak";
pub(crate) const SK: &str = "bench-sk";
pub(crate) const BUCKET: &str = "bench";
const GIB: f64 = (1u64 << 30) as f64;
/// The download client label of `bench memory` runs (an object of zeros on discard storage).
pub(crate) const MEMORY_CLIENT: &str = "ours (memory run)";

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let Some((what, rest)) = args.split_first() else {
        return Err(
            "usage: cargo xtask bench <e2e|download|link|memory|parts|peers|report> [flags]"
                .to_owned(),
        );
    };
    let flags = Flags::parse(rest)?;
    match what.as_str() {
        "e2e" => e2e(&flags),
        "download" => download(&flags),
        "link" => link::run(&flags),
        "peers" => peers::run(&flags),
        "memory" => memory(&flags),
        "parts" => parts(&flags),
        "report" => doc::write(&History::load()?),
        other => Err(format!(
            "unknown bench `{other}` (e2e, download, link, memory, parts, peers, report)"
        )),
    }
}

/// `--name value` pairs and bare `--switch`es.
pub(crate) struct Flags(Vec<(String, String)>);

impl Flags {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut out = Vec::new();
        let mut it = args.iter().peekable();
        while let Some(arg) = it.next() {
            let name = arg
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument `{arg}`"))?;
            let value = match it.peek() {
                Some(next) if !next.starts_with("--") => it.next().cloned().unwrap_or_default(),
                _ => "true".to_owned(),
            };
            out.push((name.to_owned(), value));
        }
        Ok(Self(out))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn switch(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    fn size(&self, name: &str, default: u64) -> Result<u64, String> {
        self.get(name).map_or(Ok(default), parse_size)
    }

    fn number(&self, name: &str, default: u64) -> Result<u64, String> {
        self.get(name).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| format!("--{name}: `{v}` is not a number"))
        })
    }
}

/// `123`, `100KiB`, `8MiB`, `4GiB` (binary multiples; `K`, `MB`, ... too).
///
/// A small copy of `oss_multipart::units::parse_size` (integers only): xtask may not depend on
/// workspace crates, so that it still builds, and can diagnose, when they do not.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size"))?;
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(format!("`{text}`: unknown unit `{unit}`")),
    };
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// `8 MiB`, `4 GiB`, `100 KiB`, `12345 B`.
pub(crate) fn human_size(bytes: u64) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    format!("{bytes} B")
}

/// `oss-bench COMMAND` arguments for `endpoint`, the bench's bucket and access keys, then
/// `rest`.
pub(crate) fn oss_bench_args(command: &str, endpoint: &str, rest: &[&str]) -> Vec<String> {
    let head = [
        command,
        "--endpoint",
        endpoint,
        "--ak",
        AK,
        "--sk",
        SK,
        "--bucket",
        BUCKET,
    ];
    head.iter().chain(rest).map(|s| (*s).to_owned()).collect()
}

fn bench_dir() -> PathBuf {
    workspace_root().join("target").join("bench")
}

/// A data file of `size` pseudo-random bytes (incompressible, so no layer can cheat), reused
/// across runs while its size matches.
fn data_file(size: u64) -> Result<PathBuf, String> {
    use std::io::Write as _;
    let dir = bench_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let path = dir.join(format!("data-{size}.bin"));
    if std::fs::metadata(&path).is_ok_and(|m| m.len() == size) {
        return Ok(path);
    }
    eprintln!(
        "xtask: [bench] writing {} of data to {}",
        human_size(size),
        path.display()
    );
    let file = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut block = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            // xorshift64: fast and good enough to defeat compression and dedup.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let n = usize::try_from(left.min(block.len() as u64)).unwrap_or(block.len());
        out.write_all(&block[..n])
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        left -= n as u64;
    }
    out.flush()
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(path)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The medians of one client's repetitions.
#[derive(Clone, Copy)]
struct Summary {
    gib_s: f64,
    rss_mib: f64,
    cpu_per_gib: f64,
}

fn summarize(runs: &[Measured]) -> Option<Summary> {
    if runs.is_empty() {
        return None;
    }
    let mut rate: Vec<f64> = runs.iter().map(|m| m.bytes as f64 / GIB / m.secs).collect();
    let mut rss: Vec<f64> = runs.iter().map(|m| m.max_rss_kib as f64 / 1024.0).collect();
    let mut cpu: Vec<f64> = runs
        .iter()
        .map(|m| m.cpu_secs / (m.bytes as f64 / GIB))
        .collect();
    Some(Summary {
        gib_s: median(&mut rate),
        rss_mib: median(&mut rss),
        cpu_per_gib: median(&mut cpu),
    })
}

struct Setup<'a> {
    bins: &'a Binaries,
    python: Option<&'a Path>,
    data: &'a Path,
    size: u64,
    part_size: u64,
    jobs: u64,
}

impl Setup<'_> {
    fn ours(&self, server: &OssLocal, key: &str) -> Result<Measured, String> {
        let args = self.transfer_args("ours", &server.endpoint, key, "--file", self.data);
        procs::measure(self.bins, "ours", &self.bins.oss_bench, &args)
    }

    fn official(&self, server: &OssLocal, key: &str) -> Result<Option<Measured>, String> {
        self.run_official("official_upload.py", "official", server, key, self.data)
    }

    /// Runs the official Python SDK's `script` (under `crates/oss-bench/scripts/`) on `key`
    /// and the local `path`; `None` without Python (`--no-official`).
    fn run_official(
        &self,
        script: &str,
        label: &str,
        server: &OssLocal,
        key: &str,
        path: &Path,
    ) -> Result<Option<Measured>, String> {
        let Some(python) = self.python else {
            return Ok(None);
        };
        let script = workspace_root()
            .join("crates/oss-bench/scripts")
            .join(script)
            .display()
            .to_string();
        let args = [
            script,
            server.endpoint.clone(),
            BUCKET.to_owned(),
            key.to_owned(),
            path.display().to_string(),
            self.part_size.to_string(),
            self.jobs.to_string(),
            AK.to_owned(),
            SK.to_owned(),
        ];
        procs::measure(self.bins, label, python, &args).map(Some)
    }

    fn ceiling(&self, sink: &Sink) -> Result<Measured, String> {
        let args = [
            "feed".to_owned(),
            "--addr".to_owned(),
            sink.addr.clone(),
            "--file".to_owned(),
            self.data.display().to_string(),
            "--part-size".to_owned(),
            self.part_size.to_string(),
            "--jobs".to_owned(),
            self.jobs.to_string(),
        ];
        procs::measure(self.bins, "ceiling", &self.bins.oss_bench, &args)
    }

    /// `oss-bench COMMAND` arguments for one timed transfer of `key` against `endpoint`, with
    /// the local file named by `path_flag` (`--file` to upload, `--out` to download).
    fn transfer_args(
        &self,
        command: &str,
        endpoint: &str,
        key: &str,
        path_flag: &str,
        path: &Path,
    ) -> Vec<String> {
        let path = path.display().to_string();
        let (part_size, jobs) = (self.part_size.to_string(), self.jobs.to_string());
        oss_bench_args(
            command,
            endpoint,
            &[
                "--key",
                key,
                path_flag,
                &path,
                "--part-size",
                &part_size,
                "--jobs",
                &jobs,
            ],
        )
    }
}

fn e2e(flags: &Flags) -> Result<(), String> {
    let quick = flags.switch("quick");
    let size = flags.size("size", if quick { 256 << 20 } else { 4 << 30 })?;
    let part_size = flags.size("part-size", 8 << 20)?;
    let jobs = flags.number("jobs", 4)?;
    let reps = flags.number("reps", if quick { 1 } else { 3 })?.max(1);
    with_setup(flags, size, part_size, jobs, |setup| {
        e2e_inner(setup, reps, flags)
    })
}

/// Builds the binaries, prepares the official SDK (unless `--no-official`) and a data file of
/// `size` bytes, runs `run`, then removes the data file (unless `--keep-data`).
fn with_setup(
    flags: &Flags,
    size: u64,
    part_size: u64,
    jobs: u64,
    run: impl FnOnce(&Setup<'_>) -> Result<(), String>,
) -> Result<(), String> {
    let bins = procs::build()?;
    let python = if flags.switch("no-official") {
        None
    } else {
        let venv = workspace_root().join("target").join("interop-venv");
        Some(crate::interop::ensure_venv(&venv)?)
    };
    let data = data_file(size)?;
    let setup = Setup {
        bins: &bins,
        python: python.as_deref(),
        data: &data,
        size,
        part_size,
        jobs,
    };
    let result = run(&setup);
    if !flags.switch("keep-data") {
        let _ = std::fs::remove_file(&data);
    }
    result
}

fn e2e_inner(setup: &Setup<'_>, reps: u64, flags: &Flags) -> Result<(), String> {
    let bins = setup.bins;
    let mut ceiling = Vec::new();
    let mut ours = Vec::new();
    let mut official = Vec::new();
    {
        let server = OssLocal::start(bins, &["--etag", "fast", "--storage", "discard"])?;
        let sink = Sink::start(bins)?;
        eprintln!(
            "xtask: [bench] {} in {} parts x {} jobs, {reps} rep(s); oss-local {} (discard), sink {}",
            human_size(setup.size),
            human_size(setup.part_size),
            setup.jobs,
            server.endpoint,
            sink.addr
        );
        for rep in 0..reps {
            // Rotate the order so that no client always runs first (cold caches, turbo).
            for slot in 0..3 {
                match (rep + slot) % 3 {
                    0 => ceiling.push(setup.ceiling(&sink)?),
                    1 => ours.push(setup.ours(&server, &format!("bench/ours-{rep}"))?),
                    _ => {
                        official.extend(setup.official(&server, &format!("bench/official-{rep}"))?)
                    }
                }
            }
        }
    }
    let mut realistic = (None, None);
    if !flags.switch("no-realistic") {
        let server = OssLocal::start(bins, &["--etag", "md5", "--storage", "disk"])?;
        eprintln!(
            "xtask: [bench] realistic pass: oss-local {} (md5, disk)",
            server.endpoint
        );
        realistic.0 = summarize(&[setup.ours(&server, "bench/realistic-ours")?]);
        realistic.1 = setup
            .official(&server, "bench/realistic-official")?
            .and_then(|m| summarize(&[m]));
    }

    let ceiling_s = summarize(&ceiling).ok_or("no ceiling run")?;
    let ours_s = summarize(&ours).ok_or("no ours run")?;
    let official_s = summarize(&official);

    let mut history = History::load()?;
    let config = history::Config {
        size: setup.size,
        part_size: setup.part_size,
        jobs: setup.jobs,
    };
    let mut rows: Vec<(&str, &str, Summary, usize)> = vec![
        ("ceiling", "sink", ceiling_s, ceiling.len()),
        ("ours", "discard", ours_s, ours.len()),
    ];
    if let Some(s) = official_s {
        rows.push(("official", "discard", s, official.len()));
    }
    if let Some(s) = realistic.0 {
        rows.push(("ours", "md5+disk", s, 1));
    }
    if let Some(s) = realistic.1 {
        rows.push(("official", "md5+disk", s, 1));
    }
    eprintln!();
    eprintln!(
        "{:<9} {:<9} {:>8} {:>9} {:>12} {:>5}",
        "client", "server", "GiB/s", "rss MiB", "core-s/GiB", "runs"
    );
    for (client, server, s, n) in &rows {
        eprintln!(
            "{client:<9} {server:<9} {:>8.3} {:>9.1} {:>12.3} {n:>5}",
            s.gib_s, s.rss_mib, s.cpu_per_gib
        );
        history.push(Entry::Throughput {
            config,
            client: (*client).to_owned(),
            server: (*server).to_owned(),
            gib_s: s.gib_s,
            rss_mib: s.rss_mib,
            cpu_per_gib: s.cpu_per_gib,
            runs: *n as u64,
        });
    }
    history.save()?;
    doc::write(&history)?;
    let official_gib_s = official_s.map_or(f64::NAN, |s| s.gib_s);
    // The summary line is a contract: scripts and the issue quote it. It goes to stdout, the
    // rest to stderr.
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "e2e: ours={:.3} GiB/s ceiling={:.3} GiB/s official={:.3} GiB/s ours/ceiling={:.3} ours/official={:.2} rss={:.1} MiB cpu={:.3} core-s/GiB",
        ours_s.gib_s,
        ceiling_s.gib_s,
        official_gib_s,
        ours_s.gib_s / ceiling_s.gib_s,
        ours_s.gib_s / official_gib_s,
        ours_s.rss_mib,
        ours_s.cpu_per_gib,
    )
    .map_err(|e| format!("stdout: {e}"))
}

/// One download client's run of `key` into `out`.
fn download_run(
    setup: &Setup<'_>,
    server: &OssLocal,
    client: &str,
    key: &str,
    out: &Path,
) -> Result<Option<Measured>, String> {
    let _ = std::fs::remove_file(out);
    let common = |command: &str| setup.transfer_args(command, &server.endpoint, key, "--out", out);
    let measured = match client {
        "ceiling" => procs::measure(setup.bins, client, &setup.bins.oss_bench, &common("fetch")),
        "ours" => procs::measure(
            setup.bins,
            client,
            &setup.bins.oss_bench,
            &common("ours-download"),
        ),
        _ => match setup.run_official("official_download.py", client, server, key, out)? {
            Some(measured) => Ok(measured),
            None => return Ok(None),
        },
    }?;
    // Every client must have produced the object, byte for byte.
    let got = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    if got != setup.size {
        return Err(format!(
            "{client}: wrote {got} bytes, expected {}",
            setup.size
        ));
    }
    if !same_file(setup.data, out)? {
        return Err(format!(
            "{client}: the downloaded file differs from the object"
        ));
    }
    let _ = std::fs::remove_file(out);
    Ok(Some(measured))
}

/// Compares two files in 1 MiB blocks.
fn same_file(a: &Path, b: &Path) -> Result<bool, String> {
    use std::io::Read as _;
    let open = |p: &Path| std::fs::File::open(p).map_err(|e| format!("{}: {e}", p.display()));
    let (mut fa, mut fb) = (open(a)?, open(b)?);
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let na = fa.read(&mut ba).map_err(|e| e.to_string())?;
        let nb = fb
            .read_exact(&mut bb[..na])
            .map(|()| na)
            .map_err(|e| e.to_string())?;
        if na == 0 {
            return Ok(fb.read(&mut bb[..1]).map_err(|e| e.to_string())? == 0);
        }
        if ba[..na] != bb[..nb] {
            return Ok(false);
        }
    }
}

fn download(flags: &Flags) -> Result<(), String> {
    let size = flags.size("size", 1 << 30)?;
    let part_size = flags.size("part-size", 8 << 20)?;
    let jobs = flags.number("jobs", 4)?;
    let reps = flags.number("reps", 3)?.max(1);
    with_setup(flags, size, part_size, jobs, |setup| {
        download_inner(setup, reps)
    })
}

fn download_inner(setup: &Setup<'_>, reps: u64) -> Result<(), String> {
    let server = OssLocal::start(setup.bins, &["--etag", "fast", "--storage", "disk"])?;
    let key = "bench/download";
    // The object, uploaded once by ours (not measured here).
    setup.ours(&server, key)?;
    let out = bench_dir().join("download.out");
    eprintln!(
        "xtask: [bench download] {} in {} ranges x {} jobs, {reps} rep(s); oss-local {} (disk)",
        human_size(setup.size),
        human_size(setup.part_size),
        setup.jobs,
        server.endpoint
    );
    const CLIENTS: [&str; 3] = ["ceiling", "ours", "official"];
    let mut runs: [Vec<Measured>; 3] = Default::default();
    for rep in 0..reps {
        for slot in 0..3 {
            let i = usize::try_from((rep + slot) % 3).unwrap_or(0);
            runs[i].extend(download_run(setup, &server, CLIENTS[i], key, &out)?);
        }
    }
    let mut history = History::load()?;
    let config = history::Config {
        size: setup.size,
        part_size: setup.part_size,
        jobs: setup.jobs,
    };
    eprintln!();
    eprintln!(
        "{:<9} {:>8} {:>9} {:>12} {:>5}",
        "client", "GiB/s", "rss MiB", "core-s/GiB", "runs"
    );
    let mut summaries: Vec<Option<Summary>> = Vec::new();
    for (client, measured) in CLIENTS.iter().zip(&runs) {
        let s = summarize(measured);
        if let Some(s) = &s {
            eprintln!(
                "{client:<9} {:>8.3} {:>9.1} {:>12.3} {:>5}",
                s.gib_s,
                s.rss_mib,
                s.cpu_per_gib,
                measured.len()
            );
            history.push(Entry::Download {
                config,
                client: (*client).to_owned(),
                gib_s: s.gib_s,
                rss_mib: s.rss_mib,
                cpu_per_gib: s.cpu_per_gib,
                runs: measured.len() as u64,
            });
        }
        summaries.push(s);
    }
    history.save()?;
    doc::write(&history)?;
    let gib = |i: usize| summaries[i].as_ref().map_or(f64::NAN, |s| s.gib_s);
    let ours = summaries[1].as_ref().ok_or("no ours run")?;
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "download: ours={:.3} GiB/s ceiling={:.3} GiB/s official={:.3} GiB/s ours/ceiling={:.3} ours/official={:.2} rss={:.1} MiB cpu={:.3} core-s/GiB",
        gib(1),
        gib(0),
        gib(2),
        gib(1) / gib(0),
        gib(1) / gib(2),
        ours.rss_mib,
        ours.cpu_per_gib,
    )
    .map_err(|e| format!("stdout: {e}"))
}

fn memory(flags: &Flags) -> Result<(), String> {
    let sizes: Vec<u64> = flags
        .get("sizes")
        .unwrap_or("1GiB,8GiB")
        .split(',')
        .map(parse_size)
        .collect::<Result<_, _>>()?;
    let part_size = flags.size("part-size", 8 << 20)?;
    let jobs = flags.number("jobs", 4)?;
    let bins = procs::build()?;
    let server = OssLocal::start(&bins, &["--etag", "fast", "--storage", "discard"])?;
    let mut history = History::load()?;
    std::fs::create_dir_all(bench_dir()).map_err(|e| e.to_string())?;
    for size in sizes {
        // Sparse: the client's memory does not depend on what the bytes are, and 8 GiB of
        // real data would only measure the disk.
        let path = bench_dir().join(format!("sparse-{size}.bin"));
        std::fs::File::create(&path)
            .and_then(|f| f.set_len(size))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let setup = Setup {
            bins: &bins,
            python: None,
            data: &path,
            size,
            part_size,
            jobs,
        };
        let key = format!("bench/memory-{size}");
        let measured = setup.ours(&server, &key);
        let _ = std::fs::remove_file(&path);
        let s = summarize(&[measured?]).ok_or("no run")?;
        eprintln!(
            "memory: {} in {} x {jobs}: peak RSS {:.1} MiB, {:.3} GiB/s, {:.3} core-s/GiB",
            human_size(size),
            human_size(part_size),
            s.rss_mib,
            s.gib_s,
            s.cpu_per_gib
        );
        history.push(Entry::Memory {
            config: history::Config {
                size,
                part_size,
                jobs,
            },
            rss_mib: s.rss_mib,
            gib_s: s.gib_s,
            cpu_per_gib: s.cpu_per_gib,
        });
        // The same object back into a file: the download's memory must not grow with size.
        if let Some(m) = memory::download(&bins, &server, &key, size, part_size, jobs)? {
            let d = summarize(&[m]).ok_or("no run")?;
            eprintln!(
                "memory: download {} in {} x {jobs}: peak RSS {:.1} MiB, {:.3} GiB/s, {:.3} core-s/GiB",
                human_size(size),
                human_size(part_size),
                d.rss_mib,
                d.gib_s,
                d.cpu_per_gib
            );
            history.push(Entry::Download {
                config: history::Config {
                    size,
                    part_size,
                    jobs,
                },
                client: MEMORY_CLIENT.to_owned(),
                gib_s: d.gib_s,
                rss_mib: d.rss_mib,
                cpu_per_gib: d.cpu_per_gib,
                runs: 1,
            });
        }
    }
    history.save()?;
    doc::write(&history)
}

fn parts(flags: &Flags) -> Result<(), String> {
    let parts = flags.number("parts", 10_000)?;
    let part_size = flags.size("part-size", 1 << 20)?;
    let jobs = flags.number("jobs", 4)?;
    let bins = procs::build()?;
    let server = OssLocal::start(&bins, &["--etag", "fast", "--storage", "discard"])?;
    std::fs::create_dir_all(bench_dir()).map_err(|e| e.to_string())?;
    let file = bench_dir().join("parts-sparse.bin");
    let args = oss_bench_args(
        "parts",
        &server.endpoint,
        &[
            "--file",
            &file.display().to_string(),
            "--parts",
            &parts.to_string(),
            "--part-size",
            &part_size.to_string(),
            "--jobs",
            &jobs.to_string(),
        ],
    );
    let line = procs::run_for_line(&bins.oss_bench, &args, "timing");
    let _ = std::fs::remove_file(&file);
    let line = line?;
    let get = |key: &str| -> Result<f64, String> {
        procs::field(&line, key)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("no {key} in `{line}`"))
    };
    let entry = Entry::Parts {
        parts,
        part_size,
        complete_s: get("complete_s")?,
        list_s: get("list_s")?,
        resume_s: get("resume_s")?,
        reused: get("reused")? as u64,
    };
    eprintln!("parts: {line}");
    // The goal is a resume from the page cache; a file partly evicted measures zero-filling
    // (or the disk) instead, so say so rather than record a misleading figure silently.
    if let Some(cached) = procs::field(&line, "cached").and_then(|v| v.parse::<f64>().ok())
        && cached < 0.99
    {
        eprintln!(
            "xtask: [bench] warning: only {:.1}% of the file was in the page cache when the \
                 resume started; resume_s is not a page-cache figure",
            cached * 100.0
        );
    }
    let mut history = History::load()?;
    history.push(entry);
    history.save()?;
    doc::write(&history)
}
