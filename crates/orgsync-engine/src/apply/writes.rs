//! The write calls of a round, one or two per planned batch: update by Id where the target's
//! copy is known, upsert on the global id to create (so a copy that landed without the ledger
//! hearing of it is updated, not duplicated), delete by Id (found by its global id when the
//! ledger knows no Id), and undelete — the copy restored from the target's recycle bin, or
//! created anew from the full agreed record when it is gone from there.

use std::collections::HashMap;

use orgsync_core::GlobalId;
use orgsync_core::mapping::Payload;
use serde_json::Value;
use sfclient::{ItemResult, Record};

use crate::convert::{Links, payload_record};
use crate::orgs::OrgConn;

/// One record of an upsert batch: its payload and, for an update, its id.
#[derive(Debug)]
pub(super) struct ToUpsert<'a> {
    pub gid: &'a GlobalId,
    pub payload: &'a Payload,
    pub local_id: Option<&'a str>,
}

fn record(gid_field: &str, gid: &GlobalId, payload: &Payload, links: &Links) -> Record {
    let mut r = payload_record(payload, links);
    r.insert(gid_field.to_string(), Value::String(gid.to_string()));
    r
}

/// Updates by Id and creates by upsert on `gid_field`: at most two calls. Results in order.
pub(super) async fn upsert(
    conn: &OrgConn,
    object: &str,
    gid_field: &str,
    items: &[ToUpsert<'_>],
    links: &Links,
) -> Vec<ItemResult> {
    let mut updates = Vec::new();
    let mut creates = Vec::new();
    for it in items {
        let mut r = record(gid_field, it.gid, it.payload, links);
        match it.local_id {
            Some(id) => {
                r.insert("Id".into(), Value::String(id.to_string()));
                updates.push(r);
            }
            None => creates.push(r),
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
    let (client, obj, field) = (
        conn.client.clone(),
        object.to_string(),
        gid_field.to_string(),
    );
    let mut created = if creates.is_empty() {
        Vec::new()
    } else {
        off_task(move || async move { client.upsert_many(&obj, &field, &creates).await }).await
    }
    .into_iter();
    items
        .iter()
        .map(|it| {
            let next = if it.local_id.is_some() {
                updated.next()
            } else {
                created.next()
            };
            next.unwrap_or_else(|| Err(sfclient::SfError::Config("missing result".into())))
        })
        .collect()
}

/// Delete by Id; records the ledger knows no Id for are looked up by `gid_field` first (one
/// query), and one found nowhere is already gone. Results in order.
/// When Salesforce stamped the records `ids` that are still deleted: one `queryAll` per 200.
/// Read after our deletes in an org captured by reads, it dates each delete as the org does,
/// so a later read showing the copy deleted with a newer stamp is known for another delete
/// (the copy was restored and deleted again in between), not ours read back. A copy restored
/// since is left out: its stamp is the restore's, which must not date our delete. Failures
/// leave the send time in place (logged).
pub(super) async fn stamps(
    conn: &OrgConn,
    object: &str,
    ids: &[String],
) -> HashMap<String, chrono::DateTime<chrono::Utc>> {
    let soql = |list: &str| {
        format!("SELECT Id, SystemModstamp FROM {object} WHERE IsDeleted = true AND Id IN ({list})")
    };
    let rows = match crate::convert::query_all_ids(&conn.client, ids, soql).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(%object, error = %e, "cannot read when our deletes landed");
            return HashMap::new();
        }
    };
    rows.iter()
        .filter_map(|r| {
            let id = r.get("Id").and_then(|v| v.as_str())?.to_string();
            let at = sfclient::values::get_datetime(r, "SystemModstamp").ok()??;
            Some((id, orgsync_core::model::truncate_ms(at)))
        })
        .collect()
}

pub(super) async fn delete(
    conn: &OrgConn,
    object: &str,
    gid_field: &str,
    items: &[(&GlobalId, Option<&str>)],
) -> Vec<ItemResult> {
    let mut local: HashMap<GlobalId, String> = items
        .iter()
        .filter_map(|(g, l)| l.map(|l| ((*g).clone(), l.to_string())))
        .collect();
    let unknown: Vec<&GlobalId> = items
        .iter()
        .filter(|(g, l)| l.is_none() && !local.contains_key(g))
        .map(|(g, _)| *g)
        .collect();
    let mut lookup_failed = None;
    if !unknown.is_empty() {
        let list = crate::convert::soql_in_list(&unknown);
        let soql = format!("SELECT Id, {gid_field} FROM {object} WHERE {gid_field} IN ({list})");
        match conn.client.query_page(&soql, false).await {
            Ok(page) => {
                for r in page.records {
                    let id = r.get("Id").and_then(|v| v.as_str());
                    let g = r
                        .get(gid_field)
                        .and_then(|v| v.as_str())
                        .and_then(|s| s.parse().ok());
                    if let (Some(id), Some(g)) = (id, g) {
                        local.insert(g, id.to_string());
                    }
                }
            }
            // never "nothing to delete" on a failed lookup: those items fail with its error
            Err(e) => lookup_failed = Some(e),
        }
    }
    let ids: Vec<String> = items
        .iter()
        .filter_map(|(g, _)| local.get(*g).cloned())
        .collect();
    let client = conn.client.clone();
    let mut results = if ids.is_empty() {
        Vec::new()
    } else {
        off_task(move || async move { client.delete_many(&ids).await }).await
    }
    .into_iter();
    items
        .iter()
        .map(|(g, known)| match local.get(*g) {
            None => match (&lookup_failed, known) {
                (Some(e), None) => Err(e.clone()),
                // looked up and found nowhere: nothing to delete
                _ => Ok(sfclient::Saved {
                    id: String::new(),
                    created: None,
                }),
            },
            // `ENTITY_IS_DELETED`: someone deleted it there first. Not our delete, so not
            // recorded as one: that delete is a life event of its own, with its own time (it
            // may be newer than an undelete elsewhere), and the stale result re-reads it
            Some(_) => results
                .next()
                .unwrap_or_else(|| Err(sfclient::SfError::Config("missing result".into()))),
        })
        .collect()
}

/// One record to restore: its id in the target, what its restored copy lacks (`then`), and
/// the full record to create if it is gone from the recycle bin.
#[derive(Debug)]
pub(super) struct ToUndelete<'a> {
    pub gid: &'a GlobalId,
    pub local_id: &'a str,
    pub then: &'a Payload,
    /// `then` writes a synced field (not only the global id and constants).
    pub update: bool,
    pub recreate: &'a Payload,
}

