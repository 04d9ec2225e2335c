//! Which lookup parents of the records a read brings are deleted — by agreement, in the
//! capturing org as the ledger knows it, or there in fact — so that an empty lookup read back
//! is known for what Salesforce made of it: cleared because its parent was deleted (dormant,
//! restored by the parent's undelete), not a user's edit.
//!
//! Why the org itself is asked: the parent's delete and the child's cleared lookup are
//! captured by different legs, in either order. A child read before its parent's delete is
//! ingested shows an empty lookup next to a parent the ledger still holds live; taken for an
//! edit, it was written everywhere and the restore was undone. The other order too: a parent
//! restored there (not captured yet) brought its children's lookups back, so a child read
//! empty since then was emptied by a user — taken for dormant, that edit was lost and the
//! orgs diverged (chaos seed 22). One `queryAll` of those parents (only when a read shows an
//! empty lookup to a parent the ledger knows there) says whether each is in the recycle bin
//! or live, and since when.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use orgsync_core::config::ParentPolicy;
use orgsync_core::{FieldValue, GlobalId};
use orgsync_store::Store;

use super::Captured;
use super::ingest::Ingest;
use super::plan::{Known, ParentLife};
use crate::error::EngineError;
use crate::leg::Leg;

/// Where the lookup parents of `rows`' records — agreed, or held by the capturing org's copy —
/// stand: deleted by agreement or in the capturing org, and, for those behind an empty lookup
/// in this read, what the org itself says (see `Known::parents_deleted`).
pub(crate) async fn deleted_parents<S: Store>(
    ingest: &Ingest<S>,
    leg: &Leg,
    rows: &[Captured],
    known: &Known,
) -> Result<ParentLife, EngineError> {
    let sync = leg.settings(&ingest.settings);
    let mut out = ParentLife::default();
    for p in &sync.parents {
        let ParentPolicy::Sync {
            object,
            target_object,
        } = &p.policy
        else {
            continue;
        };
        let (field, here) = if leg.side.is_source() {
            (&p.field, object)
        } else {
            (&p.target_field, target_object)
        };
        let key = p.field.to_ascii_lowercase();
        // per record: the parents it points at (agreed, or held there), and whether this
        // read shows the lookup empty
        let mut all: HashSet<GlobalId> = HashSet::new();
        let mut behind_empty: HashSet<GlobalId> = HashSet::new();
        // the rows showing the lookup empty, with the parents behind it
        let mut empty_rows: Vec<(&Captured, Vec<GlobalId>)> = Vec::new();
        for r in rows.iter().filter(|r| r.snapshot) {
            let Some(gid) = known
                .by_local
                .get(&r.id)
                .map(|x| x.global_id.clone())
                .or_else(|| r.gid_field.clone())
            else {
                continue;
            };
            let Some(st) = known.states.get(&gid) else {
                continue;
            };
            let shadow = st.shadows.get(&leg.org).and_then(|s| s.get(&key));
            let held = shadow.map(|s| &s.value);
            let before = shadow.and_then(|s| s.before.as_ref());
            let parents: Vec<GlobalId> = [Some(st.agreed_value(&key)), held, before]
                .into_iter()
                .flatten()
                .filter_map(|v| match v {
                    FieldValue::Text(t) => t.parse::<GlobalId>().ok(),
                    _ => None,
                })
                .collect();
            if matches!(r.field(field), Some(FieldValue::Null)) {
                behind_empty.extend(parents.iter().cloned());
                empty_rows.push((r, parents.clone()));
            }
            all.extend(parents);
        }
        if all.is_empty() {
            continue;
        }
        let gids: Vec<GlobalId> = all.into_iter().collect();
        for row in ingest.store.agreed(object, &gids).await? {
            if orgsync_core::life::is_deleted(row.life.as_ref()) {
                out.deleted.insert(row.global_id);
            }
        }
        let mut local: HashMap<String, GlobalId> = HashMap::new();
        let mut deleted_here: HashSet<GlobalId> = HashSet::new();
        for row in ingest.store.records(&leg.org, here, &gids).await? {
            if row.deleted {
                out.deleted.insert(row.global_id.clone());
                deleted_here.insert(row.global_id.clone());
            }
            if let Some(l) = row.local_id {
                local.insert(l, row.global_id);
            }
        }
        // behind an empty lookup, the org says where the parent stands: the ledger may not
        // have seen its delete there yet, or its restore
        local.retain(|_, g| behind_empty.contains(g));
        for (gid, there) in ask_org(ingest, leg, here, &local).await? {
            match there {
                There::Binned => {
                    out.deleted.insert(gid);
                }
                // deleted there as the ledger knows, live now: restored since, and with it
                // the lookups its delete had cleared
                There::Live(at) if deleted_here.contains(&gid) => {
                    out.restored.insert(gid, at);
                }
                // deleted elsewhere only (its delete not written here yet): Salesforce never
                // cleared anything here, the empty lookup is someone's edit
                There::Live(_) => {
                    out.deleted.remove(&gid);
                }
            }
        }
        // a restore stamped after a row's last edit may still be older than it (the parent's
        // stamp moves with every later change of its own): the row itself says, read again
        let unsure: Vec<&Captured> = empty_rows
            .iter()
            .filter(|(r, parents)| {
                let edited = r.edited_ts.unwrap_or(r.commit_ts);
                parents
                    .iter()
                    .any(|g| out.restored.get(g).is_some_and(|at| *at > edited))
            })
            .map(|(r, _)| *r)
            .collect();
        out.emptied
            .extend(still_empty(ingest, leg, field, &unsure).await?);
    }
    Ok(out)
}

