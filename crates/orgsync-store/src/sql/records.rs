//! The id map and shadows (`records`) and the agreed field versions (`agreed`).
//!
//! Both are written as merges (insert an empty row if missing, lock it, merge, update), so a
//! capture of an org and a worker writing to that org can update the same record row in
//! either order without losing each other's facts.

use std::collections::{BTreeMap, HashMap};

use indexmap::IndexMap;

use chrono::{DateTime, Utc};
use orgsync_core::life::merge_life;
use orgsync_core::merge::{ShadowValue, Versioned};
use orgsync_core::{GlobalId, OrgName};
use sqlx::{AnyConnection, AssertSqlSafe};

use super::args::{Arg, bind, values};
use super::codec::{RECORD_COLS, agreed, ms, record, to_json};
use super::{IN_CHUNK, SqlStore, placeholders};
use crate::error::Result;
use crate::types::{AgreedRow, AgreedWrite, RecordRow, RecordWrite};

/// Per field keep the newer shadow (`at`); ties go to the incoming write.
pub fn merge_shadow(
    into: &mut BTreeMap<String, ShadowValue>,
    incoming: &BTreeMap<String, ShadowValue>,
) {
    for (k, v) in incoming {
        if into.get(k).is_none_or(|old| v.at >= old.at) {
            let next = v.clone().replacing(into.get(k));
            into.insert(k.clone(), next);
        }
    }
}

/// Per field keep the newer version (`ts`); ties go to the incoming write.
pub fn merge_agreed(
    into: &mut BTreeMap<String, Versioned>,
    incoming: &BTreeMap<String, Versioned>,
) {
    for (k, v) in incoming {
        if into.get(k).is_none_or(|old| v.ts >= old.ts) {
            into.insert(k.clone(), v.clone());
        }
    }
}

/// Fold a later write to the same row into `acc` (the same rules as applying both in turn).
fn fold_write(acc: &mut RecordWrite, w: &RecordWrite) {
    merge_shadow(&mut acc.shadow, &w.shadow);
    if w.local_id.is_some() {
        acc.local_id.clone_from(&w.local_id);
    }
    if w.fingerprint.is_some() {
        acc.fingerprint = w.fingerprint;
    }
    if w.deleted.is_some() && newer_fact(acc.deleted_at, w.deleted_at) {
        acc.deleted = w.deleted;
        acc.deleted_at = w.deleted_at;
    }
    acc.modstamp = acc.modstamp.max(w.modstamp);
}

/// Whether a deleted flag known as of `incoming` replaces one known as of `stored` (None as
/// incoming: now, always; None stored: never known, always).
fn newer_fact(stored: Option<DateTime<Utc>>, incoming: Option<DateTime<Utc>>) -> bool {
    match (stored, incoming) {
        (Some(s), Some(i)) => i >= s,
        _ => true,
    }
}

impl SqlStore {
    /// Apply record writes set-wise (per (org, object): insert missing rows, lock and read
    /// them, merge in memory, write back in one multi-row upsert). Returns the (org, global
    /// id) keys that got a local id, whose Pending children the caller wakes.
    pub(super) async fn write_records_many(
        &self,
        c: &mut AnyConnection,
        writes: &[&RecordWrite],
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, String)>> {
        // fold writes to the same row, in order
        let mut folded: IndexMap<(String, String, String), RecordWrite> = IndexMap::new();
        for w in writes {
            let k = (w.org.0.clone(), w.object.clone(), w.global_id.to_string());
            match folded.get_mut(&k) {
                Some(acc) => fold_write(acc, w),
                None => {
                    folded.insert(k, (*w).clone());
                }
            }
        }
        folded.sort_keys();
        let mut landed = Vec::new();
        let mut groups: IndexMap<(String, String), Vec<RecordWrite>> = IndexMap::new();
        for ((org, object, _), w) in folded {
            if w.local_id.is_some() {
                landed.push((org.clone(), w.global_id.to_string()));
            }
            groups.entry((org, object)).or_default().push(w);
        }
        for ((org, object), ws) in groups {
            for chunk in ws.chunks(IN_CHUNK / 4) {
                self.write_record_chunk(c, &org, &object, chunk, now)
                    .await?;
            }
        }
        Ok(landed)
    }

