//! The rows the engine keeps about each org and sync: capture checkpoints, sync status rows
//! (the dashboard's and `orgsync status`'s headline) and org health (circuit, budget, login).
//! One statement or one transaction each.

use chrono::{DateTime, Utc};
use orgsync_core::OrgName;
use sqlx::AssertSqlSafe;

use super::SqlStore;
use super::codec::{self, ms};
use crate::error::Result;
use crate::types::{Checkpoint, CheckpointWrite, OrgRow, SourceKind, SyncRow};

impl SqlStore {
    pub(super) async fn checkpoint_impl(
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

    pub(super) async fn set_checkpoint_impl(
        &self,
        checkpoint: CheckpointWrite,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        self.write_checkpoint(&mut tx, &checkpoint, now).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn sync_impl(&self, org: &OrgName, object: &str) -> Result<Option<SyncRow>> {
        let sql = format!("{SYNC_SELECT} WHERE org = $1 AND object = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(org.as_str())
            .bind(object)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(codec::sync).transpose()
    }

    pub(super) async fn syncs_impl(&self) -> Result<Vec<SyncRow>> {
        let sql = format!("{SYNC_SELECT} ORDER BY org, object");
        sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(codec::sync)
            .collect()
    }

    pub(super) async fn put_sync_impl(&self, r: &SyncRow) -> Result<()> {
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

    pub(super) async fn org_impl(&self, name: &OrgName) -> Result<Option<OrgRow>> {
        let sql = format!("{ORG_SELECT} WHERE name = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(codec::org).transpose()
    }

    pub(super) async fn orgs_impl(&self) -> Result<Vec<OrgRow>> {
        let sql = format!("{ORG_SELECT} ORDER BY name");
        sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(codec::org)
            .collect()
    }

    pub(super) async fn put_org_impl(&self, r: &OrgRow) -> Result<()> {
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

    pub(super) async fn note_org_call_impl(&self, name: &OrgName, success: bool) -> Result<u32> {
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
}

const SYNC_SELECT: &str = "SELECT org, object, capture, interval_secs, enabled, status, last_sync_at, error_count, \
     last_error FROM syncs";
const ORG_SELECT: &str = "SELECT name, org_id, status, circuit, circuit_until, consecutive_failures, budget_used, \
     budget_max, budget_observed_at FROM orgs";
