//! One polling cycle of one (org, sync).
//!
//! Query: `SELECT <needed fields>, Id, SystemModstamp, IsDeleted, <global id field> FROM X
//! WHERE SystemModstamp >= <watermark − lookback> [AND (<row criteria>)] ORDER BY
//! SystemModstamp, Id`, sent as ONE `queryAll` so live and deleted rows come together (cheaper
//! than a query plus a deleted query). The look-back overlap re-reads a few seconds behind the
//! watermark, so rows committed late with an older SystemModstamp, and ties on the watermark,
//! are never skipped; rows the ledger already saw at the same SystemModstamp are dropped here.
//! Idle cost: one API call per (org, object) per interval.
//!
//! Rows are processed in chunks of one query page; each chunk is committed with the checkpoint
//! at its last row in one transaction (`Store::commit_capture`), so a crash re-reads at most
//! one page.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use futures::StreamExt;
use orgsync_core::config::{ParentPolicy, Start, SyncSettings};
use orgsync_core::mapping::{object_name, synced_fields};
use orgsync_core::merge::RecordState;
use orgsync_core::pipeline::{self, Dropped, Ledger};
use orgsync_core::{Change, ChangeKind, GlobalId, OrgName, Origin};
use orgsync_store::{
    AgreedWrite, CaptureBatch, CheckpointWrite, NewConflict, NewItem, RecordRow, RecordWrite,
    SourceKind, Store,
};
use sfclient::Record;

use crate::convert::from_json;
use crate::error::EngineError;
use crate::shared::{Counters, Shared};

/// Rows per committed chunk (one query page).
const CHUNK: usize = 2000;

/// One captured row.
struct Row {
    id: String,
    modstamp: chrono::DateTime<Utc>,
    deleted: bool,
    gid_field: Option<GlobalId>,
    fields: orgsync_core::model::Fields,
}

/// Run one cycle; returns how many rows were new.
pub(crate) async fn cycle<S: Store>(
    sh: &Shared<S>,
    org: &OrgName,
    sync_idx: usize,
) -> Result<u64, EngineError> {
    let sync = &sh.settings.syncs[sync_idx];
    let side = sh.source_side(org);
    let object = object_name(sync, side).to_string();
    let conn = sh
        .orgs
        .get(org)
        .ok_or_else(|| EngineError::Config(format!("org {org} is not logged in")))?;
    let wanted = synced_fields(sync, side);
    let mut select: Vec<String> = vec![
        "Id".into(),
        "SystemModstamp".into(),
        "IsDeleted".into(),
        sync.global_id_field.clone(),
    ];
    for f in wanted.iter() {
        if !select.iter().any(|s| s.eq_ignore_ascii_case(f)) {
            select.push(f.clone());
        }
    }
    let cp = sh.store.checkpoint(org, &object, SourceKind::Poll).await?;
    let lookback = chrono::TimeDelta::from_std(sh.settings.engine.lookback).unwrap_or_default();
    let from = match cp.as_ref().and_then(|c| c.watermark_ts) {
        Some(ts) => Some(ts - lookback),
        None => match &sync.start {
            Start::Everything => None,
            Start::At(t) => Some(*t),
            Start::Relative(d) => {
                Some(Utc::now() - chrono::TimeDelta::from_std(*d).unwrap_or_default())
            }
        },
    };
    let mut conds = Vec::new();
    if let Some(t) = from {
        conds.push(format!(
            "SystemModstamp >= {}",
            sfclient::values::soql_datetime(&t)
        ));
    }
    if let Some(w) = &sync.where_clause {
        conds.push(format!("({w})"));
    }
    let soql = format!(
        "SELECT {} FROM {object}{} ORDER BY SystemModstamp, Id",
        select.join(", "),
        if conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conds.join(" AND "))
        }
    );
    let mut stream = conn.client.query_all(&soql);
    let mut chunk: Vec<Row> = Vec::new();
    let mut new_rows = 0;
    while let Some(rec) = stream.next().await {
        let rec = rec.map_err(|source| EngineError::Api {
            org: org.clone(),
            source,
        })?;
        if let Some(row) = to_row(&rec, sync, &wanted) {
            chunk.push(row);
        }
        if chunk.len() >= CHUNK {
            new_rows += commit_chunk(sh, org, sync, &object, std::mem::take(&mut chunk)).await?;
        }
    }
    if !chunk.is_empty() {
        new_rows += commit_chunk(sh, org, sync, &object, chunk).await?;
    }
    Ok(new_rows)
}

fn to_row(rec: &Record, sync: &SyncSettings, wanted: &[String]) -> Option<Row> {
    let id = rec.get("Id")?.as_str()?.to_string();
    let modstamp = sfclient::values::get_datetime(rec, "SystemModstamp").ok()??;
    let deleted = rec.get("IsDeleted").and_then(|v| v.as_bool()) == Some(true);
    let gid_field = rec
        .get(&sync.global_id_field)
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse().ok());
    let fields = wanted
        .iter()
        .filter_map(|f| {
            let v = rec
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(f))
                .map(|(_, v)| v)?;
            Some((f.clone(), from_json(v)))
        })
        .collect();
    Some(Row {
        id,
        modstamp: orgsync_core::model::truncate_ms(modstamp),
        deleted,
        gid_field,
        fields,
    })
}

