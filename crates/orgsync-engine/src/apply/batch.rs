//! One round of writes to one org: plan the claimed items (parents before children, ≤200 per
//! call, children of parents not yet landed → Pending), write each batch with one sObject
//! Collections call, and turn every per-record result into a ledger completion.
//!
//! Undelete: Salesforce REST has no undelete call, so an undelete is re-created by an upsert
//! on the global id from the values the ledger last knew in that org (its shadow). The old
//! copy stays in the target's recycle bin and the record gets a new local id there; the id
//! map follows.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use orgsync_core::mapping::{PayloadValue, from_merge_keys, payload_values, to_merge_keys};
use orgsync_core::merge::ShadowValue;
use orgsync_core::plan::{ObjectOrder, PendingReason, plan};
use orgsync_core::retry::budget::{Governor, WorkClass};
use orgsync_core::{FieldValue, GlobalId, Op, OrgName, SyncItem};
use orgsync_store::{Completion, Item, ItemError, Outcome, RecordWrite, Store};
use serde_json::Value;
use sfclient::{ErrorKind, ItemResult, Record};

use crate::convert::payload_record;
use crate::failure::{self, OrgAction};
use crate::shared::{OrgConn, Shared};

/// What a round did.
#[derive(Debug, Default)]
pub(crate) struct RoundResult {
    pub completions: Vec<Completion>,
    /// Per API call: whether it went through (for the circuit breaker).
    pub calls: Vec<bool>,
    pub org_action: OrgAction,
    pub synced: u64,
    pub failed: u64,
}

type Key = (String, GlobalId);

fn key(object: &str, gid: &GlobalId) -> Key {
    (object.to_ascii_lowercase(), gid.clone())
}

/// Write `items` to `org`.
pub(crate) async fn run<S: Store>(
    sh: &Shared<S>,
    org: &OrgName,
    conn: &OrgConn,
    governor: &Governor,
    items: Vec<Item>,
) -> RoundResult {
    let mut out = RoundResult::default();
    let owner = items
        .first()
        .and_then(|i| i.lease.as_ref().map(|l| l.owner.clone()))
        .unwrap_or_default();
    let by_key: HashMap<Key, &Item> = items
        .iter()
        .map(|i| (key(&i.work.object, &i.work.global_id), i))
        .collect();
    let landed = landed_parents(sh, org, &items).await;
    let order = ObjectOrder::from_settings(&sh.settings);
    let planned = plan(
        items.iter().map(|i| i.work.clone()).collect(),
        &order,
        sh.settings.engine.batch_size,
        &|_, g| landed.contains_key(g),
    );
    let now = Utc::now();
    for (work, reason) in planned.pending {
        let Some(item) = by_key.get(&key(&work.object, &work.global_id)) else {
            continue;
        };
        let outcome = match reason {
            PendingReason::MissingParent(p) => Outcome::Pending {
                parent: p.global_id,
                error: None,
            },
            PendingReason::ParentCycle => {
                out.failed += 1;
                Outcome::Failed {
                    error: ItemError {
                        code: "PARENT_CYCLE".into(),
                        message: "records of this batch reference each other in a loop".into(),
                        kind: "permanent".into(),
                    },
                }
            }
        };
        out.completions.push(completion(item.id, &owner, outcome));
    }
    for batch in planned.batches {
        let items: Vec<&Item> = batch
            .items
            .iter()
            .filter_map(|w| by_key.get(&key(&w.object, &w.global_id)).copied())
            .collect();
        if !governor.admits(WorkClass::of(batch.op, false)) {
            let at = now + chrono::TimeDelta::minutes(5);
            for it in items {
                let error = ItemError {
                    code: "BUDGET".into(),
                    message: "paused by the API budget governor".into(),
                    kind: "quota".into(),
                };
                out.completions
                    .push(completion(it.id, &owner, Outcome::RetryAt { at, error }));
            }
            continue;
        }
        let sent_at = Utc::now();
        let results = match batch.op {
            Op::Upsert => upsert(sh, org, conn, &batch.object, &batch.items, &landed).await,
            Op::Undelete => undelete(sh, org, conn, &batch.object, &batch.items, &landed).await,
            Op::Delete => delete(sh, org, conn, &batch.object, &batch.items).await,
        };
        let whole_call_failed = !results.is_empty()
            && results.iter().all(|r| {
                r.as_ref()
                    .is_err_and(|e| matches!(e.kind(), ErrorKind::Retryable | ErrorKind::Auth))
            });
        out.calls.push(!whole_call_failed);
        for ((it, work), result) in items.iter().zip(&batch.items).zip(results) {
            let outcome = match result {
                Ok(saved) => {
                    out.synced += 1;
                    Outcome::Synced {
                        record: written(sh, org, work, saved.id, sent_at),
                    }
                }
                Err(e) => {
                    let parent = e
                        .missing_parent()
                        .and_then(|m| m.value.parse::<GlobalId>().ok())
                        .or_else(|| {
                            work.parents
                                .iter()
                                .find(|p| !landed.contains_key(&p.global_id))
                                .map(|p| p.global_id.clone())
                        })
                        .filter(|g| !landed.contains_key(g));
                    let (o, action) = failure::outcome(&e, it.attempts, parent, Utc::now());
                    if matches!(o, Outcome::Failed { .. }) {
                        out.failed += 1;
                    }
                    if action != OrgAction::None {
                        out.org_action = action;
                    }
                    o
                }
            };
            out.completions.push(completion(it.id, &owner, outcome));
        }
    }
    out
}

