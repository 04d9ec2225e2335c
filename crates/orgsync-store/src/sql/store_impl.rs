//! `impl Store for SqlStore`: the trait's methods, each one transaction (or one statement).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use orgsync_core::{GlobalId, OrgName};
use sqlx::AssertSqlSafe;
use sqlx::any::AnyArguments;
use sqlx::query::Query;

use super::codec::{self, ITEM_COLS, ms};
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

/// `AND …` conditions for an item filter, numbered from `$start`, and their values.
fn filter_sql(f: &ItemFilter, start: usize, with_state: bool) -> (String, Vec<String>) {
    let mut sql = String::new();
    let mut vals = Vec::new();
    let mut add = |col: &str, v: String| {
        vals.push(v);
        sql.push_str(&format!(" AND {col} = ${}", start + vals.len() - 1));
    };
    if with_state && let Some(s) = f.state {
        add("state", s.as_str().to_string());
    }
    if let Some(t) = &f.target {
        add("target_org", t.0.clone());
    }
    if let Some(o) = &f.object {
        add("object", o.clone());
    }
    if let Some(g) = &f.global_id {
        add("global_id", g.to_string());
    }
    (sql, vals)
}

fn bind_all<'q>(
    mut q: Query<'q, sqlx::Any, AnyArguments>,
    vals: &'q [String],
) -> Query<'q, sqlx::Any, AnyArguments> {
    for v in vals {
        q = q.bind(v.as_str());
    }
    q
}

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
        let (cond, vals) = filter_sql(filter, 2, false);
        let sql = format!(
            "UPDATE sync_items SET state = 'queued', attempts = 0, next_attempt_at = $1, dismissed_at = NULL, updated_at = $1 \
             WHERE state = 'failed'{cond}"
        );
        let mut tx = self.begin().await?;
        let n = bind_all(sqlx::query(AssertSqlSafe(sql)).bind(ms(now)), &vals)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n)
    }

    async fn dismiss_failed(&self, ids: &[ItemId], now: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.begin().await?;
        let mut n = 0;
        for chunk in ids.chunks(300) {
            let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "UPDATE sync_items SET dismissed_at = $1 WHERE state = 'failed' AND dismissed_at IS NULL \
                 AND id IN ({})",
                marks.join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(ms(now));
            for id in chunk {
                q = q.bind(id.0);
            }
            n += q.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(n)
    }

    async fn item(&self, id: ItemId) -> Result<Option<Item>> {
        let sql = format!("SELECT {ITEM_COLS} FROM sync_items WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(codec::item).transpose()
    }

    async fn items(&self, filter: &ItemFilter, page: Page) -> Result<Vec<Item>> {
        let (cond, vals) = filter_sql(filter, 3, true);
        let sql =
            format!("SELECT {ITEM_COLS} FROM sync_items WHERE id > $1{cond} ORDER BY id LIMIT $2");
        let q = sqlx::query(AssertSqlSafe(sql))
            .bind(page.after)
            .bind(i64::from(page.limit));
        bind_all(q, &vals)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(codec::item)
            .collect()
    }

    async fn counts(&self) -> Result<Counts> {
        let rows = sqlx::query(
            "SELECT target_org, state, COUNT(*) AS n FROM sync_items GROUP BY target_org, state",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Counts::new();
        for row in rows {
            use sqlx::Row;
            let state: String = row.try_get("state")?;
            let state = state.parse().map_err(crate::StoreError::Corrupt)?;
            let n: i64 = row.try_get("n")?;
            out.insert(
                (OrgName(row.try_get("target_org")?), state),
                u64::try_from(n).unwrap_or(0),
            );
        }
        Ok(out)
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
        let row = sqlx::query(
            "SELECT org, object, source, watermark_ts, watermark_id, replay_id, updated_at FROM checkpoints \
             WHERE org = $1 AND object = $2 AND source = $3",
        )
        .bind(org.as_str())
        .bind(object)
        .bind(source.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(codec::checkpoint).transpose()
    }

    async fn set_checkpoint(&self, checkpoint: CheckpointWrite, now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.begin().await?;
        self.write_checkpoint(&mut tx, &checkpoint, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn sync(&self, org: &OrgName, object: &str) -> Result<Option<SyncRow>> {
        let sql = format!("{SYNC_SELECT} WHERE org = $1 AND object = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(org.as_str())
            .bind(object)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(codec::sync).transpose()
    }

    async fn syncs(&self) -> Result<Vec<SyncRow>> {
        let sql = format!("{SYNC_SELECT} ORDER BY org, object");
        sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(codec::sync)
            .collect()
    }

    async fn put_sync(&self, r: &SyncRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO syncs (org, object, capture, interval_secs, enabled, status, last_sync_at, error_count, \
             last_error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (org, object) DO UPDATE SET \
             capture = excluded.capture, interval_secs = excluded.interval_secs, enabled = excluded.enabled, \
             status = excluded.status, last_sync_at = excluded.last_sync_at, error_count = excluded.error_count, \
             last_error = excluded.last_error",
        )
        .bind(r.org.as_str())
        .bind(r.object.as_str())
        .bind(r.capture.as_str())
        .bind(i64::from(r.interval_secs))
        .bind(i64::from(r.enabled))
        .bind(r.status.as_str())
        .bind(r.last_sync_at.map(ms))
        .bind(i64::from(r.error_count))
        .bind(r.last_error.clone())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn org(&self, name: &OrgName) -> Result<Option<OrgRow>> {
        let sql = format!("{ORG_SELECT} WHERE name = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(codec::org).transpose()
    }

    async fn orgs(&self) -> Result<Vec<OrgRow>> {
        let sql = format!("{ORG_SELECT} ORDER BY name");
        sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(codec::org)
            .collect()
    }

    async fn put_org(&self, r: &OrgRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO orgs (name, org_id, status, circuit, circuit_until, consecutive_failures, budget_used, \
             budget_max, budget_observed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (name) DO UPDATE \
             SET org_id = excluded.org_id, status = excluded.status, circuit = excluded.circuit, \
             circuit_until = excluded.circuit_until, consecutive_failures = excluded.consecutive_failures, \
             budget_used = excluded.budget_used, budget_max = excluded.budget_max, \
             budget_observed_at = excluded.budget_observed_at",
        )
        .bind(r.name.as_str())
        .bind(r.org_id.as_ref().map(ToString::to_string))
        .bind(r.status.as_str())
        .bind(r.circuit.as_str())
        .bind(r.circuit_until.map(ms))
        .bind(i64::from(r.consecutive_failures))
        .bind(r.budget_used)
        .bind(r.budget_max)
        .bind(r.budget_observed_at.map(ms))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn note_org_call(&self, name: &OrgName, success: bool) -> Result<u32> {
        let sql = if success {
            "INSERT INTO orgs (name, consecutive_failures) VALUES ($1, 0) \
             ON CONFLICT (name) DO UPDATE SET consecutive_failures = 0 RETURNING consecutive_failures"
        } else {
            "INSERT INTO orgs (name, consecutive_failures) VALUES ($1, 1) \
             ON CONFLICT (name) DO UPDATE SET consecutive_failures = orgs.consecutive_failures + 1 \
             RETURNING consecutive_failures"
        };
        let mut tx = self.begin().await?;
        let n: i64 = sqlx::query_scalar(sql)
            .bind(name.as_str())
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(u32::try_from(n.max(0)).unwrap_or(u32::MAX))
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

const SYNC_SELECT: &str = "SELECT org, object, capture, interval_secs, enabled, status, last_sync_at, error_count, \
     last_error FROM syncs";
const ORG_SELECT: &str = "SELECT name, org_id, status, circuit, circuit_until, consecutive_failures, budget_used, \
     budget_max, budget_observed_at FROM orgs";
