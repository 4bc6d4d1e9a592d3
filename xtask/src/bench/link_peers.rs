//! `cargo xtask bench link --peers`: the other OSS clients on the shaped link, beside ours.
//!
//! On the same link and the same `oss-local` servers as ours' runs ([`super::link`]), every
//! peer ([`Client`]: OpenDAL, the Python SDK v2, ali-oss) runs at its defaults and at equal
//! settings (`--part-size` × `--jobs`, 8 MiB × 16 unless given: sixteen connections of a tenth
//! of the link each fill it even when some of them are slow), and ours runs at those equal
//! settings too, in (a) the upload, (b) the upload with slow connections and (d) the
//! downloads from (a)'s and (b)'s servers. (c) has no peer: none of them has a directory
//! transfer, and the benchmark does not write one for them.
//!
//! Every peer run has a time cap (`--peer-cap SECS`; else five times ours' time at its
//! defaults in (a), the same direction, and at least [`MIN_CAP`]), because a client with one
//! connection (OpenDAL's default) can sit on a slow one for minutes. At the cap its whole
//! process group is killed, the run shows as `> cap`, and a ratio it decides is a lower
//! bound (`≥`).
//!
//! Ratios are times: the peer's time / ours' at the same kind of settings (equal against
//! equal, defaults against defaults). For the same bytes that is ours' throughput / the
//! peer's, and it stays meaningful when the peer was stopped at the cap.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use super::link::{Direction, Run, sampled};
use super::peers::{Client, Transfer};
use super::procs::{self, Binaries, Capped, OssLocal};
use super::{Flags, bench_dir, human_size};

/// The cap of a peer run, in multiples of ours' time in (a).
const CAP_FACTOR: f64 = 5.0;
/// The least cap, in seconds: until a client prints its `started` line the cap also bounds
/// its start-up (Python's imports, Node's `require`: about a second on a loaded machine),
/// which a short `--quick` run must not turn into a kill.
const MIN_CAP: f64 = 10.0;

/// The settings of the peers' runs.
pub(super) struct Settings {
    /// Equal settings: part size and parts in flight, for ours and every peer.
    part: u64,
    jobs: u64,
    /// `--peer-cap`, seconds.
    cap: Option<f64>,
}

impl Settings {
    pub(super) fn from_flags(flags: &Flags) -> Result<Self, String> {
        let cap = match flags.get("peer-cap") {
            None => None,
            Some(text) => Some(
                text.parse::<f64>()
                    .ok()
                    .filter(|secs| secs.is_finite() && *secs > 0.0)
                    .ok_or("--peer-cap: seconds, a positive number")?,
            ),
        };
        Ok(Self {
            part: flags.size("part-size", 8 << 20)?,
            jobs: flags.number("jobs", 16)?.max(1),
            cap,
        })
    }

    /// The cap of a peer run when ours took `ours_secs` in (a), the same direction.
    fn cap(&self, ours_secs: f64) -> f64 {
        self.cap.unwrap_or((CAP_FACTOR * ours_secs).max(MIN_CAP))
    }

    fn equal_label(&self) -> String {
        format!("{} × {}", human_size(self.part), self.jobs)
    }
}

/// A ratio, exact or only a lower bound (a peer stopped at the cap).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Bound {
    value: f64,
    lower: bool,
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.lower { "≥" } else { "" };
        write!(f, "{sign}{:.2}", self.value)
    }
}

/// A peer's time over ours: a lower bound when the peer was stopped at the cap.
fn ratio(ours_secs: f64, peer_secs: f64, capped: bool) -> Bound {
    Bound {
        value: peer_secs / ours_secs,
        lower: capped,
    }
}

/// Ours against the best (fastest) of `peers` (`(secs, capped)`): `None` without peers. A
/// capped time is at least its figure, so a finished peer at the same figure is the better
/// bound; the result is a lower bound only when the best peer itself was capped.
fn against_best(ours_secs: f64, peers: &[(f64, bool)]) -> Option<Bound> {
    peers
        .iter()
        .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
        .map(|&(secs, capped)| ratio(ours_secs, secs, capped))
}

