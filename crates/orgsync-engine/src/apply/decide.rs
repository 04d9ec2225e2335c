//! The pure middle of a round: claimed items and what the ledger knows of their records →
//! the write each needs (`orgsync_core::write::decide`), then batches in parents-first order
//! (`orgsync_core::plan::plan`). No I/O: unit-tested on its own.

use std::collections::{HashMap, HashSet};

use orgsync_core::mapping::Payload;
use orgsync_core::plan::{ObjectOrder, PendingReason, Plan, plan};
use orgsync_core::write::{Held, ParentState, Write, decide};
use orgsync_core::{GlobalId, Op, OrgName, Settings, SyncItem};
use orgsync_store::{Item, ItemError, ItemId};

use super::load::Loaded;
use crate::leg::Legs;

/// One item's write, as decided.
#[derive(Debug, Clone)]
pub(crate) struct Decided {
    pub item: ItemId,
    pub write: Write,
    /// For an undelete: the full record, created anew if the copy is gone from the bin.
    pub recreate: Option<Payload>,
}

/// What a round will do.
#[derive(Debug, Default)]
pub(crate) struct RoundPlan {
    /// Batches and Pending items, over the planner's view of each write.
    pub plan: Plan,
    /// The decided write of each planned item, by (object lowercased, global id).
    pub writes: HashMap<(String, GlobalId), Decided>,
    /// Items whose target already holds the agreed state.
    pub nothing: Vec<ItemId>,
    /// Items that cannot be written at all, with why.
    pub failed: Vec<(ItemId, ItemError)>,
}

fn key(object: &str, gid: &GlobalId) -> (String, GlobalId) {
    (object.to_ascii_lowercase(), gid.clone())
}

/// Decide and plan the writes of `items` (all for `org`).
pub(crate) fn round(
    settings: &Settings,
    legs: &Legs,
    org: &OrgName,
    items: &[Item],
    loaded: &Loaded,
) -> RoundPlan {
    let mut out = RoundPlan::default();
    let mut work = Vec::new();
    let parent = |g: &GlobalId| {
        loaded
            .parents
            .get(g)
            .copied()
            .unwrap_or(ParentState::Missing)
    };
    for it in items {
        let Some(leg) = legs.find(org, &it.work.object) else {
            out.failed.push((
                it.id,
                ItemError {
                    code: "NOT_SYNCED".into(),
                    message: format!("{} is not a synced object on {org}", it.work.object),
                    kind: "permanent".into(),
                },
            ));
            continue;
        };
        let sync = leg.settings(settings);
        let gid = &it.work.global_id;
        let state = loaded
            .states
            .get(&(leg.sync, gid.clone()))
            .cloned()
            .unwrap_or_default();
        let row = loaded.held.get(&(leg.sync, gid.clone()));
        let held = Held {
            local_id: row.and_then(|r| r.local_id.as_deref()),
            deleted: row.is_some_and(|r| r.deleted),
            shadow: row.map(|r| &r.shadow),
        };
        let decided = decide(settings, sync, org, gid, &state, held, &parent).and_then(|w| {
            let recreate = match &w {
                Write::Undelete { .. } => {
                    match decide(settings, sync, org, gid, &state, Held::default(), &parent)? {
                        Write::Create { payload, .. } => Some(payload),
                        _ => None,
                    }
                }
                _ => None,
            };
            Ok((w, recreate))
        });
        let (write, recreate) = match decided {
            Ok(d) => d,
            Err(e) => {
                out.failed.push((
                    it.id,
                    ItemError {
                        code: "MAPPING".into(),
                        message: e.to_string(),
                        kind: "permanent".into(),
                    },
                ));
                continue;
            }
        };
        let (op, payload, parents) = match &write {
            Write::Nothing => {
                out.nothing.push(it.id);
                continue;
            }
            Write::Update {
                payload, parents, ..
            }
            | Write::Create { payload, parents } => (Op::Upsert, payload.clone(), parents.clone()),
            Write::Delete { .. } => (Op::Delete, Payload::new(), Vec::new()),
            Write::Undelete { then, parents, .. } => (Op::Undelete, then.clone(), parents.clone()),
        };
        work.push(SyncItem {
            target: org.clone(),
            object: it.work.object.clone(),
            global_id: gid.clone(),
            op,
            payload,
            parents,
        });
        out.writes.insert(
            key(&it.work.object, gid),
            Decided {
                item: it.id,
                write,
                recreate,
            },
        );
    }
    // An update whose lookup points at a parent this round undeletes waits for it: Salesforce
    // restores the lookups the parent's delete cleared, and the item decided again after the
    // undelete (reading its record first) writes only what is still missing.
    let undeleting: HashSet<&GlobalId> = out
        .writes
        .iter()
        .filter(|(_, d)| matches!(d.write, Write::Undelete { .. }))
        .map(|((_, g), _)| g)
        .collect();
    let mut deferred = Vec::new();
    if !undeleting.is_empty() {
        let (wait, go): (Vec<SyncItem>, Vec<SyncItem>) = work.into_iter().partition(|w| {
            let update = out
                .writes
                .get(&key(&w.object, &w.global_id))
                .is_some_and(|d| matches!(d.write, Write::Update { .. }));
            update && w.parents.iter().any(|p| undeleting.contains(&p.global_id))
        });
        work = go;
        for w in wait {
            if let Some(p) = w
                .parents
                .iter()
                .find(|p| undeleting.contains(&p.global_id))
                .cloned()
            {
                deferred.push((w, PendingReason::MissingParent(p)));
            }
        }
    }
    let order = ObjectOrder::from_settings(settings);
    out.plan = plan(work, &order, settings.engine.batch_size, &|_, g| {
        parent(g) == ParentState::Landed
    });
    out.plan.pending.extend(deferred);
    out
}

/// The decided write of a planned item.
pub(crate) fn decided<'a>(r: &'a RoundPlan, w: &SyncItem) -> Option<&'a Decided> {
    r.writes.get(&key(&w.object, &w.global_id))
}
