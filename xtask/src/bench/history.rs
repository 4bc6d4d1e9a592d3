//! Results of past runs, one line each in `benches/history.tsv` (checked in, so that a fresh
//! checkout regenerates the same page), so that the report and chart can show configurations
//! measured by separate invocations (several sizes and job counts). The newest result for a
//! configuration wins.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::util::workspace_root;

/// The upload shape of a measurement.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Config {
    pub(crate) size: u64,
    pub(crate) part_size: u64,
    pub(crate) jobs: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Entry {
    /// Medians of one client against one server mode.
    Throughput {
        config: Config,
        client: String,
        server: String,
        gib_s: f64,
        rss_mib: f64,
        cpu_per_gib: f64,
        runs: u64,
    },
    /// Peak RSS of ours for one file size.
    Memory {
        config: Config,
        rss_mib: f64,
        gib_s: f64,
        cpu_per_gib: f64,
    },
    /// Medians of one download client (`cargo xtask bench download`).
    Download {
        config: Config,
        client: String,
        gib_s: f64,
        rss_mib: f64,
        cpu_per_gib: f64,
        runs: u64,
    },
    /// Many-part timings.
    Parts {
        parts: u64,
        part_size: u64,
        complete_s: f64,
        list_s: f64,
        resume_s: f64,
        reused: u64,
    },
}

impl Entry {
    /// Entries with the same key replace each other.
    pub(crate) fn key(&self) -> String {
        match self {
            Self::Throughput {
                config,
                client,
                server,
                ..
            } => format!(
                "t/{}/{}/{}/{client}/{server}",
                config.size, config.part_size, config.jobs
            ),
            Self::Memory { config, .. } => {
                format!("m/{}/{}/{}", config.size, config.part_size, config.jobs)
            }
            Self::Download { config, client, .. } => format!(
                "d/{}/{}/{}/{client}",
                config.size, config.part_size, config.jobs
            ),
            Self::Parts {
                parts, part_size, ..
            } => format!("p/{parts}/{part_size}"),
        }
    }

    fn to_line(&self) -> String {
        let mut s = String::new();
        match self {
            Self::Throughput {
                config,
                client,
                server,
                gib_s,
                rss_mib,
                cpu_per_gib,
                runs,
            } => {
                let _ = write!(
                    s,
                    "throughput\t{}\t{}\t{}\t{client}\t{server}\t{gib_s}\t{rss_mib}\t{cpu_per_gib}\t{runs}",
                    config.size, config.part_size, config.jobs
                );
            }
            Self::Memory {
                config,
                rss_mib,
                gib_s,
                cpu_per_gib,
            } => {
                let _ = write!(
                    s,
                    "memory\t{}\t{}\t{}\t{rss_mib}\t{gib_s}\t{cpu_per_gib}",
                    config.size, config.part_size, config.jobs
                );
            }
            Self::Download {
                config,
                client,
                gib_s,
                rss_mib,
                cpu_per_gib,
                runs,
            } => {
                let _ = write!(
                    s,
                    "download\t{}\t{}\t{}\t{client}\t{gib_s}\t{rss_mib}\t{cpu_per_gib}\t{runs}",
                    config.size, config.part_size, config.jobs
                );
            }
            Self::Parts {
                parts,
                part_size,
                complete_s,
                list_s,
                resume_s,
                reused,
            } => {
                let _ = write!(
                    s,
                    "parts\t{parts}\t{part_size}\t{complete_s}\t{list_s}\t{resume_s}\t{reused}"
                );
            }
        }
        s
    }

