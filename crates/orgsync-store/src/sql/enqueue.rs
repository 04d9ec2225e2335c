//! Enqueue a batch of items set-wise: one statement records the transaction ids (and tells
//! which were already processed), one per (target, object) loads the waiting items of the
//! batch's keys, merges happen in memory by [`crate::merge::merge_items`], and new keys go
//! in one multi-row insert. A key that a concurrent writer inserted meanwhile (PostgreSQL)
//! falls back to the one-row path, which merges into that row.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::args::{Arg, bind, values};
use super::codec::{ITEM_COLS, item, ms};
use super::items::{Enqueued, payload_json};
use super::{IN_CHUNK, SqlStore, placeholders};
use crate::error::Result;
use crate::merge::merge_items;
use crate::types::{Item, ItemId, NewItem, op_str};

type Key = (String, String, String);

fn key(n: &NewItem) -> Key {
    (
        n.work.target.0.clone(),
        n.work.object.clone(),
        n.work.global_id.to_string(),
    )
}

impl SqlStore {
    /// Enqueue `items` in order; the result is aligned with the input.
    pub(super) async fn enqueue_many(
        &self,
        c: &mut AnyConnection,
        items: &[&NewItem],
        now: DateTime<Utc>,
    ) -> Result<Vec<Enqueued>> {
        let mut out: Vec<Option<Enqueued>> = (0..items.len()).map(|_| None).collect();
        // 1. transaction ids: the first occurrence of a newly recorded id is kept
        let mut fresh = self.record_txns(c, items, now).await?;
        let mut groups: IndexMap<Key, Vec<usize>> = IndexMap::new();
        for (i, n) in items.iter().enumerate() {
            if let Some(t) = &n.txn_id
                && !fresh.remove(&(n.work.target.0.clone(), t.clone()))
            {
                out[i] = Some(Enqueued::Duplicate);
                continue;
            }
            groups.entry(key(n)).or_default().push(i);
        }
        // 2. the waiting items of those keys
        let existing = self.waiting_items(c, groups.keys()).await?;
        // 3. merge in memory; rewrite merged rows, collect new ones
        let mut new_rows: Vec<(Key, NewItem, Vec<usize>)> = Vec::new();
        for (k, idx) in groups {
            let start = existing.get(&k).map(Item::to_new);
            let (mut acc, rest) = match start {
                Some(e) => (e, &idx[..]),
                None => (items[idx[0]].clone(), &idx[1..]),
            };
            for &i in rest {
                acc = merge_items(&acc, items[i]);
            }
            match existing.get(&k) {
                Some(e) => {
                    self.rewrite_waiting(c, e, &acc, now).await?;
                    for &i in &idx {
                        out[i] = Some(Enqueued::Merged(e.id));
                    }
                }
                None => new_rows.push((k, acc, idx)),
            }
        }
        // 4. new keys in multi-row inserts
        for chunk in new_rows.chunks(IN_CHUNK / 4) {
            let ids = self.insert_new(c, chunk, now).await?;
            for (k, merged, idx) in chunk {
                let (id, inserted) = match ids.get(k) {
                    Some(id) => (*id, true),
                    // lost a race with a concurrent insert of the same key: merge into it
                    None => match self.enqueue_one(c, merged, now).await? {
                        Enqueued::Inserted(id) => (id, true),
                        Enqueued::Merged(id) => (id, false),
                        Enqueued::Duplicate => continue,
                    },
                };
                for (j, &i) in idx.iter().enumerate() {
                    out[i] = Some(if j == 0 && inserted {
                        Enqueued::Inserted(id)
                    } else {
                        Enqueued::Merged(id)
                    });
                }
            }
        }
        Ok(out
            .into_iter()
            .map(|e| e.unwrap_or(Enqueued::Duplicate))
            .collect())
    }

