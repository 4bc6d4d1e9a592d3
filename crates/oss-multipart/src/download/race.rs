//! Races between a straggling GET and its hedge (the core decides both; see
//! `oss_multipart_core::DownloadOp::Get::hedge`): the bookkeeping that keeps a loser's bytes
//! from ever landing over the winner's.
//!
//! A GET that is not a hedge writes its body into the file as it arrives, each write under
//! its *gate*. A hedge keeps its body in memory; when it completes first, the gates of the
//! other GETs of its range are closed (waiting for a write under way to end) before the
//! hedge's bytes are written, so nothing of theirs comes after. A GET the core cancels has
//! its gate closed and its task aborted.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Mutex;
use tokio::task::AbortHandle;

/// Whether a GET may still write: closed once, never opened again.
#[derive(Debug, Clone, Default)]
pub(crate) struct Gate(Arc<Mutex<bool>>);

impl Gate {
    /// Runs `write` unless the gate is closed (then `None`); the gate cannot close meanwhile.
    /// For blocking-pool threads only (it blocks, and must not be called from async code).
    pub(crate) fn write_blocking<T>(&self, write: impl FnOnce() -> T) -> Option<T> {
        let closed = self.0.blocking_lock();
        if *closed {
            return None;
        }
        Some(write())
    }

    /// Whether the gate is closed (a write started now would be refused).
    pub(crate) fn is_closed(&self) -> bool {
        self.0.try_lock().is_ok_and(|closed| *closed)
    }

    /// Closes the gate, after a write under way ended.
    pub(crate) async fn close(&self) {
        *self.0.lock().await = true;
    }
}

/// Body bytes a GET received so far (what a cancelled loser moved).
pub(crate) type Moved = Arc<AtomicU64>;

struct Entry {
    index: u64,
    gate: Gate,
    moved: Moved,
    abort: Option<AbortHandle>,
}

/// The GETs in flight, by request id.
pub(crate) struct Races<K> {
    gets: HashMap<K, Entry>,
}

impl<K> Default for Races<K> {
    fn default() -> Self {
        Self {
            gets: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq + Copy> Races<K> {
    /// A GET of range `index` starts; returns its gate and byte counter.
    pub(crate) fn register(&mut self, id: K, index: u64) -> (Gate, Moved) {
        let (gate, moved) = (Gate::default(), Moved::default());
        let entry = Entry {
            index,
            gate: gate.clone(),
            moved: moved.clone(),
            abort: None,
        };
        self.gets.insert(id, entry);
        (gate, moved)
    }

    /// The task of GET `id`, to abort it if it loses.
    pub(crate) fn set_task(&mut self, id: K, abort: AbortHandle) {
        if let Some(e) = self.gets.get_mut(&id) {
            e.abort = Some(abort);
        }
    }

    /// Closes the gates of every other GET of the range of `id`, before `id` writes.
    pub(crate) async fn fence_others(&self, id: K) {
        let Some(index) = self.gets.get(&id).map(|e| e.index) else {
            return;
        };
        for (other, e) in &self.gets {
            if *other != id && e.index == index {
                e.gate.close().await;
            }
        }
    }

    /// The core cancelled GET `id`: no write of it from now on, its task stops. Returns the
    /// body bytes it had received.
    pub(crate) async fn cancel(&mut self, id: K) -> Option<u64> {
        let e = self.gets.remove(&id)?;
        e.gate.close().await;
        if let Some(a) = e.abort {
            a.abort();
        }
        Some(e.moved.load(Ordering::Relaxed))
    }

    /// GET `id` ended (answered, failed, or its body reported).
    pub(crate) fn forget(&mut self, id: K) {
        self.gets.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `gate.write_blocking(|| value)` on the blocking pool.
    async fn write(gate: &Gate, value: i32) -> Option<i32> {
        let gate = gate.clone();
        tokio::task::spawn_blocking(move || gate.write_blocking(|| value))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_closed_gate_refuses_writes_and_cancel_reports_moved_bytes() {
        let mut races: Races<u64> = Races::default();
        let (a, moved_a) = races.register(1, 3);
        let (b, _) = races.register(2, 3);
        let (c, _) = races.register(3, 4);
        assert_eq!(write(&a, 1).await, Some(1));
        races.fence_others(2).await;
        assert_eq!(
            write(&a, 2).await,
            None,
            "fenced by the other GET of range 3"
        );
        assert_eq!(write(&b, 3).await, Some(3));
        assert_eq!(write(&c, 4).await, Some(4), "another range is untouched");
        moved_a.store(77, Ordering::Relaxed);
        let moved = races.cancel(1).await;
        assert_eq!(moved, Some(77));
    }
}
