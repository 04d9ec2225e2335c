//! Batch planning: due items grouped by (target org, object, op), parents before children,
//! at most 200 records per sObject Collections call, and children whose parent has not
//! landed held back as Pending.
//!
//! Order: undeletes, then upserts (both parents first), then deletes (children first, so a
//! restricted lookup never blocks a parent's delete). Across objects the order comes from the
//! configured lookup graph ([`crate::config::Settings::object_order`]); within one object
//! (a self-lookup such as `ParentId`) records go in waves: a record whose parent is in the same
//! plan goes in a later batch than its parent. A self-lookup cycle between records is Pending.

use std::collections::{HashMap, HashSet};

use crate::config::{OrgName, Settings};
use crate::model::{GlobalId, Op, ParentRef, SyncItem};

/// Largest sObject Collections request.
pub const MAX_BATCH: usize = 200;

/// The rank of each object name (source- and target-side) in parents-first order.
#[derive(Debug, Clone, Default)]
pub struct ObjectOrder {
    rank: HashMap<String, usize>,
}

impl ObjectOrder {
    /// From the validated settings.
    pub fn from_settings(settings: &Settings) -> Self {
        let mut rank = HashMap::new();
        for (i, object) in settings.object_order.iter().enumerate() {
            rank.insert(object.to_ascii_lowercase(), i);
            if let Some(s) = settings
                .syncs
                .iter()
                .find(|s| s.object.eq_ignore_ascii_case(object))
            {
                rank.entry(s.target_object.to_ascii_lowercase())
                    .or_insert(i);
            }
        }
        ObjectOrder { rank }
    }

    /// From an explicit list, parents first (for tests and tools).
    pub fn from_list(objects: &[&str]) -> Self {
        ObjectOrder {
            rank: objects
                .iter()
                .enumerate()
                .map(|(i, o)| (o.to_ascii_lowercase(), i))
                .collect(),
        }
    }

    /// Unknown objects go last.
    pub fn rank(&self, object: &str) -> usize {
        self.rank
            .get(&object.to_ascii_lowercase())
            .copied()
            .unwrap_or(usize::MAX)
    }
}

/// One API call's worth of work.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Org written.
    pub target: OrgName,
    /// Object written.
    pub object: String,
    /// Operation.
    pub op: Op,
    /// 1..=batch size items.
    pub items: Vec<SyncItem>,
}

/// Why an item waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingReason {
    /// This parent exists neither in the target org nor earlier in the plan.
    MissingParent(ParentRef),
    /// Records of this plan reference each other in a loop.
    ParentCycle,
}

/// The planner's output, in execution order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Batches to run in order.
    pub batches: Vec<Batch>,
    /// Items held back, with why.
    pub pending: Vec<(SyncItem, PendingReason)>,
}

type Key = (OrgName, GlobalId);

/// Sort key of a batch group: phase (undelete, upsert, delete), object rank, self-lookup
/// wave, target, object, op.
type GroupKey = (u8, usize, i64, OrgName, String, Op);

/// Plan `items`. `landed(target, parent)` says whether a parent already exists in the target
/// org (the ledger's id map). `batch_size` is clamped to 1..=200.
pub fn plan(
    items: Vec<SyncItem>,
    order: &ObjectOrder,
    batch_size: usize,
    landed: &dyn Fn(&OrgName, &GlobalId) -> bool,
) -> Plan {
    let batch_size = batch_size.clamp(1, MAX_BATCH);
    let creates: HashMap<Key, usize> = items
        .iter()
        .enumerate()
        .filter(|(_, i)| i.op != Op::Delete)
        .map(|(idx, i)| ((i.target.clone(), i.global_id.clone()), idx))
        .collect();
    // depth = number of in-plan ancestors along the longest parent chain; None = pending
    let mut depth: Vec<Option<Result<usize, PendingReason>>> = vec![None; items.len()];
    for idx in 0..items.len() {
        let mut visiting = HashSet::new();
        let _ = resolve(idx, &items, &creates, landed, &mut depth, &mut visiting);
    }
    let mut out = Plan::default();
    let mut groups: HashMap<GroupKey, Vec<SyncItem>> = HashMap::new();
    for (idx, item) in items.into_iter().enumerate() {
        let d = match depth[idx].take() {
            Some(Ok(d)) => d,
            Some(Err(reason)) => {
                out.pending.push((item, reason));
                continue;
            }
            None => 0,
        };
        let rank = order.rank(&item.object);
        let (phase, rank, level) = match item.op {
            Op::Undelete => (0, rank, d as i64),
            Op::Upsert => (1, rank, d as i64),
            Op::Delete => (2, usize::MAX - rank, -(d as i64)),
        };
        let key = (
            phase,
            rank,
            level,
            item.target.clone(),
            item.object.to_ascii_lowercase(),
            item.op,
        );
        groups.entry(key).or_default().push(item);
    }
    let mut keys: Vec<_> = groups.keys().cloned().collect();
    keys.sort();
    for key in keys {
        let Some(mut group) = groups.remove(&key) else {
            continue;
        };
        while !group.is_empty() {
            let rest = group.split_off(group.len().min(batch_size));
            out.batches.push(Batch {
                target: key.3.clone(),
                object: group[0].object.clone(),
                op: key.5,
                items: group,
            });
            group = rest;
        }
    }
    out
}

/// Depth of an item: 0 when every parent has landed, else 1 + the deepest in-plan parent.
/// Deletes ignore parents. Cycles and missing parents make the item (and its children) Pending.
fn resolve(
    idx: usize,
    items: &[SyncItem],
    creates: &HashMap<Key, usize>,
    landed: &dyn Fn(&OrgName, &GlobalId) -> bool,
    depth: &mut Vec<Option<Result<usize, PendingReason>>>,
    visiting: &mut HashSet<usize>,
) -> Result<usize, PendingReason> {
    if let Some(d) = &depth[idx] {
        return d.clone();
    }
    let item = &items[idx];
    if item.op == Op::Delete {
        depth[idx] = Some(Ok(0));
        return Ok(0);
    }
    if !visiting.insert(idx) {
        return Err(PendingReason::ParentCycle);
    }
    let mut d = 0;
    let mut result = Ok(0);
    for p in &item.parents {
        if landed(&item.target, &p.global_id) {
            continue;
        }
        match creates.get(&(item.target.clone(), p.global_id.clone())) {
            Some(&pi) if pi != idx => match resolve(pi, items, creates, landed, depth, visiting) {
                Ok(pd) => d = d.max(pd + 1),
                Err(PendingReason::ParentCycle) => {
                    result = Err(PendingReason::ParentCycle);
                    break;
                }
                Err(PendingReason::MissingParent(_)) => {
                    result = Err(PendingReason::MissingParent(p.clone()));
                    break;
                }
            },
            Some(_) => {} // a record that is its own parent: the lookup is written with it
            None => {
                result = Err(PendingReason::MissingParent(p.clone()));
                break;
            }
        }
    }
    visiting.remove(&idx);
    let result = result.map(|_| d);
    depth[idx] = Some(result.clone());
    result
}