    /// Insert (target, txn id) rows; returns those that were not there before.
    async fn record_txns(
        &self,
        c: &mut AnyConnection,
        items: &[&NewItem],
        now: DateTime<Utc>,
    ) -> Result<HashSet<(String, String)>> {
        let pairs: Vec<(String, String)> = items
            .iter()
            .filter_map(|n| {
                n.txn_id
                    .as_ref()
                    .map(|t| (n.work.target.0.clone(), t.clone()))
            })
            .collect();
        let mut fresh = HashSet::new();
        for chunk in pairs.chunks(IN_CHUNK) {
            let sql = format!(
                "INSERT INTO transactions (target_org, txn_id, at) VALUES {} \
                 ON CONFLICT (target_org, txn_id) DO NOTHING RETURNING target_org, txn_id",
                values(chunk.len(), 3, 1)
            );
            let args = chunk
                .iter()
                .flat_map(|(t, x)| {
                    [
                        Arg::Text(t.clone()),
                        Arg::Text(x.clone()),
                        Arg::Int(ms(now)),
                    ]
                })
                .collect();
            for row in bind(sqlx::query(AssertSqlSafe(sql)), args)
                .fetch_all(&mut *c)
                .await?
            {
                fresh.insert((row.try_get("target_org")?, row.try_get("txn_id")?));
            }
        }
        Ok(fresh)
    }

    /// The waiting items of `keys`, locked for update.
    async fn waiting_items<'k>(
        &self,
        c: &mut AnyConnection,
        keys: impl Iterator<Item = &'k Key>,
    ) -> Result<HashMap<Key, Item>> {
        let mut by_group: IndexMap<(&str, &str), Vec<&str>> = IndexMap::new();
        for (t, o, g) in keys {
            by_group
                .entry((t.as_str(), o.as_str()))
                .or_default()
                .push(g.as_str());
        }
        let mut out = HashMap::new();
        for ((target, object), gids) in by_group {
            for chunk in gids.chunks(IN_CHUNK) {
                let sql = format!(
                    "SELECT {ITEM_COLS} FROM sync_items WHERE target_org = $1 AND object = $2 \
                     AND state IN ('queued', 'pending', 'failed') AND global_id IN ({}){}",
                    placeholders(3, chunk.len()),
                    self.for_update()
                );
                let mut q = sqlx::query(AssertSqlSafe(sql)).bind(target).bind(object);
                for g in chunk {
                    q = q.bind(*g);
                }
                for row in q.fetch_all(&mut *c).await? {
                    let it = item(&row)?;
                    let k = (
                        it.work.target.0.clone(),
                        it.work.object.clone(),
                        it.work.global_id.to_string(),
                    );
                    out.insert(k, it);
                }
            }
        }
        Ok(out)
    }

    /// Insert new Queued rows; returns the ids of those inserted (a key a concurrent writer
    /// inserted first is absent).
    async fn insert_new(
        &self,
        c: &mut AnyConnection,
        rows: &[(Key, NewItem, Vec<usize>)],
        now: DateTime<Utc>,
    ) -> Result<HashMap<Key, ItemId>> {
        if rows.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "INSERT INTO sync_items (target_org, object, global_id, op, payload, source_org, source_record_id, \
             txn_id, state, attempts, next_attempt_at, created_at, updated_at) VALUES {} \
             ON CONFLICT (target_org, object, global_id) WHERE state IN ('queued', 'pending', 'failed') \
             DO NOTHING RETURNING id, target_org, object, global_id",
            values(rows.len(), 13, 1)
        );
        let mut args = Vec::with_capacity(rows.len() * 13);
        for ((t, o, g), n, _) in rows {
            args.extend([
                Arg::Text(t.clone()),
                Arg::Text(o.clone()),
                Arg::Text(g.clone()),
                Arg::Text(op_str(n.work.op).to_string()),
                Arg::Text(payload_json(n)?),
                Arg::OptText(n.source_org.as_ref().map(|o| o.0.clone())),
                Arg::OptText(n.source_record_id.clone()),
                Arg::OptText(n.txn_id.clone()),
                Arg::Text("queued".into()),
                Arg::Int(0),
                Arg::Int(ms(now)),
                Arg::Int(ms(now)),
                Arg::Int(ms(now)),
            ]);
        }
        let mut ids = HashMap::new();
        for row in bind(sqlx::query(AssertSqlSafe(sql)), args)
            .fetch_all(&mut *c)
            .await?
        {
            let k: Key = (
                row.try_get("target_org")?,
                row.try_get("object")?,
                row.try_get("global_id")?,
            );
            ids.insert(k, ItemId(row.try_get("id")?));
        }
        Ok(ids)
    }
}
