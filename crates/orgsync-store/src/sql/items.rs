//! Sync items: enqueue with merge, claim under lease, complete.

use chrono::{DateTime, TimeDelta, Utc};
use std::collections::HashMap;

use indexmap::IndexMap;
use sqlx::{AnyConnection, AssertSqlSafe};

use super::args::{Arg, bind, values};
use super::{IN_CHUNK, placeholders};

use super::codec::{ITEM_COLS, StoredPayload, item, ms, to_json};
use super::{Backend, SqlStore};
use crate::error::{Result, StoreError};
use crate::merge::merge_items;
use crate::types::{
    CompleteReport, Completion, Item, ItemError, ItemId, ItemState, NewAudit, NewItem, Outcome,
    RecordWrite, op_str,
};

/// How an item was enqueued.
#[derive(Debug, Clone, Copy)]
pub(super) enum Enqueued {
    Inserted(ItemId),
    Merged(ItemId),
    Duplicate,
}

const WAITING: &str = "('queued', 'pending', 'failed')";

pub(super) fn payload_json(n: &NewItem) -> Result<String> {
    to_json(&StoredPayload {
        payload: n.work.payload.clone(),
        parents: n.work.parents.clone(),
        field_ts: n.field_ts.clone(),
    })
}

impl SqlStore {
    /// The waiting item of a key, locked for update.
    async fn waiting_item(
        &self,
        c: &mut AnyConnection,
        n: &NewItem,
        except: Option<ItemId>,
    ) -> Result<Option<Item>> {
        let sql = format!(
            "SELECT {ITEM_COLS} FROM sync_items WHERE target_org = $1 AND object = $2 AND global_id = $3 \
             AND state IN {WAITING} AND id <> $4{}",
            self.for_update()
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(n.work.target.as_str())
            .bind(n.work.object.as_str())
            .bind(n.work.global_id.to_string())
            .bind(except.map_or(-1, |i| i.0))
            .fetch_optional(&mut *c)
            .await?;
        row.as_ref().map(item).transpose()
    }

    /// Rewrite a waiting item with merged work; `requeue` makes it Queued now (a Pending or
    /// Failed item that received a new change gets a fresh try).
    pub(super) async fn rewrite_waiting(
        &self,
        c: &mut AnyConnection,
        existing: &Item,
        merged: &NewItem,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let (state, next, attempts) = match existing.state {
            ItemState::Queued => (
                ItemState::Queued,
                existing.next_attempt_at,
                existing.attempts,
            ),
            ItemState::Pending => (ItemState::Queued, now, existing.attempts),
            _ => (ItemState::Queued, now, 0),
        };
        sqlx::query(
            "UPDATE sync_items SET op = $1, payload = $2, source_org = $3, source_record_id = $4, txn_id = $5, \
             state = $6, next_attempt_at = $7, attempts = $8, waiting_for = NULL, dismissed_at = NULL, updated_at = $9 WHERE id = $10",
        )
        .bind(op_str(merged.work.op))
        .bind(payload_json(merged)?)
        .bind(merged.source_org.as_ref().map(|o| o.0.clone()))
        .bind(merged.source_record_id.clone())
        .bind(merged.txn_id.clone())
        .bind(state.as_str())
        .bind(ms(next))
        .bind(i64::from(attempts))
        .bind(ms(now))
        .bind(existing.id.0)
        .execute(&mut *c)
        .await?;
        Ok(())
    }

    /// Enqueue one item whose transaction id was already recorded: merge into the waiting
    /// item of its key, or insert a new Queued row (a follow-up if the key is in flight).
    pub(super) async fn enqueue_one(
        &self,
        c: &mut AnyConnection,
        n: &NewItem,
        now: DateTime<Utc>,
    ) -> Result<Enqueued> {
        // Insert-or-merge; on PostgreSQL a concurrent insert of the same key makes the insert
        // do nothing, and the next round merges into the row that won.
        for _ in 0..3 {
            if let Some(existing) = self.waiting_item(c, n, None).await? {
                let merged = merge_items(&existing.to_new(), n);
                self.rewrite_waiting(c, &existing, &merged, now).await?;
                return Ok(Enqueued::Merged(existing.id));
            }
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO sync_items (target_org, object, global_id, op, payload, source_org, source_record_id, \
                 txn_id, state, attempts, next_attempt_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', 0, $9, $9, $9) \
                 ON CONFLICT (target_org, object, global_id) WHERE state IN ('queued', 'pending', 'failed') \
                 DO NOTHING RETURNING id",
            )
            .bind(n.work.target.as_str())
            .bind(n.work.object.as_str())
            .bind(n.work.global_id.to_string())
            .bind(op_str(n.work.op))
            .bind(payload_json(n)?)
            .bind(n.source_org.as_ref().map(|o| o.0.clone()))
            .bind(n.source_record_id.clone())
            .bind(n.txn_id.clone())
            .bind(ms(now))
            .fetch_optional(&mut *c)
            .await?;
            if let Some(id) = id {
                return Ok(Enqueued::Inserted(ItemId(id)));
            }
        }
        Err(StoreError::Invalid(format!(
            "could not enqueue {} {} for {}: the waiting item kept changing",
            n.work.object, n.work.global_id, n.work.target
        )))
    }

    pub(super) async fn claim_due_impl(
        &self,
        target: &str,
        now: DateTime<Utc>,
        limit: u32,
        owner: &str,
        ttl: TimeDelta,
    ) -> Result<Vec<Item>> {
        let lock = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE sync_items SET state = 'in_flight', lease_owner = $1, lease_until = $2, \
             reclaimed = CASE WHEN state = 'in_flight' THEN 1 ELSE 0 END, \
             updated_at = $3 WHERE id IN (\
               SELECT a.id FROM sync_items a WHERE a.target_org = $4 AND (\
                 (a.state = 'queued' AND a.next_attempt_at <= $3 AND NOT EXISTS (\
                    SELECT 1 FROM sync_items b WHERE b.target_org = a.target_org AND b.object = a.object \
                    AND b.global_id = a.global_id AND b.state = 'in_flight')) \
                 OR (a.state = 'in_flight' AND a.lease_until <= $3)) \
               ORDER BY a.object, a.id LIMIT $5{lock}) \
             RETURNING {ITEM_COLS}"
        );
        let until = now
            .checked_add_signed(ttl)
            .ok_or_else(|| StoreError::Invalid("lease ttl out of range".into()))?;
        let mut tx = self.begin().await?;
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(owner)
            .bind(ms(until))
            .bind(ms(now))
            .bind(target)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut items = rows.iter().map(item).collect::<Result<Vec<_>>>()?;
        items.sort_by(|a, b| (&a.work.object, a.id).cmp(&(&b.work.object, b.id)));
        Ok(items)
    }