fn completion(id: orgsync_store::ItemId, owner: &str, outcome: Outcome) -> Completion {
    Completion {
        id,
        lease_owner: owner.to_string(),
        outcome,
        follow_ups: Vec::new(),
        detail: Value::Null,
    }
}

/// Parents referenced by the items that exist in `org`: global id → local id.
async fn landed_parents<S: Store>(
    sh: &Shared<S>,
    org: &OrgName,
    items: &[Item],
) -> HashMap<GlobalId, String> {
    let mut wanted: BTreeMap<String, HashSet<GlobalId>> = BTreeMap::new();
    for it in items {
        for p in &it.work.parents {
            wanted
                .entry(p.object.clone())
                .or_default()
                .insert(p.global_id.clone());
        }
    }
    let mut out = HashMap::new();
    for (object, gids) in wanted {
        let gids: Vec<GlobalId> = gids.into_iter().collect();
        if let Ok(rows) = sh.store.records(org, &object, &gids).await {
            for r in rows {
                if let (Some(l), false) = (r.local_id, r.deleted) {
                    out.insert(r.global_id, l);
                }
            }
        }
    }
    out
}

/// The target's record row after a successful write: its local id, and the shadow of what it
/// now holds.
fn written<S>(
    sh: &Shared<S>,
    org: &OrgName,
    work: &SyncItem,
    local_id: String,
    at: DateTime<Utc>,
) -> RecordWrite {
    let mut rw = RecordWrite::new(org.clone(), work.object.clone(), work.global_id.clone());
    rw.local_id = (!local_id.is_empty()).then_some(local_id);
    rw.deleted = Some(work.op == Op::Delete);
    if work.op == Op::Upsert
        && let Some(sync) = sh.sync_for(org, &work.object)
    {
        // lookups in their canonical form, the parent's global id (see
        // `orgsync_core::mapping::canonical_lookups`): what the next poll turns them into
        let mut fields = payload_values(&work.payload);
        for (f, v) in &work.payload {
            if let PayloadValue::Reference { global_id, .. } = v {
                fields.insert(f.clone(), FieldValue::Text(global_id.to_string()));
            }
        }
        rw.shadow = to_merge_keys(sync, sh.source_side(org), &fields)
            .into_iter()
            .map(|(k, value)| (k, ShadowValue { value, at }))
            .collect();
    }
    rw
}

fn gid_field<S>(sh: &Shared<S>, org: &OrgName, object: &str) -> String {
    sh.sync_for(org, object).map_or_else(
        || orgsync_core::config::DEFAULT_GLOBAL_ID_FIELD.to_string(),
        |s| s.global_id_field.clone(),
    )
}

