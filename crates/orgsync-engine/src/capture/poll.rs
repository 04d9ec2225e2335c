//! The poller of one leg: `SELECT Id, SystemModstamp, IsDeleted, <global id>, <fields> FROM X
//! WHERE <window> [AND (<row criteria>)] ORDER BY SystemModstamp, Id`, sent as ONE `queryAll`
//! so live and deleted rows come together (cheaper than a query plus a deleted query).
//!
//! The window: rows after the keyset of the last row read (`SystemModstamp, Id`), plus a
//! look-back behind the *previous read* — a transaction that committed after that read began
//! can carry an older SystemModstamp, and only rows that recent can have been invisible then.
//! So after a burst, an idle poll costs one call that returns nothing new: the look-back is
//! counted from the last read, not from the last change. The checkpoint stores the keyset and,
//! as its time, when the read began.
//!
//! With change events (`capture = "cdc"`) the poll is a backup: it starts only once the
//! subscription has caught up, and leaves the last [`CDC_SETTLE`] to the events, so a polled
//! row (which says when the row last changed, not when each field did) never races the precise
//! event of the same change.
//!
//! Rows are processed in chunks of one query page; each chunk is committed with the checkpoint
//! at its last row in one transaction (`Store::commit_capture`), so a crash re-reads at most one
//! page. Idle cost: one API call per leg per interval.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use futures::StreamExt;
use orgsync_core::config::{Capture, Start};
use orgsync_core::{GlobalId, Settings};
use orgsync_store::{Checkpoint, CheckpointWrite, SourceKind, Store};
use sfclient::Record;
use tokio::sync::watch;

use super::ingest::Ingest;
use super::{Captured, SourceSlot};
use crate::convert::from_json;
use crate::error::EngineError;
use crate::leg::Leg;
use crate::orgs::{Org, OrgConn};
use crate::status::StatusWriter;

/// Rows per committed chunk (one query page).
const CHUNK: usize = 2000;
/// Ids per re-read query (keeps the GET URL well under Salesforce's length limit).
const REREAD_IDS: usize = 300;
/// With change events, the backup poll leaves changes this recent to the events.
pub(crate) const CDC_SETTLE: Duration = Duration::from_secs(5);
/// How long a CDC leg's first poll waits for its subscription to catch up.
const CATCH_UP_WAIT: Duration = Duration::from_secs(30);

/// One leg's poller.
#[derive(Debug)]
pub(crate) struct Poller<S> {
    pub slot: Arc<SourceSlot>,
    pub ingest: Arc<Ingest<S>>,
    pub org: Arc<Org>,
    pub status: Arc<StatusWriter<S>>,
    /// Run the first cycle at once rather than after an interval.
    pub at_once: bool,
}

