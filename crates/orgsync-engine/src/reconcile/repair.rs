//! Queuing the repairs a pass found, through the ledger like any change:
//!
//! - [`Fix::Propagate`]: the copies are ingested as captured rows (a missed change; a new
//!   record; a copy carrying a global id the ledger never saw), so the merge, the conflict
//!   policy and routing decide, exactly as if capture had seen them.
//! - [`Fix::Restore`], [`Fix::Adopt`], [`Fix::Recreate`]: the ledger's view of the copy is
//!   corrected first (what it really holds, as of now; the id map pointed at the copy for an
//!   adoption; a copy gone marked deleted, so the writer's undelete finds it gone from the bin
//!   and creates it anew, and the id map then points at the new row), then an item is queued
//!   for the org: when claimed, the writer decides from the agreed state what the copy lacks.
//! - [`Fix::Manual`]: nothing is queued.
//!
//! Every repair is audited (`reconcile.repair`, with its class, fields and run).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use orgsync_core::merge::ShadowValue;
use orgsync_core::reconcile::{Copy, Drift, Fix};
use orgsync_core::{Op, SyncItem};
use orgsync_store::{CaptureBatch, NewAudit, NewItem, RecordWrite, Store};
use serde_json::json;

use super::read::Pass;
use crate::capture::ingest::Ingest;
use crate::error::EngineError;
use crate::leg::Leg;

/// Queue the repairs of `drifts` (of `leg`, read by `pass`); returns how many were queued
/// (items, and rows ingested as missed changes).
pub(super) async fn queue<S: Store>(
    ingest: &Ingest<S>,
    leg: &Leg,
    pass: &Pass,
    drifts: &[Drift],
    run: DateTime<Utc>,
) -> Result<u64, EngineError> {
    let now = Utc::now();
    let copies: HashMap<&str, &Copy> = pass
        .copies
        .iter()
        .map(|c| (c.local_id.as_str(), c))
        .collect();
    let mut batch = CaptureBatch::default();
    let mut propagate = Vec::new();
    for d in drifts {
        let copy = d.local_id.as_deref().and_then(|l| copies.get(l)).copied();
        let mut audit = NewAudit::new(now, "reconcile.repair");
        audit.org = Some(d.org.clone());
        audit.object = Some(leg.object.clone());
        audit.global_id = d.global_id.clone();
        audit.detail = json!({
            "class": d.class.as_str(),
            "fix": d.fix,
            "fields": d.fields,
            "local_id": d.local_id,
            "run": run,
        });
        match d.fix {
            Fix::Manual => continue,
            Fix::Propagate => {
                if let Some(row) = pass
                    .rows
                    .iter()
                    .find(|r| Some(&r.id) == d.local_id.as_ref())
                {
                    propagate.push(row.clone());
                }
            }
            Fix::Restore | Fix::Adopt | Fix::Recreate => {
                let Some(gid) = d.global_id.clone() else {
                    continue;
                };
                let mut rw = RecordWrite::new(leg.org.clone(), &leg.object, gid.clone());
                match (d.fix, copy) {
                    (Fix::Recreate, _) => {
                        rw.deleted = Some(true);
                        rw.deleted_at = Some(now);
                    }
                    (_, Some(c)) => {
                        if d.fix == Fix::Adopt {
                            rw.local_id = Some(c.local_id.clone());
                        }
                        rw.shadow = shadow(c, now);
                        rw.deleted = Some(c.deleted);
                        rw.deleted_at = Some(now);
                        rw.modstamp = Some(c.modstamp);
                    }
                    (_, None) => continue,
                }
                let deleted = pass.agreed.get(&gid).is_some_and(|s| s.is_deleted());
                let work = SyncItem {
                    target: leg.org.clone(),
                    object: leg.object.clone(),
                    global_id: gid,
                    op: if deleted { Op::Delete } else { Op::Upsert },
                    payload: Default::default(),
                    parents: Vec::new(),
                };
                batch.records.push(rw);
                batch.items.push(NewItem::new(work, now));
            }
        }
        batch.audit.push(audit);
    }
    let mut queued = batch.items.len() as u64;
    ingest.store.commit_capture(batch, now).await?;
    if !propagate.is_empty() {
        queued += propagate.len() as u64;
        ingest.commit(leg, propagate, None, Vec::new()).await?;
    }
    ingest.orgs.wake_writers();
    Ok(queued)
}

/// What a copy holds, as a shadow known as of `now` (newer than anything the ledger
/// believed of it).
fn shadow(c: &Copy, now: DateTime<Utc>) -> BTreeMap<String, ShadowValue> {
    c.fields
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), ShadowValue::new(v.clone(), now)))
        .collect()
}
