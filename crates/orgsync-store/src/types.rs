//! The ledger's rows, as the engine reads and writes them. Plain data; the rules that combine
//! them (merging items, choosing states) live in [`crate::merge`] and the store implementations.
//!
//! Time is always passed in by the caller (`now`) rather than read from the clock inside the
//! store, so the engine, its tests and every replica agree on what "due" and "expired" mean.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use orgsync_core::merge::{ShadowValue, Versioned};
use orgsync_core::{GlobalId, Op, OrgId, OrgName, SyncItem};
use serde::{Deserialize, Serialize};

/// A sync item's row id. Ids grow with insertion, so ordering by id is ordering by arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ItemId(pub i64);

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a sync item is in its life.
///
/// `Queued`, `Pending` and `Failed` are *waiting* states: at most one waiting item exists per
/// (target org, object, global id), and later changes merge into it. At most one item per key
/// is `InFlight`; a change arriving while it is being written becomes a waiting follow-up item
/// instead (the write in progress may carry older values), which is not claimed until the
/// in-flight item is completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    /// Waiting for `next_attempt_at`.
    Queued,
    /// Claimed by a worker under a lease.
    InFlight,
    /// Written. Kept for history until pruned.
    Synced,
    /// Given up (permanent error or retries exhausted); kept for manual retry.
    Failed,
    /// Waiting for its parent record to land in the target org.
    Pending,
}

impl ItemState {
    /// Every state, in display order.
    pub const ALL: [ItemState; 5] = [
        ItemState::Queued,
        ItemState::InFlight,
        ItemState::Pending,
        ItemState::Failed,
        ItemState::Synced,
    ];

    /// The text stored in the `state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Queued => "queued",
            ItemState::InFlight => "in_flight",
            ItemState::Synced => "synced",
            ItemState::Failed => "failed",
            ItemState::Pending => "pending",
        }
    }

    /// Whether later changes merge into an item in this state.
    pub fn is_waiting(self) -> bool {
        matches!(
            self,
            ItemState::Queued | ItemState::Pending | ItemState::Failed
        )
    }
}

impl FromStr for ItemState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ItemState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown item state `{s}`"))
    }
}

impl fmt::Display for ItemState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text stored for an [`Op`].
pub fn op_str(op: Op) -> &'static str {
    match op {
        Op::Upsert => "upsert",
        Op::Delete => "delete",
        Op::Undelete => "undelete",
    }
}

/// Parse the text stored for an [`Op`].
pub fn parse_op(s: &str) -> Option<Op> {
    match s {
        "upsert" => Some(Op::Upsert),
        "delete" => Some(Op::Delete),
        "undelete" => Some(Op::Undelete),
        _ => None,
    }
}

/// Why the last attempt of an item failed, as the client classified it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemError {
    /// Salesforce's error code (`UNABLE_TO_LOCK_ROW`, `FIELD_CUSTOM_VALIDATION_EXCEPTION`) or
    /// a transport code (`timeout`, `http_503`).
    pub code: String,
    /// The message to show the operator (Salesforce's own text where there is one).
    pub message: String,
    /// The retry class (`retryable`, `quota`, `auth`, `permanent`, `missing_parent` …), as
    /// the engine's classifier names it. Free text so the ledger does not pin the classifier.
    pub kind: String,
}

/// A new unit of work, as capture (or a completion's follow-up) produces it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewItem {
    /// Target org, object, global id, op, payload and parent references.
    pub work: SyncItem,
    /// The commit time of each payload field's value (target-side field names). The merge
    /// rule keeps, per field, the value with the newest time; a field without an entry loses
    /// to any field with one. [`NewItem::new`] stamps every field with one time.
    pub field_ts: BTreeMap<String, DateTime<Utc>>,
    /// The configured org the change was captured from.
    pub source_org: Option<OrgName>,
    /// The record's id in that org.
    pub source_record_id: Option<String>,
    /// The change's transaction id. When already processed for the target, the item is
    /// dropped by [`crate::Store::commit_capture`] (replays, duplicate deliveries), and the id
    /// is recorded as processed when the item is committed.
    pub txn_id: Option<String>,
}

