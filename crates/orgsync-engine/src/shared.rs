//! State shared by the engine's tasks: settings, ledger, one client per org, counters and the
//! signals that wake pollers and workers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use orgsync_core::config::SyncSettings;
use orgsync_core::mapping::object_name;
use orgsync_core::{OrgId, OrgName, Settings};
use tokio::sync::{Notify, watch};

use crate::error::EngineError;
use crate::options::{EngineOptions, Progress};

/// One logged-in org.
#[derive(Debug, Clone)]
pub(crate) struct OrgConn {
    pub client: sfclient::Client,
    pub org_id: OrgId,
}

/// One (org, sync) poller's cycle counters, for `wait_idle`.
#[derive(Debug)]
pub(crate) struct PollerSlot {
    pub org: OrgName,
    pub sync: usize,
    pub started: AtomicU64,
    pub finished: AtomicU64,
    pub wake: Notify,
}

/// Monotonic counters behind [`Progress`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub captured: AtomicU64,
    pub synced: AtomicU64,
    pub failed: AtomicU64,
    pub conflicts: AtomicU64,
    pub echoes_dropped: AtomicU64,
    /// Apply rounds started completing (bumped before the ledger sees the outcome, so
    /// `wait_idle` never mistakes a just-finished round for no activity).
    pub rounds: AtomicU64,
}

impl Counters {
    pub fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }
}

/// Apply rounds in progress, for a race-free idle check (`EngineHandle::wait_idle`).
///
/// Why not just the ledger: between reading the item counts and the due times, a worker can
/// claim the last Queued items (they become InFlight with a future lease), and both reads then
/// say "nothing to do" while a round is running. A round is marked active from before its
/// claim to after its completion, and every start and end bumps `epoch`; an idle check that
/// saw no active round, nothing due, and the same epoch before and after saw a quiet moment.
#[derive(Debug, Default)]
pub(crate) struct Activity {
    pub active: AtomicU64,
    pub epoch: AtomicU64,
}

/// One apply round: active until dropped.
#[derive(Debug)]
pub(crate) struct Round<'a>(&'a Activity);

impl Activity {
    pub fn begin(&self) -> Round<'_> {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.active.fetch_add(1, Ordering::SeqCst);
        Round(self)
    }
}

impl Drop for Round<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
        self.0.epoch.fetch_add(1, Ordering::SeqCst);
    }
}

/// Everything the tasks share.
pub(crate) struct Shared<S> {
    pub settings: Settings,
    pub store: S,
    pub opts: EngineOptions,
    pub orgs: BTreeMap<OrgName, OrgConn>,
    pub counters: Counters,
    pub activity: Activity,
    pub progress: watch::Sender<Progress>,
    pub pollers: Vec<Arc<PollerSlot>>,
    pub apply_wake: BTreeMap<OrgName, Arc<Notify>>,
    pub shutdown: watch::Sender<bool>,
    /// One per sync: captures of the same records on different orgs load the merge state,
    /// merge and commit one at a time, so each sees the other's agreed values (otherwise two
    /// concurrent edits would both look unopposed and the conflict would go unrecorded).
    /// Apply workers take the same locks around `Store::complete`, so a capture's view of the
    /// id map and shadows never straddles a completion (see `apply::run`).
    pub capture_locks: Vec<tokio::sync::Mutex<()>>,
    /// Pushes are applied one at a time, so "transaction id seen?" and the commit that marks
    /// it seen are one step: two identical requests at once apply once.
    pub push_lock: tokio::sync::Mutex<()>,
}

impl<S> std::fmt::Debug for Shared<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("orgs", &self.orgs.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl PollerSlot {
    pub fn new(org: OrgName, sync: usize) -> Self {
        PollerSlot {
            org,
            sync,
            started: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            wake: Notify::new(),
        }
    }
}

impl<S> Shared<S> {
    /// The org's Salesforce id.
    pub fn org_id(&self, org: &OrgName) -> Option<OrgId> {
        self.orgs.get(org).map(|c| c.org_id.clone())
    }

    /// Whether `org` uses source-side names.
    pub fn source_side(&self, org: &OrgName) -> bool {
        self.settings.topology.is_source_side(org)
    }

    /// The index of the sync whose object on `org` is `object`.
    pub fn sync_index(&self, org: &OrgName, object: &str) -> Option<usize> {
        let side = self.source_side(org);
        self.settings
            .syncs
            .iter()
            .position(|s| object_name(s, side).eq_ignore_ascii_case(object))
    }

    /// The sync whose object on `org` is `object`.
    pub fn sync_for(&self, org: &OrgName, object: &str) -> Option<&SyncSettings> {
        self.sync_index(org, object)
            .map(|i| &self.settings.syncs[i])
    }

    /// The logged-in connection of `org`.
    pub fn conn(&self, org: &OrgName) -> Result<&OrgConn, EngineError> {
        self.orgs
            .get(org)
            .ok_or_else(|| EngineError::Config(format!("org {org} is not logged in")))
    }

    /// The Salesforce id of `org`, which every logged-in org has.
    pub fn require_org_id(&self, org: &OrgName) -> Result<OrgId, EngineError> {
        self.org_id(org)
            .ok_or_else(|| EngineError::Config(format!("org {org} has no org id")))
    }

    /// Wake every apply worker (items were queued).
    pub fn wake_workers(&self) {
        for n in self.apply_wake.values() {
            n.notify_one();
        }
    }

    pub fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }
}
