//! The queue as operators see it: items by filter and by id, counts per org and state, and
//! the two actions on failed items (retry, dismiss) behind `orgsync retry`, the HTTP API and
//! the Sync Monitor's Problems page.

use chrono::{DateTime, Utc};
use orgsync_core::OrgName;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyArguments;
use sqlx::query::Query;

use super::codec::{self, ITEM_COLS, ms};
use super::{IN_CHUNK, SqlStore, placeholders};
use crate::error::Result;
use crate::types::{Counts, Item, ItemFilter, ItemId, Page};

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

impl SqlStore {
    pub(super) async fn retry_failed_impl(
        &self,
        filter: &ItemFilter,
        now: DateTime<Utc>,
    ) -> Result<u64> {
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

    pub(super) async fn dismiss_failed_impl(
        &self,
        ids: &[ItemId],
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let mut tx = self.begin().await?;
        let mut n = 0;
        for chunk in ids.chunks(IN_CHUNK) {
            let sql = format!(
                "UPDATE sync_items SET dismissed_at = $1 WHERE state = 'failed' AND dismissed_at IS NULL \
                 AND id IN ({})",
                placeholders(2, chunk.len())
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

    pub(super) async fn item_impl(&self, id: ItemId) -> Result<Option<Item>> {
        let sql = format!("SELECT {ITEM_COLS} FROM sync_items WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(codec::item).transpose()
    }

    pub(super) async fn items_impl(&self, filter: &ItemFilter, page: Page) -> Result<Vec<Item>> {
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

    pub(super) async fn counts_impl(&self) -> Result<Counts> {
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
}