    async fn write_record_chunk(
        &self,
        c: &mut AnyConnection,
        org: &str,
        object: &str,
        ws: &[RecordWrite],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let gids: Vec<String> = ws.iter().map(|w| w.global_id.to_string()).collect();
        let sql = format!(
            "INSERT INTO records (org, object, global_id, shadow, deleted, updated_at) VALUES {} \
             ON CONFLICT (org, object, global_id) DO NOTHING",
            values(ws.len(), 6, 1)
        );
        let args = gids
            .iter()
            .flat_map(|g| {
                [
                    Arg::Text(org.to_string()),
                    Arg::Text(object.to_string()),
                    Arg::Text(g.clone()),
                    Arg::Text("{}".into()),
                    Arg::Int(0),
                    Arg::Int(ms(now)),
                ]
            })
            .collect();
        bind(sqlx::query(AssertSqlSafe(sql)), args)
            .execute(&mut *c)
            .await?;
        let sql = format!(
            "SELECT {RECORD_COLS} FROM records WHERE org = $1 AND object = $2 AND global_id IN ({}){}",
            placeholders(3, gids.len()),
            self.for_update()
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(org).bind(object);
        for g in &gids {
            q = q.bind(g.as_str());
        }
        let mut current: HashMap<String, RecordRow> = HashMap::new();
        for row in q.fetch_all(&mut *c).await? {
            let r = record(&row)?;
            current.insert(r.global_id.to_string(), r);
        }
        let mut args = Vec::with_capacity(ws.len() * 10);
        for (w, g) in ws.iter().zip(&gids) {
            let mut cur = current.remove(g).ok_or_else(|| {
                crate::StoreError::Corrupt(format!("record row {org}/{object}/{g} vanished"))
            })?;
            merge_shadow(&mut cur.shadow, &w.shadow);
            if let Some(id) = &w.local_id {
                cur.local_id = Some(id.clone());
            }
            if let Some(fp) = w.fingerprint {
                cur.fingerprint = Some(fp);
            }
            if let Some(d) = w.deleted
                && newer_fact(cur.deleted_at, w.deleted_at)
            {
                cur.deleted = d;
                cur.deleted_at = w.deleted_at.or(Some(now));
            }
            cur.last_modstamp = cur.last_modstamp.max(w.modstamp);
            args.extend([
                Arg::Text(org.to_string()),
                Arg::Text(object.to_string()),
                Arg::Text(g.clone()),
                Arg::OptText(cur.local_id),
                Arg::OptBytes(cur.fingerprint.map(|f| f.to_vec())),
                Arg::Text(to_json(&cur.shadow)?),
                Arg::Int(i64::from(cur.deleted)),
                Arg::OptInt(cur.deleted_at.map(ms)),
                Arg::OptInt(cur.last_modstamp.map(ms)),
                Arg::Int(ms(now)),
            ]);
        }
        let sql = format!(
            "INSERT INTO records (org, object, global_id, local_id, fingerprint, shadow, deleted, deleted_at, \
             last_modstamp, updated_at) VALUES {} ON CONFLICT (org, object, global_id) DO UPDATE SET \
             local_id = excluded.local_id, fingerprint = excluded.fingerprint, shadow = excluded.shadow, \
             deleted = excluded.deleted, deleted_at = excluded.deleted_at, \
             last_modstamp = excluded.last_modstamp, updated_at = excluded.updated_at",
            values(ws.len(), 10, 1)
        );
        bind(sqlx::query(AssertSqlSafe(sql)), args)
            .execute(&mut *c)
            .await?;
        Ok(())
    }

    /// Apply one agreed write.
    pub(super) async fn write_agreed(
        &self,
        c: &mut AnyConnection,
        w: &AgreedWrite,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let gid = w.global_id.to_string();
        sqlx::query(
            "INSERT INTO agreed (object, global_id, fields, updated_at) VALUES ($1, $2, '{}', $3) \
             ON CONFLICT (object, global_id) DO NOTHING",
        )
        .bind(w.object.as_str())
        .bind(gid.as_str())
        .bind(ms(now))
        .execute(&mut *c)
        .await?;
        let sql = format!(
            "SELECT object, global_id, fields, life, updated_at FROM agreed WHERE object = $1 AND global_id = $2{}",
            self.for_update()
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(w.object.as_str())
            .bind(gid.as_str())
            .fetch_one(&mut *c)
            .await?;
        let mut cur = agreed(&row)?;
        merge_agreed(&mut cur.fields, &w.fields);
        let life = match (cur.life, &w.life) {
            // the same rule as every capture, so concurrent writers commute
            (cur, Some(incoming)) => Some(merge_life(cur.as_ref(), incoming.clone(), &|_| 0).0),
            (cur, None) => cur,
        };
        sqlx::query(
            "UPDATE agreed SET fields = $1, life = $2, updated_at = $3 WHERE object = $4 AND global_id = $5",
        )
        .bind(to_json(&cur.fields)?)
        .bind(life.as_ref().map(to_json).transpose()?)
        .bind(ms(now))
        .bind(w.object.as_str())
        .bind(gid.as_str())
        .execute(&mut *c)
        .await?;
        Ok(())
    }

    /// Record rows of `org`/`object` whose `column` is one of `keys`, in chunks.
    pub(super) async fn records_where(
        &self,
        org: &OrgName,
        object: &str,
        column: &str,
        keys: &[String],
    ) -> Result<Vec<RecordRow>> {
        let mut out = Vec::new();
        for chunk in keys.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT {RECORD_COLS} FROM records WHERE org = $1 AND object = $2 AND {column} IN ({})",
                placeholders(3, chunk.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql))
                .bind(org.as_str())
                .bind(object);
            for k in chunk {
                q = q.bind(k.as_str());
            }
            for row in q.fetch_all(&self.pool).await? {
                out.push(record(&row)?);
            }
        }
        Ok(out)
    }