/// The least of `bounds` (over scenarios). The true minimum is at most an exact value and at
/// least a lower bound, so the least figure keeps its own kind; on a tie the exact one wins
/// (the minimum is then exactly that value).
fn least(bounds: impl IntoIterator<Item = Bound>) -> Option<Bound> {
    bounds
        .into_iter()
        .min_by(|a, b| a.value.total_cmp(&b.value).then(a.lower.cmp(&b.lower)))
}

/// Seconds, or `> cap` for a run stopped at the cap.
fn secs_cell(secs: f64, capped: bool) -> String {
    if capped {
        format!("> {secs:.1}")
    } else {
        format!("{secs:.2}")
    }
}

/// One client's run in one scenario.
struct Row {
    client: &'static str,
    /// At the equal settings (else at the client's defaults).
    equal: bool,
    run: Run,
    /// Stopped at the cap: `run.secs` is the time from its `started` line to the kill, and
    /// `run.bytes` the bytes the transfer would have moved.
    capped: bool,
    /// An equal-settings row that is the client's defaults run again, because it has no
    /// settings to make equal (ali-oss's download).
    same_as_defaults: bool,
}

/// Ours and the peers in one scenario.
pub(super) struct Scenario {
    title: &'static str,
    rows: Vec<Row>,
}

impl Scenario {
    /// The peers' runs at their defaults, for the charts.
    pub(super) fn peer_defaults(&self) -> impl Iterator<Item = &Run> {
        self.rows
            .iter()
            .filter(|r| r.client != "ours" && !r.equal)
            .map(|r| &r.run)
    }

    /// Ours / the best peer at the equal settings or at the defaults: the best peer's time
    /// over ours'.
    fn ratio(&self, equal: bool) -> Option<Bound> {
        let ours = self
            .rows
            .iter()
            .find(|r| r.client == "ours" && r.equal == equal)?;
        let peers: Vec<(f64, bool)> = self
            .rows
            .iter()
            .filter(|r| r.client != "ours" && r.equal == equal)
            .map(|r| (r.run.secs, r.capped))
            .collect();
        against_best(ours.run.secs, &peers)
    }
}

/// What the peers' runs need: the binaries, the clients, the settings and the data file.
pub(super) struct Ctx<'a> {
    bins: &'a Binaries,
    /// Ours as a [`Client`], for its equal-settings runs.
    ours: &'a Client,
    peers: &'a [Client],
    settings: &'a Settings,
    data: &'a Path,
}

impl<'a> Ctx<'a> {
    /// `clients` as [`super::peers::clients`] lists them, ours first; `None` without a peer.
    pub(super) fn new(
        bins: &'a Binaries,
        clients: &'a [Client],
        settings: &'a Settings,
        data: &'a Path,
    ) -> Option<Self> {
        match clients.split_first() {
            Some((ours, peers)) if ours.name == "ours" && !peers.is_empty() => Some(Self {
                bins,
                ours,
                peers,
                settings,
                data,
            }),
            _ => None,
        }
    }
}

/// Where one scenario's transfers go.
pub(super) struct Job<'a> {
    pub(super) title: &'static str,
    pub(super) transfer: Transfer,
    /// Uploads: the prefix of each run's key (`OBJECT-CLIENT-SETTINGS`). Downloads: the
    /// object every client downloads.
    pub(super) object: &'a str,
    /// Ours at its defaults in this scenario (measured by the link bench).
    pub(super) ours_defaults: &'a Run,
    /// Ours' time at its defaults in (a), the same direction: the base of the cap.
    pub(super) reference_secs: f64,
}

/// Stops a server and starts it again on the same data, so that its count of connections
/// starts again too.
pub(super) type Restart<'a> = &'a dyn Fn(OssLocal) -> Result<OssLocal, String>;