    fn from_line(line: &str) -> Option<Self> {
        let f: Vec<&str> = line.split('\t').collect();
        let u = |i: usize| f.get(i)?.parse::<u64>().ok();
        let x = |i: usize| f.get(i)?.parse::<f64>().ok();
        let config = || {
            Some(Config {
                size: u(1)?,
                part_size: u(2)?,
                jobs: u(3)?,
            })
        };
        match *f.first()? {
            "throughput" => Some(Self::Throughput {
                config: config()?,
                client: (*f.get(4)?).to_owned(),
                server: (*f.get(5)?).to_owned(),
                gib_s: x(6)?,
                rss_mib: x(7)?,
                cpu_per_gib: x(8)?,
                runs: u(9)?,
            }),
            "memory" => Some(Self::Memory {
                config: config()?,
                rss_mib: x(4)?,
                gib_s: x(5)?,
                cpu_per_gib: x(6)?,
            }),
            "download" => Some(Self::Download {
                config: config()?,
                client: (*f.get(4)?).to_owned(),
                gib_s: x(5)?,
                rss_mib: x(6)?,
                cpu_per_gib: x(7)?,
                runs: u(8)?,
            }),
            "parts" => Some(Self::Parts {
                parts: u(1)?,
                part_size: u(2)?,
                complete_s: x(3)?,
                list_s: x(4)?,
                resume_s: x(5)?,
                reused: u(6)?,
            }),
            _ => None,
        }
    }
}

/// Timestamped entries, oldest first.
pub(crate) struct History {
    pub(crate) entries: Vec<(u64, Entry)>,
}

fn path() -> PathBuf {
    workspace_root().join("benches").join("history.tsv")
}

impl History {
    pub(crate) fn load() -> Result<Self, String> {
        let text = match std::fs::read_to_string(path()) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(format!("{}: {e}", path().display())),
        };
        let entries = text
            .lines()
            .filter_map(|line| {
                let (time, rest) = line.split_once('\t')?;
                Some((time.parse().ok()?, Entry::from_line(rest)?))
            })
            .collect();
        Ok(Self { entries })
    }

    pub(crate) fn push(&mut self, entry: Entry) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.entries.push((now, entry));
    }

    pub(crate) fn save(&self) -> Result<(), String> {
        let text: String = self
            .entries
            .iter()
            .map(|(t, e)| format!("{t}\t{}\n", e.to_line()))
            .collect();
        std::fs::write(path(), text).map_err(|e| format!("{}: {e}", path().display()))
    }

    /// The newest entry of every key, in first-seen order of the keys.
    pub(crate) fn latest(&self) -> Vec<(u64, Entry)> {
        let mut out: Vec<(u64, Entry)> = Vec::new();
        for (t, e) in &self.entries {
            match out.iter_mut().find(|(_, o)| o.key() == e.key()) {
                Some(slot) => *slot = (*t, e.clone()),
                None => out.push((*t, e.clone())),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_newest_wins() {
        let config = Config {
            size: 1 << 30,
            part_size: 8 << 20,
            jobs: 4,
        };
        let a = Entry::Throughput {
            config,
            client: "ours".into(),
            server: "discard".into(),
            gib_s: 1.5,
            rss_mib: 30.0,
            cpu_per_gib: 0.25,
            runs: 3,
        };
        let b = Entry::Parts {
            parts: 10_000,
            part_size: 1 << 20,
            complete_s: 0.2,
            list_s: 0.1,
            resume_s: 1.1,
            reused: 10_000,
        };
        assert_eq!(Entry::from_line(&a.to_line()), Some(a.clone()));
        assert_eq!(Entry::from_line(&b.to_line()), Some(b.clone()));
        let d = Entry::Download {
            config,
            client: "ours".into(),
            gib_s: 1.0,
            rss_mib: 20.0,
            cpu_per_gib: 0.5,
            runs: 1,
        };
        assert_eq!(Entry::from_line(&d.to_line()), Some(d.clone()));
        assert_ne!(d.key(), a.key(), "downloads never replace uploads");
        assert_eq!(Entry::from_line("bogus\t1"), None);
        let mut newer = a.clone();
        if let Entry::Throughput { gib_s, .. } = &mut newer {
            *gib_s = 2.0;
        }
        let h = History {
            entries: vec![(1, a), (2, b), (3, newer.clone())],
        };
        let latest = h.latest();
        assert_eq!(latest.len(), 2);
        assert_eq!(latest[0], (3, newer));
    }
}
