//! Reading the target before writing to it, where the ledger's view of it may be behind:
//!
//! - **An item taken over from a claim that never completed** (the worker died): its last
//!   write may have landed unrecorded. Its copy is looked up by Id, or by its global id when
//!   the ledger knows no Id (with `queryAll`: a copy created by that lost write and deleted
//!   since sits in the recycle bin, where an upsert would not see it and would create a
//!   second one).
//! - **Updates, deletes and undeletes in an org captured by polling** (or outbound messages,
//!   which are re-read): a poll sees only the latest state, so an edit, a delete or an
//!   undelete made there since the last read would be overwritten unseen (a user's delete
//!   undone by our undelete is never seen by any later read). One read of the records a batch
//!   writes closes that window to the moment before the write (one call per object and
//!   round). Change events need no such read: they tell every change, with its time, even
//!   one our write then overwrote.
//! - **Updates no captured change asked for** (an item with an empty payload: a parent's
//!   comeback waking its children, anti-entropy): they rest on the ledger's belief of what the
//!   copy holds, and Salesforce changes copies behind it (it clears lookups to a deleted parent
//!   and restores them on undelete, without a change event). One read of the batch's records
//!   writes only what is really missing, instead of rewriting values that are there.
//!
//! What is read is ingested like any capture; when it was news, the round decides again.

use std::collections::BTreeMap;
use std::sync::Arc;

use orgsync_core::Settings;
use orgsync_core::config::Capture;
use orgsync_core::write::Write;
use orgsync_store::{Item, Store};

use super::decide::RoundPlan;
use crate::capture::ingest::Ingest;
use crate::capture::poll::reread_by;
use crate::error::EngineError;
use crate::leg::{Leg, Legs};
use crate::orgs::OrgConn;

/// Copies to read before writing: by Id and by global id, per leg.
#[derive(Default)]
struct Reads {
    ids: Vec<String>,
    gids: Vec<String>,
}

/// Read (and ingest) the copies `plan`'s writes need read first; returns how many rows were
/// news to the ledger. The caller holds the locks of the items' syncs.
pub(super) async fn read_first<S: Store>(
    settings: &Settings,
    legs: &Legs,
    ingest: &Ingest<S>,
    conn: &OrgConn,
    items: &[Item],
    plan: &RoundPlan,
) -> Result<u64, EngineError> {
    let mut reads: BTreeMap<usize, (Arc<Leg>, Reads)> = BTreeMap::new();
    for it in items {
        let Some(leg) = legs.find(&it.work.target, &it.work.object) else {
            continue;
        };
        let key = (
            it.work.object.to_ascii_lowercase(),
            it.work.global_id.clone(),
        );
        let Some(d) = plan.writes.get(&key) else {
            continue;
        };
        let polled = leg.settings(settings).capture != Capture::Cdc;
        let entry = || (leg.clone(), Reads::default());
        match &d.write {
            Write::Update { local_id, .. }
                if it.reclaimed || polled || it.work.payload.is_empty() =>
            {
                let r = &mut reads.entry(leg.sync).or_insert_with(entry).1;
                r.ids.push(local_id.clone());
            }
            Write::Undelete { local_id, .. }
            | Write::Delete {
                local_id: Some(local_id),
            } if it.reclaimed || polled => {
                let r = &mut reads.entry(leg.sync).or_insert_with(entry).1;
                r.ids.push(local_id.clone());
            }
            Write::Create { .. } | Write::Delete { local_id: None } if it.reclaimed => {
                let r = &mut reads.entry(leg.sync).or_insert_with(entry).1;
                r.gids.push(it.work.global_id.to_string());
            }
            _ => {}
        }
    }
    let mut news = 0;
    for (_, (leg, r)) in reads {
        let gid_field = leg.settings(settings).global_id_field.clone();
        if !r.ids.is_empty() {
            news += reread_by(ingest, &leg, conn, "Id", &r.ids, true).await?;
        }
        if !r.gids.is_empty() {
            news += reread_by(ingest, &leg, conn, &gid_field, &r.gids, true).await?;
        }
        tracing::debug!(
            leg = %leg,
            by_id = r.ids.len(),
            by_gid = r.gids.len(),
            news,
            "read the target before writing"
        );
    }
    Ok(news)
}
