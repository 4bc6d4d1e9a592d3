//! `cargo xtask bench peers`: ours against the other OSS clients, one file, one `oss-local`,
//! one machine, in one run.
//!
//! Peers: Apache OpenDAL's `oss` service (the registry crate, in `benches/opendal-peer`, a
//! project outside the workspace so its dependencies never enter the workspace build), the
//! official Python SDK v2 uploader and ali-oss `multipartUpload` (npm). Every client runs
//! twice: with equal settings (`--part-size` × `--jobs`, 8 MiB × 4 by default) and with its
//! own defaults. Each runs as a child of `oss-bench measure`, in rotating order.
//!
//! [`Client`] also knows each client's downloader, for `bench link --peers` (`link_peers`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::procs::{self, Binaries, Measured, OssLocal};
use super::{AK, BUCKET, Flags, GIB, SK, data_file, human_size, median, sections};
use crate::util::workspace_root;

/// The ali-oss release the benchmark installs (a fixed version, so runs compare).
const ALI_OSS: &str = "ali-oss@6.23.0";

/// Which way a client moves the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Transfer {
    /// The local file to the object.
    Upload,
    /// The object to the local file.
    Download,
}

/// One client: how to run it, each way, with equal settings or its defaults.
pub(super) struct Client {
    pub(super) name: &'static str,
    pub(super) program: PathBuf,
    /// Arguments before the common ones when uploading (a script path, OpenDAL's mode).
    upload: Vec<String>,
    /// The same when downloading.
    download: Vec<String>,
}

impl Client {
    /// Whether this client's downloader takes a part size and a concurrency. ali-oss's `get`
    /// is one streamed GET with nothing to set, so its equal-settings download is its default.
    pub(super) fn sets_download(&self) -> bool {
        self.name != "ali-oss"
    }

    /// The arguments of one transfer of `key` from or to the local `path`, with `equal`
    /// `(part size, jobs)` or the client's defaults (`None`).
    pub(super) fn args(
        &self,
        transfer: Transfer,
        endpoint: &str,
        key: &str,
        path: &Path,
        equal: Option<(u64, u64)>,
    ) -> Vec<String> {
        let mut args = match transfer {
            Transfer::Upload => self.upload.clone(),
            Transfer::Download => self.download.clone(),
        };
        let path = path.display().to_string();
        if self.name == "ours" {
            let (command, path_flag) = match transfer {
                Transfer::Upload => ("ours", "--file"),
                Transfer::Download => ("ours-download", "--out"),
            };
            let settings = equal.map(|(part, jobs)| [part.to_string(), jobs.to_string()]);
            let tail = match &settings {
                Some([part, jobs]) => vec!["--part-size", part, "--jobs", jobs],
                None => vec!["--defaults"],
            };
            let rest = [&["--key", key, path_flag, &path][..], &tail].concat();
            args.extend(super::oss_bench_args(command, endpoint, &rest));
            return args;
        }
        // A downloader with nothing to set runs its one form whatever is asked.
        let equal = equal.filter(|_| transfer == Transfer::Upload || self.sets_download());
        let settings = match equal {
            Some((part, jobs)) => [part.to_string(), jobs.to_string()],
            None => ["default".to_owned(), "default".to_owned()],
        };
        args.extend([endpoint, BUCKET, key, &path].map(str::to_owned));
        if self.name == "python-v2" {
            // official_upload.py, official_download.py: ... PART_SIZE JOBS AK SK
            args.extend(settings);
            args.extend([AK.to_owned(), SK.to_owned()]);
        } else {
            // opendal-peer and the ali-oss scripts: ... AK SK (PART_SIZE JOBS | default)
            args.extend([AK.to_owned(), SK.to_owned()]);
            args.push(settings[0].clone());
            if equal.is_some() {
                args.push(settings[1].clone());
            }
        }
        args
    }
}