impl NewItem {
    /// An item whose every payload field was committed at `ts`.
    pub fn new(work: SyncItem, ts: DateTime<Utc>) -> Self {
        let field_ts = work.payload.keys().map(|k| (k.clone(), ts)).collect();
        NewItem {
            work,
            field_ts,
            source_org: None,
            source_record_id: None,
            txn_id: None,
        }
    }

    /// Set where the change came from.
    pub fn from_source(mut self, org: OrgName, record_id: impl Into<String>) -> Self {
        self.source_org = Some(org);
        self.source_record_id = Some(record_id.into());
        self
    }

    /// Set the transaction id.
    pub fn with_txn(mut self, txn_id: impl Into<String>) -> Self {
        self.txn_id = Some(txn_id.into());
        self
    }
}

/// A worker's hold on an in-flight item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Who holds it (a replica + worker name, unique per running worker).
    pub owner: String,
    /// When it expires; after that any claimer may take the item over.
    pub until: DateTime<Utc>,
}

/// A sync item as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Row id.
    pub id: ItemId,
    /// What to write (planner input).
    pub work: SyncItem,
    /// Commit time of each payload field's value.
    pub field_ts: BTreeMap<String, DateTime<Utc>>,
    /// The org the (latest merged) change came from.
    pub source_org: Option<OrgName>,
    /// The record's id there.
    pub source_record_id: Option<String>,
    /// The (latest merged) change's transaction id.
    pub txn_id: Option<String>,
    /// Life state.
    pub state: ItemState,
    /// How many times it was claimed (each claim is one attempt).
    pub attempts: u32,
    /// Not claimed before this time.
    pub next_attempt_at: DateTime<Utc>,
    /// Set while in flight.
    pub lease: Option<Lease>,
    /// The last failure, if any.
    pub last_error: Option<ItemError>,
    /// For Pending items: the parent global id it waits for.
    pub waiting_for: Option<GlobalId>,
    /// When first queued.
    pub created_at: DateTime<Utc>,
    /// Last change of any kind.
    pub updated_at: DateTime<Utc>,
}

/// Which items a listing, count or manual retry covers. Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemFilter {
    /// Only this state (ignored by [`crate::Store::retry_failed`], which takes Failed items).
    pub state: Option<ItemState>,
    /// Only this target org.
    pub target: Option<OrgName>,
    /// Only this object.
    pub object: Option<String>,
    /// Only this record.
    pub global_id: Option<GlobalId>,
}

/// Keyset paging: rows with id greater than `after`, at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Last id of the previous page (0 for the first page).
    pub after: i64,
    /// Page size.
    pub limit: u32,
}

impl Page {
    /// The first page of `limit` rows.
    pub fn first(limit: u32) -> Self {
        Page { after: 0, limit }
    }
}

/// What became of one claimed item.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Written. `record` brings the target org's id map and shadow up to date in the same
    /// transaction (its `local_id` should be set), and Pending children waiting for this
    /// record in that org are woken.
    Synced {
        /// The target org's record after the write.
        record: RecordWrite,
    },
    /// Try again at `at` (retryable error, or quota/circuit pause).
    RetryAt {
        /// When.
        at: DateTime<Utc>,
        /// Why it failed.
        error: ItemError,
    },
    /// Wait until `parent` lands in the target org. If it already has (a race with the
    /// parent's completion), the item is queued at once instead.
    Pending {
        /// The missing parent.
        parent: GlobalId,
        /// The error that told us (e.g. `INVALID_FIELD` on the relationship reference).
        error: Option<ItemError>,
    },
    /// Give up; kept for manual retry.
    Failed {
        /// Why.
        error: ItemError,
    },
}

