//! Adaptive concurrency: how many transfers of source or object bytes a machine keeps in
//! flight, learned from the machine's own completions.
//!
//! The policy is a hill climber on measured throughput. Each completed transfer is a sample
//! (bytes, how long it took, how many transfers were in flight); by Little's law the
//! throughput at that level is `in flight / mean time per byte`. An *epoch* is a few samples
//! of transfers started after the last change of the limit, so each verdict is about one
//! level; it leaves out its slowest eighth, so one straggler does not move it, but counts the
//! rest (a median would not see a level where many transfers stall).
//!
//! * **Slow start**: the limit doubles while each doubling raises the throughput by at least
//!   [`AdaptiveConcurrency::gain`]; the first doubling that does not is undone, and one that
//!   pays less than 75 % (`KNEE`) of what the added transfers would carry on an idle link ends the
//!   doubling there (the knee is behind).
//! * **Hold and probe**: the limit stays for a few epochs, then tries one step up (a quarter
//!   more, at least one). A step that pays is kept and the next one tried at once; one that
//!   does not is undone, and the wait before the next probe doubles (up to a bound).
//! * **Back off**: a throttling answer (503, 429) cuts the limit by 30 % and restarts the
//!   wait; so does a rise of the time per byte by half over the level's baseline while the
//!   throughput did not rise (the link or the server got slower: fewer transfers cost
//!   nothing and hold less memory).
//!
//! The limit always stays within `min..=ceiling`, where the machine sets the ceiling from
//! the hard cap and the memory budget. Nothing here reads a clock: every input takes `now`.

use std::time::Instant;

/// The default ceiling of adaptive concurrency (uploads and downloads): a link of a few
/// hundred MiB/s at tens of MiB/s per connection fills with 10 to 20 transfers.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 32;

/// Where adaptive concurrency starts by default. Each doubling of slow start takes about one
/// transfer's time, so starting higher reaches a fast link sooner; on a slow one the extra
/// transfers cost little (a file part in flight holds a few 512 KiB chunks, not the part).
pub const DEFAULT_INITIAL_IN_FLIGHT: usize = 8;

/// Knobs of the adaptive concurrency (the machines' default). The ceiling is the machine's
/// `max_in_flight` (and, for uploads, the memory budget over the part size).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct AdaptiveConcurrency {
    /// Transfers in flight at the start (default [`DEFAULT_INITIAL_IN_FLIGHT`]), clamped to
    /// `min..=ceiling`.
    pub initial: usize,
    /// Never fewer than this (default 1).
    pub min: usize,
    /// Relative rise of throughput that makes a step up worth keeping (default 0.10). Lower
    /// values climb closer to the link's limit but take noise for gains more often.
    pub gain: f64,
}

impl Default for AdaptiveConcurrency {
    fn default() -> Self {
        Self {
            initial: DEFAULT_INITIAL_IN_FLIGHT,
            min: 1,
            gain: 0.10,
        }
    }
}

impl AdaptiveConcurrency {
    /// Starts at `initial` transfers in flight (other knobs default).
    pub fn starting_at(initial: usize) -> Self {
        Self {
            initial,
            ..Self::default()
        }
    }

    pub(crate) fn is_valid(&self) -> bool {
        self.initial >= 1 && self.min >= 1 && self.gain.is_finite() && self.gain > 0.0
    }
}