impl Ctx<'_> {
    /// Ours at the equal settings, then each peer at the equal settings and at its defaults,
    /// on `server`, which it hands back. With `restart` (the scenarios with slow
    /// connections), the server restarts before each run: `oss-local` makes slow the first
    /// connection of each window of its own count, so a fresh server gives every client a
    /// slow first connection, as ours' run at its defaults had, whichever client ran before.
    pub(super) fn scenario(
        &self,
        server: OssLocal,
        restart: Option<Restart<'_>>,
        job: &Job<'_>,
    ) -> Result<(Scenario, OssLocal), String> {
        let cap = self.settings.cap(job.reference_secs);
        // An `Option` only so that a restart can take the server by value.
        let mut server = Some(server);
        let mut one = |client: &Client, equal: bool, cap: Option<f64>| {
            let current = server.take().ok_or("the server was lost in a restart")?;
            let current = match restart {
                Some(restart) => restart(current)?,
                None => current,
            };
            let row = self.one(&current, job, client, equal, cap);
            server = Some(current);
            row
        };
        let mut rows = vec![Row {
            client: "ours",
            equal: false,
            run: job.ours_defaults.clone(),
            capped: false,
            same_as_defaults: false,
        }];
        rows.push(one(self.ours, true, None)?);
        for peer in self.peers {
            let defaults = one(peer, false, Some(cap))?;
            if job.transfer == Transfer::Download && !peer.sets_download() {
                rows.push(Row {
                    equal: true,
                    run: defaults.run.clone(),
                    same_as_defaults: true,
                    ..defaults
                });
                rows.push(defaults);
            } else {
                rows.push(one(peer, true, Some(cap))?);
                rows.push(defaults);
            }
        }
        let server = server.ok_or("the server was lost in a restart")?;
        let scenario = Scenario {
            title: job.title,
            rows,
        };
        Ok((scenario, server))
    }

    /// One run of `client`; `cap`: `None` for ours (never capped).
    fn one(
        &self,
        server: &OssLocal,
        job: &Job<'_>,
        client: &Client,
        equal: bool,
        cap: Option<f64>,
    ) -> Result<Row, String> {
        let settings = if equal {
            self.settings.equal_label()
        } else {
            "defaults".to_owned()
        };
        let label = format!("{}: {} ({settings})", job.title, client.name);
        let out = bench_dir().join("link-peer-download.out");
        let (key, path, direction) = match job.transfer {
            Transfer::Upload => {
                let tag = if equal { "equal" } else { "defaults" };
                let key = format!("{}-{}-{tag}", job.object, client.name);
                (key, self.data, Direction::Up)
            }
            Transfer::Download => {
                let _ = std::fs::remove_file(&out);
                (job.object.to_owned(), out.as_path(), Direction::Down)
            }
        };
        let equal_settings = equal.then_some((self.settings.part, self.settings.jobs));
        let args = client.args(job.transfer, &server.endpoint, &key, path, equal_settings);
        let size = std::fs::metadata(self.data).map_or(0, |m| m.len());
        let mut capped = false;
        let run = sampled(&label, direction, || match cap {
            None => {
                let m = procs::measure(self.bins, &label, &client.program, &args)?;
                Ok((m.bytes, m.secs))
            }
            Some(cap) => {
                let cap = Duration::from_secs_f64(cap);
                match procs::measure_capped(self.bins, &label, &client.program, &args, cap)? {
                    Capped::Done(m) => Ok((m.bytes, m.secs)),
                    Capped::TimedOut { secs } => {
                        capped = true;
                        Ok((size, secs))
                    }
                }
            }
        });
        if job.transfer == Transfer::Download {
            // Every finished download must be the object, byte for byte, whatever the
            // client checked itself (OpenDAL checks no CRC-64 on reads).
            let checked = match &run {
                Ok(_) if !capped => check_download(&label, self.data, &out),
                _ => Ok(()),
            };
            let _ = std::fs::remove_file(&out);
            checked?;
        }
        Ok(Row {
            client: client.name,
            equal,
            run: run?,
            capped,
            same_as_defaults: false,
        })
    }
}

/// `out` has the size of `data` and the same bytes.
fn check_download(label: &str, data: &Path, out: &Path) -> Result<(), String> {
    let got = std::fs::metadata(out).map_or(0, |m| m.len());
    let want = std::fs::metadata(data).map_or(0, |m| m.len());
    if got != want {
        return Err(format!("{label}: wrote {got} bytes, expected {want}"));
    }
    if !super::same_file(data, out)? {
        return Err(format!(
            "{label}: the downloaded file differs from the object"
        ));
    }
    Ok(())
}

/// The peers' tables (stderr and the docs' markdown) and the summary line.
pub(super) struct Report {
    /// Markdown for the `link` section of docs/PERFORMANCE.md.
    pub(super) docs: String,
    /// `link-peers: equal=X defaults=Y`.
    pub(super) line: String,
}