/// A worker's report on one claimed item.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The item.
    pub id: ItemId,
    /// The lease owner that claimed it; a completion whose lease was lost (expired and
    /// claimed by someone else) is not applied.
    pub lease_owner: String,
    /// What happened.
    pub outcome: Outcome,
    /// Extra work to enqueue in the same transaction (merged like captured items), e.g.
    /// writing the winning value back to the origin org.
    pub follow_ups: Vec<NewItem>,
    /// Audit detail to attach to the item's audit row (the store writes one audit row per
    /// completion, kind `item.<state>`).
    pub detail: serde_json::Value,
}

/// What [`crate::Store::complete`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompleteReport {
    /// Completions applied.
    pub applied: Vec<ItemId>,
    /// Completions ignored because the caller no longer held the lease.
    pub lost_lease: Vec<ItemId>,
    /// Pending items woken (made Queued) because their parent landed.
    pub woken: u64,
}

/// Which capture source a checkpoint belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// REST polling on the `(SystemModstamp, Id)` keyset.
    Poll,
    /// Change Data Capture (Pub/Sub API replay id).
    Cdc,
}

impl SourceKind {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Poll => "poll",
            SourceKind::Cdc => "cdc",
        }
    }
}

/// How far a capture source has read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The org read.
    pub org: OrgName,
    /// The object read.
    pub object: String,
    /// Poll or CDC.
    pub source: SourceKind,
    /// Poll keyset: last `SystemModstamp` read.
    pub watermark_ts: Option<DateTime<Utc>>,
    /// Poll keyset: last `Id` read at that `SystemModstamp`.
    pub watermark_id: Option<String>,
    /// CDC: the last replay id (opaque bytes).
    pub replay_id: Option<Vec<u8>>,
    /// When it last moved (set by the store).
    pub updated_at: DateTime<Utc>,
}

/// One org's record as the ledger knows it: the id map entry and the shadow.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordRow {
    /// The org.
    pub org: OrgName,
    /// The object in that org.
    pub object: String,
    /// The record's global id.
    pub global_id: GlobalId,
    /// Its id in that org; None while it has not landed there.
    pub local_id: Option<String>,
    /// Hash of the synced values last written to / read from that org.
    pub fingerprint: Option<[u8; 32]>,
    /// Per field (lowercased name): the value the org holds and since when.
    pub shadow: BTreeMap<String, ShadowValue>,
    /// Deleted there.
    pub deleted: bool,
    /// The newest `SystemModstamp` seen for it there.
    pub last_modstamp: Option<DateTime<Utc>>,
    /// Last write to this row.
    pub updated_at: DateTime<Utc>,
}

/// A change to one org's record row. The store applies it as a merge so that concurrent
/// writers (capture of that org, a worker writing to it) never lose each other's facts:
/// shadow fields merge per field keeping the newer `at` (ties: this write), `None` leaves a
/// column as it is, and `last_modstamp` only moves forward.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordWrite {
    /// The org.
    pub org: OrgName,
    /// The object in that org.
    pub object: String,
    /// The record's global id.
    pub global_id: GlobalId,
    /// Set the local id (and wake Pending children in that org waiting for this record).
    pub local_id: Option<String>,
    /// Set the fingerprint.
    pub fingerprint: Option<[u8; 32]>,
    /// Shadow fields to merge in.
    pub shadow: BTreeMap<String, ShadowValue>,
    /// Set the deleted flag.
    pub deleted: Option<bool>,
    /// A `SystemModstamp` seen.
    pub modstamp: Option<DateTime<Utc>>,
}

impl RecordWrite {
    /// A write that changes nothing yet; fill the fields you know.
    pub fn new(org: OrgName, object: impl Into<String>, global_id: GlobalId) -> Self {
        RecordWrite {
            org,
            object: object.into(),
            global_id,
            local_id: None,
            fingerprint: None,
            shadow: BTreeMap::new(),
            deleted: None,
            modstamp: None,
        }
    }
}

