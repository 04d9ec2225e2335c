//! Running a round's plan: each batch written with one or two calls ([`super::writes`]), and
//! every per-record result turned into a ledger completion — a Synced item records what the
//! target now holds (its id, its deleted flag, the shadow of what was written), a failed one
//! goes through the one retry policy ([`crate::policy`]).

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use orgsync_core::config::Capture;

use crate::capture::poll::CDC_SETTLE;
use orgsync_core::mapping::{Payload, PayloadValue, payload_values, to_merge_keys};
use orgsync_core::merge::ShadowValue;
use orgsync_core::plan::PendingReason;
use orgsync_core::write::Write;
use orgsync_core::{FieldValue, GlobalId, Op, OrgName, Settings, SyncItem};
use orgsync_store::{Completion, Item, ItemError, ItemId, Outcome, RecordWrite};
use serde_json::Value;
use sfclient::{ErrorKind, ItemResult};

use super::decide::{RoundPlan, decided};
use super::writes::{ToUndelete, ToUpsert, delete, stamps, undelete, upsert};
use crate::convert::Links;
use crate::leg::{Leg, Legs};
use crate::orgs::OrgConn;
use crate::policy::{OrgAction, on_failure};

/// What a round did.
#[derive(Debug, Default)]
pub(crate) struct RoundResult {
    pub completions: Vec<Completion>,
    /// Per API call: whether it went through (for the circuit breaker).
    pub calls: Vec<bool>,
    pub org_action: OrgAction,
    pub synced: u64,
    pub failed: u64,
    /// Copies to re-read before their items are decided again: (leg, local id).
    pub reread: Vec<(std::sync::Arc<Leg>, String)>,
}

/// Everything a round's writes need.
pub(crate) struct Round<'a> {
    pub settings: &'a Settings,
    pub legs: &'a Legs,
    pub org: &'a OrgName,
    pub conn: &'a OrgConn,
    pub owner: &'a str,
    pub links: &'a Links,
}

fn completion(id: ItemId, owner: &str, outcome: Outcome, detail: Value) -> Completion {
    Completion {
        id,
        lease_owner: owner.to_string(),
        outcome,
        follow_ups: Vec::new(),
        detail,
    }
}

