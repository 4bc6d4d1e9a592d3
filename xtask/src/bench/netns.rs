//! A shaped link for `cargo xtask bench link`: a network namespace joined to the host by a
//! veth pair, with a `tc` token bucket (tbf) on the egress of each end.
//!
//! The namespace is removed whatever happens to the benchmark: by [`Link`]'s `Drop` on every
//! return path, by a stale-namespace sweep when the next run starts, and by a watchdog
//! process that outlives the benchmark when it dies another way (Ctrl-C, SIGTERM, SIGKILL):
//! xtask takes no signal-handling dependency, and no handler would survive SIGKILL anyway.

use std::process::{Child, Command, Stdio};

/// The namespace's name; one benchmark at a time per machine.
pub(crate) const NETNS: &str = "ossmp-link";
const HOST_DEV: &str = "ossmp-link0";
const NS_DEV: &str = "ossmp-link1";
/// A private /30 (RFC 1918): the host end and the namespace end.
pub(crate) const HOST_ADDR: &str = "10.213.87.1";
pub(crate) const NS_ADDR: &str = "10.213.87.2";

/// Whether this process may create namespaces (root; `CAP_NET_ADMIN` alone is not enough
/// for `ip netns add`, which mounts under /run/netns).
pub(crate) fn check_root() -> Result<(), String> {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().nth(1).map(str::to_owned))
        });
    if uid.as_deref() != Some("0") {
        return Err(
            "`cargo xtask bench link` needs root: it creates a network namespace, a veth \
             pair and tc qdiscs (run it as root, e.g. `sudo -E cargo xtask bench link`)"
                .to_owned(),
        );
    }
    for tool in ["ip", "tc"] {
        if Command::new(tool)
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            return Err(format!("`{tool}` (iproute2) is not installed"));
        }
    }
    Ok(())
}

/// The namespace and its veth pair; removed on drop.
pub(crate) struct Link {
    watchdog: Option<Child>,
}

impl Link {
    /// Removes a namespace left by a crashed run, creates a fresh one with the veth pair
    /// addressed and up, and starts the watchdog. No shaping yet: see [`Link::shape`].
    pub(crate) fn create() -> Result<Self, String> {
        remove();
        let link = Self {
            watchdog: Some(watchdog()?),
        };
        ip(&["netns", "add", NETNS])?;
        ip(&[
            "link", "add", HOST_DEV, "type", "veth", "peer", "name", NS_DEV,
        ])?;
        ip(&["link", "set", NS_DEV, "netns", NETNS])?;
        ip(&["addr", "add", &format!("{HOST_ADDR}/30"), "dev", HOST_DEV])?;
        ip(&["link", "set", HOST_DEV, "up"])?;
        in_ns(&["ip", "addr", "add", &format!("{NS_ADDR}/30"), "dev", NS_DEV])?;
        in_ns(&["ip", "link", "set", NS_DEV, "up"])?;
        in_ns(&["ip", "link", "set", "lo", "up"])?;
        Ok(link)
    }

    /// Caps each direction at `rate` bytes/s with a token bucket, or removes the caps
    /// (`None`). The bucket holds 20 ms of traffic (at least 256 KiB, so segmentation
    /// offload's large frames pass) and queues at most 50 ms.
    pub(crate) fn shape(&self, rate: Option<u64>) -> Result<(), String> {
        let _ = tc(&["qdisc", "del", "dev", HOST_DEV, "root"], false);
        let _ = tc(&["qdisc", "del", "dev", NS_DEV, "root"], true);
        let Some(rate) = rate else {
            return Ok(());
        };
        let burst = (rate / 50).max(256 << 10).to_string();
        let rate = format!("{}bit", rate.saturating_mul(8));
        for (dev, inside) in [(HOST_DEV, false), (NS_DEV, true)] {
            tc(
                &[
                    "qdisc", "add", "dev", dev, "root", "tbf", "rate", &rate, "burst", &burst,
                    "latency", "50ms",
                ],
                inside,
            )?;
        }
        Ok(())
    }

    /// A command run inside the namespace.
    pub(crate) fn command(&self, program: &std::path::Path) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", NETNS]).arg(program);
        command
    }

    /// Bytes the host end has (sent to the namespace, received from it) so far: the
    /// uploaded and downloaded bytes on the wire, headers included.
    pub(crate) fn counters() -> (u64, u64) {
        let read = |name: &str| {
            std::fs::read_to_string(format!("/sys/class/net/{HOST_DEV}/statistics/{name}"))
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0)
        };
        (read("tx_bytes"), read("rx_bytes"))
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        remove();
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }
}

/// Kills what still runs in the namespace and deletes it (the veth pair goes with it).
fn remove() {
    let exists = Command::new("ip")
        .args(["netns", "pids", NETNS])
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success());
    let Some(pids) = exists else {
        return;
    };
    for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
        let _ = Command::new("kill").args(["-9", pid]).status();
    }
    let _ = Command::new("ip")
        .args(["netns", "del", NETNS])
        .stderr(Stdio::null())
        .status();
    let _ = Command::new("ip")
        .args(["link", "del", HOST_DEV])
        .stderr(Stdio::null())
        .status();
}

/// A shell that waits for this process to end, however it ends, then removes the namespace.
/// It ignores the terminal's signals so that Ctrl-C, which reaches the whole process group,
/// does not take it down with the benchmark.
fn watchdog() -> Result<Child, String> {
    let script = format!(
        "trap '' INT TERM HUP; while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
         for p in $(ip netns pids {NETNS} 2>/dev/null); do kill -9 $p; done; \
         ip netns del {NETNS} 2>/dev/null; ip link del {HOST_DEV} 2>/dev/null; true",
        pid = std::process::id()
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("could not start the namespace watchdog: {e}"))
}

fn ip(args: &[&str]) -> Result<(), String> {
    run("ip", args)
}

fn in_ns(args: &[&str]) -> Result<(), String> {
    let mut all = vec!["netns", "exec", NETNS];
    all.extend_from_slice(args);
    run("ip", &all)
}

fn tc(args: &[&str], inside: bool) -> Result<(), String> {
    if inside {
        let mut all = vec!["tc"];
        all.extend_from_slice(args);
        in_ns(&all)
    } else {
        run("tc", args)
    }
}

fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("could not run {program}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}
