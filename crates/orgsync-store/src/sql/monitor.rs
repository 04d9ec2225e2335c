//! What the Sync Monitor asks of the ledger beyond the engine's own calls: newest-first audit
//! and conflict listings, problem groups counted and paged, a record's rows across every org,
//! and the sync settings overlay (with the cascade that removes a sync).

use chrono::{DateTime, Utc};
use orgsync_core::GlobalId;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::SqlStore;
use super::codec::{self, ITEM_COLS, RECORD_COLS, from_ms, ms};
use crate::error::{Result, StoreError};
use crate::types::{
    AuditFilter, AuditRow, ConflictRow, Item, NewAudit, OrgObject, ProblemCount, ProblemQuery,
    RecordRow, RemoveReport, SyncOverride,
};

const AUDIT_COLS: &str = "id, at, kind, org, object, global_id, item_id, detail";
const OVERRIDE_COLS: &str =
    "object, capture, interval_secs, enabled, removed, updated_at, updated_by, fields";

/// The upper bound of the kinds starting with `prefix` (`admin.` → `admin/`), so a prefix
/// match is an index range on both databases (SQLite's LIKE is case-insensitive and skips
/// the index).
fn prefix_end(prefix: &str) -> String {
    let mut end = prefix.to_string();
    match end.pop() {
        Some(c) => end.push(char::from_u32(u32::from(c) + 1).unwrap_or(char::MAX)),
        None => end.push(char::MAX),
    }
    end
}

fn override_row(row: &AnyRow) -> Result<SyncOverride> {
    let interval: Option<i64> = row.try_get("interval_secs")?;
    let enabled: Option<i64> = row.try_get("enabled")?;
    Ok(SyncOverride {
        object: row.try_get("object")?,
        capture: row.try_get("capture")?,
        interval_secs: interval
            .map(|v| u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("interval {v}"))))
            .transpose()?,
        enabled: enabled.map(|v| v != 0),
        removed: row.try_get::<i64, _>("removed")? != 0,
        updated_at: from_ms(row.try_get("updated_at")?)?,
        updated_by: row.try_get("updated_by")?,
        fields: row
            .try_get::<Option<String>, _>("fields")?
            .map(|t| {
                serde_json::from_str::<Vec<String>>(&t)
                    .map_err(|e| StoreError::Corrupt(format!("overlay fields `{t}`: {e}")))
            })
            .transpose()?,
    })
}