pub(crate) fn run(flags: &Flags) -> Result<(), String> {
    let quick = flags.switch("quick");
    let size = flags.size("size", if quick { 256 << 20 } else { 1 << 30 })?;
    let part = flags.size("part-size", 8 << 20)?;
    let jobs = flags.number("jobs", 4)?;
    let reps = flags.number("reps", 1)?.max(1);
    let bins = procs::build()?;
    let (clients, notes) = clients(flags, &bins)?;
    let data = data_file(size)?;
    let load_before = super::link::load_average();
    let result = measure_all(&bins, &clients, &data, (part, jobs), reps);
    if !flags.switch("keep-data") {
        let _ = std::fs::remove_file(&data);
    }
    let table = result?;
    report(&table, size, (part, jobs), reps, &load_before, &notes)
}

/// Ours and the peers not switched off by `--no-opendal`, `--no-python`, `--no-node`, each
/// built or installed; plus notes for the report (the OpenDAL build time).
pub(super) fn clients(
    flags: &Flags,
    bins: &Binaries,
) -> Result<(Vec<Client>, Vec<String>), String> {
    let mut clients = vec![Client {
        name: "ours",
        program: bins.oss_bench.clone(),
        upload: Vec::new(),
        download: Vec::new(),
    }];
    let mut notes = Vec::new();
    if !flags.switch("no-opendal") {
        let (program, secs) = build_opendal()?;
        notes.push(format!(
            "Building `benches/opendal-peer` took {secs:.0} s in this run (near 0 when it is up to \
             date; the first build, with every dependency, is in benches/README.md)"
        ));
        clients.push(Client {
            name: "opendal",
            program,
            upload: vec!["upload".to_owned()],
            download: vec!["download".to_owned()],
        });
    }
    if !flags.switch("no-python") {
        let venv = workspace_root().join("target").join("interop-venv");
        clients.push(Client {
            name: "python-v2",
            program: crate::interop::ensure_venv(&venv)?,
            upload: vec![script("official_upload.py")],
            download: vec![script("official_download.py")],
        });
    }
    if !flags.switch("no-node") {
        let script = ensure_ali_oss()?.display().to_string();
        clients.push(Client {
            name: "ali-oss",
            program: PathBuf::from("node"),
            upload: vec![script.clone(), "upload".to_owned()],
            download: vec![script, "download".to_owned()],
        });
    }
    Ok((clients, notes))
}

/// `(client, equal?) -> median GiB/s, CPU core-s/GiB, peak RSS MiB`.
struct Row {
    client: &'static str,
    equal: bool,
    gib_s: f64,
    cpu_per_gib: f64,
    rss_mib: f64,
}

fn measure_all(
    bins: &Binaries,
    clients: &[Client],
    data: &Path,
    equal: (u64, u64),
    reps: u64,
) -> Result<Vec<Row>, String> {
    let server = OssLocal::start(bins, &["--etag", "fast", "--storage", "discard"])?;
    let slots: Vec<(usize, bool)> = (0..clients.len())
        .flat_map(|i| [(i, true), (i, false)])
        .collect();
    let mut runs: Vec<Vec<Measured>> = vec![Vec::new(); slots.len()];
    for rep in 0..reps {
        // Rotate the order so no client always runs first (cold caches, turbo).
        for k in 0..slots.len() {
            let s = (k + usize::try_from(rep).unwrap_or(0)) % slots.len();
            let (i, is_equal) = slots[s];
            let client = &clients[i];
            let label = format!("{}{}", client.name, if is_equal { "" } else { " (def)" });
            let key = format!("peers/{}-{}-{rep}", client.name, is_equal);
            let args = client.args(
                Transfer::Upload,
                &server.endpoint,
                &key,
                data,
                is_equal.then_some(equal),
            );
            runs[s].push(procs::measure(bins, &label, &client.program, &args)?);
        }
    }
    Ok(slots
        .iter()
        .zip(&runs)
        .map(|(&(i, equal), measured)| {
            let mut rate: Vec<f64> = measured
                .iter()
                .map(|m| m.bytes as f64 / GIB / m.secs)
                .collect();
            let mut cpu: Vec<f64> = measured
                .iter()
                .map(|m| m.cpu_secs / (m.bytes as f64 / GIB))
                .collect();
            let mut rss: Vec<f64> = measured
                .iter()
                .map(|m| m.max_rss_kib as f64 / 1024.0)
                .collect();
            Row {
                client: clients[i].name,
                equal,
                gib_s: median(&mut rate),
                cpu_per_gib: median(&mut cpu),
                rss_mib: median(&mut rss),
            }
        })
        .collect())
}

