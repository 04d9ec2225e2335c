//! One round of writes to one org: plan the claimed items (parents before children, ≤200 per
//! call, children of parents not yet landed → Pending), write each batch with one sObject
//! Collections call, and turn every per-record result into a ledger completion.
//! The write calls themselves are in [`super::writes`].

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use orgsync_core::mapping::{PayloadValue, payload_values, to_merge_keys};
use orgsync_core::merge::ShadowValue;
use orgsync_core::plan::{ObjectOrder, PendingReason, plan};
use orgsync_core::retry::budget::{Governor, WorkClass};
use orgsync_core::{FieldValue, GlobalId, Op, OrgName, SyncItem};
use orgsync_store::{Completion, Item, ItemError, Outcome, RecordWrite, Store};
use serde_json::Value;
use sfclient::ErrorKind;

use super::writes::{delete, undelete, upsert};
use crate::convert::Links;
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
    let links = Links {
        by_name: super::names::resolve(org, conn, items.iter().map(|i| &i.work.payload)).await,
        landed,
    };
    let landed = &links.landed;
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
            Op::Upsert => upsert(sh, org, conn, &batch.object, &batch.items, &links).await,
            Op::Undelete => undelete(sh, org, conn, &batch.object, &batch.items, &links).await,
            Op::Delete => delete(sh, org, conn, &batch.object, &batch.items).await,
        };
        let whole_call_failed = !results.is_empty()
            && results.iter().all(|r| {
                r.as_ref()
                    .is_err_and(|e| matches!(e.kind(), ErrorKind::Retryable | ErrorKind::Auth))
            });
        out.calls.push(!whole_call_failed);
        for ((it, work), result) in items.iter().zip(&batch.items).zip(results) {
            let mut detail = Value::Null;
            let outcome = match result {
                Ok(saved) => {
                    out.synced += 1;
                    // the audit trail says what was written where
                    detail = serde_json::json!({
                        "id": saved.id,
                        "created": saved.created,
                        "fields": work.payload.keys().collect::<Vec<_>>(),
                    });
                    Outcome::Synced {
                        record: written(sh, org, work, saved, sent_at),
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
                    let (o, action) = failure::outcome(&e, it.attempts + 1, parent, Utc::now());
                    if matches!(o, Outcome::Failed { .. }) {
                        out.failed += 1;
                    }
                    if action != OrgAction::None {
                        out.org_action = action;
                    }
                    o
                }
            };
            let mut c = completion(it.id, &owner, outcome);
            c.detail = detail;
            out.completions.push(c);
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
    saved: sfclient::Saved,
    at: DateTime<Utc>,
) -> RecordWrite {
    let mut rw = RecordWrite::new(org.clone(), work.object.clone(), work.global_id.clone());
    rw.local_id = (!saved.id.is_empty()).then_some(saved.id);
    // Only what the write itself proves: a delete deleted, an undelete or a creating upsert
    // made the record live. An update says nothing about later: a delete made there after
    // our write was sent may already be captured, and must not be undone here (it would hide
    // the record's next undelete).
    rw.deleted = match work.op {
        Op::Delete => Some(true),
        Op::Undelete => Some(false),
        Op::Upsert => (saved.created == Some(true)).then_some(false),
    };
    if work.op == Op::Upsert
        && let Some(sync) = sh.sync_for(org, &work.object)
    {
        // lookups in their canonical form, the parent's global id (see
        // `orgsync_core::mapping::canonical_lookups`): what the next poll turns them into
        let mut fields = payload_values(&work.payload);
        for (f, v) in &work.payload {
            match v {
                PayloadValue::Reference { global_id, .. } => {
                    fields.insert(f.clone(), FieldValue::Text(global_id.to_string()));
                }
                PayloadValue::MatchByName { name, .. } => {
                    fields.insert(f.clone(), orgsync_core::mapping::name_ref(name));
                }
                PayloadValue::Value { .. } => {}
            }
        }
        rw.shadow = to_merge_keys(sync, sh.source_side(org), &fields)
            .into_iter()
            .map(|(k, value)| (k, ShadowValue { value, at }))
            .collect();
    }
    rw
}