impl<S: Store> Poller<S> {
    /// Run until `stop`: a cycle at every interval, or at once when woken.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let settings = self.ingest.settings.clone();
        let leg = self.slot.leg.clone();
        let sync = leg.settings(&settings);
        let interval = sync.interval;
        let Some(conn) = self.org.connected(&mut stop).await else {
            return;
        };
        if sync.capture == Capture::Cdc {
            tokio::select! {
                _ = self.slot.wait_caught_up(CATCH_UP_WAIT) => {}
                _ = stop.changed() => return,
            }
        }
        if !self.at_once {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = self.slot.wake.notified() => {}
                _ = stop.changed() => return,
            }
        }
        let cdc = sync.capture == Capture::Cdc;
        while !*stop.borrow() {
            if cdc {
                // after an outage the subscription replays what it missed: read once it has
                // (bounded: a subscription that cannot stand leaves the poll to cover alone)
                tokio::select! {
                    _ = self.slot.wait_caught_up(CATCH_UP_WAIT) => {}
                    _ = stop.changed() => break,
                }
            }
            self.slot.started.fetch_add(1, Ordering::SeqCst);
            let result = tokio::select! {
                r = cycle(&self.ingest, &self.slot, &conn) => Some(r),
                _ = stop.changed() => None,
            };
            let Some(result) = result else { break };
            if let Err(e) = &result {
                tracing::warn!(leg = %leg, error = %e, "capture failed");
            }
            self.status.after_capture(&leg, result.err().as_ref()).await;
            self.slot.finished.fetch_add(1, Ordering::SeqCst);
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = self.slot.wake.notified() => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// The WHERE clause of a poll given its checkpoint (None before the first read), the
/// configured start, the look-back and an upper bound.
pub(crate) fn window(
    cp: Option<&Checkpoint>,
    start: &Start,
    lookback: TimeDelta,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Vec<String> {
    let dt = |t: &DateTime<Utc>| sfclient::values::soql_datetime_ms(t);
    let mut conds = Vec::new();
    match cp {
        Some(c) => {
            let late = c.updated_at - lookback;
            match (&c.watermark_ts, &c.watermark_id) {
                (Some(w), Some(id)) if late > *w => conds.push(format!(
                    "(SystemModstamp > {} OR (SystemModstamp = {} AND Id > '{}'))",
                    dt(w),
                    dt(w),
                    id.replace(['\'', '\\'], "")
                )),
                (Some(w), _) => conds.push(format!("SystemModstamp >= {}", dt(&late.min(*w)))),
                (None, _) => conds.push(format!("SystemModstamp >= {}", dt(&late))),
            }
        }
        None => match start {
            Start::Everything => {}
            Start::At(t) => conds.push(format!("SystemModstamp >= {}", dt(t))),
            Start::Relative(d) => conds.push(format!(
                "SystemModstamp >= {}",
                dt(&(now - TimeDelta::from_std(*d).unwrap_or_default()))
            )),
        },
    }
    if let Some(u) = until {
        conds.push(format!("SystemModstamp < {}", dt(&u)));
    }
    conds
}

/// Run one cycle of `leg`; returns how many rows were new.
pub(crate) async fn cycle<S: Store>(
    ingest: &Ingest<S>,
    slot: &SourceSlot,
    conn: &OrgConn,
) -> Result<u64, EngineError> {
    let leg = &slot.leg;
    let settings = &ingest.settings;
    let sync = leg.settings(settings);
    let read_at = Utc::now();
    let cp = ingest
        .store
        .checkpoint(&leg.org, &leg.object, SourceKind::Poll)
        .await?;
    let lookback = TimeDelta::from_std(settings.engine.lookback).unwrap_or_default();
    let until = match sync.capture {
        Capture::Cdc => {
            slot.poll_until(read_at, TimeDelta::from_std(CDC_SETTLE).unwrap_or_default())
        }
        _ => None,
    };
    let mut conds = window(cp.as_ref(), &sync.start, lookback, until, read_at);
    if let Some(w) = &sync.where_clause {
        conds.push(format!("({w})"));
    }
    let soql = format!(
        "SELECT {} FROM {}{} ORDER BY SystemModstamp, Id",
        select_list(settings, leg).join(", "),
        leg.object,
        if conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conds.join(" AND "))
        }
    );
    tracing::debug!(leg = %leg, soql, "poll");
    let mut stream = conn.client.query_all(&soql);
    let mut chunk: Vec<Captured> = Vec::new();
    let mut new_rows = 0;
    let mut last = cp
        .as_ref()
        .map(|c| (c.watermark_ts, c.watermark_id.clone()));
    let checkpoint = |last: &Option<(Option<DateTime<Utc>>, Option<String>)>| CheckpointWrite {
        org: leg.org.clone(),
        object: leg.object.clone(),
        source: SourceKind::Poll,
        watermark_ts: last.as_ref().and_then(|l| l.0),
        watermark_id: last.as_ref().and_then(|l| l.1.clone()),
        replay_id: None,
    };
    while let Some(rec) = stream.next().await {
        let rec = rec.map_err(|source| EngineError::Api {
            org: leg.org.clone(),
            source,
        })?;
        if let Some(row) = to_row(leg, &rec, &sync.global_id_field) {
            last = Some((row.modstamp, Some(row.id.clone())));
            chunk.push(row);
        }
        if chunk.len() >= CHUNK {
            let rows = std::mem::take(&mut chunk);
            new_rows += ingest
                .commit_at(leg, rows, Some(checkpoint(&last)), read_at)
                .await?
                .rows;
        }
    }
    // the last chunk, or just the checkpoint: its time says when this read began
    new_rows += ingest
        .commit_at(leg, chunk, Some(checkpoint(&last)), read_at)
        .await?
        .rows;
    tracing::debug!(leg = %leg, new_rows, "poll done");
    Ok(new_rows)
}

