//! Issue 9, finding 9: errors in the apply path vanished. A failed ledger read in the middle
//! of a write round was taken for "nothing known": a delete found no local id and was marked
//! Synced with nothing deleted, and an update found no id map and went out as an upsert by
//! global id, creating a duplicate. Here the real SQLite ledger is wrapped so that, once a
//! writer has claimed items, every ledger read fails (as a busy or unreachable database does)
//! until the test lifts the fault: the round must end without completing anything, nothing
//! may be written to the target, and once the ledger answers again the same items are
//! written exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};
use orgsync_core::{GlobalId, OrgName};
use orgsync_engine::{Engine, EngineOptions};
use orgsync_store::{
    AgreedRow, AuditFilter, AuditRow, CaptureBatch, CaptureReport, Checkpoint, CheckpointWrite,
    CompleteReport, Completion, ConflictRow, Counts, Item, ItemFilter, ItemId, ItemState, NewAudit,
    NewConflict, OrgObject, OrgRow, OrgSample, Page, ProblemCount, ProblemQuery, PruneReport,
    RecordRow, RecordWrite, RemoveReport, Result, SourceKind, SqlStore, Store, StoreError,
    SyncOverride, SyncRow,
};
use serde_json::json;

use crate::support::*;

const PEER: &str = "[topology]\nkind = \"peer\"\norgs = [\"a\", \"b\"]\n";
const SYNC: &str =
    "[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Status__c\"]\ninterval = \"30m\"\n";

/// The real ledger, with a fault: once `armed` and a claim has handed out items, every
/// read of record rows and agreed state fails until `armed` is cleared.
#[derive(Clone)]
struct Faulty {
    inner: Arc<SqlStore>,
    armed: Arc<AtomicBool>,
    tripped: Arc<AtomicBool>,
    failures: Arc<AtomicU64>,
}

impl Faulty {
    fn check(&self) -> Result<()> {
        if self.armed.load(Ordering::SeqCst) && self.tripped.load(Ordering::SeqCst) {
            self.failures.fetch_add(1, Ordering::SeqCst);
            return Err(StoreError::Database(sqlx::Error::PoolTimedOut));
        }
        Ok(())
    }
}

