//! The id map and shadows (`records`) and the agreed field versions (`agreed`).
//!
//! Both are written as merges (insert an empty row if missing, lock it, merge, update), so a
//! capture of an org and a worker writing to that org can update the same record row in
//! either order without losing each other's facts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use orgsync_core::merge::{ShadowValue, Versioned};
use orgsync_core::{GlobalId, OrgName};
use sqlx::{AnyConnection, AssertSqlSafe};

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
            into.insert(k.clone(), v.clone());
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

impl SqlStore {
    /// Apply one record write; returns how many Pending items it woke.
    pub(super) async fn write_record(
        &self,
        c: &mut AnyConnection,
        w: &RecordWrite,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let gid = w.global_id.to_string();
        sqlx::query(
            "INSERT INTO records (org, object, global_id, shadow, deleted, updated_at) VALUES ($1, $2, $3, '{}', 0, $4) \
             ON CONFLICT (org, object, global_id) DO NOTHING",
        )
        .bind(w.org.as_str())
        .bind(w.object.as_str())
        .bind(gid.as_str())
        .bind(ms(now))
        .execute(&mut *c)
        .await?;
        let sql = format!(
            "SELECT {RECORD_COLS} FROM records WHERE org = $1 AND object = $2 AND global_id = $3{}",
            self.for_update()
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(w.org.as_str())
            .bind(w.object.as_str())
            .bind(gid.as_str())
            .fetch_one(&mut *c)
            .await?;
        let mut cur = record(&row)?;
        merge_shadow(&mut cur.shadow, &w.shadow);
        if let Some(id) = &w.local_id {
            cur.local_id = Some(id.clone());
        }
        if let Some(fp) = w.fingerprint {
            cur.fingerprint = Some(fp);
        }
        if let Some(d) = w.deleted {
            cur.deleted = d;
        }
        cur.last_modstamp = cur.last_modstamp.max(w.modstamp);
        sqlx::query(
            "UPDATE records SET local_id = $1, fingerprint = $2, shadow = $3, deleted = $4, last_modstamp = $5, \
             updated_at = $6 WHERE org = $7 AND object = $8 AND global_id = $9",
        )
        .bind(cur.local_id.clone())
        .bind(cur.fingerprint.map(|f| f.to_vec()))
        .bind(to_json(&cur.shadow)?)
        .bind(i64::from(cur.deleted))
        .bind(cur.last_modstamp.map(ms))
        .bind(ms(now))
        .bind(w.org.as_str())
        .bind(w.object.as_str())
        .bind(gid.as_str())
        .execute(&mut *c)
        .await?;
        if w.local_id.is_some() {
            return self.wake_children(c, w.org.as_str(), &gid, now).await;
        }
        Ok(0)
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
            "SELECT object, global_id, fields, updated_at FROM agreed WHERE object = $1 AND global_id = $2{}",
            self.for_update()
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(w.object.as_str())
            .bind(gid.as_str())
            .fetch_one(&mut *c)
            .await?;
        let mut cur = agreed(&row)?;
        merge_agreed(&mut cur.fields, &w.fields);
        sqlx::query(
            "UPDATE agreed SET fields = $1, updated_at = $2 WHERE object = $3 AND global_id = $4",
        )
        .bind(to_json(&cur.fields)?)
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

    pub(super) async fn agreed_impl(
        &self,
        object: &str,
        global_ids: &[GlobalId],
    ) -> Result<Vec<AgreedRow>> {
        let keys: Vec<String> = global_ids.iter().map(ToString::to_string).collect();
        let mut out = Vec::new();
        for chunk in keys.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT object, global_id, fields, updated_at FROM agreed WHERE object = $1 AND global_id IN ({})",
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
