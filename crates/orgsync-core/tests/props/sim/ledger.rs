//! The engine's ledger in the simulation: agreed state and per-org facts (one
//! `RecordState` per record), the id map, items queued per (target, global id), and the
//! claimed items in flight. [`super::capture`] fills it, [`super::worker`] drains it.

use std::collections::BTreeMap;

use orgsync_core::merge::RecordState;
use orgsync_core::model::{Fields, GlobalId};
use orgsync_core::write::Write;

/// How many engine ticks a failed or abandoned item waits before it is due again.
pub const RETRY_AFTER: u64 = 3;

/// What a landed write did, for its completion.
#[derive(Debug, Clone)]
pub enum Landed {
    Nothing,
    Written {
        local_id: String,
        /// Merge keys and values written.
        fields: Fields,
        /// What the write proves about deletion there.
        deleted: Option<bool>,
    },
}

/// A claimed item.
#[derive(Debug, Clone)]
pub struct Flight {
    pub org: usize,
    pub gid: GlobalId,
    pub write: Write,
    /// Engine clock when the write was sent.
    pub sent: i64,
    pub landed: Option<Landed>,
    /// Observer: (uncaptured user changes, user commits) of the target row when claimed.
    pub user_commits: Option<(usize, usize)>,
}

/// The ledger.
#[derive(Debug, Default)]
pub struct Ledger {
    pub states: BTreeMap<GlobalId, RecordState>,
    pub ids: BTreeMap<(usize, String), GlobalId>,
    pub local: BTreeMap<(usize, GlobalId), String>,
    /// Which object each record is (0: parent, 1: child).
    pub objects: BTreeMap<GlobalId, usize>,
    /// Queued items per (target, global id), merged while they wait: when they are due.
    pub pending: BTreeMap<(usize, GlobalId), u64>,
    pub flights: Vec<Flight>,
    /// CDC: events consumed per org.
    pub cursor: Vec<usize>,
    /// Poll: the newest SystemModstamp read per org.
    pub watermark: Vec<i64>,
    /// The newest SystemModstamp read per (org, row).
    pub seen: BTreeMap<(usize, String), i64>,
    /// Polls made per org.
    pub polls: Vec<usize>,
    /// Items whose earlier write may have landed unrecorded (lost completion): not claimed
    /// again before the target's capture has read past that write (CDC position, or polls).
    pub after_capture: BTreeMap<(usize, GlobalId), usize>,
    /// Engine ticks (one per action).
    pub tick: u64,
}

impl Ledger {
    pub fn new(n: usize) -> Ledger {
        Ledger {
            cursor: vec![0; n],
            polls: vec![0; n],
            watermark: vec![-1; n],
            ..Ledger::default()
        }
    }
}

pub fn ts(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(1_700_000_000_000 + ms)
        .expect("valid time")
}