/// The agreed value of each field of one record (source-side lowercased names), the
/// per-field last-writer-wins register of [`orgsync_core::merge::RecordState::agreed`].
#[derive(Debug, Clone, PartialEq)]
pub struct AgreedRow {
    /// The sync's source-side object name.
    pub object: String,
    /// The record.
    pub global_id: GlobalId,
    /// Field → agreed version.
    pub fields: BTreeMap<String, Versioned>,
    /// Last write.
    pub updated_at: DateTime<Utc>,
}

/// Agreed versions to merge in: per field the version with the newer commit time is kept
/// (ties: this write), so concurrent captures of two orgs commute.
#[derive(Debug, Clone, PartialEq)]
pub struct AgreedWrite {
    /// The sync's source-side object name.
    pub object: String,
    /// The record.
    pub global_id: GlobalId,
    /// Field → version.
    pub fields: BTreeMap<String, Versioned>,
}

/// A field changed on two orgs without either seeing the other's change.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConflict {
    /// Object (source-side name).
    pub object: String,
    /// The record.
    pub global_id: GlobalId,
    /// The field (lowercased source-side name).
    pub field: String,
    /// The incoming change's version.
    pub incoming: Versioned,
    /// The agreed version it competed with.
    pub current: Versioned,
    /// The winning org; None when a person must decide.
    pub winner: Option<OrgName>,
    /// Why (`newer_wins`, `priority_tie_break`, `source_wins`, `manual`).
    pub reason: String,
    /// When it was found.
    pub at: DateTime<Utc>,
}

/// A recorded conflict.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictRow {
    /// Row id.
    pub id: i64,
    /// The conflict.
    pub conflict: NewConflict,
}

/// An audit event to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAudit {
    /// When.
    pub at: DateTime<Utc>,
    /// What kind (`capture`, `item.synced`, `item.failed`, `retry`, `circuit.open` …).
    pub kind: String,
    /// The org concerned.
    pub org: Option<OrgName>,
    /// The object concerned.
    pub object: Option<String>,
    /// The record concerned.
    pub global_id: Option<GlobalId>,
    /// The item concerned.
    pub item_id: Option<ItemId>,
    /// Anything else, as JSON.
    pub detail: serde_json::Value,
}

impl NewAudit {
    /// An event with only a kind and time; fill the rest as needed.
    pub fn new(at: DateTime<Utc>, kind: impl Into<String>) -> Self {
        NewAudit {
            at,
            kind: kind.into(),
            org: None,
            object: None,
            global_id: None,
            item_id: None,
            detail: serde_json::Value::Null,
        }
    }
}

/// An appended audit event.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    /// Row id: audit order is id order.
    pub id: i64,
    /// The event.
    pub event: NewAudit,
}

/// Everything one capture step produced, committed in one transaction so that the
/// checkpoint moves only together with the items it produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaptureBatch {
    /// Work to enqueue (merged into open items).
    pub items: Vec<NewItem>,
    /// Transaction ids processed per target beyond those carried by `items` (e.g. changes
    /// routed nowhere, or dropped as echoes), so replays are recognised.
    pub txns: Vec<(OrgName, String)>,
    /// The capturing org's record rows (id map + the shadow of what it now holds).
    pub records: Vec<RecordWrite>,
    /// Agreed field versions after the merge.
    pub agreed: Vec<AgreedWrite>,
    /// Conflicts found.
    pub conflicts: Vec<NewConflict>,
    /// Audit events.
    pub audit: Vec<NewAudit>,
    /// Where the source now stands; moved in the same transaction.
    pub checkpoint: Option<CheckpointWrite>,
}

