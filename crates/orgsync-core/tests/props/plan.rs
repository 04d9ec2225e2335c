//! Planner properties: parents always land before their children, batches stay within the
//! limit, every item is planned exactly once or held as Pending for a real reason.

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;
use orgsync_core::config::OrgName;
use orgsync_core::model::{GlobalId, Op, OrgId, ParentRef, SyncItem};
use orgsync_core::plan::*;
use proptest::prelude::*;

fn gid(n: usize) -> GlobalId {
    let org: OrgId = "00D000000000001".parse().unwrap();
    GlobalId::new(org, &format!("001{n:012}")).unwrap()
}

const OBJECTS: [&str; 3] = ["Account", "Opportunity", "OpportunityLineItem"];

/// Record n has object OBJECTS[n % 3]; its parent (if any) is a record of the same or an
/// earlier object, like a configured lookup graph with self-lookups.
fn item(target: &str, n: usize, op: Op, parent: Option<usize>) -> SyncItem {
    SyncItem {
        target: OrgName::from(target),
        object: OBJECTS[n % 3].into(),
        global_id: gid(n),
        op,
        payload: IndexMap::new(),
        parents: parent
            .map(|p| ParentRef {
                field: "ParentId".into(),
                object: OBJECTS[p % 3].into(),
                global_id: gid(p),
            })
            .into_iter()
            .collect(),
    }
}

fn items() -> impl Strategy<Value = (Vec<SyncItem>, HashSet<usize>)> {
    let one = (
        0usize..40,
        0usize..3,
        prop::option::of(0usize..40),
        0usize..2,
    );
    (
        prop::collection::vec(one, 0..60),
        prop::collection::hash_set(0usize..40, 0..15),
    )
        .prop_map(|(raw, landed)| {
            let mut seen = HashSet::new();
            let items = raw
                .into_iter()
                .filter(|(n, _, _, t)| seen.insert((*n, *t)))
                .map(|(n, op, parent, t)| {
                    let op = [Op::Upsert, Op::Upsert, Op::Delete][op];
                    // parents only point at the same or an earlier object type
                    let parent = parent.filter(|p| p % 3 <= n % 3 && *p != n);
                    item(["b", "c"][t], n, op, parent)
                })
                .collect();
            (items, landed)
        })
}

proptest! {
    #[test]
    fn parents_always_before_children((items, landed) in items(), batch in 1usize..10) {
        let order = ObjectOrder::from_list(&OBJECTS);
        let is_landed = |_: &OrgName, g: &GlobalId| landed.iter().any(|n| gid(*n) == *g);
        let plan = plan(items.clone(), &order, batch, &is_landed);
        let mut written: HashSet<(OrgName, GlobalId)> = HashSet::new();
        let mut seen = 0;
        for b in &plan.batches {
            prop_assert!(!b.items.is_empty() && b.items.len() <= batch);
            for i in &b.items {
                prop_assert_eq!((&i.target, &i.object, i.op), (&b.target, &b.object, b.op));
                if i.op != Op::Delete {
                    for p in &i.parents {
                        let ok = is_landed(&i.target, &p.global_id)
                            || written.contains(&(i.target.clone(), p.global_id.clone()))
                            || p.global_id == i.global_id;
                        prop_assert!(ok, "{:?} written before its parent {:?}", i.global_id, p.global_id);
                    }
                }
            }
            // a batch's records land together, after every earlier batch
            for i in &b.items {
                if i.op != Op::Delete {
                    written.insert((i.target.clone(), i.global_id.clone()));
                }
            }
            seen += b.items.len();
        }
        prop_assert_eq!(seen + plan.pending.len(), items.len());
        let planned_creates: HashMap<(OrgName, GlobalId), ()> = items.iter().filter(|i| i.op != Op::Delete).map(|i| ((i.target.clone(), i.global_id.clone()), ())).collect();
        for (i, reason) in &plan.pending {
            prop_assert!(i.op != Op::Delete);
            if let PendingReason::MissingParent(p) = reason {
                // the parent is not landed; it is either absent from the plan or itself pending
                prop_assert!(!is_landed(&i.target, &p.global_id));
                let key = (i.target.clone(), p.global_id.clone());
                prop_assert!(!planned_creates.contains_key(&key) || plan.pending.iter().any(|(x, _)| (x.target.clone(), x.global_id.clone()) == key));
            }
        }
    }
}

#[test]
fn groups_by_target_object_op_and_chunks_at_the_limit() {
    let items: Vec<SyncItem> = (0..450)
        .map(|n| item("b", n * 3, Op::Upsert, None))
        .collect();
    let plan = plan(items, &ObjectOrder::from_list(&OBJECTS), 500, &|_, _| false);
    let sizes: Vec<usize> = plan.batches.iter().map(|b| b.items.len()).collect();
    assert_eq!(sizes, [200, 200, 50]);
    assert!(plan.pending.is_empty());
}

#[test]
fn child_waits_for_a_missing_parent_and_goes_once_it_has_landed() {
    let child = item("b", 1, Op::Upsert, Some(0)); // Opportunity under Account 0
    let p = plan(
        vec![child.clone()],
        &ObjectOrder::from_list(&OBJECTS),
        200,
        &|_, _| false,
    );
    assert!(p.batches.is_empty());
    assert!(matches!(&p.pending[0].1, PendingReason::MissingParent(r) if r.global_id == gid(0)));
    let p = plan(
        vec![child.clone()],
        &ObjectOrder::from_list(&OBJECTS),
        200,
        &|_, g| *g == gid(0),
    );
    assert_eq!(p.batches.len(), 1);
    // parent in the same plan: parent's batch first
    let p = plan(
        vec![child, item("b", 0, Op::Upsert, None)],
        &ObjectOrder::from_list(&OBJECTS),
        200,
        &|_, _| false,
    );
    let objects: Vec<&str> = p.batches.iter().map(|b| b.object.as_str()).collect();
    assert_eq!(objects, ["Account", "Opportunity"]);
}

#[test]
fn self_lookups_go_in_waves_and_cycles_wait() {
    // Account 6 under Account 3 under Account 0, all in one plan
    let items = vec![
        item("b", 6, Op::Upsert, Some(3)),
        item("b", 3, Op::Upsert, Some(0)),
        item("b", 0, Op::Upsert, None),
    ];
    let p = plan(items, &ObjectOrder::from_list(&OBJECTS), 200, &|_, _| false);
    let waves: Vec<GlobalId> = p
        .batches
        .iter()
        .map(|b| b.items[0].global_id.clone())
        .collect();
    assert_eq!(waves, [gid(0), gid(3), gid(6)]);
    let cyclic = vec![
        item("b", 3, Op::Upsert, Some(6)),
        item("b", 6, Op::Upsert, Some(3)),
    ];
    let p = plan(cyclic, &ObjectOrder::from_list(&OBJECTS), 200, &|_, _| {
        false
    });
    assert_eq!(p.pending.len(), 2);
    assert!(
        p.pending
            .iter()
            .all(|(_, r)| *r == PendingReason::ParentCycle)
    );
}

#[test]
fn deletes_go_last_children_first() {
    let items = vec![
        item("b", 0, Op::Delete, None),
        item("b", 1, Op::Delete, Some(0)),
        item("b", 3, Op::Upsert, None),
    ];
    let p = plan(items, &ObjectOrder::from_list(&OBJECTS), 200, &|_, _| false);
    let order: Vec<(Op, &str)> = p
        .batches
        .iter()
        .map(|b| (b.op, b.object.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            (Op::Upsert, "Account"),
            (Op::Delete, "Opportunity"),
            (Op::Delete, "Account")
        ]
    );
}