impl SqlStore {
    pub(super) async fn audit_recent_impl(&self, f: &AuditFilter) -> Result<Vec<AuditRow>> {
        let mut sql = format!("SELECT {AUDIT_COLS} FROM audit WHERE id < $1");
        let mut n = 2;
        if f.global_id.is_some() {
            sql.push_str(&format!(" AND global_id = ${n}"));
            n += 1;
        }
        if f.kind_prefix.is_some() {
            sql.push_str(&format!(" AND kind >= ${n} AND kind < ${}", n + 1));
            n += 2;
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${n}"));
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(f.before.unwrap_or(i64::MAX));
        if let Some(g) = &f.global_id {
            q = q.bind(g.to_string());
        }
        if let Some(p) = &f.kind_prefix {
            q = q.bind(p.clone()).bind(prefix_end(p));
        }
        q.bind(i64::from(f.limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(codec::audit)
            .collect()
    }

    pub(super) async fn conflicts_recent_impl(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ConflictRow>> {
        sqlx::query("SELECT * FROM conflicts WHERE id < $1 ORDER BY id DESC LIMIT $2")
            .bind(before.unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(codec::conflict)
            .collect()
    }

    pub(super) async fn problem_counts_impl(&self) -> Result<Vec<ProblemCount>> {
        let rows = sqlx::query(
            "SELECT state, error_code, CAST(CASE WHEN dismissed_at IS NULL THEN 0 ELSE 1 END AS BIGINT) AS dismissed, \
             COUNT(*) AS n, MIN(created_at) AS first_created, MAX(updated_at) AS last_updated FROM sync_items \
             WHERE state IN ('failed', 'pending') GROUP BY state, error_code, \
             CAST(CASE WHEN dismissed_at IS NULL THEN 0 ELSE 1 END AS BIGINT) ORDER BY state, error_code",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let state: String = r.try_get("state")?;
                Ok(ProblemCount {
                    state: state.parse().map_err(StoreError::Corrupt)?,
                    code: r.try_get("error_code")?,
                    dismissed: r.try_get::<i64, _>("dismissed")? != 0,
                    count: u64::try_from(r.try_get::<i64, _>("n")?).unwrap_or(0),
                    first_created: from_ms(r.try_get("first_created")?)?,
                    last_updated: from_ms(r.try_get("last_updated")?)?,
                })
            })
            .collect()
    }

    /// `audit_counts`: see [`crate::Store::audit_counts`] (echo drops per layer).
    pub(super) async fn audit_counts_impl(
        &self,
        kinds: &[&str],
        since: DateTime<Utc>,
        bucket_secs: i64,
    ) -> Result<Vec<(String, DateTime<Utc>, u64)>> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let bucket = bucket_secs.max(1) * 1000;
        let sql = format!(
            "SELECT {ECHO_BY_LAYER} AS k, (at / $1) * $1 AS bucket, COUNT(*) AS n FROM audit \
             WHERE at >= $2 AND kind IN ({}) GROUP BY k, (at / $1) * $1 ORDER BY bucket",
            super::placeholders(3, kinds.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(bucket).bind(ms(since));
        for k in kinds {
            q = q.bind(*k);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok((
                    r.try_get::<String, _>("k")?,
                    from_ms(r.try_get("bucket")?)?,
                    u64::try_from(r.try_get::<i64, _>("n")?).unwrap_or(0),
                ))
            })
            .collect()
    }

    pub(super) async fn synced_latencies_impl(
        &self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(DateTime<Utc>, i64)>> {
        sqlx::query(
            "SELECT updated_at, updated_at - created_at AS latency FROM sync_items \
             WHERE state = 'synced' AND updated_at >= $1 ORDER BY updated_at DESC LIMIT $2",
        )
        .bind(ms(since))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok((
                from_ms(r.try_get("updated_at")?)?,
                r.try_get::<i64, _>("latency")?.max(0),
            ))
        })
        .collect()
    }

    pub(super) async fn problem_items_impl(&self, q: &ProblemQuery) -> Result<Vec<Item>> {
        let mut sql = format!(
            "SELECT {ITEM_COLS} FROM sync_items WHERE id < $1 AND state IN ('failed', 'pending')"
        );
        let mut n = 2;
        if q.state.is_some() {
            sql.push_str(&format!(" AND state = ${n}"));
            n += 1;
        }
        match q.code {
            Some(_) => {
                sql.push_str(&format!(" AND error_code = ${n}"));
                n += 1;
            }
            None => sql.push_str(" AND error_code IS NULL"),
        }
        if !q.include_dismissed {
            sql.push_str(" AND dismissed_at IS NULL");
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${n}"));
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(q.before.unwrap_or(i64::MAX));
        if let Some(s) = q.state {
            query = query.bind(s.as_str());
        }
        if let Some(c) = &q.code {
            query = query.bind(c.clone());
        }
        query
            .bind(i64::from(q.limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(codec::item)
            .collect()
    }

    pub(super) async fn records_of_impl(&self, global_id: &GlobalId) -> Result<Vec<RecordRow>> {
        let sql =
            format!("SELECT {RECORD_COLS} FROM records WHERE global_id = $1 ORDER BY org, object");
        sqlx::query(AssertSqlSafe(sql))
            .bind(global_id.to_string())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(codec::record)
            .collect()
    }

    pub(super) async fn records_with_local_id_impl(
        &self,
        local_id: &str,
    ) -> Result<Vec<RecordRow>> {
        let sql =
            format!("SELECT {RECORD_COLS} FROM records WHERE local_id = $1 ORDER BY org, object");
        sqlx::query(AssertSqlSafe(sql))
            .bind(local_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(codec::record)
            .collect()
    }

    pub(super) async fn sync_overrides_impl(&self) -> Result<Vec<SyncOverride>> {
        let sql = format!("SELECT {OVERRIDE_COLS} FROM sync_overlay ORDER BY object");
        sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(override_row)
            .collect()
    }

    async fn write_override(&self, c: &mut sqlx::AnyConnection, r: &SyncOverride) -> Result<()> {
        sqlx::query(
            "INSERT INTO sync_overlay (object, capture, interval_secs, enabled, removed, updated_at, updated_by, fields) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (object) DO UPDATE SET capture = excluded.capture, \
             interval_secs = excluded.interval_secs, enabled = excluded.enabled, removed = excluded.removed, \
             updated_at = excluded.updated_at, updated_by = excluded.updated_by, fields = excluded.fields",
        )
        .bind(r.object.as_str())
        .bind(r.capture.clone())
        .bind(r.interval_secs.map(i64::from))
        .bind(r.enabled.map(i64::from))
        .bind(i64::from(r.removed))
        .bind(ms(r.updated_at))
        .bind(r.updated_by.as_str())
        .bind(
            r.fields
                .as_ref()
                .map(|f| serde_json::Value::from(f.clone()).to_string()),
        )
        .execute(c)
        .await?;
        Ok(())
    }

    pub(super) async fn put_sync_override_impl(
        &self,
        r: &SyncOverride,
        audit: NewAudit,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        self.write_override(&mut tx, r).await?;
        self.insert_audits(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn delete_sync_override_impl(&self, object: &str) -> Result<bool> {
        let n = sqlx::query("DELETE FROM sync_overlay WHERE object = $1")
            .bind(object)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    pub(super) async fn remove_sync_impl(
        &self,
        object: &str,
        sides: &[OrgObject],
        audit: NewAudit,
        now: DateTime<Utc>,
    ) -> Result<RemoveReport> {
        let mut report = RemoveReport::default();
        let mut tx = self.begin().await?;
        for (org, obj) in sides {
            let run = |sql: &'static str| sqlx::query(sql).bind(org.as_str()).bind(obj.as_str());
            report.checkpoints += run("DELETE FROM checkpoints WHERE org = $1 AND object = $2")
                .execute(&mut *tx)
                .await?
                .rows_affected();
            report.items += run(
                "DELETE FROM sync_items WHERE target_org = $1 AND object = $2 AND state <> 'synced'",
            )
            .execute(&mut *tx)
            .await?
            .rows_affected();
            report.records += run("DELETE FROM records WHERE org = $1 AND object = $2")
                .execute(&mut *tx)
                .await?
                .rows_affected();
            run("DELETE FROM syncs WHERE org = $1 AND object = $2")
                .execute(&mut *tx)
                .await?;
        }
        report.agreed = sqlx::query("DELETE FROM agreed WHERE object = $1")
            .bind(object)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let mut removed = SyncOverride::new(object, now, audit_who(&audit));
        removed.removed = true;
        self.write_override(&mut tx, &removed).await?;
        let mut audit = audit;
        if let serde_json::Value::Object(m) = &mut audit.detail {
            m.insert(
                "removed".into(),
                serde_json::json!({
                    "checkpoints": report.checkpoints,
                    "items": report.items,
                    "records": report.records,
                    "agreed": report.agreed,
                }),
            );
        }
        self.insert_audits(&mut tx, &[audit]).await?;
        tx.commit().await?;
        Ok(report)
    }
}

/// The `who` of an admin audit event's detail, for the override row it goes with.
fn audit_who(a: &NewAudit) -> String {
    a.detail
        .get("who")
        .and_then(|w| w.as_str())
        .unwrap_or("unknown")
        .to_string()
}

/// An audit row's kind for the charts: `echo.dropped` split by the layer its detail names
/// (`echo.dropped:origin`, `:shadow`, `:txn`, else `:other`). The detail is our own compact
/// JSON (`"layer":"shadow"`), so a text match reads it the same way in SQLite and PostgreSQL
/// without either's JSON functions.
const ECHO_BY_LAYER: &str = "CASE WHEN kind = 'echo.dropped' THEN 'echo.dropped:' || \
     CASE WHEN detail LIKE '%\"layer\":\"origin\"%' THEN 'origin' \
     WHEN detail LIKE '%\"layer\":\"shadow\"%' THEN 'shadow' \
     WHEN detail LIKE '%\"layer\":\"txn\"%' THEN 'txn' ELSE 'other' END ELSE kind END";

#[cfg(test)]
mod tests {
    #[test]
    fn prefix_ranges() {
        assert_eq!(super::prefix_end("admin."), "admin/");
        assert!("admin.retry" < super::prefix_end("admin.").as_str());
        assert!("adminx" > super::prefix_end("admin.").as_str());
    }
}
