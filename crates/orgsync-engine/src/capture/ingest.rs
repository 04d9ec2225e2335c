//! One way into the ledger for every capture path: polled rows, change events, re-reads asked
//! for by an outbound message, and records pushed by a peer all become [`Captured`] rows and
//! are committed here, with the source's new checkpoint (watermark or replay id) in the same
//! transaction (`Store::commit_capture`). A crash therefore re-reads at most one chunk, and a
//! change can never be both checkpointed and lost.
//!
//! Per chunk: the ledger's record rows by local id (one query), the lookups' parents (one
//! query per lookup), the merge states (one query per org), then `pipeline::process` per
//! change. Captures of one sync are serialized (see `Shared::capture_locks`).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use orgsync_core::config::SyncSettings;
use orgsync_core::merge::RecordState;
use orgsync_core::model::Fields;
use orgsync_core::pipeline::{self, Dropped, Ledger};
use orgsync_core::{Change, ChangeKind, FieldValue, GlobalId, OrgName, Origin};
use orgsync_store::{
    AgreedWrite, CaptureBatch, CheckpointWrite, NewConflict, NewItem, RecordRow, RecordWrite, Store,
};

use crate::error::EngineError;
use crate::shared::{Counters, Shared};

/// One captured record state (or delete) of the capturing org.
#[derive(Debug, Clone)]
pub(crate) struct Captured {
    /// The record's id in the capturing org.
    pub id: String,
    /// When the change was committed there (SystemModstamp, event commit time, push time).
    pub commit_ts: DateTime<Utc>,
    /// The SystemModstamp when read by a query (polls and re-reads): rows the ledger already
    /// saw at this stamp are skipped. None for events and pushes.
    pub modstamp: Option<DateTime<Utc>>,
    pub deleted: bool,
    /// The global-id field's value as read, if any.
    pub gid_field: Option<GlobalId>,
    /// The synced fields read (all of them for a query; the changed ones for an event).
    pub fields: Fields,
    /// `client=` tag of the writer, when the source tells (change events): our own tag is an
    /// echo and is dropped.
    pub client_tag: Option<String>,
    /// A transaction id unique to this change, stable if the same change is captured again.
    pub txn_id: String,
}

/// What [`ingest`] did.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Ingested {
    /// Rows that were new to the ledger.
    pub rows: u64,
}

