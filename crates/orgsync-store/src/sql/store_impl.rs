//! `impl Store for SqlStore`: the trait's methods, each one transaction (or one statement).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use orgsync_core::{GlobalId, OrgName};
use sqlx::AssertSqlSafe;

use super::codec::{self, ms};
use super::{IN_CHUNK, SqlStore, placeholders};
use crate::error::Result;
use crate::store::{PruneReport, Store};
use crate::types::{
    AgreedRow, AuditRow, CaptureBatch, CaptureReport, Checkpoint, CheckpointWrite, CompleteReport,
    Completion, ConflictRow, Counts, Item, ItemFilter, ItemId, NewAudit, NewConflict, OrgRow, Page,
    RecordRow, RecordWrite, SourceKind, SyncRow,
};
use crate::types::{
    AuditFilter, OrgObject, OrgSample, ProblemCount, ProblemQuery, RemoveReport, RouteWrite,
    SyncOverride,
};

impl Store for SqlStore {
    async fn commit_capture(
        &self,
        batch: CaptureBatch,
        now: DateTime<Utc>,
    ) -> Result<CaptureReport> {
        self.commit_capture_impl(batch, now).await
    }

    async fn claim_due(
        &self,
        target: &OrgName,
        now: DateTime<Utc>,
        limit: u32,
        lease_owner: &str,
        lease_ttl: TimeDelta,
    ) -> Result<Vec<Item>> {
        self.claim_due_impl(target.as_str(), now, limit, lease_owner, lease_ttl)
            .await
    }

