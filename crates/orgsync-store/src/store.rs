//! The [`Store`] trait: everything the engine, the CLI and the dashboard ask of the ledger.
//!
//! Methods return `impl Future + Send` so the engine can call them from spawned tasks while
//! implementations write plain `async fn`s. The engine is generic over `S: Store`; nothing
//! needs `dyn Store`. Every method is one database transaction: a call either happens
//! entirely or not at all, which is what makes a crash lose nothing (see
//! [`Store::commit_capture`]).

use std::collections::{HashMap, HashSet};
use std::future::Future;

use chrono::{DateTime, TimeDelta, Utc};
use orgsync_core::{GlobalId, OrgName};

use crate::error::Result;
use crate::types::{
    AgreedRow, AuditFilter, AuditRow, CaptureBatch, CaptureReport, Checkpoint, CheckpointWrite,
    CompleteReport, Completion, ConflictRow, Counts, Item, ItemFilter, ItemId, NewAudit,
    NewConflict, OrgObject, OrgRow, OrgSample, Page, ProblemCount, ProblemQuery, ReconcileRun,
    RecordRow, RecordWrite, RemoveReport, RouteWrite, SourceKind, SyncOverride, SyncRow,
};

/// What [`Store::prune`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Processed transaction ids forgotten.
    pub txns: u64,
    /// Synced items deleted.
    pub items: u64,
}

