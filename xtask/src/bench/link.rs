//! `cargo xtask bench link`: transfers over a shaped link, ours at its defaults (and with
//! `--peers`, the other clients beside it: [`super::link_peers`]).
//!
//! `oss-local` runs in a network namespace of its own behind a veth pair ([`Link`]); `tc`
//! caps the aggregate in each direction, and `oss-local` itself adds the per-request latency
//! and the per-connection cap (and, in (b), makes one connection in twenty ten times slower).
//! Scenarios: (a) upload; (b) upload with slow connections; (c) many small files with the
//! directory transfer (`ossmp cp -r`); (d) downloads on (a) and (b). (b) and (d) on (b) run again
//! with straggler hedging off, to show what it is worth. Throughput over time
//! comes from the host end's byte counters (on-wire bytes, headers included), so it is the
//! same for every client. Prints `link: a=R b=T c=R d=R` as its last line (with `--peers`,
//! `link-peers: equal=X defaults=Y` just before it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::chart::{self, COLORS, Series};
use super::link_peers;
use super::netns::{Link, NS_ADDR};
use super::peers::{Client, Transfer};
use super::procs::{self, Binaries, OssLocal, Sink};
use super::{AK, BUCKET, Flags, SK, bench_dir, data_file, human_size, oss_bench_args, sections};
use crate::util::workspace_root;

const MIB: f64 = (1u64 << 20) as f64;

/// The knobs of one run.
struct Shape {
    /// Aggregate cap of each direction, bytes/s.
    link: u64,
    /// Cap of one connection, bytes/s.
    per_conn: u64,
    /// `Some` when the link was not given (`--link`): it may be scaled down to what the
    /// machine carries, by this factor (1: not scaled).
    scale: Option<f64>,
    latency_ms: u64,
    slow_rate: f64,
    slow_factor: u64,
    seed: u64,
}

