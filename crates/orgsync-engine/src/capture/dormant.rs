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
//!
//! The mirror case: a read showing a lookup set where the copy was known empty since its
//! parent's delete there, that parent now live again — Salesforce's undelete gave the lookup
//! back (`orgsync_core::pipeline::given_back`), which a read dated by the row's last edit made
//! look like a newer edit (chaos seed 140). The same `queryAll` of the parents tells it.

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
        // the parents a read shows set where the copy was known empty: given back by their
        // undelete there, or set by a user (see `orgsync_core::pipeline::given_back`)
        let mut behind_set: HashSet<GlobalId> = HashSet::new();
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
            match r.field(field) {
                Some(FieldValue::Null) => {
                    behind_empty.extend(parents.iter().cloned());
                    empty_rows.push((r, parents.clone()));
                }
                Some(FieldValue::Text(local))
                    if held.is_some_and(|v| matches!(v, FieldValue::Null)) =>
                {
                    let shown = known
                        .parents
                        .get(&(here.to_ascii_lowercase(), local.clone()));
                    behind_set.extend(shown.cloned());
                    all.extend(shown.cloned());
                }
                _ => {}
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
        let mut deleted_here: HashMap<GlobalId, Option<DateTime<Utc>>> = HashMap::new();
        for row in ingest.store.records(&leg.org, here, &gids).await? {
            if row.deleted {
                out.deleted.insert(row.global_id.clone());
                deleted_here.insert(row.global_id.clone(), row.deleted_at);
            }
            if let Some(l) = row.local_id {
                local.insert(l, row.global_id);
            }
        }
        // behind an empty lookup, the org says where the parent stands: the ledger may not
        // have seen its delete there yet, or its restore
        // (behind a lookup shown set, only a parent the ledger holds deleted there: one found
        // live again was given back, or set after its restore, which the row's dates settle)
        local.retain(|_, g| {
            behind_empty.contains(g) || (behind_set.contains(g) && deleted_here.contains_key(g))
        });
        for (gid, there) in ask_org(ingest, leg, here, &local).await? {
            match there {
                There::Binned => {
                    out.deleted.insert(gid);
                }
                // live there now: restored since a delete the ledger knows there (and with it
                // the lookups that delete had cleared), or never deleted there as far as the
                // ledger knows — which the row itself settles below
                There::Live(at) => {
                    if let Some(since) = deleted_here.get(&gid) {
                        out.restored.insert(gid.clone(), at);
                        if let Some(since) = *since {
                            let b = orgsync_core::pipeline::Binned { since, back: at };
                            out.binned.insert(gid.clone(), b);
                        }
                    }
                    out.deleted.remove(&gid);
                    out.live.insert(gid);
                }
            }
        }
        // a row showing the lookup empty while a parent behind it is live there: read the row
        // again, now that the parent is known live
        let unsure: Vec<&str> = empty_rows
            .iter()
            .filter(|(_, parents)| parents.iter().any(|g| out.live.contains(g)))
            .map(|(r, _)| r.id.as_str())
            .collect();
        let now: HashMap<String, bool> = lookup_now(ingest, leg, field, &unsure)
            .await?
            .into_iter()
            .collect();
        for (r, parents) in &empty_rows {
            let Some(set_now) = now.get(&r.id) else {
                continue;
            };
            let to = if *set_now {
                &mut out.refilled
            } else {
                &mut out.emptied
            };
            to.extend(parents.iter().map(|g| (r.id.clone(), g.clone())));
        }
    }
    Ok(out)
}

