//! What the Sync Monitor reads and writes beyond the engine's rows: newest-first audit
//! listings, and the sync settings overlay.

use chrono::{DateTime, Utc};
use orgsync_core::{GlobalId, OrgName};

use super::ItemState;

/// Which audit events [`crate::Store::audit_recent`] lists, newest first. Empty fields
/// match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this record's events (the record explorer's timeline).
    pub global_id: Option<GlobalId>,
    /// Only kinds starting with this (`admin.` for the activity log).
    pub kind_prefix: Option<String>,
    /// Only ids below this (the next page of a newest-first listing).
    pub before: Option<i64>,
    /// Page size.
    pub limit: u32,
}

/// One sync's settings as changed from the dashboard or `orgsync sync …`: an overlay over
/// the config file's `[[sync]]` of the same object. `None` keeps the file's value.
///
/// Why an overlay rather than rewriting the file: the file may be generated, templated or
/// read-only (a container image), and several replicas share one ledger; the overlay is
/// shown by `orgsync status`, survives restarts, and `orgsync config export` writes the
/// merged result as TOML for whoever wants it back in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncOverride {
    /// The sync's (source-side) object, as in the file.
    pub object: String,
    /// Capture method (`poll`, `cdc`, `outbound`).
    pub capture: Option<String>,
    /// Poll interval (the backup poll for `cdc` and `outbound`), seconds.
    pub interval_secs: Option<u32>,
    /// Enabled (false: paused).
    pub enabled: Option<bool>,
    /// Removed: the file's sync is ignored while this row says so.
    pub removed: bool,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
    /// Who changed it (`dashboard:<name>`, `cli:<user>`).
    pub updated_by: String,
    /// Set for a sync added from the dashboard or `orgsync sync add` (the file has none of
    /// this object): its fields, the same API name in every org. Kept here rather than
    /// written into the file, which may be generated or read-only.
    pub fields: Option<Vec<String>>,
}

impl SyncOverride {
    /// An override that changes nothing yet.
    pub fn new(object: impl Into<String>, at: DateTime<Utc>, by: impl Into<String>) -> Self {
        SyncOverride {
            object: object.into(),
            capture: None,
            interval_secs: None,
            enabled: None,
            removed: false,
            updated_at: at,
            updated_by: by.into(),
            fields: None,
        }
    }
}

/// What [`crate::Store::remove_sync`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RemoveReport {
    /// Capture checkpoints.
    pub checkpoints: u64,
    /// Items not yet Synced (queued, in flight, pending, failed).
    pub items: u64,
    /// Id-map and shadow rows.
    pub records: u64,
    /// Agreed-state rows.
    pub agreed: u64,
}

/// One org's side of a sync to remove: the org and the object's name there.
pub type OrgObject = (OrgName, String);

/// How many Failed or Pending items share a state, an error code and a dismissed mark: the
/// problems page's groups, counted by the database however many items there are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemCount {
    /// Failed or Pending.
    pub state: ItemState,
    /// Salesforce's error code (None: the item carries no error).
    pub code: Option<String>,
    /// Dismissed by an operator.
    pub dismissed: bool,
    /// How many.
    pub count: u64,
    /// The oldest item's first capture.
    pub first_created: DateTime<Utc>,
    /// The newest change among them.
    pub last_updated: DateTime<Utc>,
}

/// Which problem items [`crate::Store::problem_items`] lists, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemQuery {
    /// Failed or Pending; None: both.
    pub state: Option<ItemState>,
    /// The error code; None: items without one.
    pub code: Option<String>,
    /// Dismissed items too.
    pub include_dismissed: bool,
    /// Only ids below this (the next page).
    pub before: Option<i64>,
    /// Page size.
    pub limit: u32,
}

/// One replica's sample of one org, once a minute (the history charts and the budget
/// forecast read them).
///
/// Why the replica's own call counter rather than the org's usage: Salesforce reports usage
/// over a rolling 24 h, which barely moves hour to hour at a steady rate; the difference of
/// a counter between samples is the calls made in between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgSample {
    /// The replica (its lease owner) that took it.
    pub replica: String,
    /// The org.
    pub org: OrgName,
    /// When.
    pub at: DateTime<Utc>,
    /// API calls this replica made to the org since it started (a counter; lower than the
    /// previous sample after a restart).
    pub api_calls: u64,
    /// The org's API usage over the last 24 h, as last observed.
    pub budget_used: Option<i64>,
    /// The org's daily allocation, as last observed.
    pub budget_max: Option<i64>,
    /// Items waiting to be written to the org (Queued, InFlight, Pending).
    pub backlog: u64,
    /// Items that failed to be written to it.
    pub failed: u64,
}

/// One write that reached Synced, for the topology's per-route throughput and lag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteWrite {
    /// Where it was captured (None: an item not from a capture, like a repair).
    pub source: Option<OrgName>,
    /// Where it was written.
    pub target: OrgName,
    /// From its first capture to its write, milliseconds.
    pub latency_ms: i64,
}
