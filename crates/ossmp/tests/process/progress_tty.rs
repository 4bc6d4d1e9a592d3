//! The progress bar as a person sees it: `ossmp cp` runs in a tmux pane (a real terminal) with
//! `--bwlimit`, and the test reads the rendered bar while the upload runs. The rate it shows must
//! stay within 2× of the real rate, and its ETA must go down.
//!
//! Skipped, with the reason printed, when tmux is not installed.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;

const SIZE: usize = 20 << 20;
const LIMIT: u64 = 4 << 20;

/// One reading of the bar: `upload [===>  ] 5.00 MiB/24.00 MiB 4.01 MiB/s ETA 5s confirmed ...`.
#[derive(Debug)]
struct Reading {
    at: Duration,
    rate: f64,
    eta_secs: Option<u64>,
}

fn bytes_of(value: f64, unit: &str) -> Option<f64> {
    let scale = match unit {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some(value * scale)
}

/// The rate and ETA of the bar line in `screen`, if one is drawn.
fn parse(screen: &str) -> Option<(f64, Option<u64>)> {
    let line = screen.lines().find(|l| l.starts_with("upload ["))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let rate_at = words.iter().position(|w| w.ends_with("/s"))?;
    let value: f64 = words.get(rate_at.checked_sub(1)?)?.parse().ok()?;
    let rate = bytes_of(value, words[rate_at].trim_end_matches("/s"))?;
    let eta = words
        .iter()
        .position(|w| *w == "ETA")
        .and_then(|i| words.get(i + 1))
        .and_then(|e| {
            let (n, unit) = e.split_at(e.find(|c: char| !c.is_ascii_digit())?);
            let n: u64 = n.parse().ok()?;
            match unit {
                "s" => Some(n),
                "m" => Some(n * 60),
                "h" => Some(n * 3600),
                _ => None,
            }
        });
    Some((rate, eta))
}

fn tmux(socket: &str, args: &[&str]) -> std::process::Output {
    Command::new("tmux")
        .arg("-L")
        .arg(socket)
        .args(args)
        .output()
        .expect("tmux runs")
}

#[test]
fn the_bar_shows_the_real_rate_and_a_falling_eta_in_a_terminal() {
    if Command::new("tmux").arg("-V").output().is_err() {
        println!("SKIPPED: tmux is not installed (apt-get install tmux); the bar was not checked");
        return;
    }
    let local = Local::start(|c| c);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.bin");
    write(&file, &data(SIZE, 3));
    let done = dir.path().join("done");
    // The command and its environment, in a script the pane runs.
    let mut script = String::from("#!/bin/sh\n");
    for (k, v) in local.env_vars() {
        script.push_str(&format!("export {k}='{v}'\n"));
    }
    script.push_str(&format!(
        "'{}' cp --progress bar --bwlimit {LIMIT} --part-size 1MiB --jobs 4 '{}' oss://{BUCKET}/tty/big.bin\n",
        assert_cmd::cargo::cargo_bin("ossmp").display(),
        file.display()
    ));
    script.push_str(&format!("echo $? > '{}'\nsleep 60\n", done.display()));
    let script_path = dir.path().join("run.sh");
    std::fs::write(&script_path, script).unwrap();

    let socket = format!("ossmp-test-{}", std::process::id());
    let started = Instant::now();
    let out = tmux(
        &socket,
        &[
            "new-session",
            "-d",
            "-s",
            "bar",
            "-x",
            "200",
            "-y",
            "8",
            &format!("sh '{}'", script_path.display()),
        ],
    );
    assert!(out.status.success(), "tmux: {out:?}");
    let mut readings = Vec::new();
    let mut screens = Vec::new();
    let finished = loop {
        std::thread::sleep(Duration::from_millis(400));
        if let Ok(code) = std::fs::read_to_string(&done) {
            break Some((code, started.elapsed()));
        }
        if started.elapsed() > Duration::from_secs(40) {
            break None;
        }
        let screen = tmux(&socket, &["capture-pane", "-p", "-t", "bar"]);
        let text = String::from_utf8_lossy(&screen.stdout).into_owned();
        if let Some((rate, eta_secs)) = parse(&text) {
            readings.push(Reading {
                at: started.elapsed(),
                rate,
                eta_secs,
            });
        }
        screens.push(text);
    };
    let _ = tmux(&socket, &["kill-server"]);
    let (code, elapsed) = finished.expect("the upload finished within 40 s");
    assert_eq!(code.trim(), "0", "ossmp failed; screens: {screens:#?}");

    // The real rate: the whole file over the time the command took (which includes the
    // process start, so it is a little below the rate on the wire).
    let real = SIZE as f64 / elapsed.as_secs_f64();
    let settled: Vec<&Reading> = readings
        .iter()
        .filter(|r| r.at > Duration::from_millis(1500))
        .collect();
    assert!(
        settled.len() >= 5,
        "too few readings of the bar: {readings:?}; screens: {screens:#?}"
    );
    println!("real rate {real:.0} B/s; the bar's readings: {readings:?}");
    for r in &settled {
        assert!(
            r.rate > real / 2.0 && r.rate < real * 2.0,
            "the bar shows {:.0} B/s, the real rate is {real:.0} B/s: {readings:?}",
            r.rate
        );
    }
    let etas: Vec<u64> = settled.iter().filter_map(|r| r.eta_secs).collect();
    assert!(etas.len() >= 5, "no ETA read: {readings:?}");
    assert!(
        etas.first() > etas.last(),
        "the ETA did not go down: {etas:?}"
    );
    assert!(
        etas.windows(2).all(|w| w[1] <= w[0] + 1),
        "the ETA went up: {etas:?}"
    );
    assert_eq!(local.client_get("tty/big.bin").len(), SIZE);
}

impl Local {
    fn client_get(&self, key: &str) -> Vec<u8> {
        let client = self.client();
        self.rt.block_on(client.get_object(BUCKET, key)).unwrap()
    }
}
