//! Apply rounds in progress, for a race-free idle check (`EngineHandle::wait_idle`).
//!
//! Why not just the ledger: between reading the item counts and the due times, a worker can
//! claim the last Queued items (they become InFlight with a future lease), and both reads then
//! say "nothing to do" while a round is running. A round is marked active from before its
//! claim to after its completion, and every start and end bumps `epoch`; an idle check that
//! saw no active round, nothing due, and the same epoch before and after saw a quiet moment.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub(crate) struct Activity {
    pub active: AtomicU64,
    pub epoch: AtomicU64,
}

/// One apply round: active until dropped.
#[derive(Debug)]
pub(crate) struct RoundGuard<'a>(&'a Activity);

impl Activity {
    pub fn begin(&self) -> RoundGuard<'_> {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.active.fetch_add(1, Ordering::SeqCst);
        RoundGuard(self)
    }
}

impl Drop for RoundGuard<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
        self.0.epoch.fetch_add(1, Ordering::SeqCst);
    }
}
