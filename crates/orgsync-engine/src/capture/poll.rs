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

use chrono::Utc;
use futures::StreamExt;
use orgsync_core::config::{Start, SyncSettings};
use orgsync_core::mapping::{object_name, synced_fields};
use orgsync_core::{GlobalId, OrgName};
use orgsync_store::{CheckpointWrite, SourceKind, Store};
use sfclient::Record;

use super::ingest::{Captured, ingest};
use crate::convert::from_json;
use crate::error::EngineError;
use crate::shared::Shared;

/// Rows per committed chunk (one query page).
const CHUNK: usize = 2000;
/// Ids per re-read query (keeps the GET URL well under Salesforce's length limit).
const REREAD_IDS: usize = 300;

/// Run one cycle; returns how many rows were new.
pub(crate) async fn cycle<S: Store>(
    sh: &Shared<S>,
    org: &OrgName,
    sync_idx: usize,
) -> Result<u64, EngineError> {
    let sync = &sh.settings.syncs[sync_idx];
    let side = sh.source_side(org);
    let object = object_name(sync, side).to_string();
    let conn = sh.conn(org)?;
    let wanted = synced_fields(sync, side);
    let select = select_list(sync, &wanted);
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
    let mut chunk: Vec<Captured> = Vec::new();
    let mut new_rows = 0;
    let checkpoint = |rows: &[Captured]| {
        rows.last().map(|last| CheckpointWrite {
            org: org.clone(),
            object: object.clone(),
            source: SourceKind::Poll,
            watermark_ts: last.modstamp,
            watermark_id: Some(last.id.clone()),
            replay_id: None,
        })
    };
    while let Some(rec) = stream.next().await {
        let rec = rec.map_err(|source| EngineError::Api {
            org: org.clone(),
            source,
        })?;
        if let Some(row) = to_row(org, &rec, sync, &wanted) {
            chunk.push(row);
        }
        if chunk.len() >= CHUNK {
            let cp = checkpoint(&chunk);
            let rows = std::mem::take(&mut chunk);
            new_rows += ingest(sh, org, sync_idx, rows, cp, Vec::new()).await?.rows;
        }
    }
    if !chunk.is_empty() {
        let cp = checkpoint(&chunk);
        new_rows += ingest(sh, org, sync_idx, chunk, cp, Vec::new()).await?.rows;
    }
    Ok(new_rows)
}

/// Re-read `ids` of `sync`'s object in `org` (live or deleted) and ingest their current state,
/// without moving any checkpoint: one `queryAll` per 300 ids. For outbound messages and
/// change-event gaps, which say *that* a record changed but not reliably *what* it now holds.
pub(crate) async fn reread<S: Store>(
    sh: &Shared<S>,
    org: &OrgName,
    sync_idx: usize,
    ids: &[String],
) -> Result<u64, EngineError> {
    let sync = &sh.settings.syncs[sync_idx];
    let object = object_name(sync, sh.source_side(org)).to_string();
    let conn = sh.conn(org)?;
    let wanted = synced_fields(sync, sh.source_side(org));
    let select = select_list(sync, &wanted).join(", ");
    let mut n = 0;
    for part in ids.chunks(REREAD_IDS) {
        let list = crate::convert::soql_in_list(part);
        let soql = format!("SELECT {select} FROM {object} WHERE Id IN ({list})");
        let mut stream = conn.client.query_all(&soql);
        let mut rows = Vec::new();
        while let Some(rec) = stream.next().await {
            let rec = rec.map_err(|source| EngineError::Api {
                org: org.clone(),
                source,
            })?;
            rows.extend(to_row(org, &rec, sync, &wanted));
        }
        n += ingest(sh, org, sync_idx, rows, None, Vec::new())
            .await?
            .rows;
    }
    Ok(n)
}

/// Id, SystemModstamp, IsDeleted, the global-id field, then the synced fields.
fn select_list(sync: &SyncSettings, wanted: &[String]) -> Vec<String> {
    let mut select: Vec<String> = vec![
        "Id".into(),
        "SystemModstamp".into(),
        "IsDeleted".into(),
        sync.global_id_field.clone(),
    ];
    for f in wanted {
        if !select.iter().any(|s| s.eq_ignore_ascii_case(f)) {
            select.push(f.clone());
        }
    }
    select
}

fn to_row(org: &OrgName, rec: &Record, sync: &SyncSettings, wanted: &[String]) -> Option<Captured> {
    let id = rec.get("Id")?.as_str()?.to_string();
    let modstamp = sfclient::values::get_datetime(rec, "SystemModstamp").ok()??;
    let modstamp = orgsync_core::model::truncate_ms(modstamp);
    let deleted = rec.get("IsDeleted").and_then(|v| v.as_bool()) == Some(true);
    let gid_field = rec
        .get(&sync.global_id_field)
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse::<GlobalId>().ok());
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
    Some(Captured {
        txn_id: txn_id(org, &id, modstamp),
        id,
        commit_ts: modstamp,
        modstamp: Some(modstamp),
        deleted,
        gid_field,
        fields,
        client_tag: None,
    })
}

/// A poll has no transaction id: the record and its SystemModstamp identify the change
/// uniquely, and a re-read of the same row yields the same id (dropped as a replay).
fn txn_id(org: &OrgName, id: &str, modstamp: chrono::DateTime<Utc>) -> String {
    let h = blake3::hash(format!("{org}|{id}|{}", modstamp.timestamp_millis()).as_bytes());
    format!("poll:{}", &h.to_hex()[..32])
}