impl Store for Faulty {
    async fn commit_capture(&self, b: CaptureBatch, now: DateTime<Utc>) -> Result<CaptureReport> {
        self.inner.commit_capture(b, now).await
    }
    async fn claim_due(
        &self,
        t: &OrgName,
        now: DateTime<Utc>,
        limit: u32,
        owner: &str,
        ttl: TimeDelta,
    ) -> Result<Vec<Item>> {
        let got = self.inner.claim_due(t, now, limit, owner, ttl).await?;
        if !got.is_empty() && self.armed.load(Ordering::SeqCst) {
            self.tripped.store(true, Ordering::SeqCst);
        }
        Ok(got)
    }
    async fn next_due(&self, t: &OrgName) -> Result<Option<DateTime<Utc>>> {
        self.inner.next_due(t).await
    }
    async fn extend_lease(&self, ids: &[ItemId], o: &str, u: DateTime<Utc>) -> Result<u64> {
        self.inner.extend_lease(ids, o, u).await
    }
    async fn complete(&self, c: Vec<Completion>, now: DateTime<Utc>) -> Result<CompleteReport> {
        self.inner.complete(c, now).await
    }
    async fn release_pending_children(
        &self,
        o: &OrgName,
        p: &GlobalId,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        self.inner.release_pending_children(o, p, now).await
    }
    async fn retry_failed(&self, f: &ItemFilter, now: DateTime<Utc>) -> Result<u64> {
        self.inner.retry_failed(f, now).await
    }
    async fn dismiss_failed(&self, ids: &[ItemId], now: DateTime<Utc>) -> Result<u64> {
        self.inner.dismiss_failed(ids, now).await
    }
    async fn item(&self, id: ItemId) -> Result<Option<Item>> {
        self.inner.item(id).await
    }
    async fn items(&self, f: &ItemFilter, p: Page) -> Result<Vec<Item>> {
        self.inner.items(f, p).await
    }
    async fn counts(&self) -> Result<Counts> {
        self.inner.counts().await
    }
    async fn processed_txns(
        &self,
        t: &OrgName,
        ids: &[String],
    ) -> Result<std::collections::HashSet<String>> {
        self.inner.processed_txns(t, ids).await
    }
    async fn txn_hashes(
        &self,
        t: &OrgName,
        ids: &[String],
    ) -> Result<std::collections::HashMap<String, Option<String>>> {
        self.inner.txn_hashes(t, ids).await
    }
    async fn record(&self, o: &OrgName, obj: &str, g: &GlobalId) -> Result<Option<RecordRow>> {
        self.check()?;
        self.inner.record(o, obj, g).await
    }
    async fn record_by_local_id(
        &self,
        o: &OrgName,
        obj: &str,
        l: &str,
    ) -> Result<Option<RecordRow>> {
        self.check()?;
        self.inner.record_by_local_id(o, obj, l).await
    }
    async fn records(&self, o: &OrgName, obj: &str, g: &[GlobalId]) -> Result<Vec<RecordRow>> {
        self.check()?;
        self.inner.records(o, obj, g).await
    }
    async fn records_by_local_ids(
        &self,
        o: &OrgName,
        obj: &str,
        l: &[String],
    ) -> Result<Vec<RecordRow>> {
        self.check()?;
        self.inner.records_by_local_ids(o, obj, l).await
    }
    async fn write_records(&self, w: Vec<RecordWrite>, now: DateTime<Utc>) -> Result<u64> {
        self.inner.write_records(w, now).await
    }
    async fn agreed_referencing(&self, obj: &str, v: &GlobalId) -> Result<Vec<GlobalId>> {
        self.check()?;
        self.inner.agreed_referencing(obj, v).await
    }
    async fn held_referencing(
        &self,
        org: &OrgName,
        obj: &str,
        v: &GlobalId,
    ) -> Result<Vec<GlobalId>> {
        self.check()?;
        self.inner.held_referencing(org, obj, v).await
    }
    async fn agreed(&self, obj: &str, g: &[GlobalId]) -> Result<Vec<AgreedRow>> {
        self.check()?;
        self.inner.agreed(obj, g).await
    }
    async fn records_in(&self, o: &OrgName, obj: &str) -> Result<Vec<RecordRow>> {
        self.check()?;
        self.inner.records_in(o, obj).await
    }
    async fn count_live(&self, o: &OrgName, obj: &str) -> Result<u64> {
        self.check()?;
        self.inner.count_live(o, obj).await
    }
    async fn put_reconcile_run(&self, run: &orgsync_store::ReconcileRun) -> Result<()> {
        self.inner.put_reconcile_run(run).await
    }
    async fn last_reconcile_run(&self) -> Result<Option<orgsync_store::ReconcileRun>> {
        self.inner.last_reconcile_run().await
    }
    async fn checkpoint(
        &self,
        o: &OrgName,
        obj: &str,
        s: SourceKind,
    ) -> Result<Option<Checkpoint>> {
        self.inner.checkpoint(o, obj, s).await
    }
    async fn set_checkpoint(&self, c: CheckpointWrite, now: DateTime<Utc>) -> Result<()> {
        self.inner.set_checkpoint(c, now).await
    }
    async fn sync(&self, o: &OrgName, obj: &str) -> Result<Option<SyncRow>> {
        self.inner.sync(o, obj).await
    }
    async fn syncs(&self) -> Result<Vec<SyncRow>> {
        self.inner.syncs().await
    }
    async fn put_sync(&self, row: &SyncRow) -> Result<()> {
        self.inner.put_sync(row).await
    }
    async fn org(&self, n: &OrgName) -> Result<Option<OrgRow>> {
        self.inner.org(n).await
    }
    async fn orgs(&self) -> Result<Vec<OrgRow>> {
        self.inner.orgs().await
    }
    async fn put_org(&self, row: &OrgRow) -> Result<()> {
        self.inner.put_org(row).await
    }
    async fn note_org_call(&self, n: &OrgName, ok: bool) -> Result<u32> {
        self.inner.note_org_call(n, ok).await
    }
    async fn add_conflicts(&self, c: Vec<NewConflict>) -> Result<()> {
        self.inner.add_conflicts(c).await
    }
    async fn conflicts(&self, g: Option<&GlobalId>, p: Page) -> Result<Vec<ConflictRow>> {
        self.inner.conflicts(g, p).await
    }
    async fn append_audit(&self, e: Vec<NewAudit>) -> Result<()> {
        self.inner.append_audit(e).await
    }
    async fn audit(&self, p: Page) -> Result<Vec<AuditRow>> {
        self.inner.audit(p).await
    }
    async fn prune(&self, t: DateTime<Utc>, s: DateTime<Utc>) -> Result<PruneReport> {
        self.inner.prune(t, s).await
    }
    // the Sync Monitor's reads and the settings overlay: passed through
    async fn audit_recent(&self, f: &AuditFilter) -> Result<Vec<AuditRow>> {
        self.inner.audit_recent(f).await
    }
    async fn conflicts_recent(&self, before: Option<i64>, limit: u32) -> Result<Vec<ConflictRow>> {
        self.inner.conflicts_recent(before, limit).await
    }
    async fn problem_counts(&self) -> Result<Vec<ProblemCount>> {
        self.inner.problem_counts().await
    }
    async fn problem_items(&self, q: &ProblemQuery) -> Result<Vec<Item>> {
        self.inner.problem_items(q).await
    }
    async fn failed_writes(&self, t: &OrgName, o: &str) -> Result<(u64, Option<String>)> {
        self.inner.failed_writes(t, o).await
    }
    async fn audit_counts(
        &self,
        kinds: &[&str],
        since: DateTime<Utc>,
        bucket_secs: i64,
    ) -> Result<Vec<(String, DateTime<Utc>, u64)>> {
        self.inner.audit_counts(kinds, since, bucket_secs).await
    }
    async fn synced_latencies(
        &self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(DateTime<Utc>, i64)>> {
        self.inner.synced_latencies(since, limit).await
    }
    async fn records_of(&self, g: &GlobalId) -> Result<Vec<RecordRow>> {
        self.inner.records_of(g).await
    }
    async fn records_with_local_id(&self, id: &str) -> Result<Vec<RecordRow>> {
        self.inner.records_with_local_id(id).await
    }
    async fn put_org_samples(&self, rows: &[OrgSample]) -> Result<()> {
        self.inner.put_org_samples(rows).await
    }
    async fn org_samples(&self, since: chrono::DateTime<chrono::Utc>) -> Result<Vec<OrgSample>> {
        self.inner.org_samples(since).await
    }
    async fn route_writes(
        &self,
        since: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> Result<Vec<orgsync_store::RouteWrite>> {
        self.inner.route_writes(since, limit).await
    }
    async fn sync_overrides(&self) -> Result<Vec<SyncOverride>> {
        self.inner.sync_overrides().await
    }
    async fn put_sync_override(&self, row: &SyncOverride, audit: NewAudit) -> Result<()> {
        self.inner.put_sync_override(row, audit).await
    }
    async fn delete_sync_override(&self, object: &str) -> Result<bool> {
        self.inner.delete_sync_override(object).await
    }
    async fn remove_sync(
        &self,
        object: &str,
        sides: &[OrgObject],
        audit: NewAudit,
        now: DateTime<Utc>,
    ) -> Result<RemoveReport> {
        self.inner.remove_sync(object, sides, audit, now).await
    }
}

/// A delete and an update claimed for b while the ledger fails: nothing is written to b,
/// nothing is marked Synced; once the ledger answers, b gets the delete and the update, and
/// holds exactly one copy of the updated record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_ledger_read_in_a_write_round_completes_nothing() {
    let env = start(&["a", "b"], |_| vec![]).await;
    let (a, b) = (env.user("a").await, env.user("b").await);
    let gone = create(&a, "Work_Item__c", json!({"Name": "to delete"})).await;
    let kept = create(&a, "Work_Item__c", json!({"Name": "to update"})).await;
    let faulty = Faulty {
        inner: Arc::new(env.store().await),
        armed: Arc::default(),
        tripped: Arc::default(),
        failures: Arc::default(),
    };
    let opts = EngineOptions {
        lease_owner: "test".into(),
        ..EngineOptions::default()
    };
    let settings = env.settings(&["a", "b"], &format!("{PEER}{SYNC}"));
    let engine = Engine::start(settings, faulty.clone(), opts).await.unwrap();
    assert!(engine.wait_idle(IDLE).await);
    assert!(local_id(&b, "Work_Item__c", &gone).await.is_some());
    assert!(local_id(&b, "Work_Item__c", &kept).await.is_some());

    let last_before = env
        .items(ItemFilter::default())
        .await
        .iter()
        .map(|i| i.id.0)
        .max();
    let last_before = last_before.unwrap_or(0);
    faulty.armed.store(true, Ordering::SeqCst);
    a.delete("Work_Item__c", &gone).await.unwrap();
    update(&a, "Work_Item__c", &kept, json!({"Name": "updated"})).await;
    engine.poll_now().await;
    eventually("a write round meets the failing ledger", || async {
        faulty.failures.load(Ordering::SeqCst) > 0
    })
    .await;
    // give the round time to do whatever it would do with the failure
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let seen = snapshot(&b, "Work_Item__c", &["Name"]).await;
    assert_eq!(seen.len(), 2, "nothing deleted or created on b: {seen:?}");
    assert!(
        seen.iter().all(|r| r["Name"] != "updated"),
        "nothing updated on b: {seen:?}"
    );
    let synced: Vec<_> = env
        .in_state(ItemState::Synced)
        .await
        .into_iter()
        .filter(|i| i.id.0 > last_before)
        .collect();
    assert!(
        synced.is_empty(),
        "no item of the failed round is Synced: {synced:?}"
    );

    faulty.armed.store(false, Ordering::SeqCst);
    assert!(engine.wait_idle(IDLE).await);
    let seen = snapshot(&b, "Work_Item__c", &["Name"]).await;
    assert_eq!(
        seen.len(),
        1,
        "the delete reached b, no duplicate: {seen:?}"
    );
    assert_eq!(seen[0]["Name"], "updated");
    assert!(!seen[0]["gid"].as_str().unwrap().ends_with(&gone));
    assert!(env.in_state(ItemState::Failed).await.is_empty());
    engine.shutdown().await;
}