/// Epochs to hold a level before the first probe up, and the most the wait grows to.
const HOLD_EPOCHS: u32 = 2;
const MAX_HOLD_EPOCHS: u32 = 16;
/// Cut on throttling and on rising latency.
const THROTTLE_CUT: f64 = 0.7;
const LATENCY_CUT: f64 = 0.8;
/// A doubling that adds less than this share of what the added transfers would carry on an
/// idle link ends slow start: the knee is behind. Not one half: the first round after a
/// doubling overrates its level (its transfers start together, before the queue builds, and
/// a link's burst allowance carries them): on the shaped link of docs/PERFORMANCE.md, 16
/// connections read as 1.5 to 1.7 times 8 while the link allowed 1.25, and doubling again to
/// 32 stalled it (packet loss at the bottleneck, some parts taking ten times as long). With
/// a slow connection among the first 8, 16 read as 1.65 to 1.7 times 8, so 0.6 still
/// doubled there. Stopping early costs little: the probes then climb in quarter steps.
const KNEE: f64 = 0.75;
/// In slow start, a doubling after which each byte takes this much longer than before ends
/// the doubling: below the knee more transfers each go as fast as before (only the link's
/// share of each shrinks once it is full), so a longer time per byte means a queue at the
/// bottleneck. The throughput test alone can be fooled: on the shaped link of
/// docs/PERFORMANCE.md, with slow connections among 16, the fast ones read as a gain worth
/// doubling again, and 32 connections overflowed the bottleneck (parts ten times as long).
const QUEUE_RISE: f64 = 1.25;
/// Time per byte this much above the level's baseline counts as rising latency.
const LATENCY_RISE: f64 = 1.5;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Doubling; `prev` is the level and throughput before the last doubling.
    SlowStart { prev: Option<Level> },
    /// Staying at the level for `left` more epochs; `baseline` is its time per byte.
    Hold {
        left: u32,
        wait: u32,
        x: f64,
        baseline: Option<f64>,
    },
    /// Trying one step up from `from`, where the throughput was `x`.
    Probe { from: usize, x: f64, wait: u32 },
}

/// A level slow start left: its limit, throughput and time per byte.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Level {
    limit: usize,
    x: f64,
    per_byte: f64,
}

#[derive(Debug, Clone, Default)]
struct Epoch {
    /// Only transfers started at or after this instant count.
    since: Option<Instant>,
    /// Per transfer: how many were in flight when it completed, and its time per byte.
    samples: Vec<(f64, f64)>,
}

impl Epoch {
    /// The throughput (by Little's law, from the mean time per byte) and the mean time per
    /// byte, both over all samples but the slowest eighth.
    ///
    /// Not all: one transfer on a connection ten times slower than the rest (a bad path, a
    /// busy server) would read as a level that does not pay, or as rising latency, and cut
    /// the limit. Not the median either: on the shaped link of docs/PERFORMANCE.md, at 32
    /// connections many parts stalled for seconds (packet loss at the bottleneck) while the
    /// median part took only a quarter longer than at 16, so medians read 32 as 1.4 times
    /// the throughput of 16, on a link that 16 already filled.
    fn estimate(&self) -> (f64, f64) {
        let mut per_byte: Vec<f64> = self.samples.iter().map(|s| s.1).collect();
        per_byte.sort_unstable_by(f64::total_cmp);
        let kept = &per_byte[..per_byte.len() - per_byte.len() / 8];
        let n = kept.len().max(1) as f64;
        let mean_per_byte = kept.iter().sum::<f64>() / n;
        let in_flight =
            self.samples.iter().map(|s| s.0).sum::<f64>() / self.samples.len().max(1) as f64;
        (
            in_flight / mean_per_byte.max(f64::MIN_POSITIVE),
            mean_per_byte,
        )
    }
}

/// The limit of one machine (fixed, or adapting).
#[derive(Debug, Clone)]
pub(crate) struct Limit {
    adaptive: Option<AdaptiveConcurrency>,
    limit: usize,
    ceiling: usize,
    mode: Mode,
    epoch: Epoch,
    /// Highest limit ever used (for tests and reports).
    peak: usize,
}

impl Limit {
    /// A fixed limit.
    pub(crate) fn fixed(n: usize) -> Self {
        let n = n.max(1);
        Self {
            adaptive: None,
            limit: n,
            ceiling: n,
            mode: Mode::SlowStart { prev: None },
            epoch: Epoch::default(),
            peak: n,
        }
    }

    /// An adaptive limit within `1..=ceiling`.
    pub(crate) fn adaptive(cfg: AdaptiveConcurrency, ceiling: usize) -> Self {
        let ceiling = ceiling.max(1);
        let min = cfg.min.clamp(1, ceiling);
        let limit = cfg.initial.clamp(min, ceiling);
        Self {
            adaptive: Some(cfg),
            limit,
            ceiling,
            mode: Mode::SlowStart { prev: None },
            epoch: Epoch::default(),
            peak: limit,
        }
    }

    /// Transfers allowed in flight now.
    pub(crate) fn get(&self) -> usize {
        self.limit
    }

    /// The highest limit used so far.
    pub(crate) fn peak(&self) -> usize {
        self.peak
    }

    fn min(&self) -> usize {
        self.adaptive.map_or(1, |a| a.min.clamp(1, self.ceiling))
    }