/// Restore deleted copies from the target's recycle bin with the SOAP `undelete()` call (one
/// call per 200; the record keeps its Id and the lookups its delete cleared), then write what
/// the restored copies lack (one update call). A copy gone from the bin (`ENTITY_IS_DELETED`,
/// `INVALID_ID_FIELD`: purged or never there) is created anew from the full agreed record by
/// upsert on the global id. Returns, per item, the result and the payload written.
pub(super) async fn undelete<'a>(
    conn: &OrgConn,
    object: &str,
    gid_field: &str,
    items: &[ToUndelete<'a>],
    links: &Links,
) -> Vec<(ItemResult, Option<&'a Payload>)> {
    let ids: Vec<String> = items.iter().map(|i| i.local_id.to_string()).collect();
    let client = conn.client.clone();
    let restored = off_task(move || async move { client.undelete_many(&ids).await }).await;
    let mut out: Vec<Option<(ItemResult, Option<&'a Payload>)>> = Vec::with_capacity(items.len());
    let mut updates: Vec<(usize, ToUpsert<'_>)> = Vec::new();
    let mut recreates: Vec<(usize, ToUpsert<'_>)> = Vec::new();
    let mut results = restored.into_iter();
    for (i, it) in items.iter().enumerate() {
        let r = results
            .next()
            .unwrap_or_else(|| Err(sfclient::SfError::Config("missing result".into())));
        match r {
            Ok(_) if it.update => {
                updates.push((
                    i,
                    ToUpsert {
                        gid: it.gid,
                        payload: it.then,
                        local_id: Some(it.local_id),
                    },
                ));
                out.push(None);
            }
            Ok(saved) => out.push(Some((Ok(saved), None))),
            Err(e) if matches!(e.code(), Some("ENTITY_IS_DELETED" | "INVALID_ID_FIELD")) => {
                recreates.push((
                    i,
                    ToUpsert {
                        gid: it.gid,
                        payload: it.recreate,
                        local_id: None,
                    },
                ));
                out.push(None);
            }
            Err(e) => out.push(Some((Err(e), None))),
        }
    }
    for (list, restored_copy) in [(updates, true), (recreates, false)] {
        if list.is_empty() {
            continue;
        }
        let calls: Vec<ToUpsert<'_>> = list
            .iter()
            .map(|(_, t)| ToUpsert {
                gid: t.gid,
                payload: t.payload,
                local_id: t.local_id,
            })
            .collect();
        let written = upsert(conn, object, gid_field, &calls, links).await;
        for ((i, _), r) in list.into_iter().zip(written) {
            let payload = if restored_copy {
                items[i].then
            } else {
                items[i].recreate
            };
            out[i] = Some(match r {
                Ok(saved) => (Ok(saved), Some(payload)),
                // restored, but what it lacks was not written: the next read of the copy
                // shows what is missing (anti-entropy), the restore itself stands
                Err(e) if restored_copy => {
                    tracing::warn!(id = items[i].local_id, error = %e, "restored, but its fields could not be written");
                    (
                        Ok(sfclient::Saved {
                            id: items[i].local_id.to_string(),
                            created: None,
                        }),
                        None,
                    )
                }
                Err(e) => (Err(e), None),
            });
        }
    }
    out.into_iter()
        .map(|o| {
            o.unwrap_or((
                Err(sfclient::SfError::Config("missing result".into())),
                None,
            ))
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