/// Of `rows` (each showing `field` empty), the ids of those that still show it empty, unchanged
/// since (same `SystemModstamp`), read now — after their parents were found live again.
///
/// Why: a parent's undelete gives back the lookups its delete cleared, moving each such
/// child's stamp. A child unchanged since a read that showed the lookup empty, while the
/// parent is live, was emptied by someone after the restore: an edit, not Salesforce's
/// clearing. Dated by the parent's `SystemModstamp` alone (moved by any later change of the
/// parent), such an edit was taken for dormant and lost (chaos seed 67).
async fn still_empty<S: Store>(
    ingest: &Ingest<S>,
    leg: &Leg,
    field: &str,
    rows: &[&Captured],
) -> Result<Vec<String>, EngineError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let Some(conn) = ingest.orgs.get(&leg.org).and_then(|o| o.conn()) else {
        return Ok(Vec::new());
    };
    let stamps: HashMap<&str, DateTime<Utc>> = rows
        .iter()
        .map(|r| (r.id.as_str(), r.modstamp.unwrap_or(r.commit_ts)))
        .collect();
    let ids: Vec<String> = stamps.keys().map(|s| s.to_string()).collect();
    let object = &leg.object;
    let soql = |list: &str| {
        format!("SELECT Id, SystemModstamp, {field} FROM {object} WHERE Id IN ({list})")
    };
    let fresh = crate::convert::query_all_ids(&conn.client, &ids, soql)
        .await
        .map_err(|source| EngineError::Api {
            org: leg.org.clone(),
            source,
        })?;
    Ok(fresh
        .iter()
        .filter_map(|r| {
            let id = r.get("Id")?.as_str()?;
            let at = sfclient::values::get_datetime(r, "SystemModstamp").ok()??;
            let unchanged = stamps
                .get(id)
                .is_some_and(|s| *s == orgsync_core::model::truncate_ms(at));
            let empty = r.get(field).is_none_or(serde_json::Value::is_null);
            (unchanged && empty).then(|| id.to_string())
        })
        .collect())
}

/// Where a parent stands in the capturing org.
enum There {
    /// In the recycle bin.
    Binned,
    /// Live, with its `SystemModstamp`.
    Live(DateTime<Utc>),
}

/// Where each of `local` (local id → global id) stands in the capturing org (records not
/// found there, purged, are left out).
async fn ask_org<S: Store>(
    ingest: &Ingest<S>,
    leg: &Leg,
    object: &str,
    local: &HashMap<String, GlobalId>,
) -> Result<Vec<(GlobalId, There)>, EngineError> {
    if local.is_empty() {
        return Ok(Vec::new());
    }
    let Some(conn) = ingest.orgs.get(&leg.org).and_then(|o| o.conn()) else {
        return Ok(Vec::new());
    };
    let ids: Vec<String> = local.keys().cloned().collect();
    let soql = |list: &str| {
        format!("SELECT Id, IsDeleted, SystemModstamp FROM {object} WHERE Id IN ({list})")
    };
    let rows = crate::convert::query_all_ids(&conn.client, &ids, soql)
        .await
        .map_err(|source| EngineError::Api {
            org: leg.org.clone(),
            source,
        })?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let gid = local.get(r.get("Id")?.as_str()?)?.clone();
            if r.get("IsDeleted")?.as_bool()? {
                return Some((gid, There::Binned));
            }
            let at = sfclient::values::get_datetime(r, "SystemModstamp").ok()??;
            Some((gid, There::Live(orgsync_core::model::truncate_ms(at))))
        })
        .collect())
}