    fn set(&mut self, limit: usize, now: Instant) {
        self.limit = limit.clamp(self.min(), self.ceiling);
        self.peak = self.peak.max(self.limit);
        self.epoch = Epoch {
            since: Some(now),
            ..Epoch::default()
        };
    }

    /// A transfer of `bytes`, started at `started`, completed at `now` while `in_flight`
    /// transfers (itself included) were outstanding.
    pub(crate) fn on_complete(
        &mut self,
        now: Instant,
        started: Instant,
        bytes: u64,
        in_flight: usize,
    ) {
        let Some(cfg) = self.adaptive else { return };
        let since = *self.epoch.since.get_or_insert(started);
        if started < since || bytes == 0 {
            return;
        }
        let secs = now
            .saturating_duration_since(started)
            .as_secs_f64()
            .max(1e-6);
        let bytes = bytes as f64;
        self.epoch
            .samples
            .push((in_flight.max(1) as f64, secs / bytes));
        // In slow start, a whole round of the level: after a doubling, the new transfers
        // start together and the fastest finish first, so the first half of the round is
        // its fast half and a verdict on it overrates the level. Later levels move in small steps from staggered
        // starts: half a round is enough there.
        let need = match self.mode {
            Mode::SlowStart { .. } => self.limit.clamp(2, 32),
            _ => self.limit.div_ceil(2).clamp(2, 16),
        };
        if self.epoch.samples.len() >= need {
            let (x, per_byte) = self.epoch.estimate();
            self.verdict(cfg, x, per_byte, now);
        }
    }

    fn verdict(&mut self, cfg: AdaptiveConcurrency, x: f64, per_byte: f64, now: Instant) {
        let better = |old: f64| x >= old * (1.0 + cfg.gain);
        let limit = self.limit;
        let hold = |wait: u32, x: f64| Mode::Hold {
            left: wait,
            wait,
            x,
            baseline: None,
        };
        match self.mode {
            Mode::SlowStart { prev } => match prev {
                Some(prev) if !better(prev.x) => {
                    self.mode = hold(HOLD_EPOCHS, prev.x);
                    self.set(prev.limit, now);
                }
                // Worth keeping, but less than KNEE of what the added transfers would carry
                // on an idle link, or each byte now takes longer (a queue is building at the
                // bottleneck): the knee is behind us, probe from here in small steps.
                Some(prev)
                    if x < prev.x
                        * (1.0 + KNEE * (limit as f64 / prev.limit.max(1) as f64 - 1.0))
                        || per_byte > prev.per_byte * QUEUE_RISE =>
                {
                    self.mode = hold(HOLD_EPOCHS, x);
                    self.set(limit, now);
                }
                _ if limit >= self.ceiling => {
                    self.mode = hold(HOLD_EPOCHS, x);
                    self.set(limit, now);
                }
                _ => {
                    self.mode = Mode::SlowStart {
                        prev: Some(Level { limit, x, per_byte }),
                    };
                    self.set(limit.saturating_mul(2), now);
                }
            },
            Mode::Probe { from, x: old, wait } => {
                if better(old) {
                    self.mode = Mode::Probe {
                        from: limit,
                        x,
                        wait: HOLD_EPOCHS,
                    };
                    self.set(step_up(limit), now);
                } else {
                    let wait = (wait * 2).min(MAX_HOLD_EPOCHS);
                    self.mode = hold(wait, old);
                    self.set(from, now);
                }
            }
            Mode::Hold {
                left,
                wait,
                x: level_x,
                baseline,
            } => {
                let base = baseline.unwrap_or(per_byte);
                if per_byte > base * LATENCY_RISE && !better(level_x) {
                    self.mode = hold(wait, x);
                    self.set(scaled(limit, LATENCY_CUT), now);
                } else if left <= 1 && limit < self.ceiling {
                    self.mode = Mode::Probe {
                        from: limit,
                        x,
                        wait,
                    };
                    self.set(step_up(limit), now);
                } else {
                    // The baseline is the level's first measure: a minimum would ratchet
                    // down on noise until ordinary noise looks like a rise.
                    self.mode = Mode::Hold {
                        left: left.saturating_sub(1),
                        wait,
                        x: level_x.max(x),
                        baseline: Some(base),
                    };
                    self.set(limit, now);
                }
            }
        }
    }