    pub(super) async fn complete_impl(
        &self,
        completions: Vec<Completion>,
        now: DateTime<Utc>,
    ) -> Result<CompleteReport> {
        let mut report = CompleteReport::default();
        let mut tx = self.begin().await?;
        let ids: Vec<i64> = completions.iter().map(|d| d.id.0).collect();
        let mut current = self.items_by_ids(&mut tx, &ids).await?;
        let mut synced: Vec<i64> = Vec::new();
        let mut records: Vec<&RecordWrite> = Vec::new();
        let mut wake: Vec<(String, String)> = Vec::new();
        let mut follow_ups: Vec<&NewItem> = Vec::new();
        let mut audits: Vec<NewAudit> = Vec::new();
        for done in &completions {
            // removed once used, so a repeated id counts as a lost lease
            let Some(it) = current.remove(&done.id.0).filter(|it| {
                it.state == ItemState::InFlight
                    && it
                        .lease
                        .as_ref()
                        .is_some_and(|l| l.owner == done.lease_owner)
            }) else {
                report.lost_lease.push(done.id);
                continue;
            };
            let (state, error, detail_extra) = match &done.outcome {
                Outcome::Synced { record } => {
                    synced.push(it.id.0);
                    records.push(record);
                    // children wait by global id whatever object the record is known under
                    wake.push((it.work.target.0.clone(), it.work.global_id.to_string()));
                    (ItemState::Synced, None, serde_json::Value::Null)
                }
                Outcome::RetryAt { at, error } => {
                    let attempts = it.attempts.saturating_add(1);
                    let park = Park::new(ItemState::Queued, *at, attempts).error(Some(error));
                    self.park(&mut tx, &it, park, now).await?;
                    (
                        ItemState::Queued,
                        Some(error.clone()),
                        serde_json::json!({ "retry_at": at, "attempts": attempts }),
                    )
                }
                Outcome::Deferred { at, note } => {
                    let park = Park::new(ItemState::Queued, *at, it.attempts).error(note.as_ref());
                    self.park(&mut tx, &it, park, now).await?;
                    (
                        ItemState::Queued,
                        note.clone(),
                        serde_json::json!({ "deferred_to": at }),
                    )
                }
                Outcome::Pending { parent, error } => {
                    let parent_text = parent.to_string();
                    self.lock_key(&mut tx, &format!("{}\u{1f}{parent_text}", it.work.target))
                        .await?;
                    let landed: Option<i64> = sqlx::query_scalar(
                        "SELECT 1 FROM records WHERE org = $1 AND global_id = $2 AND local_id IS NOT NULL LIMIT 1",
                    )
                    .bind(it.work.target.as_str())
                    .bind(parent_text.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                    let state = if landed.is_some() {
                        ItemState::Queued
                    } else {
                        ItemState::Pending
                    };
                    let waiting = (state == ItemState::Pending).then_some(parent_text.as_str());
                    let park = Park::new(state, now, it.attempts)
                        .error(error.as_ref())
                        .waiting_for(waiting);
                    self.park(&mut tx, &it, park, now).await?;
                    (
                        state,
                        error.clone(),
                        serde_json::json!({ "parent": parent_text }),
                    )
                }
                Outcome::Failed { error } => {
                    let attempts = it.attempts.saturating_add(1);
                    let park = Park::new(ItemState::Failed, now, attempts).error(Some(error));
                    self.park(&mut tx, &it, park, now).await?;
                    (
                        ItemState::Failed,
                        Some(error.clone()),
                        serde_json::Value::Null,
                    )
                }
            };
            follow_ups.extend(done.follow_ups.iter());
            let mut audit = NewAudit::new(now, format!("item.{}", state.as_str()));
            audit.org = Some(it.work.target.clone());
            audit.object = Some(it.work.object.clone());
            audit.global_id = Some(it.work.global_id.clone());
            audit.item_id = Some(it.id);
            audit.detail = serde_json::json!({
                "op": op_str(it.work.op),
                "attempts": it.attempts,
                "error": error.map(|e| serde_json::json!({ "code": e.code, "message": e.message, "kind": e.kind })),
                "outcome": detail_extra,
                "detail": done.detail,
            });
            audits.push(audit);
            report.applied.push(it.id);
        }
        for chunk in synced.chunks(IN_CHUNK) {
            let sql = format!(
                "UPDATE sync_items SET state = 'synced', lease_owner = NULL, lease_until = NULL, \
                 waiting_for = NULL, error_code = NULL, error_message = NULL, error_kind = NULL, \
                 updated_at = $1 WHERE id IN ({})",
                placeholders(2, chunk.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(ms(now));
            for id in chunk {
                q = q.bind(*id);
            }
            q.execute(&mut *tx).await?;
        }
        wake.extend(self.write_records_many(&mut tx, &records, now).await?);
        report.woken += self.wake_many(&mut tx, wake, now).await?;
        if !follow_ups.is_empty() {
            self.enqueue_many(&mut tx, &follow_ups, now).await?;
        }
        self.insert_audits(&mut tx, &audits).await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Items by id, locked for update.
    async fn items_by_ids(&self, c: &mut AnyConnection, ids: &[i64]) -> Result<HashMap<i64, Item>> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT {ITEM_COLS} FROM sync_items WHERE id IN ({}) ORDER BY id{}",
                placeholders(1, chunk.len()),
                self.for_update()
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(*id);
            }
            for row in q.fetch_all(&mut *c).await? {
                let it = item(&row)?;
                out.insert(it.id.0, it);
            }
        }
        Ok(out)
    }

    /// Put an in-flight item back to waiting (`park.state` = Queued, Pending or Failed). When a
    /// follow-up already waits for the same key, the item is merged into it (the follow-up's
    /// newer fields win) and deleted, keeping one waiting item per key.
    async fn park(
        &self,
        c: &mut AnyConnection,
        it: &Item,
        park: Park<'_>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let Park {
            state,
            next,
            attempts,
            error,
            waiting_for,
        } = park;
        let mine = it.to_new();
        if let Some(follow) = self.waiting_item(c, &mine, Some(it.id)).await? {
            let merged = merge_items(&mine, &follow.to_new());
            // keep the retry schedule of a retryable failure; a fresh try otherwise
            let (next, attempts) = match state {
                ItemState::Queued => (next.max(follow.next_attempt_at), attempts),
                _ => (now, 0),
            };
            sqlx::query("DELETE FROM sync_items WHERE id = $1")
                .bind(it.id.0)
                .execute(&mut *c)
                .await?;
            sqlx::query(
                "UPDATE sync_items SET op = $1, payload = $2, source_org = $3, source_record_id = $4, txn_id = $5, \
                 state = 'queued', next_attempt_at = $6, attempts = $7, waiting_for = NULL, dismissed_at = NULL, error_code = $8, \
                 error_message = $9, error_kind = $10, updated_at = $11 WHERE id = $12",
            )
            .bind(op_str(merged.work.op))
            .bind(payload_json(&merged)?)
            .bind(merged.source_org.as_ref().map(|o| o.0.clone()))
            .bind(merged.source_record_id.clone())
            .bind(merged.txn_id.clone())
            .bind(ms(next))
            .bind(i64::from(attempts))
            .bind(error.map(|e| e.code.clone()))
            .bind(error.map(|e| e.message.clone()))
            .bind(error.map(|e| e.kind.clone()))
            .bind(ms(now))
            .bind(follow.id.0)
            .execute(&mut *c)
            .await?;
            return Ok(());
        }
        sqlx::query(
            "UPDATE sync_items SET state = $1, next_attempt_at = $2, attempts = $3, lease_owner = NULL, \
             lease_until = NULL, waiting_for = $4, error_code = $5, error_message = $6, error_kind = $7, \
             dismissed_at = NULL, updated_at = $8 WHERE id = $9",
        )
        .bind(state.as_str())
        .bind(ms(next))
        .bind(i64::from(attempts))
        .bind(waiting_for.map(str::to_string))
        .bind(error.map(|e| e.code.clone()))
        .bind(error.map(|e| e.message.clone()))
        .bind(error.map(|e| e.kind.clone()))
        .bind(ms(now))
        .bind(it.id.0)
        .execute(&mut *c)
        .await?;
        Ok(())
    }

