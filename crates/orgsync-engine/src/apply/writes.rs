//! The write calls of a round, one per planned batch: upsert on the global id (update by Id
//! where the ledger knows the local id), undelete by re-creation, delete by local id.
//!
//! Undelete: Salesforce REST has no undelete call, so an undelete is re-created by an upsert
//! on the global id from the values the ledger last knew in that org (its shadow). The old
//! copy stays in the target's recycle bin and the record gets a new local id there; the id
//! map follows.

use std::collections::HashMap;

use orgsync_core::mapping::{PayloadValue, from_merge_keys};
use orgsync_core::{FieldValue, GlobalId, OrgName, SyncItem};
use orgsync_store::Store;
use serde_json::Value;
use sfclient::{ItemResult, Record};

use crate::convert::{Links, payload_record};
use crate::shared::{OrgConn, Shared};

pub(super) fn gid_field<S>(sh: &Shared<S>, org: &OrgName, object: &str) -> String {
    sh.sync_for(org, object).map_or_else(
        || orgsync_core::config::DEFAULT_GLOBAL_ID_FIELD.to_string(),
        |s| s.global_id_field.clone(),
    )
}

/// Upsert on the global id; records the ledger already knows a local id for in this org are
/// updated by Id instead (the origin org's own records do not carry the global id until we
/// write it, and an upsert on it there would create a duplicate). At most two calls per batch.
pub(super) async fn upsert<S: Store>(
    sh: &Shared<S>,
    org: &OrgName,
    conn: &OrgConn,
    object: &str,
    items: &[SyncItem],
    links: &Links,
) -> Vec<ItemResult> {
    let field = gid_field(sh, org, object);
    let gids: Vec<GlobalId> = items.iter().map(|w| w.global_id.clone()).collect();
    let local = local_ids(sh, org, object, &gids).await;
    let mut updates = Vec::new();
    let mut upserts = Vec::new();
    let mut slots = Vec::with_capacity(items.len());
    for w in items {
        let mut r = payload_record(&w.payload, links);
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

pub(super) async fn undelete<S: Store>(
    sh: &Shared<S>,
    org: &OrgName,
    conn: &OrgConn,
    object: &str,
    items: &[SyncItem],
    links: &Links,
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
    let mut parents = links.landed.clone();
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
        for (_, obj) in orgsync_core::mapping::sync_parents(sync, side) {
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
    let restored = Links {
        landed: parents,
        by_name: super::names::resolve(org, conn, payloads.iter()).await,
    };
    let records: Vec<Record> = items
        .iter()
        .zip(&payloads)
        .map(|(w, payload)| {
            let mut rec = payload_record(payload, &restored);
            rec.insert(field.clone(), Value::String(w.global_id.to_string()));
            rec
        })
        .collect();
    let (client, object) = (conn.client.clone(), object.to_string());
    off_task(move || async move { client.upsert_many(&object, &field, &records).await }).await
}

/// Turn the canonical lookups of a payload rebuilt from a shadow (the parent's global id or
/// Name as text) back into references, so they are written as the parent's local id, by
/// external id, or by Name.
fn shadow_lookups<S>(
    sh: &Shared<S>,
    sync: &orgsync_core::config::SyncSettings,
    side: bool,
    payload: &mut orgsync_core::mapping::Payload,
) {
    for p in &sync.parents {
        let name = if side { &p.field } else { &p.target_field };
        if let orgsync_core::config::ParentPolicy::MatchByName { object } = &p.policy
            && let Some(value) = payload
                .iter_mut()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
            && let PayloadValue::Value {
                value: FieldValue::Text(t),
            } = value
            && let Some(parent) = t.strip_prefix(orgsync_core::mapping::NAME_REF)
        {
            *value = PayloadValue::MatchByName {
                object: orgsync_core::mapping::parent_object(&sh.settings, object, side),
                name: parent.to_string(),
            };
            continue;
        }
        let orgsync_core::config::ParentPolicy::Sync { object, .. } = &p.policy else {
            continue;
        };
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

pub(super) async fn delete<S: Store>(
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
        let list = crate::convert::soql_in_list(&unknown);
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
pub(super) async fn off_task<F, Fut>(make: F) -> Vec<ItemResult>
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