impl Shape {
    /// `oss-local`'s flags: slow connections or not, and where bodies go (`disk`, or
    /// `discard`: checksummed and dropped).
    fn server_flags(&self, slow: bool, storage: &str) -> Vec<String> {
        let mut flags: Vec<String> = [
            "--etag",
            "fast",
            "--storage",
            storage,
            "--latency-ms",
            &self.latency_ms.to_string(),
            "--bandwidth",
            &self.per_conn.to_string(),
            "--fault-seed",
            &self.seed.to_string(),
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        if slow {
            flags.extend([
                "--slow-conn-rate".to_owned(),
                self.slow_rate.to_string(),
                "--slow-factor".to_owned(),
                self.slow_factor.to_string(),
            ]);
        }
        flags
    }
}

/// One measured transfer and the link's throughput while it ran.
#[derive(Clone)]
pub(super) struct Run {
    pub(super) label: String,
    pub(super) bytes: u64,
    pub(super) secs: f64,
    /// `(seconds, MiB/s)` on the wire in the transfer's direction.
    pub(super) rates: Vec<(f64, f64)>,
}

impl Run {
    pub(super) fn mib_s(&self) -> f64 {
        self.bytes as f64 / MIB / self.secs
    }
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Direction {
    Up,
    Down,
}

pub(crate) fn run(flags: &Flags) -> Result<(), String> {
    super::netns::check_root()?;
    let quick = flags.switch("quick");
    let size = flags.size("size", if quick { 256 << 20 } else { 1 << 30 })?;
    let files = flags.number("files", if quick { 300 } else { 2000 })?;
    let link = flags.size("link", 400 << 20)?;
    let mut shape = Shape {
        link,
        per_conn: flags.size("per-conn", link / 10)?,
        scale: flags.get("link").is_none().then_some(1.0),
        latency_ms: flags.number("latency-ms", 20)?,
        slow_rate: flags
            .get("slow-rate")
            .map_or(Ok(0.05), str::parse)
            .map_err(|_| "--slow-rate: not a number".to_owned())?,
        slow_factor: flags.number("slow-factor", 10)?,
        // Seed 0: the first connection of every twenty is the slow one (see oss-local's
        // `--slow-conn-rate`), so every client, however few connections it opens, meets one.
        seed: flags.number("seed", 0)?,
    };
    let bins = procs::build()?;
    let data = data_file(size)?;
    let small = small_files(files)?;
    // `--peers`: the other clients too (`link_peers`), and ours at their equal settings.
    let settings = link_peers::Settings::from_flags(flags)?;
    let clients = if flags.switch("peers") {
        super::peers::clients(flags, &bins)?.0
    } else {
        Vec::new()
    };
    let load_before = load_average();
    let result = scenarios(&bins, &mut shape, &data, &small, (&clients, &settings));
    if !flags.switch("keep-data") {
        let _ = std::fs::remove_file(&data);
        let _ = std::fs::remove_dir_all(&small.0);
        let _ = std::fs::remove_file(small.0.with_extension("complete"));
    }
    let outcome = result?;
    let command: String = flags
        .0
        .iter()
        .map(|(name, value)| match value.as_str() {
            "true" => format!(" --{name}"),
            _ => format!(" --{name} {value}"),
        })
        .collect();
    report(&shape, &outcome, &settings, &load_before, &command)
}

struct Outcome {
    probe_mib_s: f64,
    a: Run,
    b: Run,
    c: Run,
    da: Run,
    db: Run,
    /// (b) and (d) on (b) with straggler hedging off: what hedging is worth.
    b_unhedged: Run,
    db_unhedged: Run,
    /// Raw ranged GETs of the same object on the same link (`oss-bench fetch`, 16
    /// connections): what this machine can download through the link at all.
    d_ceiling: Run,
    /// With `--peers`: ours and the peers in (a), (b), (d) on (a) and (d) on (b), in that
    /// order (empty without).
    peers: Vec<link_peers::Scenario>,
}

fn scenarios(
    bins: &Binaries,
    shape: &mut Shape,
    data: &Path,
    small: &(PathBuf, u64),
    (clients, settings): (&[Client], &link_peers::Settings),
) -> Result<Outcome, String> {
    let net = Link::create()?;
    // What the veth pair carries with no shaping at all: the most this machine can show.
    let probe_mib_s = {
        let sink = Sink::start_with(net.command(&bins.oss_bench), &format!("{NS_ADDR}:0"))?;
        let m = procs::measure(
            bins,
            "probe",
            &bins.oss_bench,
            &[
                "feed".to_owned(),
                "--addr".to_owned(),
                sink.addr.clone(),
                "--file".to_owned(),
                data.display().to_string(),
                "--part-size".to_owned(),
                (8u64 << 20).to_string(),
                "--jobs".to_owned(),
                "8".to_owned(),
            ],
        )?;
        m.bytes as f64 / MIB / m.secs
    };
    // The default link (the issue's) may be more than this machine moves through tc and
    // oss-local: keep a quarter of the unshaped rate as headroom, scaling the per-connection
    // cap with it so that the ratio of the two stays. An explicit `--link` is kept as given.
    if shape.scale.is_some() {
        let (link, per_conn, scale) = fit(shape.link, shape.per_conn, probe_mib_s);
        (shape.link, shape.per_conn, shape.scale) = (link, per_conn, Some(scale));
    }
    eprintln!(
        "xtask: [bench link] unshaped veth: {probe_mib_s:.0} MiB/s (8 raw connections); link \
         {:.0} MiB/s, {:.0} MiB/s per connection, {} ms per request",
        shape.link as f64 / MIB,
        shape.per_conn as f64 / MIB,
        shape.latency_ms
    );
    if shape.link as f64 / MIB > 0.8 * probe_mib_s {
        eprintln!(
            "xtask: [bench link] warning: the link is more than 0.8 of what this machine carries \
             unshaped; the CPU, not the link, may set the pace (lower --link and --per-conn)"
        );
    }
    net.shape(Some(shape.link))?;
    let listen = format!("{NS_ADDR}:0");
    // Uploads are measured against servers that checksum and drop the bytes: OSS does not
    // store them on the client's CPU, and on a 2-core machine a server writing a GiB to its
    // disk takes a core from the client (page-cache writes cost the kernel ~2 core-s per GiB
    // on the VM of docs/PERFORMANCE.md). Downloads need the object: it is stored on disk
    // first, outside the clock.
    let stored = shape.server_flags(false, "disk");
    let stored_slow = shape.server_flags(true, "disk");
    let normal = shape.server_flags(false, "discard");
    let slow = shape.server_flags(true, "discard");
    let server = OssLocal::start_with(net.command(&bins.oss_local), &listen, &strs(&stored))?;
    ours(
        bins,
        &server,
        "d: the object",
        "link/a",
        Direction::Up,
        data,
    )?;
    let da = ours(
        bins,
        &server,
        "d: download (a)",
        "link/a",
        Direction::Down,
        data,
    )?;
    let d_ceiling = download_ceiling(bins, &server, "d: ceiling (raw GETs)", "link/a", data)?;
    let ctx = link_peers::Ctx::new(bins, clients, settings, data);
    let download = |title, ours_defaults| link_peers::Job {
        title,
        transfer: Transfer::Download,
        object: "link/a",
        ours_defaults,
        reference_secs: da.secs,
    };
    // Restart a server with slow connections on its data: see `link_peers::Ctx::scenario`.
    let restart_stored_slow = |server: OssLocal| {
        server.restart_with(net.command(&bins.oss_local), &listen, &strs(&stored_slow))
    };
    let restart_slow =
        |server: OssLocal| server.restart_with(net.command(&bins.oss_local), &listen, &strs(&slow));
    // Run in the order the servers allow, reported (a), (b), (d) on (a), (d) on (b).
    let (mut peers_a, mut peers_b, mut peers_da, mut peers_db) = (None, None, None, None);
    let mut server = server;
    if let Some(ctx) = &ctx {
        let (scenario, back) = ctx.scenario(server, None, &download("(d) download on (a)", &da))?;
        peers_da = Some(scenario);
        server = back;
    }
    // The same object from a restarted server with slow connections: the download meets
    // the first of them, as the upload of (b) does on its own server.
    let server = restart_stored_slow(server)?;
    let db = ours(
        bins,
        &server,
        "d: download (b)",
        "link/a",
        Direction::Down,
        data,
    )?;
    // Hedging off, on a fresh server: the same slow connections in the same places.
    let server = restart_stored_slow(server)?;
    let db_unhedged = ours_with(
        bins,
        &server,
        "d: download (b), no hedging",
        "link/a",
        Direction::Down,
        data,
        &["--no-hedge"],
    )?;
    if let Some(ctx) = &ctx {
        let job = download("(d) download on (b)", &db);
        peers_db = Some(ctx.scenario(server, Some(&restart_stored_slow), &job)?.0);
    } else {
        drop(server);
    }
    let server = OssLocal::start_with(net.command(&bins.oss_local), &listen, &strs(&normal))?;
    let a = ours(bins, &server, "a: upload", "link/a", Direction::Up, data)?;
    let upload = |title, object, ours_defaults| link_peers::Job {
        title,
        transfer: Transfer::Upload,
        object,
        ours_defaults,
        reference_secs: a.secs,
    };
    let server = match &ctx {
        Some(ctx) => {
            let job = upload("(a) upload", "link/a-peers", &a);
            let (scenario, back) = ctx.scenario(server, None, &job)?;
            peers_a = Some(scenario);
            back
        }
        None => server,
    };
    let c = directory(&bins.ossmp, &server, small)?;
    drop(server);
    let (b, b_unhedged) = {
        let server = OssLocal::start_with(net.command(&bins.oss_local), &listen, &strs(&slow))?;
        let b = ours(
            bins,
            &server,
            "b: upload, slow conns",
            "link/b",
            Direction::Up,
            data,
        )?;
        let server = restart_slow(server)?;
        let b_unhedged = ours_with(
            bins,
            &server,
            "b: upload, slow conns, no hedging",
            "link/b",
            Direction::Up,
            data,
            &["--no-hedge"],
        )?;
        if let Some(ctx) = &ctx {
            let job = upload("(b) upload, slow connections", "link/b-peers", &b);
            peers_b = Some(ctx.scenario(server, Some(&restart_slow), &job)?.0);
        }
        (b, b_unhedged)
    };
    drop(net);
    Ok(Outcome {
        probe_mib_s,
        a,
        b,
        c,
        da,
        db,
        b_unhedged,
        db_unhedged,
        d_ceiling,
        peers: [peers_a, peers_b, peers_da, peers_db]
            .into_iter()
            .flatten()
            .collect(),
    })
}

/// The link and per-connection caps scaled down together so that the link is at most a
/// quarter of `probe_mib_s` (rounded down to 10 MiB/s), and the factor applied (1: fits).
fn fit(link: u64, per_conn: u64, probe_mib_s: f64) -> (u64, u64, f64) {
    let fits = (probe_mib_s / 4.0 / 10.0).floor() * 10.0 * MIB;
    if (link as f64) <= fits || fits <= 0.0 {
        return (link, per_conn, 1.0);
    }
    let scale = fits / link as f64;
    (fits as u64, (per_conn as f64 * scale) as u64, scale)
}

impl Outcome {
    fn runs(&self) -> impl Iterator<Item = &Run> {
        [
            &self.a,
            &self.b,
            &self.c,
            &self.b_unhedged,
            &self.da,
            &self.db,
            &self.db_unhedged,
            &self.d_ceiling,
        ]
        .into_iter()
    }
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Samples the link's counters every 50 ms while `f` runs.
pub(super) fn sampled(
    label: &str,
    direction: Direction,
    f: impl FnOnce() -> Result<(u64, f64), String>,
) -> Result<Run, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let sampler = std::thread::spawn(move || {
        let start = Instant::now();
        let mut samples = Vec::new();
        while !flag.load(Ordering::Relaxed) {
            let (tx, rx) = Link::counters();
            let bytes = if direction == Direction::Up { tx } else { rx };
            samples.push((start.elapsed().as_secs_f64(), bytes));
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        samples
    });
    let result = f();
    stop.store(true, Ordering::Relaxed);
    let samples = sampler.join().map_err(|_| "the sampler panicked")?;
    let (bytes, secs) = result?;
    Ok(Run {
        label: label.to_owned(),
        bytes,
        secs,
        rates: chart::rates(&samples, 0.25),
    })
}

/// Ours (`oss-bench ours` / `ours-download --defaults`) on `key`.
fn ours(
    bins: &Binaries,
    server: &OssLocal,
    label: &str,
    key: &str,
    direction: Direction,
    data: &Path,
) -> Result<Run, String> {
    ours_with(bins, server, label, key, direction, data, &[])
}

/// [`ours`] with `extra` flags (`--no-hedge`).
fn ours_with(
    bins: &Binaries,
    server: &OssLocal,
    label: &str,
    key: &str,
    direction: Direction,
    data: &Path,
    extra: &[&str],
) -> Result<Run, String> {
    let out = bench_dir().join("link-download.out");
    let (command, path_flag, path) = match direction {
        Direction::Up => ("ours", "--file", data),
        Direction::Down => {
            let _ = std::fs::remove_file(&out);
            ("ours-download", "--out", out.as_path())
        }
    };
    let path = path.display().to_string();
    let args = oss_bench_args(
        command,
        &server.endpoint,
        &[&["--key", key, path_flag, &path, "--defaults"][..], extra].concat(),
    );
    let run = sampled(label, direction, || {
        let m = procs::measure(bins, label, &bins.oss_bench, &args)?;
        Ok((m.bytes, m.secs))
    })?;
    if direction == Direction::Down {
        // The downloader verified CRC-64 against the object; check the size landed too.
        let got = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
        let _ = std::fs::remove_file(&out);
        let want = std::fs::metadata(data).map(|m| m.len()).unwrap_or(0);
        if got != want {
            return Err(format!("{label}: wrote {got} bytes, expected {want}"));
        }
    }
    Ok(run)
}

/// `oss-bench fetch` of `key`: raw ranged GETs on 16 keep-alive connections, CRC-64 of every
/// byte, `pwrite` into a file, one fsync; no verification against the object, no temp file.
fn download_ceiling(
    bins: &Binaries,
    server: &OssLocal,
    label: &str,
    key: &str,
    data: &Path,
) -> Result<Run, String> {
    let out = bench_dir().join("link-download.out");
    let _ = std::fs::remove_file(&out);
    let path = out.display().to_string();
    let args = oss_bench_args(
        "fetch",
        &server.endpoint,
        &[
            "--key",
            key,
            "--out",
            &path,
            "--part-size",
            "8388608",
            "--jobs",
            "16",
        ],
    );
    let run = sampled(label, Direction::Down, || {
        let m = procs::measure(bins, label, &bins.oss_bench, &args)?;
        Ok((m.bytes, m.secs))
    });
    let got = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    let _ = std::fs::remove_file(&out);
    let want = std::fs::metadata(data).map(|m| m.len()).unwrap_or(0);
    match run {
        Ok(_) if got != want => Err(format!("{label}: wrote {got} bytes, expected {want}")),
        run => run,
    }
}

/// `ossmp cp -r DIR oss://BUCKET/small/` at its defaults, timed as a whole process.
fn directory(ossmp: &Path, server: &OssLocal, small: &(PathBuf, u64)) -> Result<Run, String> {
    let (dir, bytes) = small;
    sampled("c: small files", Direction::Up, || {
        let started = Instant::now();
        let output = Command::new(ossmp)
            .args(["cp", "-r", "--path-style", "--endpoint", &server.endpoint])
            .args(["--region", "cn-hangzhou", "--json"])
            .arg(dir)
            .arg(format!("oss://{BUCKET}/small/"))
            .env("OSS_ACCESS_KEY_ID", AK)
            .env("OSS_ACCESS_KEY_SECRET", SK)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("could not run ossmp: {e}"))?;
        let secs = started.elapsed().as_secs_f64();
        if !output.status.success() {
            return Err(format!(
                "ossmp cp -r failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        eprintln!(
            "xtask: [bench] {:<8} {:>7.3} GiB/s  ({} in {secs:.2} s)",
            "small",
            *bytes as f64 / super::GIB / secs,
            human_size(*bytes)
        );
        Ok((*bytes, secs))
    })
}

/// `count` files of 64 KiB to 1 MiB (sizes and bytes from a fixed seed) in one directory,
/// reused while it matches; returns the directory and the total size.
fn small_files(count: u64) -> Result<(PathBuf, u64), String> {
    let dir = bench_dir().join(format!("link-small-{count}"));
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let sizes: Vec<u64> = (0..count)
        .map(|_| (64 << 10) + next() % ((1 << 20) - (64 << 10) + 1))
        .collect();
    let total = sizes.iter().sum();
    // Beside the directory, not in it: the marker is not part of the upload.
    let marker = dir.with_extension("complete");
    if marker.exists() {
        return Ok((dir, total));
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    eprintln!(
        "xtask: [bench link] writing {count} small files ({}) to {}",
        human_size(total),
        dir.display()
    );
    for (i, size) in sizes.iter().enumerate() {
        let bytes: Vec<u8> = (0..size.div_ceil(8))
            .flat_map(|_| next().to_le_bytes())
            .take(usize::try_from(*size).unwrap_or(0))
            .collect();
        let path = dir.join(format!("f{i:05}.bin"));
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    std::fs::write(&marker, b"").map_err(|e| e.to_string())?;
    Ok((dir, total))
}

/// How loaded the machine was, from the 1-minute load average against the core count.
pub(super) fn cores_note(load: &str) -> String {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let one: f64 = load
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    if one > cores as f64 {
        format!(
            "{cores} cores: the machine was shared with other work, so these are figures from a \
             loaded machine"
        )
    } else {
        format!("{cores} cores")
    }
}

pub(super) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// `command`: the flags of this run, as typed.
fn report(
    shape: &Shape,
    o: &Outcome,
    settings: &link_peers::Settings,
    load_before: &str,
    command: &str,
) -> Result<(), String> {
    let link = shape.link as f64 / MIB;
    let a = o.a.mib_s() / link;
    let b = o.b.secs / o.a.secs;
    let c = o.c.mib_s() / link;
    let d = o.da.mib_s() / link;
    let db = o.db.secs / o.da.secs;
    let load_after = load_average();
    eprintln!();
    eprintln!(
        "{:<24} {:>10} {:>8} {:>8} {:>7}",
        "scenario", "size", "secs", "MiB/s", "/ link"
    );
    for run in o.runs() {
        eprintln!(
            "{:<24} {:>10} {:>8.2} {:>8.1} {:>7.2}",
            run.label,
            human_size(run.bytes),
            run.secs,
            run.mib_s(),
            run.mib_s() / link
        );
    }
    eprintln!(
        "download (b) / download (a) time: {db:.2}; without hedging, (b) / (a): upload {:.2}, \
         download {:.2}; load average {load_before} before, {load_after} after",
        o.b_unhedged.secs / o.a.secs,
        o.db_unhedged.secs / o.da.secs,
    );
    let peers = (!o.peers.is_empty()).then(|| link_peers::report(&o.peers, settings, link));
    write_docs(
        shape,
        o,
        (load_before, &load_after),
        command,
        [a, b, c, d, db],
        peers.as_ref().map(|p| p.docs.as_str()),
    )?;
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    if let Some(peers) = &peers {
        writeln!(stdout, "{}", peers.line).map_err(|e| e.to_string())?;
    }
    // The last line is a contract: scripts read it.
    writeln!(stdout, "link: a={a:.2} b={b:.2} c={c:.2} d={d:.2}").map_err(|e| e.to_string())
}

fn write_docs(
    shape: &Shape,
    o: &Outcome,
    load: (&str, &str),
    command: &str,
    [a, b, c, d, db]: [f64; 5],
    peers: Option<&str>,
) -> Result<(), String> {
    let link = shape.link as f64 / MIB;
    let docs = workspace_root().join("docs");
    let charts: [(&str, &str, Vec<&Run>); 4] = [
        (
            "link-a.svg",
            "(a) upload at defaults",
            std::iter::once(&o.a)
                .chain(o.peers.first().into_iter().flat_map(|s| s.peer_defaults()))
                .collect(),
        ),
        (
            "link-b.svg",
            "(b) upload, slow connections, vs (a)",
            vec![&o.b, &o.b_unhedged, &o.a],
        ),
        ("link-c.svg", "(c) small files, ossmp cp -r", vec![&o.c]),
        (
            "link-d.svg",
            "(d) downloads on (a) and (b)",
            vec![&o.da, &o.db, &o.db_unhedged],
        ),
    ];
    for (file, title, runs) in &charts {
        let series: Vec<Series> = runs
            .iter()
            .zip(COLORS)
            .map(|(run, color)| Series {
                label: run.label.clone(),
                color,
                points: run.rates.clone(),
            })
            .collect();
        std::fs::write(docs.join(file), chart::line_chart(title, &series, link))
            .map_err(|e| format!("docs/{file}: {e}"))?;
    }
    let mut s = String::new();
    s.push_str("## Shaped link\n\n");
    s.push_str(&format!(
        "`cargo xtask bench link{}` (as root: it makes a network namespace). `oss-local --etag fast` \
         runs in its own network namespace behind a veth pair (uploads land on `--storage discard`: \
         bytes checksummed and dropped, because OSS does not store them on the client's CPU and a \
         server writing a GiB to its disk here takes a core from a 2-core machine; the downloads' \
         object is on `--storage disk`, uploaded before the clock starts); `tc` tbf caps each \
         direction at {link:.0} MiB/s, and `oss-local` adds {} ms per request and a cap of {:.0} MiB/s \
         per connection (`--latency-ms`, `--bandwidth`). In (b), `--slow-conn-rate {} --slow-factor {}` \
         makes one connection in {:.0} {}× slower (the first of each window: every client meets one). Every transfer in the table below is ours at its defaults (no part size or \
         concurrency given): `oss-bench ours --defaults`, `oss-bench ours-download --defaults`, \
         `ossmp cp -r`. The charts show the link's own byte counters (headers included) every 250 ms.\n\n",
        command,
        shape.latency_ms,
        shape.per_conn as f64 / MIB,
        shape.slow_rate,
        shape.slow_factor,
        1.0 / shape.slow_rate.max(f64::MIN_POSITIVE),
        shape.slow_factor,
    ));
    let scaled = match shape.scale {
        Some(scale) if scale < 1.0 => format!(
            "so the benchmark scaled the link and the per-connection cap by {scale:.3} to {link:.0} \
             MiB/s and {:.0} MiB/s (a quarter of the unshaped rate, rounded down to 10 MiB/s) to \
             measure the client rather than the CPU",
            shape.per_conn as f64 / MIB
        ),
        Some(_) => "so the issue's link fitted as it is".to_owned(),
        None => format!("and the link was set with `--link` to {link:.0} MiB/s"),
    };
    s.push_str(&format!(
        "The issue's link is 400 MiB/s with 40 MiB/s per connection. Unshaped, the veth pair of this \
         machine carried {:.0} MiB/s (raw HTTP PUTs on 8 connections) during this run, {scaled}. \
         Load average {} before and {} after, on {}.\n\n",
        o.probe_mib_s,
        load.0,
        load.1,
        cores_note(load.0)
    ));
    s.push_str("| scenario | bytes | seconds | MiB/s | / link |\n|---|---:|---:|---:|---:|\n");
    for run in o.runs() {
        s.push_str(&format!(
            "| {} | {} | {:.2} | {:.1} | {:.2} |\n",
            run.label,
            human_size(run.bytes),
            run.secs,
            run.mib_s(),
            run.mib_s() / link
        ));
    }
    s.push_str(&format!(
        "\nSummary line: `link: a={a:.2} b={b:.2} c={c:.2} d={d:.2}` (a, c, d: fraction of the link; \
         b: time of (b) / time of (a)). Downloads: time of (b) / time of (a) = {db:.2}; download (a) \
         / the raw GETs' ceiling on the same link = {:.2}. Without hedging, (b) / (a) = {:.2} for the \
         upload and {:.2} for the download.\n\n",
        o.da.mib_s() / o.d_ceiling.mib_s(),
        o.b_unhedged.secs / o.a.secs,
        o.db_unhedged.secs / o.da.secs,
    ));
    for (file, title, _) in &charts {
        s.push_str(&format!("![{title}]({file})\n\n"));
    }
    s.push_str(peers.unwrap_or_default());
    sections::update("link", &s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_is_scaled_to_a_quarter_of_the_probe_keeping_the_ratio() {
        let mib = 1u64 << 20;
        // 415 MiB/s unshaped: a quarter is 103.75, rounded down to 100 MiB/s.
        let (link, per_conn, scale) = fit(400 * mib, 40 * mib, 415.0);
        assert_eq!((link, per_conn), (100 * mib, 10 * mib));
        assert!((scale - 0.25).abs() < 1e-9);
        // A fast machine keeps the issue's link.
        assert_eq!(fit(400 * mib, 40 * mib, 4000.0), (400 * mib, 40 * mib, 1.0));
        // A probe too slow to scale to anything keeps the link (and the warning says why).
        assert_eq!(fit(400 * mib, 40 * mib, 20.0), (400 * mib, 40 * mib, 1.0));
    }
}