    /// OSS asked us to slow down (503, 429) a transfer started at `started`: cut the limit
    /// and wait before probing again.
    pub(crate) fn on_throttled(&mut self, now: Instant, started: Instant) {
        if self.adaptive.is_none() {
            return;
        }
        // Answers to transfers sent before the last cut are one signal, already acted on.
        if self.epoch.since.is_some_and(|s| started < s) {
            return;
        }
        self.mode = Mode::Hold {
            left: MAX_HOLD_EPOCHS / 2,
            wait: MAX_HOLD_EPOCHS / 2,
            x: 0.0,
            baseline: None,
        };
        self.set(scaled(self.limit, THROTTLE_CUT), now);
    }
}

fn step_up(n: usize) -> usize {
    n.saturating_add((n / 4).max(1))
}

fn scaled(n: usize, f: f64) -> usize {
    ((n as f64 * f).floor() as usize).max(1)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const PART: u64 = 8 << 20;

    /// Completes `n` transfers of [`PART`] started together at `start`, the i-th after
    /// `millis + i` ms, each with `in_flight` outstanding.
    fn round(l: &mut Limit, start: Instant, millis: u64, n: u64, in_flight: usize) {
        for i in 0..n {
            let end = start + Duration::from_millis(millis + i);
            l.on_complete(end, start, PART, in_flight);
        }
    }

    /// Slow start from 8 under `ceiling`: a round of level 8 taking `ms_8` ms, which doubles
    /// the limit, then a round of level 16 taking `ms_16` ms with `in_flight_16` reported in
    /// flight. Returns the limit after the second verdict.
    fn after_first_doubling(ceiling: usize, ms_8: u64, ms_16: u64, in_flight_16: usize) -> usize {
        let mut l = Limit::adaptive(AdaptiveConcurrency::starting_at(8), ceiling);
        let t0 = Instant::now();
        round(&mut l, t0, ms_8, 8, 8);
        assert_eq!(l.get(), 16, "level 8 doubles");
        round(&mut l, t0 + Duration::from_secs(1), ms_16, 16, in_flight_16);
        l.get()
    }

    /// One transfer ten times slower than its epoch's others (a bad connection) neither
    /// undoes a doubling that paid nor reads as rising latency.
    #[test]
    fn one_straggler_does_not_move_a_verdict() {
        let mut l = Limit::adaptive(AdaptiveConcurrency::starting_at(8), 32);
        let t0 = Instant::now();
        // Level 8: a round of eight samples, then slow start doubles.
        round(&mut l, t0, 220, 8, 8);
        assert_eq!(l.get(), 16);
        // Level 16 carries twice as much: fifteen normal transfers and one straggler.
        let t1 = t0 + Duration::from_secs(1);
        round(&mut l, t1, 220, 15, 16);
        l.on_complete(t1 + Duration::from_millis(2200), t1, PART, 16);
        assert_eq!(
            l.get(),
            32,
            "the doubling paid; the straggler is not the level"
        );
    }

    /// A fluid link: `n` transfers of `bytes`, each capped at `per_conn`, sharing `link`,
    /// plus a fixed round trip. Returns the duration of one transfer at level `n`.
    fn duration(n: usize, bytes: f64, per_conn: f64, link: f64, rtt: f64) -> f64 {
        let rate = per_conn.min(link / n as f64);
        rtt + bytes / rate
    }

    /// Runs the controller against the fluid link, one round (every slot completes) at a
    /// time; returns (limits per round, throughput per round).
    fn climb(link: f64, per_conn: f64, ceiling: usize, rounds: usize) -> (Vec<usize>, Vec<f64>) {
        let mut l = Limit::adaptive(AdaptiveConcurrency::default(), ceiling);
        let mut now = Instant::now();
        let (mut limits, mut xs) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let n = l.get();
            let d = duration(n, 8e6, per_conn, link, 0.02);
            let start = now;
            now += Duration::from_secs_f64(d);
            for _ in 0..n {
                l.on_complete(now, start, 8_000_000, n);
            }
            limits.push(n);
            xs.push(n as f64 * 8e6 / d);
        }
        (limits, xs)
    }

    /// The first half of a round to finish is its fast half: a verdict on it alone would
    /// rate the level by its fastest transfers.
    #[test]
    fn a_verdict_waits_for_the_whole_round() {
        let mut l = Limit::adaptive(AdaptiveConcurrency::starting_at(8), 32);
        let t0 = Instant::now();
        round(&mut l, t0, 220, 8, 8);
        assert_eq!(l.get(), 16);
        // Level 16 on a link that 11 fill: the round spreads from 220 to 420 ms. Its fast
        // half alone reads as 1.6 times level 8 (worth doubling again); the round, 1.3.
        let t1 = t0 + Duration::from_secs(1);
        for i in 0..16u64 {
            l.on_complete(t1 + Duration::from_millis(220 + 13 * i), t1, PART, 16);
            if i < 15 {
                assert_eq!(l.get(), 16, "a verdict after {} of 16", i + 1);
            }
        }
        assert_eq!(l.get(), 16, "the knee: hold, not double");
    }

    /// A doubling after which each byte takes longer ends slow start even when the
    /// throughput estimate reads as a gain (more transfers reported in flight than the
    /// limit: hedges, transfers of the level before).
    #[test]
    fn a_queue_building_ends_slow_start() {
        // 20 reported in flight, 270 ms each: 1.85 times the throughput of level 8 by
        // Little's law, but each byte takes 1.35 times as long.
        assert_eq!(
            after_first_doubling(64, 200, 270, 20),
            16,
            "held at the knee"
        );
    }

    /// The first round of 16 on a link that 8 nearly fill reads as 1.65 times 8 (its
    /// transfers start together, a burst allowance carries them), with each byte taking a
    /// fifth longer: past the knee, not a reason to double into a stalling 32.
    #[test]
    fn a_doubling_that_pays_less_than_the_knee_ends_slow_start() {
        assert_eq!(
            after_first_doubling(32, 232, 280, 16),
            16,
            "held at the knee"
        );
    }

    #[test]
    fn climbs_to_the_link_and_stays_bounded() {
        // 400 MB/s link, 40 MB/s per connection, 8 MB transfers, 20 ms round trip: about
        // 11 connections fill it.
        let (limits, xs) = climb(400e6, 40e6, 256, 60);
        for x in &xs[xs.len() - 20..] {
            assert!(*x >= 0.9 * 400e6, "throughput {x} too low: {limits:?}");
        }
        let peak = *limits.iter().max().unwrap_or(&0);
        assert!(
            peak <= 40,
            "grew to {peak} for a link that 10 fill: {limits:?}"
        );
        assert!(limits.iter().all(|&n| n >= 1));
    }

    #[test]
    fn per_connection_bound_link_grows_to_the_ceiling() {
        let (limits, _) = climb(1e12, 10e6, 24, 40);
        assert_eq!(limits.last(), Some(&24), "{limits:?}");
    }

    #[test]
    fn throttling_cuts_and_stays_within_min() {
        let mut l = Limit::adaptive(AdaptiveConcurrency::starting_at(20), 64);
        let t = Instant::now();
        l.on_throttled(t + Duration::from_secs(1), t);
        assert_eq!(l.get(), 14);
        // Another answer to a request sent before the cut: the same signal.
        l.on_throttled(t + Duration::from_secs(2), t);
        assert_eq!(l.get(), 14);
        for i in 2..40 {
            l.on_throttled(t + Duration::from_secs(i), t + Duration::from_secs(i));
        }
        assert_eq!(l.get(), 1);
    }

    #[test]
    fn fixed_never_moves() {
        let mut l = Limit::fixed(6);
        let t = Instant::now();
        for i in 0..100 {
            l.on_complete(t + Duration::from_millis(i + 1), t, 1000, 6);
        }
        l.on_throttled(t, t);
        assert_eq!(l.get(), 6);
    }

    #[test]
    fn rising_latency_backs_off() {
        let mut l = Limit::adaptive(AdaptiveConcurrency::starting_at(16), 16);
        let mut now = Instant::now();
        // At the ceiling: slow start ends in Hold; then each round takes longer.
        let mut secs = 0.1;
        for _ in 0..12 {
            let start = now;
            now += Duration::from_secs_f64(secs);
            let n = l.get();
            for _ in 0..n {
                l.on_complete(now, start, 1_000_000, n);
            }
            secs *= 2.0;
        }
        assert!(l.get() < 16, "limit {} did not back off", l.get());
    }
}