/// The lookups' parents known to the ledger: (parent object on this org, local id) → gid.
async fn parent_ids<S: Store>(
    sh: &Shared<S>,
    org: &OrgName,
    sync: &SyncSettings,
    rows: &[&Row],
) -> Result<HashMap<(String, String), GlobalId>, EngineError> {
    let side = sh.source_side(org);
    let mut out = HashMap::new();
    for p in &sync.parents {
        let ParentPolicy::Sync {
            object,
            target_object,
        } = &p.policy
        else {
            continue;
        };
        let field = if side { &p.field } else { &p.target_field };
        let parent_object = if side { object } else { target_object };
        let ids: Vec<String> = rows
            .iter()
            .filter_map(|r| {
                r.fields
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(field))
                    .and_then(|(_, v)| match v {
                        orgsync_core::FieldValue::Text(t) => Some(t.clone()),
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

async fn commit_chunk<S: Store>(
    sh: &Shared<S>,
    org: &OrgName,
    sync: &SyncSettings,
    object: &str,
    rows: Vec<Row>,
) -> Result<u64, EngineError> {
    let Some(last) = rows.last() else {
        return Ok(0);
    };
    let checkpoint = CheckpointWrite {
        org: org.clone(),
        object: object.to_string(),
        source: SourceKind::Poll,
        watermark_ts: Some(last.modstamp),
        watermark_id: Some(last.id.clone()),
        replay_id: None,
    };
    let sync_idx = sh
        .settings
        .syncs
        .iter()
        .position(|s| std::ptr::eq(s, sync))
        .unwrap_or(0);
    let _serial = sh.capture_locks[sync_idx].lock().await;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let known: HashMap<String, RecordRow> = sh
        .store
        .records_by_local_ids(org, object, &ids)
        .await?
        .into_iter()
        .filter_map(|r| r.local_id.clone().map(|l| (l, r)))
        .collect();
    let org_id = sh
        .org_id(org)
        .ok_or_else(|| EngineError::Config(format!("org {org} has no org id")))?;
    // drop rows already seen at this SystemModstamp, and deletes of records never synced
    let rows: Vec<(Row, GlobalId, Option<&RecordRow>)> = rows
        .into_iter()
        .filter_map(|r| {
            let k = known.get(&r.id);
            if k.is_some_and(|k| k.last_modstamp.is_some_and(|m| m >= r.modstamp)) {
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
        checkpoint: Some(checkpoint),
        ..CaptureBatch::default()
    };
    if rows.is_empty() {
        sh.store.commit_capture(batch, Utc::now()).await?;
        return Ok(0);
    }
    let row_refs: Vec<&Row> = rows.iter().map(|(r, _, _)| r).collect();
    let parents = parent_ids(sh, org, sync, &row_refs).await?;
    let gids: Vec<GlobalId> = rows.iter().map(|(_, g, _)| g.clone()).collect();
    let mut states = crate::capture::state::load(sh, sync, &gids).await?;
    let id_of = |o: &OrgName| sh.org_id(o);
    let global_id_of = |_o: &OrgName, obj: &str, id: &str| {
        parents
            .get(&(obj.to_ascii_lowercase(), id.to_string()))
            .cloned()
    };
    let seen = HashSet::new();
    let ledger = Ledger {
        org_id: &id_of,
        global_id_of: &global_id_of,
        seen_txns: &seen,
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
                object: object.to_string(),
                record_id: row.id.clone(),
                global_id: Some(gid.clone()),
                fields: if kind == ChangeKind::Upsert {
                    row.fields.clone()
                } else {
                    Default::default()
                },
                commit_ts: row.modstamp,
                origin: Origin {
                    org: org.clone(),
                    client_tag: None,
                    via_push_from: None,
                },
                kind,
                txn_id: txn_id(org, &row.id, row.modstamp, kind),
            };
            let out = pipeline::process(&sh.settings, sync, &change, &state, ledger)?;
            if matches!(out.dropped, Some(Dropped::NoChange | Dropped::OwnWrite)) {
                Counters::add(&sh.counters.echoes_dropped, 1);
            }
            for item in out.items {
                batch.items.push(
                    NewItem::new(item, row.modstamp)
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
            if let Some(fix) =
                super::correct::correction(sync, org, side, gid, &row.fields, &state, &batch.items)
            {
                batch.items.push(fix);
            }
        }
        let mut rw = RecordWrite::new(org.clone(), object, gid.clone());
        rw.local_id = Some(row.id.clone());
        rw.shadow = state.shadows.get(org).cloned().unwrap_or_default();
        rw.deleted = Some(row.deleted);
        rw.modstamp = Some(row.modstamp);
        batch.records.push(rw);
        batch.agreed.push(AgreedWrite {
            object: sync.object.clone(),
            global_id: gid.clone(),
            fields: state.agreed.clone(),
        });
    }
    let queued = !batch.items.is_empty();
    sh.store.commit_capture(batch, now).await?;
    Counters::add(&sh.counters.captured, n);
    if queued {
        sh.wake_workers();
    }
    Ok(n)
}

/// A poll has no transaction id: the record, its SystemModstamp and the kind identify the
/// change uniquely, and a re-read of the same row yields the same id (dropped as a replay).
fn txn_id(org: &OrgName, id: &str, modstamp: chrono::DateTime<Utc>, kind: ChangeKind) -> String {
    let h = blake3::hash(format!("{org}|{id}|{}|{kind:?}", modstamp.timestamp_millis()).as_bytes());
    format!("poll:{}", &h.to_hex()[..32])
}
