//! Sync items and what capture and completion hand the store.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use orgsync_core::{GlobalId, Op, OrgName, SyncItem};
use serde::{Deserialize, Serialize};

use super::*;

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
    /// Failed writes so far (a completion with [`Outcome::RetryAt`] or [`Outcome::Failed`]).
    /// Claims do not count: a round that only waited, was deferred, or was lost to a crash
    /// says nothing about the record.
    pub attempts: u32,
    /// This claim took the item over from a claim that ended without a completion (the
    /// worker died): its last write may have landed unrecorded, so the target's copy is read
    /// before anything is written again.
    pub reclaimed: bool,
    /// Not claimed before this time.
    pub next_attempt_at: DateTime<Utc>,
    /// Set while in flight.
    pub lease: Option<Lease>,
    /// The last failure, if any.
    pub last_error: Option<ItemError>,
    /// For Pending items: the parent global id it waits for.
    pub waiting_for: Option<GlobalId>,
    /// When an operator dismissed it (Failed items only; cleared when it leaves Failed).
    pub dismissed_at: Option<DateTime<Utc>>,
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
    /// The write failed; try again at `at`. Counts one attempt (see [`Item::attempts`]).
    RetryAt {
        /// When.
        at: DateTime<Utc>,
        /// Why it failed.
        error: ItemError,
    },
    /// Not written, through no fault of the record (the org is paused, unreachable or over
    /// its budget, the circuit is open, or what the target holds had to be re-read first):
    /// due again at `at`, and no attempt is counted.
    Deferred {
        /// When.
        at: DateTime<Utc>,
        /// Why, for the operator.
        note: Option<ItemError>,
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

/// Everything one capture step produced, committed in one transaction so that the
/// checkpoint moves only together with the items it produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaptureBatch {
    /// Work to enqueue (merged into open items).
    pub items: Vec<NewItem>,
    /// Transaction ids processed per target beyond those carried by `items` (e.g. changes
    /// routed nowhere, or dropped as echoes), so replays are recognised. An entry made by
    /// [`txn_with_hash`] also stores the hash of the transaction's content.
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

/// Separates a transaction id from its content hash in a [`CaptureBatch::txns`] entry. A unit
/// separator: no transaction id contains one (pushed ids with control characters are refused).
const HASH_SEPARATOR: char = '\u{1f}';

/// A [`CaptureBatch::txns`] entry that records `txn_id` together with `hash`, the hash of the
/// content it carried (a push's body), read back by [`crate::Store::txn_hashes`].
///
/// Why inside the id text rather than a field of its own: the batch's shape is shared with
/// the capture code of the engine, which passes these entries through untouched; the store
/// splits them when it writes the row (`txn_id` and `body_hash` columns).
pub fn txn_with_hash(txn_id: &str, hash: &str) -> String {
    format!("{txn_id}{HASH_SEPARATOR}{hash}")
}

/// A [`CaptureBatch::txns`] entry as (transaction id, content hash if any).
pub(crate) fn split_txn(entry: &str) -> (&str, Option<&str>) {
    match entry.split_once(HASH_SEPARATOR) {
        Some((id, hash)) => (id, Some(hash)),
        None => (entry, None),
    }
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

/// Item counts per (target org, state).
pub type Counts = BTreeMap<(OrgName, ItemState), u64>;
