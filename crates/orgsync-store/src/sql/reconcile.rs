//! What reconciliation reads and writes in the ledger: every record row of one (org, object),
//! the live count to compare with the org's `COUNT()`, and the runs' reports.

use orgsync_core::OrgName;
use sqlx::Row;

use super::SqlStore;
use super::codec::{RECORD_COLS, from_ms, ms, record, to_json};
use crate::error::{Result, StoreError};
use crate::types::{ReconcileRun, RecordRow};

/// Rows read per statement while listing an (org, object): bounded memory on the database side.
const PAGE: i64 = 5000;

impl SqlStore {
    pub(super) async fn records_in_impl(
        &self,
        org: &OrgName,
        object: &str,
    ) -> Result<Vec<RecordRow>> {
        let mut out = Vec::new();
        let mut after = String::new();
        loop {
            let sql = format!(
                "SELECT {RECORD_COLS} FROM records WHERE org = $1 AND object = $2 AND global_id > $3 \
                 ORDER BY global_id LIMIT $4"
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(org.as_str())
                .bind(object)
                .bind(after.as_str())
                .bind(PAGE)
                .fetch_all(&self.pool)
                .await?;
            let n = rows.len();
            for row in &rows {
                out.push(record(row)?);
            }
            match out.last() {
                Some(last) if n as i64 == PAGE => after = last.global_id.to_string(),
                _ => break,
            }
        }
        Ok(out)
    }

    pub(super) async fn count_live_impl(&self, org: &OrgName, object: &str) -> Result<u64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM records WHERE org = $1 AND object = $2 \
             AND local_id IS NOT NULL AND deleted = 0",
        )
        .bind(org.as_str())
        .bind(object)
        .fetch_one(&self.pool)
        .await?;
        let n: i64 = row.try_get("n").map_err(StoreError::from)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    pub(super) async fn put_reconcile_run_impl(&self, run: &ReconcileRun) -> Result<()> {
        sqlx::query(
            "INSERT INTO reconcile_runs (started_at, finished_at, full_pass, mode, report) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(ms(run.started_at))
        .bind(ms(run.finished_at))
        .bind(i64::from(run.full))
        .bind(run.mode.as_str())
        .bind(to_json(&run.report)?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn last_reconcile_run_impl(&self) -> Result<Option<ReconcileRun>> {
        let Some(row) = sqlx::query(
            "SELECT started_at, finished_at, full_pass, mode, report FROM reconcile_runs \
             ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let get_i = |c: &str| -> Result<i64> { row.try_get(c).map_err(StoreError::from) };
        let report: String = row.try_get("report").map_err(StoreError::from)?;
        Ok(Some(ReconcileRun {
            started_at: from_ms(get_i("started_at")?)?,
            finished_at: from_ms(get_i("finished_at")?)?,
            full: get_i("full_pass")? != 0,
            mode: row.try_get("mode").map_err(StoreError::from)?,
            report: serde_json::from_str(&report)
                .map_err(|e| StoreError::Corrupt(format!("column report: {e}")))?,
        }))
    }
}