/// A checkpoint position to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointWrite {
    /// The org read.
    pub org: OrgName,
    /// The object read.
    pub object: String,
    /// Poll or CDC.
    pub source: SourceKind,
    /// Poll keyset timestamp.
    pub watermark_ts: Option<DateTime<Utc>>,
    /// Poll keyset id.
    pub watermark_id: Option<String>,
    /// CDC replay id.
    pub replay_id: Option<Vec<u8>>,
}

/// What [`crate::Store::commit_capture`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaptureReport {
    /// Items inserted as new rows (including follow-ups behind in-flight items).
    pub inserted: Vec<ItemId>,
    /// Items merged into an open waiting item.
    pub merged: Vec<ItemId>,
    /// Items dropped because their transaction id was already processed for the target.
    pub duplicates: u64,
    /// Pending items woken by record rows that gained a local id.
    pub woken: u64,
}

/// An org's circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    /// Calls flow.
    Closed,
    /// Calls stop until `circuit_until`.
    Open,
    /// One trial call is allowed.
    HalfOpen,
}

impl CircuitState {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            CircuitState::Closed => "closed",
            CircuitState::Open => "open",
            CircuitState::HalfOpen => "half_open",
        }
    }
    /// Parse the stored text.
    pub fn parse(s: &str) -> Option<Self> {
        [
            CircuitState::Closed,
            CircuitState::Open,
            CircuitState::HalfOpen,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// One configured org's runtime state.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgRow {
    /// Config name.
    pub name: OrgName,
    /// Salesforce org id, learnt at login.
    pub org_id: Option<OrgId>,
    /// Free-form status (`ok`, `auth_error: …`) for the operator.
    pub status: String,
    /// Circuit breaker.
    pub circuit: CircuitState,
    /// Open until.
    pub circuit_until: Option<DateTime<Utc>>,
    /// Consecutive failed calls.
    pub consecutive_failures: u32,
    /// API requests used in the current 24 h window, as last observed.
    pub budget_used: Option<i64>,
    /// The daily allocation.
    pub budget_max: Option<i64>,
    /// When those were observed (`Sforce-Limit-Info` or `/limits`).
    pub budget_observed_at: Option<DateTime<Utc>>,
}

impl OrgRow {
    /// A healthy org with nothing known yet.
    pub fn new(name: OrgName) -> Self {
        OrgRow {
            name,
            org_id: None,
            status: "ok".into(),
            circuit: CircuitState::Closed,
            circuit_until: None,
            consecutive_failures: 0,
            budget_used: None,
            budget_max: None,
            budget_observed_at: None,
        }
    }
}

/// Per (org, object) sync status shown to the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    /// Running.
    Active,
    /// Stopped by the operator or the budget governor.
    Paused,
    /// Stopped by an error needing attention (auth, setup).
    Error,
    /// The org's circuit is open.
    CircuitOpen,
}

impl SyncStatus {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatus::Active => "active",
            SyncStatus::Paused => "paused",
            SyncStatus::Error => "error",
            SyncStatus::CircuitOpen => "circuit_open",
        }
    }
    /// Parse the stored text.
    pub fn parse(s: &str) -> Option<Self> {
        [
            SyncStatus::Active,
            SyncStatus::Paused,
            SyncStatus::Error,
            SyncStatus::CircuitOpen,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// One (org, object) sync's state.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncRow {
    /// The org captured.
    pub org: OrgName,
    /// The object captured.
    pub object: String,
    /// Capture method (`poll`, `cdc`, `outbound`, `push`).
    pub capture: String,
    /// Capture interval in seconds.
    pub interval_secs: u32,
    /// Enabled in the config.
    pub enabled: bool,
    /// Status.
    pub status: SyncStatus,
    /// Last completed capture.
    pub last_sync_at: Option<DateTime<Utc>>,
    /// Errors since the last success.
    pub error_count: u32,
    /// The last error's text.
    pub last_error: Option<String>,
}

/// Item counts per (target org, state).
pub type Counts = BTreeMap<(OrgName, ItemState), u64>;