impl Round<'_> {
    /// Write `plan` for `items`.
    pub async fn run(&self, plan: RoundPlan, items: &[Item]) -> RoundResult {
        let by_id: HashMap<ItemId, &Item> = items.iter().map(|i| (i.id, i)).collect();
        let mut out = RoundResult::default();
        for id in &plan.nothing {
            if let Some(it) = by_id.get(id) {
                let rw =
                    RecordWrite::new(self.org.clone(), &it.work.object, it.work.global_id.clone());
                let detail =
                    serde_json::json!({ "write": "nothing: the target holds the agreed state" });
                out.completions.push(completion(
                    *id,
                    self.owner,
                    Outcome::Synced { record: rw },
                    detail,
                ));
            }
        }
        for (id, error) in &plan.failed {
            out.failed += 1;
            let outcome = Outcome::Failed {
                error: error.clone(),
            };
            out.completions
                .push(completion(*id, self.owner, outcome, Value::Null));
        }
        for (work, reason) in &plan.plan.pending {
            let Some(d) = decided(&plan, work) else {
                continue;
            };
            let outcome = match reason {
                PendingReason::MissingParent(p) => Outcome::Pending {
                    parent: p.global_id.clone(),
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
            out.completions
                .push(completion(d.item, self.owner, outcome, Value::Null));
        }
        for batch in &plan.plan.batches {
            let Some(leg) = self.legs.find(self.org, &batch.object) else {
                continue;
            };
            let gid_field = &leg.settings(self.settings).global_id_field;
            let sent_at = Utc::now();
            // when our deletes landed, in an org captured by reads (see `writes::stamps`)
            let mut landed_at = std::collections::HashMap::new();
            let results: Vec<(ItemResult, Option<&Payload>)> = match batch.op {
                Op::Upsert => {
                    let list: Vec<ToUpsert<'_>> = batch
                        .items
                        .iter()
                        .map(|w| ToUpsert {
                            gid: &w.global_id,
                            payload: &w.payload,
                            local_id: decided(&plan, w).and_then(|d| match &d.write {
                                Write::Update { local_id, .. } => Some(local_id.as_str()),
                                _ => None,
                            }),
                        })
                        .collect();
                    upsert(self.conn, &batch.object, gid_field, &list, self.links)
                        .await
                        .into_iter()
                        .zip(batch.items.iter().map(|w| Some(&w.payload)))
                        .collect()
                }
                Op::Delete => {
                    let list: Vec<(&GlobalId, Option<&str>)> = batch
                        .items
                        .iter()
                        .map(|w| {
                            let local = decided(&plan, w).and_then(|d| match &d.write {
                                Write::Delete { local_id } => local_id.as_deref(),
                                _ => None,
                            });
                            (&w.global_id, local)
                        })
                        .collect();
                    let results = delete(self.conn, &batch.object, gid_field, &list).await;
                    if leg.settings(self.settings).capture != Capture::Cdc {
                        let ids: Vec<String> = results
                            .iter()
                            .filter_map(|r| r.as_ref().ok())
                            .filter(|s| !s.id.is_empty())
                            .map(|s| s.id.clone())
                            .collect();
                        if !ids.is_empty() {
                            landed_at = stamps(self.conn, &batch.object, &ids).await;
                        }
                    }
                    results.into_iter().map(|r| (r, None)).collect()
                }
                Op::Undelete => {
                    let sync = leg.settings(self.settings);
                    let list: Vec<ToUndelete<'_>> = batch
                        .items
                        .iter()
                        .map(|w| {
                            let d = decided(&plan, w);
                            let local_id = match d.map(|d| &d.write) {
                                Some(Write::Undelete { local_id, .. }) => local_id.as_str(),
                                _ => "",
                            };
                            ToUndelete {
                                gid: &w.global_id,
                                local_id,
                                then: &w.payload,
                                update: orgsync_core::write::carries(sync, &w.payload),
                                recreate: d.and_then(|d| d.recreate.as_ref()).unwrap_or(&w.payload),
                            }
                        })
                        .collect();
                    undelete(self.conn, &batch.object, gid_field, &list, self.links).await
                }
            };
            let whole_call_failed = !results.is_empty()
                && results.iter().all(|(r, _)| {
                    r.as_ref().is_err_and(|e| {
                        matches!(e.kind(), ErrorKind::Retryable | ErrorKind::Auth)
                            && !matches!(e, sfclient::SfError::Record { .. })
                    })
                });
            out.calls.push(!whole_call_failed);
            for (work, (result, written)) in batch.items.iter().zip(results) {
                let Some(d) = decided(&plan, work) else {
                    continue;
                };
                let Some(it) = by_id.get(&d.item) else {
                    continue;
                };
                let c = match result {
                    Ok(saved) => {
                        out.synced += 1;
                        let detail = serde_json::json!({
                            "id": saved.id,
                            "created": saved.created,
                            "op": format!("{:?}", work.op).to_ascii_lowercase(),
                            "fields": written.map(|p| p.keys().cloned().collect::<Vec<_>>()),
                        });
                        let landed = landed_at.get(&saved.id).copied();
                        let mut record = self.written(leg, work, written, saved, sent_at);
                        if work.op == Op::Delete && landed.is_some() {
                            record.deleted_at = landed;
                        }
                        completion(d.item, self.owner, Outcome::Synced { record }, detail)
                    }
                    Err(e) => {
                        let parent = e
                            .missing_parent()
                            .and_then(|m| m.value.parse::<GlobalId>().ok())
                            .or_else(|| work.parents.first().map(|p| p.global_id.clone()))
                            .filter(|g| !self.links.landed.contains_key(g));
                        let mut v =
                            on_failure(&e, it.attempts.saturating_add(1), parent, Utc::now());
                        if v.reread && leg.settings(self.settings).capture == Capture::Cdc {
                            // the change stream tells what happened there, with its exact time;
                            // a re-read would stamp it with the row's later SystemModstamp
                            v.reread = false;
                            let at =
                                Utc::now() + TimeDelta::from_std(CDC_SETTLE).unwrap_or_default();
                            v.outcome = Outcome::Deferred {
                                at,
                                note: Some(crate::policy::item_error(&e)),
                            };
                        }
                        if matches!(v.outcome, Outcome::Failed { .. }) {
                            out.failed += 1;
                        }
                        if v.org != OrgAction::None {
                            out.org_action = v.org;
                        }
                        if v.reread
                            && let Some(
                                Write::Update { local_id, .. }
                                | Write::Undelete { local_id, .. }
                                | Write::Delete {
                                    local_id: Some(local_id),
                                },
                            ) = Some(&d.write)
                        {
                            out.reread.push((leg.clone(), local_id.clone()));
                        }
                        completion(d.item, self.owner, v.outcome, Value::Null)
                    }
                };
                out.completions.push(c);
            }
        }
        out
    }

    /// The target's record row after a successful write: its local id, whether the write
    /// proves it deleted or live, and the shadow of what was written (sent at `at`).
    fn written(
        &self,
        leg: &Leg,
        work: &SyncItem,
        payload: Option<&Payload>,
        saved: sfclient::Saved,
        at: DateTime<Utc>,
    ) -> RecordWrite {
        let mut rw = RecordWrite::new(
            self.org.clone(),
            work.object.clone(),
            work.global_id.clone(),
        );
        rw.local_id = (!saved.id.is_empty()).then_some(saved.id);
        // Only what the write itself proves: a delete deleted, an undelete or a creating upsert
        // made the record live. An update says nothing about later: a delete made there after
        // our write was sent may already be captured, and must not be undone here.
        rw.deleted = match work.op {
            Op::Delete => Some(true),
            Op::Undelete => Some(false),
            Op::Upsert => (saved.created == Some(true)).then_some(false),
        };
        // as of the send: a capture there made after it is the newer fact
        rw.deleted_at = rw.deleted.map(|_| at);
        let created = saved.created == Some(true);
        if let Some(payload) = payload {
            // lookups in their canonical form, the parent's global id (see
            // `orgsync_core::mapping::canonical_lookups`): what the next read turns them into
            let mut fields = payload_values(payload);
            for (f, v) in payload {
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
            let sync = leg.settings(self.settings);
            rw.shadow = to_merge_keys(sync, leg.side.is_source(), &fields)
                .into_iter()
                .map(|(k, value)| (k, ShadowValue::written(value, at)))
                .collect();
            if created {
                // a created copy holds null in every synced field the payload left out
                for f in &sync.fields {
                    rw.shadow
                        .entry(f.source.to_ascii_lowercase())
                        .or_insert(ShadowValue::written(FieldValue::Null, at));
                }
            }
        }
        rw
    }
}