/// Whether each of `ids` (rows read with `field` empty) holds a value in `field` now, read
/// after their parents were found live there (rows not found are left out).
///
/// Why the row itself: a parent's undelete gives back the lookups its delete cleared (unless
/// set again meanwhile). Empty now, with the parent live, the lookup waits for no restore: it
/// was emptied by someone — an edit, however the parent's own stamp (moved by any later
/// change of the parent) compares with the row's edit (chaos seed 67). Set now, the read
/// showed it between the platform's clearing and its restore, or before an edit that set it
/// again — no edit to take (seed 73: a parent deleted and restored 17 ms apart, neither
/// captured yet, and the empty lookup read between them was written everywhere); the row's
/// newer state comes with its next capture.
async fn lookup_now<S: Store>(
    ingest: &Ingest<S>,
    leg: &Leg,
    field: &str,
    ids: &[&str],
) -> Result<Vec<(String, bool)>, EngineError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    let object = &leg.object;
    let soql = |list: &str| format!("SELECT Id, {field} FROM {object} WHERE Id IN ({list})");
    Ok(query_ids(ingest, leg, &ids, soql)
        .await?
        .iter()
        .filter_map(|r| {
            let id = r.get("Id")?.as_str()?.to_string();
            let set = r.get(field).is_some_and(|v| !v.is_null());
            Some((id, set))
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
    let ids: Vec<String> = local.keys().cloned().collect();
    let soql = |list: &str| {
        format!("SELECT Id, IsDeleted, SystemModstamp FROM {object} WHERE Id IN ({list})")
    };
    Ok(query_ids(ingest, leg, &ids, soql)
        .await?
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

/// One `queryAll` by id in the capturing org (nothing when it is not connected).
async fn query_ids<S: Store>(
    ingest: &Ingest<S>,
    leg: &Leg,
    ids: &[String],
    soql: impl Fn(&str) -> String,
) -> Result<Vec<sfclient::Record>, EngineError> {
    let Some(conn) = ingest.orgs.get(&leg.org).and_then(|o| o.conn()) else {
        return Ok(Vec::new());
    };
    crate::convert::query_all_ids(&conn.client, ids, soql)
        .await
        .map_err(|source| EngineError::Api {
            org: leg.org.clone(),
            source,
        })
}

/// A child's lookup (`field` on the capturing org's `object`, merge key `key`) pointing at a
/// parent that came back.
pub(crate) struct ChildLookup<'a> {
    pub object: &'a str,
    pub field: &'a str,
    pub key: &'a str,
}

/// Of `kids` (children whose copy in the capturing org was known to point at `back`'s parent),
/// those whose lookup Salesforce gave back with the parent's undelete just captured there
/// (`orgsync_core::pipeline::given_back`, each row read again: one `queryAll`): the shadow
/// writes saying they hold it since the undelete.
///
/// Why here, when the parent's undelete is captured: once that is in the ledger, the child's
/// next read no longer finds the parent deleted there, and its lookup, dated by the child's
/// last edit, looked like a user's newer edit (chaos seed 140). Held as the copy's value, it
/// is no edit when read, and the copy is written the agreed value again.
pub(crate) async fn given_back_children<S: Store>(
    ingest: &Ingest<S>,
    leg: &Leg,
    child: ChildLookup<'_>,
    back: &super::plan::Comeback,
    kids: &[GlobalId],
) -> Result<Vec<orgsync_store::RecordWrite>, EngineError> {
    let Some(binned) = back.binned else {
        return Ok(Vec::new());
    };
    let empty_since_bin = |s: &orgsync_core::merge::ShadowValue| {
        matches!(s.value, FieldValue::Null) && s.at >= binned.since
    };
    let mut by_local: HashMap<String, orgsync_store::RecordRow> = HashMap::new();
    for row in ingest.store.records(&leg.org, child.object, kids).await? {
        if let Some(l) = row.local_id.clone()
            && !row.deleted
            && row.shadow.get(child.key).is_some_and(empty_since_bin)
        {
            by_local.insert(l, row);
        }
    }
    if by_local.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = by_local.keys().cloned().collect();
    let (object, field) = (child.object, child.field);
    let soql = |list: &str| {
        format!(
            "SELECT Id, IsDeleted, {field}, LastModifiedDate, SystemModstamp FROM {object} WHERE Id IN ({list})"
        )
    };
    let mut out = Vec::new();
    for r in query_ids(ingest, leg, &ids, soql).await? {
        let Some(row) = r
            .get("Id")
            .and_then(|v| v.as_str())
            .and_then(|id| by_local.get(id))
        else {
            continue;
        };
        let points_back = r.get(field).and_then(|v| v.as_str()) == Some(back.local_id.as_str());
        let live = r.get("IsDeleted").and_then(|v| v.as_bool()) == Some(false);
        let date = |name| {
            sfclient::values::get_datetime(&r, name)
                .ok()
                .flatten()
                .map(orgsync_core::model::truncate_ms)
        };
        let (Some(edited), Some(stamp)) = (date("LastModifiedDate"), date("SystemModstamp")) else {
            continue;
        };
        let shadow = row.shadow.get(child.key);
        if points_back && live && orgsync_core::pipeline::given_back(shadow, binned, edited, stamp)
        {
            let held = orgsync_core::merge::ShadowValue::new(
                FieldValue::Text(back.parent.to_string()),
                binned.back,
            )
            .replacing(shadow);
            let mut w = orgsync_store::RecordWrite::new(
                leg.org.clone(),
                child.object,
                row.global_id.clone(),
            );
            w.shadow.insert(child.key.to_string(), held);
            tracing::debug!(org = %leg.org, record = ?row.local_id, field = child.key, parent = %back.parent, "lookup given back by its parent's undelete: held, not an edit");
            out.push(w);
        }
    }
    Ok(out)
}