/// Prints a table per scenario to stderr and returns the docs' text and the summary line.
/// `link`: the link's cap, MiB/s.
pub(super) fn report(scenarios: &[Scenario], settings: &Settings, link: f64) -> Report {
    let equal = settings.equal_label();
    let mut docs = String::from("### Peers on the shaped link\n\n");
    docs.push_str(&format!(
        "With `--peers`, the same servers and link carry the other clients too: OpenDAL \
         (`benches/opendal-peer`: `writer_with(..).chunk(..).concurrent(..)` to upload, \
         `reader_with(..).chunk(..).concurrent(..)` streamed into the file to download, or \
         `writer`/`reader` with no options at its defaults), the Python SDK v2 \
         (`uploader.upload_file`, `downloader.download_file`) and ali-oss (`multipartUpload`; \
         `get(name, file)` to download). Each runs at its defaults and at equal settings, \
         {equal} (`--part-size`, `--jobs`: enough connections to fill the link), at which ours \
         runs too. ali-oss has no parallel or ranged downloader, so its equal-settings download \
         is its default one (`equal = defaults`). Every downloaded file is compared with the source, byte for byte. A peer run is stopped at a \
         cap (`--peer-cap`, else {CAP_FACTOR}× ours' time at its defaults in (a), the same \
         direction, at least {MIN_CAP} s): its process group is killed, its time shows as \
         `> cap` (counted, as a finished run's time, from the client's own clock start, after its \
         start-up) and a ratio it decides is a lower bound (`≥`). \
         `ours / it` is the client's time over ours' at the same kind of settings (equal \
         against equal, defaults against defaults): ours' throughput / its, for the same \
         bytes.\n\n"
    ));
    let mut equal_bounds = Vec::new();
    let mut default_bounds = Vec::new();
    for scenario in scenarios {
        eprintln!();
        eprintln!("{}", scenario.title);
        eprintln!(
            "{:<10} {:<16} {:>8} {:>8} {:>7} {:>8}",
            "client", "settings", "secs", "MiB/s", "/ link", "ours/it"
        );
        docs.push_str(&format!(
            "**{}**\n\n| client | settings | seconds | MiB/s | / link | ours / it |\n\
             |---|---|---:|---:|---:|---:|\n",
            scenario.title
        ));
        for row in &scenario.rows {
            let settings_cell = match (row.equal, row.same_as_defaults) {
                (true, true) => "equal = defaults".to_owned(),
                (true, false) => equal.clone(),
                (false, _) => "defaults".to_owned(),
            };
            let rate = row.run.mib_s();
            let (rate_cell, link_cell) = if row.capped {
                (format!("< {rate:.1}"), format!("< {:.2}", rate / link))
            } else {
                (format!("{rate:.1}"), format!("{:.2}", rate / link))
            };
            let ours_over = scenario
                .rows
                .iter()
                .find(|r| r.client == "ours" && r.equal == row.equal)
                .filter(|_| row.client != "ours")
                .map_or("".to_owned(), |ours| {
                    ratio(ours.run.secs, row.run.secs, row.capped).to_string()
                });
            let secs = secs_cell(row.run.secs, row.capped);
            eprintln!(
                "{:<10} {settings_cell:<16} {secs:>8} {rate_cell:>8} {link_cell:>7} {ours_over:>8}",
                row.client
            );
            docs.push_str(&format!(
                "| {} | {settings_cell} | {secs} | {rate_cell} | {link_cell} | {ours_over} |\n",
                row.client
            ));
        }
        let (eq, df) = (scenario.ratio(true), scenario.ratio(false));
        let shown = |b: Option<Bound>| b.map_or("no peer".to_owned(), |b| b.to_string());
        let verdict = format!(
            "ours / the best peer: {} at equal settings, {} at defaults",
            shown(eq),
            shown(df)
        );
        eprintln!("{verdict}");
        docs.push_str(&format!("\n{verdict}.\n\n"));
        equal_bounds.extend(eq);
        default_bounds.extend(df);
    }
    // Said, not skipped silently: the issue asks for every scenario.
    let c = "(c) small files: no peer has a directory transfer (each moves one object per \
             call), and none is written for them here, so ours (`ossmp cp -r`) has nothing to \
             compare with";
    eprintln!();
    eprintln!("{c}");
    docs.push_str(&format!("**{c}.**\n\n"));
    let shown = |b: Option<Bound>| b.map_or("none".to_owned(), |b| b.to_string());
    let line = format!(
        "link-peers: equal={} defaults={}",
        shown(least(equal_bounds)),
        shown(least(default_bounds))
    );
    docs.push_str(&format!(
        "Summary line: `{line}` (the least over the scenarios above of ours / the best peer).\n\n"
    ));
    Report { docs, line }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(value: f64) -> Bound {
        Bound {
            value,
            lower: false,
        }
    }

    fn at_least(value: f64) -> Bound {
        Bound { value, lower: true }
    }

    #[test]
    fn the_best_peer_is_the_fastest_and_a_cap_makes_a_lower_bound() {
        // Ours 10 s; peers 25 s, 12 s (finished) and 50 s (stopped at the cap).
        let peers = [(25.0, false), (12.0, false), (50.0, true)];
        assert_eq!(against_best(10.0, &peers), Some(exact(1.2)));
        // Every peer stopped at the cap: the best is a bound.
        assert_eq!(
            against_best(10.0, &[(50.0, true), (60.0, true)]),
            Some(at_least(5.0))
        );
        // A peer that finished at the cap's figure is the better (exact) answer.
        assert_eq!(
            against_best(10.0, &[(50.0, true), (50.0, false)]),
            Some(exact(5.0))
        );
        assert_eq!(against_best(10.0, &[]), None);
    }

    #[test]
    fn the_least_over_scenarios_keeps_its_kind() {
        assert_eq!(
            least([exact(2.0), at_least(1.5), exact(3.0)]),
            Some(at_least(1.5))
        );
        assert_eq!(least([exact(1.2), at_least(4.0)]), Some(exact(1.2)));
        // A tie: the minimum is exactly that value.
        assert_eq!(least([at_least(2.0), exact(2.0)]), Some(exact(2.0)));
        assert_eq!(least([]), None);
    }

    #[test]
    fn capped_runs_are_labelled_as_bounds() {
        assert_eq!(secs_cell(50.04, true), "> 50.0");
        assert_eq!(secs_cell(12.345, false), "12.35");
        assert_eq!(at_least(5.0).to_string(), "≥5.00");
        assert_eq!(exact(1.234).to_string(), "1.23");
        assert_eq!(ratio(10.0, 50.0, true), at_least(5.0));
    }

    #[test]
    fn the_cap_is_five_times_ours_unless_given_and_never_below_the_floor() {
        let mut settings = Settings {
            part: 8 << 20,
            jobs: 16,
            cap: None,
        };
        assert_eq!(settings.cap(4.0), 20.0);
        assert_eq!(settings.cap(1.0), MIN_CAP);
        settings.cap = Some(3.0);
        assert_eq!(settings.cap(100.0), 3.0);
        assert_eq!(settings.equal_label(), "8 MiB × 16");
    }

    fn run(secs: f64) -> Run {
        Run {
            label: String::new(),
            bytes: 1 << 30,
            secs,
            rates: Vec::new(),
        }
    }

    fn row(client: &'static str, equal: bool, secs: f64, capped: bool) -> Row {
        Row {
            client,
            equal,
            run: run(secs),
            capped,
            same_as_defaults: false,
        }
    }

    #[test]
    fn a_scenario_compares_equal_with_equal_and_defaults_with_defaults() {
        let scenario = Scenario {
            title: "(a) upload",
            rows: vec![
                row("ours", false, 4.0, false),
                row("ours", true, 5.0, false),
                row("opendal", true, 6.0, false),
                row("opendal", false, 40.0, true),
                row("python-v2", true, 7.5, false),
                row("python-v2", false, 8.0, false),
            ],
        };
        assert_eq!(scenario.ratio(true), Some(exact(1.2)));
        assert_eq!(scenario.ratio(false), Some(exact(2.0)));
        assert_eq!(scenario.peer_defaults().count(), 2);
        let report = report(
            &[scenario],
            &Settings {
                part: 8 << 20,
                jobs: 16,
                cap: None,
            },
            400.0,
        );
        assert_eq!(report.line, "link-peers: equal=1.20 defaults=2.00");
        assert!(report.docs.contains("| opendal | defaults | > 40.0 |"));
        assert!(report.docs.contains("| ≥10.00 |"));
        assert!(report.docs.contains("no peer has a directory transfer"));
    }
}