/// Commit `rows` captured from `org` for `sync` (object named as on that org) with
/// `checkpoint`, plus `extra_txns` marked processed (idempotency keys of pushes).
pub(crate) async fn ingest<S: Store>(
    sh: &Shared<S>,
    org: &OrgName,
    sync_idx: usize,
    rows: Vec<Captured>,
    checkpoint: Option<CheckpointWrite>,
    extra_txns: Vec<(OrgName, String)>,
) -> Result<Ingested, EngineError> {
    let sync = &sh.settings.syncs[sync_idx];
    let object = orgsync_core::mapping::object_name(sync, sh.source_side(org)).to_string();
    let mut rows = rows;
    super::names::canonical_names(sh, org, sync, &mut rows).await?;
    let _serial = sh.capture_locks[sync_idx].lock().await;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let known: HashMap<String, RecordRow> = sh
        .store
        .records_by_local_ids(org, &object, &ids)
        .await?
        .into_iter()
        .filter_map(|r| r.local_id.clone().map(|l| (l, r)))
        .collect();
    let org_id = sh.require_org_id(org)?;
    // drop rows already seen at this SystemModstamp, and deletes of records never synced
    let rows: Vec<(Captured, GlobalId, Option<&RecordRow>)> = rows
        .into_iter()
        .filter_map(|r| {
            let k = known.get(&r.id);
            if let (Some(k), Some(m)) = (k, r.modstamp)
                && k.last_modstamp.is_some_and(|seen| seen >= m)
            {
                return None;
            }
            if r.deleted && k.is_none() {
                return None;
            }
            let gid = match (k, &r.gid_field) {
                (Some(k), _) => k.global_id.clone(),
                (None, Some(g)) => g.clone(),
                (None, None) => GlobalId::new(org_id.clone(), &r.id).ok()?,
            };
            Some((r, gid, k))
        })
        .collect();
    let mut batch = CaptureBatch {
        checkpoint,
        txns: extra_txns,
        ..CaptureBatch::default()
    };
    if rows.is_empty() {
        sh.store.commit_capture(batch, Utc::now()).await?;
        return Ok(Ingested::default());
    }
    let row_refs: Vec<&Captured> = rows.iter().map(|(r, _, _)| r).collect();
    let parents = parent_ids(sh, org, sync, &row_refs).await?;
    let gids: Vec<GlobalId> = rows.iter().map(|(_, g, _)| g.clone()).collect();
    let mut states = crate::capture::state::load(sh, sync, &gids).await?;
    let id_of = |o: &OrgName| sh.org_id(o);
    let global_id_of = |_o: &OrgName, obj: &str, id: &str| {
        parents
            .get(&(obj.to_ascii_lowercase(), id.to_string()))
            .cloned()
    };
    let ledger = Ledger {
        org_id: &id_of,
        global_id_of: &global_id_of,
    };
    let now = Utc::now();
    let n = rows.len() as u64;
    for (row, gid, k) in &rows {
        let mut kinds = Vec::new();
        if row.deleted {
            kinds.push(ChangeKind::Delete);
        } else {
            if k.is_some_and(|k| k.deleted) {
                kinds.push(ChangeKind::Undelete);
            }
            kinds.push(ChangeKind::Upsert);
        }
        let mut state: RecordState = states.remove(gid).unwrap_or_default();
        for kind in kinds {
            let change = Change {
                org: org.clone(),
                object: object.clone(),
                record_id: row.id.clone(),
                global_id: Some(gid.clone()),
                fields: if kind == ChangeKind::Upsert {
                    row.fields.clone()
                } else {
                    Default::default()
                },
                commit_ts: row.commit_ts,
                origin: Origin {
                    org: org.clone(),
                    client_tag: row.client_tag.clone(),
                    via_push_from: None,
                },
                kind,
                txn_id: format!("{}:{kind:?}", row.txn_id),
                snapshot: row.modstamp.is_some(),
            };
            let out = pipeline::process(&sh.settings, sync, &change, &state, ledger)?;
            if matches!(out.dropped, Some(Dropped::NoChange | Dropped::OwnWrite)) {
                Counters::add(&sh.counters.echoes_dropped, 1);
            }
            for item in out.items {
                batch.items.push(
                    NewItem::new(item, row.commit_ts)
                        .from_source(org.clone(), row.id.clone())
                        .with_txn(change.txn_id.clone()),
                );
            }
            Counters::add(&sh.counters.conflicts, out.conflicts.len() as u64);
            for c in out.conflicts {
                batch.conflicts.push(NewConflict {
                    object: sync.object.clone(),
                    global_id: gid.clone(),
                    field: c.field,
                    incoming: c.incoming,
                    current: c.current,
                    winner: c.winner,
                    reason: format!("{:?}", c.resolution).to_ascii_lowercase(),
                    at: now,
                });
            }
            state = out.state;
        }
        if !row.deleted {
            let side = sh.source_side(org);
            if let Some(fix) = super::correct::correction(
                sync,
                org,
                side,
                gid,
                super::correct::Observed {
                    fields: &row.fields,
                    at: row.modstamp.unwrap_or(row.commit_ts),
                },
                &state,
                &batch.items,
            ) {
                batch.items.push(fix);
            }
        }
        let mut rw = RecordWrite::new(org.clone(), &object, gid.clone());
        rw.local_id = Some(row.id.clone());
        rw.shadow = state.shadows.get(org).cloned().unwrap_or_default();
        rw.deleted = Some(row.deleted);
        rw.modstamp = row.modstamp;
        batch.records.push(rw);
        batch.agreed.push(AgreedWrite {
            object: sync.object.clone(),
            global_id: gid.clone(),
            fields: state.agreed.clone(),
            life: state.life.clone(),
        });
    }
    let queued = batch.items.len() as u64;
    sh.store.commit_capture(batch, now).await?;
    Counters::add(&sh.counters.captured, n);
    if queued > 0 {
        sh.wake_workers();
    }
    Ok(Ingested { rows: n })
}

/// The lookups' parents known to the ledger: (parent object on this org, local id) → gid.
async fn parent_ids<S: Store>(
    sh: &Shared<S>,
    org: &OrgName,
    sync: &SyncSettings,
    rows: &[&Captured],
) -> Result<HashMap<(String, String), GlobalId>, EngineError> {
    let side = sh.source_side(org);
    let mut out = HashMap::new();
    for (p, parent_object) in orgsync_core::mapping::sync_parents(sync, side) {
        let field = if side { &p.field } else { &p.target_field };
        let ids: Vec<String> = rows
            .iter()
            .filter_map(|r| {
                r.fields
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(field))
                    .and_then(|(_, v)| match v {
                        FieldValue::Text(t) => Some(t.clone()),
                        _ => None,
                    })
            })
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if ids.is_empty() {
            continue;
        }
        for row in sh
            .store
            .records_by_local_ids(org, parent_object, &ids)
            .await?
        {
            if let Some(l) = row.local_id {
                out.insert((parent_object.to_ascii_lowercase(), l), row.global_id);
            }
        }
    }
    Ok(out)
}