    async fn next_due(&self, target: &OrgName) -> Result<Option<DateTime<Utc>>> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(CASE WHEN a.state = 'queued' THEN a.next_attempt_at ELSE a.lease_until END) \
             FROM sync_items a WHERE a.target_org = $1 AND (a.state = 'in_flight' OR (a.state = 'queued' \
             AND NOT EXISTS (SELECT 1 FROM sync_items b WHERE b.target_org = a.target_org AND b.object = a.object \
             AND b.global_id = a.global_id AND b.state = 'in_flight')))",
        )
        .bind(target.as_str())
        .fetch_one(&self.pool)
        .await?;
        next.map(codec::from_ms).transpose()
    }

    async fn extend_lease(
        &self,
        ids: &[ItemId],
        lease_owner: &str,
        until: DateTime<Utc>,
    ) -> Result<u64> {
        let mut n = 0;
        for chunk in ids.chunks(IN_CHUNK) {
            let sql = format!(
                "UPDATE sync_items SET lease_until = $1 WHERE state = 'in_flight' AND lease_owner = $2 AND id IN ({})",
                placeholders(3, chunk.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql))
                .bind(ms(until))
                .bind(lease_owner);
            for id in chunk {
                q = q.bind(id.0);
            }
            n += q.execute(&self.pool).await?.rows_affected();
        }
        Ok(n)
    }

    async fn complete(
        &self,
        completions: Vec<Completion>,
        now: DateTime<Utc>,
    ) -> Result<CompleteReport> {
        self.complete_impl(completions, now).await
    }

    async fn release_pending_children(
        &self,
        org: &OrgName,
        parent: &GlobalId,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let mut tx = self.begin().await?;
        let n = self
            .wake_many(&mut tx, vec![(org.0.clone(), parent.to_string())], now)
            .await?;
        tx.commit().await?;
        Ok(n)
    }

    async fn retry_failed(&self, filter: &ItemFilter, now: DateTime<Utc>) -> Result<u64> {
        self.retry_failed_impl(filter, now).await
    }

    async fn dismiss_failed(&self, ids: &[ItemId], now: DateTime<Utc>) -> Result<u64> {
        self.dismiss_failed_impl(ids, now).await
    }

    async fn item(&self, id: ItemId) -> Result<Option<Item>> {
        self.item_impl(id).await
    }

    async fn items(&self, filter: &ItemFilter, page: Page) -> Result<Vec<Item>> {
        self.items_impl(filter, page).await
    }

    async fn counts(&self) -> Result<Counts> {
        self.counts_impl().await
    }

    async fn processed_txns(
        &self,
        target: &OrgName,
        txn_ids: &[String],
    ) -> Result<HashSet<String>> {
        Ok(self
            .txn_hashes(target, txn_ids)
            .await?
            .into_keys()
            .collect())
    }

    async fn txn_hashes(
        &self,
        target: &OrgName,
        txn_ids: &[String],
    ) -> Result<HashMap<String, Option<String>>> {
        let mut out = HashMap::new();
        for chunk in txn_ids.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT txn_id, body_hash FROM transactions WHERE target_org = $1 AND txn_id IN ({})",
                placeholders(2, chunk.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(target.as_str());
            for t in chunk {
                q = q.bind(t.as_str());
            }
            for row in q.fetch_all(&self.pool).await? {
                use sqlx::Row;
                out.insert(row.try_get("txn_id")?, row.try_get("body_hash")?);
            }
        }
        Ok(out)
    }

    async fn record(
        &self,
        org: &OrgName,
        object: &str,
        global_id: &GlobalId,
    ) -> Result<Option<RecordRow>> {
        Ok(self
            .records_where(org, object, "global_id", &[global_id.to_string()])
            .await?
            .into_iter()
            .next())
    }

    async fn record_by_local_id(
        &self,
        org: &OrgName,
        object: &str,
        local_id: &str,
    ) -> Result<Option<RecordRow>> {
        Ok(self
            .records_where(org, object, "local_id", &[local_id.to_string()])
            .await?
            .into_iter()
            .next())
    }

    async fn records(
        &self,
        org: &OrgName,
        object: &str,
        global_ids: &[GlobalId],
    ) -> Result<Vec<RecordRow>> {
        let keys: Vec<String> = global_ids.iter().map(ToString::to_string).collect();
        self.records_where(org, object, "global_id", &keys).await
    }

    async fn records_by_local_ids(
        &self,
        org: &OrgName,
        object: &str,
        local_ids: &[String],
    ) -> Result<Vec<RecordRow>> {
        self.records_where(org, object, "local_id", local_ids).await
    }

    async fn write_records(&self, writes: Vec<RecordWrite>, now: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.begin().await?;
        let refs: Vec<&RecordWrite> = writes.iter().collect();
        let landed = self.write_records_many(&mut tx, &refs, now).await?;
        let woken = self.wake_many(&mut tx, landed, now).await?;
        tx.commit().await?;
        Ok(woken)
    }

    async fn agreed_referencing(&self, object: &str, value: &GlobalId) -> Result<Vec<GlobalId>> {
        self.agreed_referencing_impl(object, value).await
    }

    async fn held_referencing(
        &self,
        org: &OrgName,
        object: &str,
        value: &GlobalId,
    ) -> Result<Vec<GlobalId>> {
        self.held_referencing_impl(org, object, value).await
    }

    async fn agreed(&self, object: &str, global_ids: &[GlobalId]) -> Result<Vec<AgreedRow>> {
        self.agreed_impl(object, global_ids).await
    }

    async fn records_in(&self, org: &OrgName, object: &str) -> Result<Vec<RecordRow>> {
        self.records_in_impl(org, object).await
    }

    async fn count_live(&self, org: &OrgName, object: &str) -> Result<u64> {
        self.count_live_impl(org, object).await
    }

    async fn put_reconcile_run(&self, run: &crate::types::ReconcileRun) -> Result<()> {
        self.put_reconcile_run_impl(run).await
    }

    async fn last_reconcile_run(&self) -> Result<Option<crate::types::ReconcileRun>> {
        self.last_reconcile_run_impl().await
    }

    async fn checkpoint(
        &self,
        org: &OrgName,
        object: &str,
        source: SourceKind,
    ) -> Result<Option<Checkpoint>> {
        self.checkpoint_impl(org, object, source).await
    }

    async fn set_checkpoint(&self, checkpoint: CheckpointWrite, now: DateTime<Utc>) -> Result<()> {
        self.set_checkpoint_impl(checkpoint, now).await
    }

    async fn sync(&self, org: &OrgName, object: &str) -> Result<Option<SyncRow>> {
        self.sync_impl(org, object).await
    }

    async fn syncs(&self) -> Result<Vec<SyncRow>> {
        self.syncs_impl().await
    }

    async fn put_sync(&self, r: &SyncRow) -> Result<()> {
        self.put_sync_impl(r).await
    }

    async fn org(&self, name: &OrgName) -> Result<Option<OrgRow>> {
        self.org_impl(name).await
    }

    async fn orgs(&self) -> Result<Vec<OrgRow>> {
        self.orgs_impl().await
    }

    async fn put_org(&self, r: &OrgRow) -> Result<()> {
        self.put_org_impl(r).await
    }

    async fn note_org_call(&self, name: &OrgName, success: bool) -> Result<u32> {
        self.note_org_call_impl(name, success).await
    }

    async fn add_conflicts(&self, conflicts: Vec<NewConflict>) -> Result<()> {
        let mut tx = self.begin().await?;
        for c in &conflicts {
            self.insert_conflict(&mut tx, c).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn conflicts(
        &self,
        global_id: Option<&GlobalId>,
        page: Page,
    ) -> Result<Vec<ConflictRow>> {
        let cond = if global_id.is_some() {
            " AND global_id = $3"
        } else {
            ""
        };
        let sql = format!("SELECT * FROM conflicts WHERE id > $1{cond} ORDER BY id LIMIT $2");
        let mut q = sqlx::query(AssertSqlSafe(sql))
            .bind(page.after)
            .bind(i64::from(page.limit));
        if let Some(g) = global_id {
            q = q.bind(g.to_string());
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(codec::conflict)
            .collect()
    }

    async fn append_audit(&self, events: Vec<NewAudit>) -> Result<()> {
        let mut tx = self.begin().await?;
        self.insert_audits(&mut tx, &events).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn audit(&self, page: Page) -> Result<Vec<AuditRow>> {
        sqlx::query("SELECT id, at, kind, org, object, global_id, item_id, detail FROM audit WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(page.after)
            .bind(i64::from(page.limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(codec::audit)
            .collect()
    }

    async fn audit_recent(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>> {
        self.audit_recent_impl(filter).await
    }

    async fn conflicts_recent(&self, before: Option<i64>, limit: u32) -> Result<Vec<ConflictRow>> {
        self.conflicts_recent_impl(before, limit).await
    }

    async fn failed_writes(&self, target: &OrgName, object: &str) -> Result<(u64, Option<String>)> {
        self.failed_writes_impl(target, object).await
    }

    async fn problem_counts(&self) -> Result<Vec<ProblemCount>> {
        self.problem_counts_impl().await
    }

    async fn audit_counts(
        &self,
        kinds: &[&str],
        since: DateTime<Utc>,
        bucket_secs: i64,
    ) -> Result<Vec<(String, DateTime<Utc>, u64)>> {
        self.audit_counts_impl(kinds, since, bucket_secs).await
    }

    async fn synced_latencies(
        &self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(DateTime<Utc>, i64)>> {
        self.synced_latencies_impl(since, limit).await
    }

    async fn problem_items(&self, query: &ProblemQuery) -> Result<Vec<Item>> {
        self.problem_items_impl(query).await
    }

    async fn records_of(&self, global_id: &GlobalId) -> Result<Vec<RecordRow>> {
        self.records_of_impl(global_id).await
    }

    async fn records_with_local_id(&self, local_id: &str) -> Result<Vec<RecordRow>> {
        self.records_with_local_id_impl(local_id).await
    }

    async fn put_org_samples(&self, rows: &[OrgSample]) -> Result<()> {
        self.put_org_samples_impl(rows).await
    }

    async fn org_samples(&self, since: DateTime<Utc>) -> Result<Vec<OrgSample>> {
        self.org_samples_impl(since).await
    }

    async fn route_writes(&self, since: DateTime<Utc>, limit: u32) -> Result<Vec<RouteWrite>> {
        self.route_writes_impl(since, limit).await
    }

    async fn sync_overrides(&self) -> Result<Vec<SyncOverride>> {
        self.sync_overrides_impl().await
    }

    async fn put_sync_override(&self, row: &SyncOverride, audit: NewAudit) -> Result<()> {
        self.put_sync_override_impl(row, audit).await
    }

    async fn delete_sync_override(&self, object: &str) -> Result<bool> {
        self.delete_sync_override_impl(object).await
    }

    async fn remove_sync(
        &self,
        object: &str,
        sides: &[OrgObject],
        audit: NewAudit,
        now: DateTime<Utc>,
    ) -> Result<RemoveReport> {
        self.remove_sync_impl(object, sides, audit, now).await
    }

    async fn prune(
        &self,
        txns_before: DateTime<Utc>,
        synced_before: DateTime<Utc>,
    ) -> Result<PruneReport> {
        let mut tx = self.begin().await?;
        let txns = sqlx::query("DELETE FROM transactions WHERE at < $1")
            .bind(ms(txns_before))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let items =
            sqlx::query("DELETE FROM sync_items WHERE state = 'synced' AND updated_at < $1")
                .bind(ms(synced_before))
                .execute(&mut *tx)
                .await?
                .rows_affected();
        tx.commit().await?;
        Ok(PruneReport { txns, items })
    }
}