fn script(name: &str) -> String {
    workspace_root()
        .join("crates/oss-bench/scripts")
        .join(name)
        .display()
        .to_string()
}

/// Builds `benches/opendal-peer` (release, its own target directory) and returns the
/// executable and the build time.
fn build_opendal() -> Result<(PathBuf, f64), String> {
    let dir = workspace_root().join("benches").join("opendal-peer");
    let target = workspace_root().join("target").join("opendal-peer");
    let started = Instant::now();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&dir)
        .args(["build", "--release", "--quiet"])
        .env("CARGO_TARGET_DIR", &target)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("could not build the OpenDAL peer: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building benches/opendal-peer failed with {status}"
        ));
    }
    let exe = target.join("release").join("opendal-peer");
    if !exe.exists() {
        return Err(format!("{} was not built", exe.display()));
    }
    Ok((exe, started.elapsed().as_secs_f64()))
}

/// Installs ali-oss with npm into `target/peers-node` unless it is there, and copies the
/// upload and download scripts next to its `node_modules` so that `require` finds it;
/// returns that directory.
fn ensure_ali_oss() -> Result<PathBuf, String> {
    let dir = workspace_root().join("target").join("peers-node");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let stamp = dir.join("installed.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(ALI_OSS) {
        crate::util::run_step(
            "peers npm",
            Command::new("npm").current_dir(&dir).args([
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                ALI_OSS,
            ]),
        )?;
        std::fs::write(&stamp, ALI_OSS).map_err(|e| e.to_string())?;
    }
    let to = dir.join("alioss.js");
    std::fs::copy(script("alioss.js"), &to).map_err(|e| format!("{}: {e}", to.display()))?;
    Ok(to)
}