/// Re-read `ids` of `leg`'s object (live or deleted) and ingest their current state, without
/// moving any checkpoint: one `queryAll` per 300 ids. For outbound messages, change-event gaps
/// and failed writes, which say *that* a record changed but not reliably *what* it now holds.
pub(crate) async fn reread<S: Store>(
    ingest: &Ingest<S>,
    leg: &Leg,
    conn: &OrgConn,
    ids: &[String],
) -> Result<u64, EngineError> {
    reread_by(ingest, leg, conn, "Id", ids, false).await
}

/// Read the copies of `leg`'s object whose `column` (`Id`, or the global-id field) is one of
/// `values`, live or deleted, and ingest them like [`reread`].
pub(crate) async fn reread_by<S: Store>(
    ingest: &Ingest<S>,
    leg: &Leg,
    conn: &OrgConn,
    column: &str,
    values: &[String],
    held: bool,
) -> Result<u64, EngineError> {
    let settings = &ingest.settings;
    let gid_field = &leg.settings(settings).global_id_field;
    let select = select_list(settings, leg).join(", ");
    let mut n = 0;
    for part in values.chunks(REREAD_IDS) {
        let list = crate::convert::soql_in_list(part);
        let soql = format!(
            "SELECT {select} FROM {} WHERE {column} IN ({list})",
            leg.object
        );
        let mut stream = conn.client.query_all(&soql);
        let mut rows = Vec::new();
        while let Some(rec) = stream.next().await {
            let rec = rec.map_err(|source| EngineError::Api {
                org: leg.org.clone(),
                source,
            })?;
            rows.extend(to_row(leg, &rec, gid_field));
        }
        n += if held {
            ingest.commit_held(leg, rows).await?.rows
        } else {
            ingest.commit(leg, rows, None, Vec::new()).await?.rows
        };
    }
    Ok(n)
}

/// Id, SystemModstamp, LastModifiedDate, IsDeleted, the global-id field, then the synced
/// fields.
pub(crate) fn select_list(settings: &Settings, leg: &Leg) -> Vec<String> {
    let mut select: Vec<String> = vec![
        "Id".into(),
        "SystemModstamp".into(),
        "LastModifiedDate".into(),
        "IsDeleted".into(),
        leg.settings(settings).global_id_field.clone(),
    ];
    for f in &leg.fields {
        if !select.iter().any(|s| s.eq_ignore_ascii_case(f)) {
            select.push(f.clone());
        }
    }
    select
}

pub(crate) fn to_row(leg: &Leg, rec: &Record, gid_field: &str) -> Option<Captured> {
    let id = rec.get("Id")?.as_str()?.to_string();
    let modstamp = sfclient::values::get_datetime(rec, "SystemModstamp").ok()??;
    let modstamp = orgsync_core::model::truncate_ms(modstamp);
    let deleted = rec.get("IsDeleted").and_then(|v| v.as_bool()) == Some(true);
    let edited = sfclient::values::get_datetime(rec, "LastModifiedDate")
        .ok()
        .flatten()
        .map(orgsync_core::model::truncate_ms);
    let gid_field = rec
        .get(gid_field)
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse::<GlobalId>().ok());
    let fields = leg
        .fields
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
        txn_id: txn_id(leg, &id, modstamp),
        id,
        commit_ts: modstamp,
        modstamp: Some(modstamp),
        edited_ts: edited,
        deleted,
        gid_field,
        fields,
        client_tag: None,
        snapshot: true,
        partial: false,
        restored: false,
    })
}

/// A poll has no transaction id: the record and its SystemModstamp identify the change
/// uniquely, and a re-read of the same row yields the same id (dropped as a replay).
fn txn_id(leg: &Leg, id: &str, modstamp: DateTime<Utc>) -> String {
    let h = blake3::hash(format!("{}|{id}|{}", leg.org, modstamp.timestamp_millis()).as_bytes());
    format!("poll:{}", &h.to_hex()[..32])
}
