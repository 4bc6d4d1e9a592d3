//! The drive loop shared by the upload [`Sim`](super::Sim) and the download
//! [`DownloadSim`](crate::download::sim::DownloadSim): a virtual clock that jumps to the earliest
//! pending delivery or machine deadline (a delivery first on a tie), hands it over, and drains
//! the machine before and after, as a driver must after every input.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::Livelock;
use crate::rng::SplitMix64;

/// The virtual clock, the deliveries `D` in flight in the order they land (insertion order
/// breaks ties), every event `E` the machine emitted, and the number of steps taken.
#[derive(Debug)]
pub(crate) struct Timeline<D, E> {
    /// The virtual now: only moves forward.
    pub(crate) now: Instant,
    /// Every event seen, in order.
    pub(crate) events: Vec<E>,
    queue: BTreeMap<(Instant, u64), D>,
    seq: u64,
    steps: u64,
}

impl<D, E> Timeline<D, E> {
    pub(crate) fn new(now: Instant) -> Self {
        Self {
            now,
            events: Vec::new(),
            queue: BTreeMap::new(),
            seq: 0,
            steps: 0,
        }
    }

    /// Schedules `d` to land at `at`.
    pub(crate) fn push(&mut self, at: Instant, d: D) {
        self.seq += 1;
        self.queue.insert((at, self.seq), d);
    }

    /// Forgets everything in transit (a crashed driver).
    pub(crate) fn clear(&mut self) {
        self.queue.clear();
    }

    fn next_at(&self) -> Option<Instant> {
        self.queue.keys().next().map(|(at, _)| *at)
    }

    fn pop(&mut self) -> Option<(Instant, D)> {
        self.queue.pop_first().map(|((at, _), d)| (at, d))
    }
}

/// One simulation around one machine: what the shared loop needs of it.
pub(crate) trait World {
    /// What lands: an arrival at the fake server, an answer, a failure, local work done.
    type Delivery;
    /// The machine's event type.
    type Event;

    fn timeline(&mut self) -> &mut Timeline<Self::Delivery, Self::Event>;

    /// Polls every request of the machine and schedules what it leads to.
    fn start_requests(&mut self);

    /// The machine's `poll_event`.
    fn poll_event(&mut self) -> Option<Self::Event>;

    /// Checks one event against the machine's invariants and follows it (trace, checkpoint,
    /// outcome); the loop then records it.
    fn observe(&mut self, ev: &Self::Event);

    /// The machine's next deadline (its `poll_timeout`).
    fn deadline(&self) -> Option<Instant>;

    /// Hands one delivery to the fake server or the machine, at the current now.
    fn deliver(&mut self, d: Self::Delivery);

    /// The machine's `handle_timeout(now)`.
    fn timeout(&mut self, now: Instant);
}

/// One step: jump the clock to the earliest delivery or deadline and process it, then drain.
/// Returns `false` when nothing is pending.
pub(crate) fn step<W: World>(w: &mut W) -> bool {
    w.timeline().steps += 1;
    drain(w);
    let next_delivery = w.timeline().next_at();
    let next_timeout = w.deadline();
    let deliver_first = match (next_delivery, next_timeout) {
        (None, None) => return false,
        (Some(d), Some(t)) => d <= t,
        (Some(_), None) => true,
        (None, Some(_)) => false,
    };
    if deliver_first {
        let Some((at, d)) = w.timeline().pop() else {
            return false;
        };
        advance(w, at);
        w.deliver(d);
    } else if let Some(t) = next_timeout {
        let now = advance(w, t);
        w.timeout(now);
    }
    drain(w);
    true
}

/// Drains the machine in the contract's order (requests, then the deadline, then events), again
/// while events came out: a driver must drain after every input.
fn drain<W: World>(w: &mut W) {
    loop {
        w.start_requests();
        let _ = w.deadline();
        let mut any = false;
        while let Some(ev) = w.poll_event() {
            any = true;
            w.observe(&ev);
            w.timeline().events.push(ev);
        }
        if !any {
            break;
        }
    }
}

/// The clock never goes backwards, even for a delivery scheduled before a timeout fired.
fn advance<W: World>(w: &mut W, to: Instant) -> Instant {
    let timeline = w.timeline();
    timeline.now = timeline.now.max(to);
    timeline.now
}

/// Steps until nothing is pending.
///
/// # Errors
/// [`Livelock`] after `max_steps` steps.
pub(crate) fn drive_bounded<W: World>(w: &mut W, max_steps: u64) -> Result<(), Livelock> {
    let start = w.timeline().steps;
    while step(w) {
        let steps = w.timeline().steps - start;
        if steps >= max_steps {
            return Err(Livelock { steps });
        }
    }
    Ok(())
}

/// Runs at most `steps` steps (for crash tests). Returns `true` if work remains.
pub(crate) fn run_for<W: World>(w: &mut W, steps: u64) -> bool {
    (0..steps).all(|_| step(w))
}

/// A network delay drawn uniformly from `0..=max`.
pub(crate) fn latency(rng: &mut SplitMix64, max: Duration) -> Duration {
    let max = u64::try_from(max.as_micros()).unwrap_or(u64::MAX);
    Duration::from_micros(rng.below_inclusive(max))
}