    /// Queue the Pending items waiting for any of `keys` = (org, parent global id); on
    /// PostgreSQL under the same per-key advisory locks the Pending path takes.
    pub(super) async fn wake_many(
        &self,
        c: &mut AnyConnection,
        mut keys: Vec<(String, String)>,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        keys.sort();
        keys.dedup();
        let mut woken = 0;
        for chunk in keys.chunks(IN_CHUNK) {
            if self.backend == Backend::Postgres {
                let sql = format!(
                    "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM (VALUES {}) AS v(k)",
                    values(chunk.len(), 1, 1)
                );
                let args = chunk
                    .iter()
                    .map(|(o, g)| Arg::Text(format!("{o}\u{1f}{g}")))
                    .collect();
                bind(sqlx::query(AssertSqlSafe(sql)), args)
                    .execute(&mut *c)
                    .await?;
            }
            let mut by_org: IndexMap<&str, Vec<&str>> = IndexMap::new();
            for (o, g) in chunk {
                by_org.entry(o.as_str()).or_default().push(g.as_str());
            }
            for (org, parents) in by_org {
                let sql = format!(
                    "UPDATE sync_items SET state = 'queued', next_attempt_at = $1, waiting_for = NULL, updated_at = $1 \
                     WHERE target_org = $2 AND state = 'pending' AND waiting_for IN ({})",
                    placeholders(3, parents.len())
                );
                let mut q = sqlx::query(AssertSqlSafe(sql)).bind(ms(now)).bind(org);
                for p in parents {
                    q = q.bind(p);
                }
                woken += q.execute(&mut *c).await?.rows_affected();
            }
        }
        Ok(woken)
    }
}

/// Where a completed item goes back to wait, with its attempt count (failed writes so far).
struct Park<'a> {
    state: ItemState,
    next: DateTime<Utc>,
    attempts: u32,
    error: Option<&'a ItemError>,
    waiting_for: Option<&'a str>,
}

impl<'a> Park<'a> {
    fn new(state: ItemState, next: DateTime<Utc>, attempts: u32) -> Self {
        Park {
            state,
            next,
            attempts,
            error: None,
            waiting_for: None,
        }
    }

    fn error(mut self, error: Option<&'a ItemError>) -> Self {
        self.error = error;
        self
    }

    fn waiting_for(mut self, parent: Option<&'a str>) -> Self {
        self.waiting_for = parent;
        self
    }
}