    pub(super) async fn agreed_referencing_impl(
        &self,
        object: &str,
        value: &GlobalId,
    ) -> Result<Vec<GlobalId>> {
        let sql = "SELECT global_id FROM agreed WHERE object = $1 AND fields LIKE $2 \
                   ORDER BY global_id";
        self.referencing(sql, None, object, value).await
    }

    pub(super) async fn held_referencing_impl(
        &self,
        org: &OrgName,
        object: &str,
        value: &GlobalId,
    ) -> Result<Vec<GlobalId>> {
        let sql = "SELECT global_id FROM records WHERE object = $1 AND shadow LIKE $2 \
                   AND org = $3 ORDER BY global_id";
        self.referencing(sql, Some(org), object, value).await
    }

    /// Global ids of the rows `sql` finds holding `value` in their JSON ($1 object, $2 the
    /// text pattern, $3 the org if any).
    async fn referencing(
        &self,
        sql: &'static str,
        org: Option<&OrgName>,
        object: &str,
        value: &GlobalId,
    ) -> Result<Vec<GlobalId>> {
        // a global id is letters, digits and one ':': nothing LIKE treats specially
        let pattern = format!("%\"{value}\"%");
        let mut q = sqlx::query_scalar(sql).bind(object).bind(pattern);
        if let Some(org) = org {
            q = q.bind(org.as_str());
        }
        let rows: Vec<String> = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|g| {
                g.parse()
                    .map_err(|e| crate::StoreError::Corrupt(format!("global id {g}: {e}")))
            })
            .collect()
    }

    pub(super) async fn agreed_impl(
        &self,
        object: &str,
        global_ids: &[GlobalId],
    ) -> Result<Vec<AgreedRow>> {
        let keys: Vec<String> = global_ids.iter().map(ToString::to_string).collect();
        let mut out = Vec::new();
        for chunk in keys.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT object, global_id, fields, life, updated_at FROM agreed WHERE object = $1 AND global_id IN ({})",
                placeholders(2, chunk.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(object);
            for k in chunk {
                q = q.bind(k.as_str());
            }
            for row in q.fetch_all(&self.pool).await? {
                out.push(agreed(&row)?);
            }
        }
        Ok(out)
    }
}