/// Upsert on the global id; records the ledger already knows a local id for in this org are
/// updated by Id instead (the origin org's own records do not carry the global id until we
/// write it, and an upsert on it there would create a duplicate). At most two calls per batch.
async fn upsert<S: Store>(
    sh: &Shared<S>,
    org: &OrgName,
    conn: &OrgConn,
    object: &str,
    items: &[SyncItem],
    landed: &HashMap<GlobalId, String>,
) -> Vec<ItemResult> {
    let field = gid_field(sh, org, object);
    let gids: Vec<GlobalId> = items.iter().map(|w| w.global_id.clone()).collect();
    let local = local_ids(sh, org, object, &gids).await;
    let mut updates = Vec::new();
    let mut upserts = Vec::new();
    let mut slots = Vec::with_capacity(items.len());
    for w in items {
        let mut r = payload_record(&w.payload, landed);
        r.insert(field.clone(), Value::String(w.global_id.to_string()));
        match local.get(&w.global_id) {
            Some(id) => {
                r.insert("Id".into(), Value::String(id.clone()));
                slots.push(true);
                updates.push(r);
            }
            None => {
                slots.push(false);
                upserts.push(r);
            }
        }
    }
    let client = conn.client.clone();
    let obj = object.to_string();
    let mut updated = if updates.is_empty() {
        Vec::new()
    } else {
        off_task(move || async move { client.update_many(&obj, &updates).await }).await
    }
    .into_iter();
    let client = conn.client.clone();
    let obj = object.to_string();
    let mut upserted = if upserts.is_empty() {
        Vec::new()
    } else {
        off_task(move || async move { client.upsert_many(&obj, &field, &upserts).await }).await
    }
    .into_iter();
    slots
        .into_iter()
        .map(|is_update| {
            let next = if is_update {
                updated.next()
            } else {
                upserted.next()
            };
            next.unwrap_or_else(|| Err(sfclient::SfError::Config("missing result".into())))
        })
        .collect()
}

async fn local_ids<S: Store>(
    sh: &Shared<S>,
    org: &OrgName,
    object: &str,
    gids: &[GlobalId],
) -> HashMap<GlobalId, String> {
    sh.store
        .records(org, object, gids)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| !r.deleted)
        .filter_map(|r| r.local_id.map(|l| (r.global_id, l)))
        .collect()
}

async fn undelete<S: Store>(
    sh: &Shared<S>,
    org: &OrgName,
    conn: &OrgConn,
    object: &str,
    items: &[SyncItem],
    landed: &HashMap<GlobalId, String>,
) -> Vec<ItemResult> {
    let field = gid_field(sh, org, object);
    let gids: Vec<GlobalId> = items.iter().map(|w| w.global_id.clone()).collect();
    let rows: HashMap<GlobalId, _> = sh
        .store
        .records(org, object, &gids)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|r| (r.global_id.clone(), r))
        .collect();
    let sync = sh.sync_for(org, object);
    let side = sh.source_side(org);
    let mut payloads = Vec::with_capacity(items.len());
    for w in items {
        let mut payload = orgsync_core::mapping::Payload::new();
        if let (Some(row), Some(sync)) = (rows.get(&w.global_id), sync) {
            let merged: orgsync_core::model::Fields = row
                .shadow
                .iter()
                .map(|(k, v)| (k.clone(), v.value.clone()))
                .collect();
            for (k, v) in from_merge_keys(sync, side, &merged) {
                payload.insert(k, PayloadValue::value(v));
            }
            shadow_lookups(sh, sync, side, &mut payload);
        }
        payloads.push(payload);
    }
    // parents of the restored lookups: their local ids in this org, where known
    let mut parents = landed.clone();
    let wanted: Vec<GlobalId> = payloads
        .iter()
        .flat_map(|p| p.values())
        .filter_map(|v| match v {
            PayloadValue::Reference { global_id, .. } => Some(global_id.clone()),
            _ => None,
        })
        .filter(|g| !parents.contains_key(g))
        .collect();
    if !wanted.is_empty()
        && let Some(sync) = sync
    {
        for p in &sync.parents {
            if let orgsync_core::config::ParentPolicy::Sync {
                object,
                target_object,
            } = &p.policy
            {
                let obj = if side { object } else { target_object };
                for r in sh
                    .store
                    .records(org, obj, &wanted)
                    .await
                    .unwrap_or_default()
                {
                    if let (Some(l), false) = (r.local_id, r.deleted) {
                        parents.insert(r.global_id, l);
                    }
                }
            }
        }
    }
    let records: Vec<Record> = items
        .iter()
        .zip(&payloads)
        .map(|(w, payload)| {
            let mut rec = payload_record(payload, &parents);
            rec.insert(field.clone(), Value::String(w.global_id.to_string()));
            rec
        })
        .collect();
    let (client, object) = (conn.client.clone(), object.to_string());
    off_task(move || async move { client.upsert_many(&object, &field, &records).await }).await
}