fn report(
    rows: &[Row],
    size: u64,
    (part, jobs): (u64, u64),
    reps: u64,
    load_before: &str,
    notes: &[String],
) -> Result<(), String> {
    let load_after = super::link::load_average();
    let get = |client: &str, equal: bool| {
        rows.iter()
            .find(|r| r.client == client && r.equal == equal)
            .map(|r| r.gib_s)
    };
    let best_peer = |equal: bool| {
        rows.iter()
            .filter(|r| r.client != "ours" && r.equal == equal)
            .map(|r| r.gib_s)
            .fold(f64::NAN, f64::max)
    };
    let ratio_equal = get("ours", true).unwrap_or(f64::NAN) / best_peer(true);
    let ratio_default = get("ours", false).unwrap_or(f64::NAN) / best_peer(false);
    let mut table = String::new();
    table.push_str(&format!(
        "| client | equal ({} × {jobs}) GiB/s | defaults GiB/s | ours / it, equal | ours / it, defaults | CPU core-s/GiB (equal) | peak RSS MiB (equal) |\n|---|---:|---:|---:|---:|---:|---:|\n",
        human_size(part)
    ));
    eprintln!();
    eprintln!(
        "{:<10} {:>12} {:>12} {:>10} {:>10} {:>11} {:>8}",
        "client", "equal GiB/s", "dflt GiB/s", "ours/eq", "ours/dflt", "core-s/GiB", "rss MiB"
    );
    for client in rows.iter().filter(|r| r.equal) {
        let eq = client.gib_s;
        let df = get(client.client, false).unwrap_or(f64::NAN);
        let (oe, od) = (
            get("ours", true).unwrap_or(f64::NAN) / eq,
            get("ours", false).unwrap_or(f64::NAN) / df,
        );
        eprintln!(
            "{:<10} {eq:>12.3} {df:>12.3} {oe:>10.2} {od:>10.2} {:>11.3} {:>8.1}",
            client.client, client.cpu_per_gib, client.rss_mib
        );
        table.push_str(&format!(
            "| {} | {eq:.3} | {df:.3} | {oe:.2} | {od:.2} | {:.3} | {:.1} |\n",
            client.client, client.cpu_per_gib, client.rss_mib
        ));
    }
    let line = format!("peers: equal={ratio_equal:.2} defaults={ratio_default:.2}");
    let mut s = String::from("## Peers on loopback\n\n");
    s.push_str(&format!(
        "`cargo xtask bench peers --size {} --reps {reps}` ({reps} run(s) of each, median): one {} file uploaded to \
         `oss-local --etag fast --storage discard` on 127.0.0.1 by each client, with equal settings \
         ({} parts, {jobs} in flight) and with the client's own defaults. Ours: `oss-bench ours` \
         (`--defaults`: the library's part size and concurrency). OpenDAL: the `opendal` crate's \
         `oss` service, `writer_with(..).chunk(..).concurrent(..)`, or `writer(..)` with no options \
         (`benches/opendal-peer`; the file is written in 8 MiB blocks). Python v2: \
         `alibabacloud-oss-v2` `uploader.upload_file` (`crates/oss-bench/scripts/official_upload.py`). \
         ali-oss: `multipartUpload` with `partSize`/`parallel` or none (`{ALI_OSS}`, \
         `crates/oss-bench/scripts/alioss.js upload`). CPU and peak RSS are the client process's, \
         from `wait4`.\n\n",
        human_size(size).replace(' ', ""),
        human_size(size),
        human_size(part),
    ));
    s.push_str(&table);
    s.push_str(&format!(
        "\nSummary line: `{line}` (ours / the best peer). Load average {load_before} before and \
         {load_after} after, on {}; the ratios come from one run.\n",
        super::link::cores_note(load_before)
    ));
    for note in notes {
        s.push_str(&format!("\n{note}.\n"));
    }
    sections::update("peers", &s)?;
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}").map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(name: &'static str, upload: &str, download: &str) -> Client {
        Client {
            name,
            program: PathBuf::from(name),
            upload: vec![upload.to_owned()],
            download: vec![download.to_owned()],
        }
    }

    #[test]
    fn each_client_gets_its_downloader_and_its_argument_order() {
        let out = Path::new("/tmp/out");
        let equal = Some((8 << 20, 16));
        let python = client("python-v2", "up.py", "down.py");
        assert_eq!(
            python.args(Transfer::Download, "http://e", "k", out, equal),
            [
                "down.py", "http://e", BUCKET, "k", "/tmp/out", "8388608", "16", AK, SK
            ]
        );
        let opendal = client("opendal", "upload", "download");
        assert_eq!(
            opendal.args(Transfer::Download, "http://e", "k", out, None),
            [
                "download", "http://e", BUCKET, "k", "/tmp/out", AK, SK, "default"
            ]
        );
        assert_eq!(
            opendal.args(Transfer::Upload, "http://e", "k", out, equal)[0],
            "upload"
        );
        // ali-oss's `get` has nothing to set: asked for equal settings, it runs its one form.
        let ali = client("ali-oss", "up.js", "down.js");
        assert!(!ali.sets_download());
        assert_eq!(
            ali.args(Transfer::Download, "http://e", "k", out, equal),
            [
                "down.js", "http://e", BUCKET, "k", "/tmp/out", AK, SK, "default"
            ]
        );
        assert_eq!(
            ali.args(Transfer::Upload, "http://e", "k", out, equal)[6..],
            [SK, "8388608", "16"]
        );
    }

    #[test]
    fn ours_downloads_with_ours_download() {
        let ours = Client {
            name: "ours",
            program: PathBuf::from("oss-bench"),
            upload: Vec::new(),
            download: Vec::new(),
        };
        let args = ours.args(Transfer::Download, "http://e", "k", Path::new("/o"), None);
        assert_eq!(args[0], "ours-download");
        assert!(args.ends_with(&["--key", "k", "--out", "/o", "--defaults"].map(String::from)));
        let args = ours.args(
            Transfer::Upload,
            "http://e",
            "k",
            Path::new("/d"),
            Some((1, 2)),
        );
        assert_eq!(args[0], "ours");
        assert!(
            args.ends_with(&["--file", "/d", "--part-size", "1", "--jobs", "2"].map(String::from))
        );
    }
}