/// The durable ledger behind the engine.
pub trait Store: Send + Sync + 'static {
    // ---- capture and apply: the sync items -------------------------------------------------

    /// Commit one capture step atomically: enqueue `batch.items` (dropping those whose
    /// transaction id the target already processed; merging into the open waiting item of the
    /// same (target, object, global id) by [`crate::merge::merge_items`]; or, when that key is
    /// in flight and nothing waits, inserting a follow-up), record their transaction ids and
    /// `batch.txns`, apply the capturing org's record rows and agreed versions, insert
    /// conflicts and audit rows, and move the checkpoint — all in one transaction.
    ///
    /// Why one transaction: the checkpoint must never get ahead of the items it produced. If
    /// anything fails, nothing is written and the source is simply read again from the old
    /// checkpoint (re-reading is harmless: duplicates are merged or dropped by transaction id).
    fn commit_capture(
        &self,
        batch: CaptureBatch,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<CaptureReport>> + Send;

    /// Claim up to `limit` items due for `target`: Queued with `next_attempt_at <= now`, or
    /// InFlight whose lease expired before `now` (a worker died). Claimed items become InFlight
    /// under `lease_owner` until `now + lease_ttl`; their attempt count does not change (only a
    /// failed write counts, see [`crate::Outcome`]). A
    /// follow-up waits while another item of its key is in flight. Returned in (object, id)
    /// order, the planner's input order.
    ///
    /// Why leases: several workers (and, on PostgreSQL, several replicas) claim from the same
    /// table; a lease makes a claim exclusive without holding a transaction open during the
    /// API call, and a crashed worker's items come back once its lease runs out.
    fn claim_due(
        &self,
        target: &OrgName,
        now: DateTime<Utc>,
        limit: u32,
        lease_owner: &str,
        lease_ttl: TimeDelta,
    ) -> impl Future<Output = Result<Vec<Item>>> + Send;

    /// When `target` next has work: the earliest `next_attempt_at` of its Queued items or
    /// `lease_until` of its InFlight ones (a reclaim), or None when it has none. Lets the
    /// dispatcher sleep until then instead of polling the table.
    fn next_due(
        &self,
        target: &OrgName,
    ) -> impl Future<Output = Result<Option<DateTime<Utc>>>> + Send;

    /// Extend the lease of items still held by `lease_owner` (a long write or a Bulk job);
    /// returns how many were extended. Items whose lease was lost are not touched.
    fn extend_lease(
        &self,
        ids: &[ItemId],
        lease_owner: &str,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// Record what became of claimed items, in one transaction: Synced items update the
    /// target org's record row (id map + shadow) and wake Pending children waiting for that
    /// record; RetryAt requeues; Pending parks (or requeues at once when the parent already
    /// landed); Failed parks for manual retry. Leases are released and one audit row is
    /// written per completion; follow-ups are enqueued like captured items.
    ///
    /// An item that goes back to waiting while a follow-up waits for the same key is merged
    /// into the follow-up (the follow-up's newer fields win) and deleted, so there is still at
    /// most one waiting item per key. A completion whose caller lost the lease is skipped and
    /// reported in [`CompleteReport::lost_lease`]: whoever holds the item now decides.
    fn complete(
        &self,
        completions: Vec<Completion>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<CompleteReport>> + Send;

    /// Queue every Pending item in `org` waiting for `parent`; returns how many. The store does
    /// this itself whenever a record row gains a local id; the engine calls it when it learns
    /// of a parent some other way (reconcile).
    fn release_pending_children(
        &self,
        org: &OrgName,
        parent: &GlobalId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// Failed items matching `filter` (its state is ignored) become Queued now with their
    /// attempt count reset; returns how many. Backs `orgsync retry` and the dashboard button.
    fn retry_failed(
        &self,
        filter: &ItemFilter,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// Dismiss Failed items by id (the Sync Monitor's Dismiss): they leave the problems list
    /// but stay in the ledger as history, still Failed, until a retry or a new change to the
    /// record clears the mark. Items not Failed, or already dismissed, are left alone; returns
    /// how many were dismissed.
    fn dismiss_failed(
        &self,
        ids: &[ItemId],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// One item by id.
    fn item(&self, id: ItemId) -> impl Future<Output = Result<Option<Item>>> + Send;

    /// Items matching `filter`, in id order, one page (for `status` and the dashboard).
    fn items(
        &self,
        filter: &ItemFilter,
        page: Page,
    ) -> impl Future<Output = Result<Vec<Item>>> + Send;

    /// Item counts per (target org, state) (for `status`, `/metrics`, the dashboard).
    fn counts(&self) -> impl Future<Output = Result<Counts>> + Send;

    /// Which of `txn_ids` were already processed for `target` (echo layer 3), in one query.
    fn processed_txns(
        &self,
        target: &OrgName,
        txn_ids: &[String],
    ) -> impl Future<Output = Result<HashSet<String>>> + Send;

    /// Which of `txn_ids` were already processed for `target`, each with the content hash
    /// recorded with it ([`crate::txn_with_hash`]); `None` for a transaction recorded without
    /// one (any other kind, or a row older than the hash column). One query per 300 ids.
    fn txn_hashes(
        &self,
        target: &OrgName,
        txn_ids: &[String],
    ) -> impl Future<Output = Result<HashMap<String, Option<String>>>> + Send;

    // ---- id map and shadows ---------------------------------------------------------------

    /// The record row of `global_id` in `org`.
    fn record(
        &self,
        org: &OrgName,
        object: &str,
        global_id: &GlobalId,
    ) -> impl Future<Output = Result<Option<RecordRow>>> + Send;

    /// The record row whose local id in `org` is `local_id` (capture: "is this one of ours?").
    fn record_by_local_id(
        &self,
        org: &OrgName,
        object: &str,
        local_id: &str,
    ) -> impl Future<Output = Result<Option<RecordRow>>> + Send;

    /// Record rows of many global ids in `org`, in one query (capture looks up hundreds at a
    /// time). Ids without a row are simply absent.
    fn records(
        &self,
        org: &OrgName,
        object: &str,
        global_ids: &[GlobalId],
    ) -> impl Future<Output = Result<Vec<RecordRow>>> + Send;

    /// Record rows of many local ids in `org`, in one query.
    fn records_by_local_ids(
        &self,
        org: &OrgName,
        object: &str,
        local_ids: &[String],
    ) -> impl Future<Output = Result<Vec<RecordRow>>> + Send;

    /// Apply record writes outside a capture or completion (reconcile, initial matching);
    /// returns how many Pending items were woken by rows that gained a local id.
    fn write_records(
        &self,
        writes: Vec<RecordWrite>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// The records of one (source-side) object whose agreed fields hold `value` — a parent's
    /// global id: its children. One query (a text match over the stored fields), for the rare
    /// moment a parent comes back from the recycle bin and its children's dormant lookups must
    /// be written again.
    fn agreed_referencing(
        &self,
        object: &str,
        value: &GlobalId,
    ) -> impl Future<Output = Result<Vec<GlobalId>>> + Send;

    /// The records of `object` (as named in `org`) whose copy in `org` is known to hold
    /// `value` — a parent's global id. Why besides [`Store::agreed_referencing`]: a copy whose
    /// lookup was cleared by that parent's delete keeps it in its shadow (the clearing is no
    /// edit) while the agreed value moved on to another parent; the parent's undelete there
    /// gives the copy its old lookup back, which must then be brought to the agreed one
    /// (chaos seed 120). One text match over the org's shadows.
    fn held_referencing(
        &self,
        org: &OrgName,
        object: &str,
        value: &GlobalId,
    ) -> impl Future<Output = Result<Vec<GlobalId>>> + Send;

    /// Agreed field versions of many records of one (source-side) object, in one query.
    fn agreed(
        &self,
        object: &str,
        global_ids: &[GlobalId],
    ) -> impl Future<Output = Result<Vec<AgreedRow>>> + Send;

    // ---- reconciliation ------------------------------------------------------------------

    /// Every record row of `object` in `org`, by global id: the full reconcile pass compares
    /// what the org holds with all the ledger believes it holds (paged inside, one call).
    fn records_in(
        &self,
        org: &OrgName,
        object: &str,
    ) -> impl Future<Output = Result<Vec<RecordRow>>> + Send;

    /// How many records of `object` the ledger believes live in `org` (with a local id, not
    /// deleted): the quick reconcile pass compares it with the org's `SELECT COUNT()`.
    fn count_live(&self, org: &OrgName, object: &str) -> impl Future<Output = Result<u64>> + Send;

    /// Keep a reconcile run's report (`orgsync status` shows the last one).
    fn put_reconcile_run(&self, run: &ReconcileRun) -> impl Future<Output = Result<()>> + Send;

    /// The last reconcile run kept, if any.
    fn last_reconcile_run(&self) -> impl Future<Output = Result<Option<ReconcileRun>>> + Send;

    // ---- checkpoints, syncs, orgs ---------------------------------------------------------

    /// Where a capture source stands; None before its first run.
    fn checkpoint(
        &self,
        org: &OrgName,
        object: &str,
        source: SourceKind,
    ) -> impl Future<Output = Result<Option<Checkpoint>>> + Send;

    /// Move a checkpoint on its own (a capture that produced nothing, or an operator reset).
    fn set_checkpoint(
        &self,
        checkpoint: CheckpointWrite,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// One sync's status row.
    fn sync(
        &self,
        org: &OrgName,
        object: &str,
    ) -> impl Future<Output = Result<Option<SyncRow>>> + Send;

    /// Every sync's status row, by (org, object).
    fn syncs(&self) -> impl Future<Output = Result<Vec<SyncRow>>> + Send;

    /// Insert or replace a sync's status row.
    fn put_sync(&self, row: &SyncRow) -> impl Future<Output = Result<()>> + Send;

    /// One org's runtime row.
    fn org(&self, name: &OrgName) -> impl Future<Output = Result<Option<OrgRow>>> + Send;

    /// Every org's row, by name.
    fn orgs(&self) -> impl Future<Output = Result<Vec<OrgRow>>> + Send;

    /// Insert or replace an org's row.
    fn put_org(&self, row: &OrgRow) -> impl Future<Output = Result<()>> + Send;

    /// Count one API call's result against the org's circuit atomically (several workers and
    /// replicas report at once): success resets the consecutive-failure count, failure adds
    /// one. Returns the new count; the row is created if missing. The engine decides when
    /// that opens the circuit and records it with [`Store::put_org`].
    fn note_org_call(
        &self,
        name: &OrgName,
        success: bool,
    ) -> impl Future<Output = Result<u32>> + Send;

    // ---- conflicts and audit --------------------------------------------------------------

    /// Record conflicts found outside a capture batch.
    fn add_conflicts(&self, conflicts: Vec<NewConflict>)
    -> impl Future<Output = Result<()>> + Send;

    /// Conflicts, optionally of one record, oldest first, one page.
    fn conflicts(
        &self,
        global_id: Option<&GlobalId>,
        page: Page,
    ) -> impl Future<Output = Result<Vec<ConflictRow>>> + Send;

    /// Append audit events (outside a capture or completion).
    fn append_audit(&self, events: Vec<NewAudit>) -> impl Future<Output = Result<()>> + Send;

    /// Audit events in append order, one page.
    fn audit(&self, page: Page) -> impl Future<Output = Result<Vec<AuditRow>>> + Send;

    /// Audit events matching `filter`, newest first, one page (the record explorer's timeline
    /// and the dashboard's activity log read backwards from now).
    fn audit_recent(
        &self,
        filter: &AuditFilter,
    ) -> impl Future<Output = Result<Vec<AuditRow>>> + Send;

    /// Conflicts newest first, `limit` of them with ids below `before` (all when None): the
    /// dashboard's conflicts page.
    fn conflicts_recent(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ConflictRow>>> + Send;

    // ---- the Sync Monitor: problems, record explorer and settings overlay -------------------

    /// Failed and Pending items counted per (state, error code, dismissed), with the first
    /// capture and last change of each group: the problems page's groups, right however many
    /// items there are.
    fn problem_counts(&self) -> impl Future<Output = Result<Vec<ProblemCount>>> + Send;

    /// Audit events of `kinds` since `since`, counted per `bucket_secs` bucket: (kind, bucket
    /// start, count), for the dashboard's charts (captured vs applied). `echo.dropped` comes
    /// back per layer, as `echo.dropped:origin`, `:shadow`, `:txn` (or `:other`): the charts
    /// show echoes dropped per layer.
    fn audit_counts(
        &self,
        kinds: &[&str],
        since: DateTime<Utc>,
        bucket_secs: i64,
    ) -> impl Future<Output = Result<Vec<(String, DateTime<Utc>, u64)>>> + Send;

    /// Synced items written since `since` (they are kept 7 days): when each was written and
    /// how long after its first capture, in milliseconds — at most `limit`, newest first. The
    /// charts' capture→apply latency percentiles.
    fn synced_latencies(
        &self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<(DateTime<Utc>, i64)>>> + Send;

    /// One page of Failed or Pending items matching `query`, newest first.
    fn problem_items(&self, query: &ProblemQuery)
    -> impl Future<Output = Result<Vec<Item>>> + Send;

    /// The Failed items to write to `object` in `target` that no operator dismissed: how
    /// many, and the error of the newest (`CODE: message`). A sync whose writes fail shows
    /// Error with it until they are retried to Synced or dismissed.
    fn failed_writes(
        &self,
        target: &OrgName,
        object: &str,
    ) -> impl Future<Output = Result<(u64, Option<String>)>> + Send;

    /// Every org's record row of `global_id`, whatever the object (the record explorer's id
    /// map across every org), by org.
    fn records_of(
        &self,
        global_id: &GlobalId,
    ) -> impl Future<Output = Result<Vec<RecordRow>>> + Send;

    /// The record rows whose local id is `local_id`, in any org and object (an id pasted
    /// into the record explorer without saying where it comes from).
    fn records_with_local_id(
        &self,
        local_id: &str,
    ) -> impl Future<Output = Result<Vec<RecordRow>>> + Send;

    /// Write one replica's samples of its orgs (the history charts), deleting samples older
    /// than 8 days.
    fn put_org_samples(&self, rows: &[OrgSample]) -> impl Future<Output = Result<()>> + Send;

    /// Every replica's org samples taken at or after `since`, by replica, org and time.
    fn org_samples(
        &self,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<OrgSample>>> + Send;

    /// Writes that reached Synced at or after `since`, newest first, at most `limit`: the
    /// topology's per-route throughput and lag.
    fn route_writes(
        &self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<RouteWrite>>> + Send;

    /// The sync settings overlay, by object.
    fn sync_overrides(&self) -> impl Future<Output = Result<Vec<SyncOverride>>> + Send;

    /// Insert or replace one sync's override, with `audit` (who changed what) in the same
    /// transaction.
    fn put_sync_override(
        &self,
        row: &SyncOverride,
        audit: NewAudit,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Forget a removed sync's override (the file's settings apply again); returns whether
    /// there was one.
    fn delete_sync_override(&self, object: &str) -> impl Future<Output = Result<bool>> + Send;

    /// Remove sync `object` from the ledger in one transaction: for each of `sides` (org, the
    /// object's name there) its checkpoints, items not yet Synced, record rows (id map and
    /// shadows) and status row go, then the agreed rows of `object`; the override is set to
    /// removed and `audit` appended. Records in the orgs stay; the audit and conflicts stay.
    fn remove_sync(
        &self,
        object: &str,
        sides: &[OrgObject],
        audit: NewAudit,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<RemoveReport>> + Send;

    /// Forget processed transaction ids older than `txns_before` and delete Synced items
    /// last updated before `synced_before` (the engine calls this daily; the audit stays).
    fn prune(
        &self,
        txns_before: DateTime<Utc>,
        synced_before: DateTime<Utc>,
    ) -> impl Future<Output = Result<PruneReport>> + Send;
}