/// Turn the canonical lookups of a payload rebuilt from a shadow (the parent's global id as
/// text) back into references, so they are written as the parent's local id or by external id.
fn shadow_lookups<S>(
    sh: &Shared<S>,
    sync: &orgsync_core::config::SyncSettings,
    side: bool,
    payload: &mut orgsync_core::mapping::Payload,
) {
    for p in &sync.parents {
        let orgsync_core::config::ParentPolicy::Sync { object, .. } = &p.policy else {
            continue;
        };
        let name = if side { &p.field } else { &p.target_field };
        let Some(value) = payload
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
        else {
            continue;
        };
        let PayloadValue::Value {
            value: FieldValue::Text(t),
        } = value
        else {
            continue;
        };
        let Ok(global_id) = t.parse::<GlobalId>() else {
            continue;
        };
        let external_field = sh
            .settings
            .syncs
            .iter()
            .find(|s| s.object.eq_ignore_ascii_case(object))
            .map_or(sync.global_id_field.clone(), |s| s.global_id_field.clone());
        *value = PayloadValue::Reference {
            relationship: if side {
                p.source_relationship.clone()
            } else {
                p.target_relationship.clone()
            },
            external_field,
            global_id,
        };
    }
}

async fn delete<S: Store>(
    sh: &Shared<S>,
    org: &OrgName,
    conn: &OrgConn,
    object: &str,
    items: &[SyncItem],
) -> Vec<ItemResult> {
    let field = gid_field(sh, org, object);
    let gids: Vec<GlobalId> = items.iter().map(|w| w.global_id.clone()).collect();
    let mut local: HashMap<GlobalId, String> = sh
        .store
        .records(org, object, &gids)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| r.local_id.map(|l| (r.global_id, l)))
        .collect();
    let unknown: Vec<&GlobalId> = gids.iter().filter(|g| !local.contains_key(g)).collect();
    if !unknown.is_empty() {
        let list = unknown
            .iter()
            .map(|g| sfclient::values::soql_string(&g.to_string()))
            .collect::<Vec<_>>()
            .join(", ");
        let soql = format!("SELECT Id, {field} FROM {object} WHERE {field} IN ({list})");
        if let Ok(page) = conn.client.query_page(&soql, false).await {
            for r in page.records {
                let id = r.get("Id").and_then(|v| v.as_str());
                let g = r
                    .get(&field)
                    .and_then(|v| v.as_str())
                    .and_then(|s| s.parse().ok());
                if let (Some(id), Some(g)) = (id, g) {
                    local.insert(g, id.to_string());
                }
            }
        }
    }
    let ids: Vec<String> = gids.iter().filter_map(|g| local.get(g).cloned()).collect();
    let client = conn.client.clone();
    let mut results = off_task(move || async move { client.delete_many(&ids).await })
        .await
        .into_iter();
    gids.iter()
        .map(|g| match local.get(g) {
            // nothing to delete there: the record never landed
            None => Ok(sfclient::Saved {
                id: String::new(),
                created: None,
            }),
            Some(id) => match results.next() {
                Some(Err(e)) if e.code() == Some("ENTITY_IS_DELETED") => Ok(sfclient::Saved {
                    id: id.clone(),
                    created: None,
                }),
                Some(r) => r,
                None => Ok(sfclient::Saved {
                    id: id.clone(),
                    created: None,
                }),
            },
        })
        .collect()
}

/// Run a collections call on a blocking thread driven by the runtime's handle.
///
/// Why: sfclient's chunked collections futures (`stream::iter(..).map(closure).buffered(..)`)
/// hit rustc's higher-ranked `Send` limitation (rust-lang/rust#102211), so a task holding one
/// cannot be `tokio::spawn`ed. Building the future on another thread sidesteps the proof; the
/// cost is one blocking thread per call in flight.
async fn off_task<F, Fut>(make: F) -> Vec<ItemResult>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Vec<ItemResult>>,
{
    let handle = tokio::runtime::Handle::current();
    match tokio::task::spawn_blocking(move || handle.block_on(make())).await {
        Ok(r) => r,
        Err(e) => vec![Err(sfclient::SfError::Config(format!(
            "write task failed: {e}"
        )))],
    }
}
