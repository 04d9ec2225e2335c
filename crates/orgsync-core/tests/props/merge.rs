//! Merge properties: concurrent changes converge in any processing order; applying a change
//! twice equals applying it once; the winner is the newest edit (ties by priority).

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use orgsync_core::config::{ConflictPolicy, OrgName};
use orgsync_core::echo::same_value;
use orgsync_core::merge::*;
use orgsync_core::model::{FieldValue, Fields};
use proptest::prelude::*;

const FIELDS: [&str; 3] = ["name", "amount", "stage"];

fn t(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(1_700_000_000_000 + ms).unwrap()
}

#[derive(Debug, Clone)]
struct Edit {
    org: usize,
    field: usize,
    value: u8,
    ts: i64,
}

/// Orgs, their actual values, the ledger state, and the engine's clock.
struct World {
    orgs: Vec<OrgName>,
    values: Vec<Fields>,
    state: RecordState,
    clock: i64,
}

impl World {
    fn new(n: usize) -> World {
        let orgs: Vec<OrgName> = (0..n).map(|i| OrgName(format!("org{i}"))).collect();
        let s0: Fields = FIELDS
            .iter()
            .map(|f| (f.to_string(), FieldValue::Text("init".into())))
            .collect();
        let mut state = RecordState::default();
        for f in FIELDS {
            state.agreed.insert(
                f.into(),
                Versioned {
                    value: FieldValue::Text("init".into()),
                    ts: t(0),
                    org: orgs[0].clone(),
                },
            );
        }
        for o in &orgs {
            state.record_written(o, &s0, t(0));
        }
        World {
            values: vec![s0; n],
            orgs,
            state,
            clock: 100_000,
        }
    }

    /// An org's user edits `fields` at `ts`, and the engine processes the captured change.
    fn edit(
        &mut self,
        org: usize,
        fields: &Fields,
        ts: i64,
        policy: &ConflictPolicy,
    ) -> MergeResult {
        self.values[org].extend(fields.clone());
        self.process(org, fields, ts, policy)
    }

    /// The engine processes one captured change: merge, then write the winners to every other
    /// org and the rewrites back to the origin (every write lands at the engine's clock).
    fn process(
        &mut self,
        org: usize,
        fields: &Fields,
        ts: i64,
        policy: &ConflictPolicy,
    ) -> MergeResult {
        let prio = |o: &OrgName| self.orgs.iter().position(|x| x == o).unwrap() as u32;
        let r = merge(
            &self.state,
            Incoming {
                org: &self.orgs[org],
                fields,
                ts: t(ts),
                snapshot: false,
            },
            policy,
            &prio,
        );
        self.state = r.state.clone();
        self.clock += 1;
        let now = t(self.clock);
        if !r.accepted.is_empty() {
            for y in 0..self.orgs.len() {
                if y != org {
                    self.values[y].extend(r.accepted.clone());
                    self.state
                        .record_written(&self.orgs[y].clone(), &r.accepted, now);
                }
            }
        }
        if !r.rewrite_origin.is_empty() {
            self.values[org].extend(r.rewrite_origin.clone());
            self.state
                .record_written(&self.orgs[org].clone(), &r.rewrite_origin, now);
        }
        r
    }
}

fn edit_fields(e: &Edit) -> Fields {
    let mut f = Fields::new();
    f.insert(
        FIELDS[e.field].into(),
        FieldValue::Text(format!("v{}", e.value)),
    );
    f
}

/// Apply the edits to the orgs (each org ends with its newest edit per field), then let the
/// engine process the captured changes in the interleaving chosen by `order`, keeping each
/// org's own changes in commit order. Returns the orgs' final values.
fn run(n: usize, edits: &[Edit], order: &[usize]) -> Vec<Fields> {
    let mut w = World::new(n);
    let mut queues: Vec<Vec<Edit>> = vec![Vec::new(); n];
    for e in edits {
        queues[e.org].push(e.clone());
    }
    for q in &mut queues {
        q.sort_by_key(|e| e.ts);
        for e in q.iter() {
            w.values[e.org].extend(edit_fields(e));
        }
        q.reverse();
    }
    let mut i = 0;
    while queues.iter().any(|q| !q.is_empty()) {
        let nonempty: Vec<usize> = (0..n).filter(|&o| !queues[o].is_empty()).collect();
        let pick = nonempty[order.get(i).copied().unwrap_or(0) % nonempty.len()];
        i += 1;
        let e = queues[pick].pop().unwrap();
        let r = w.process(
            e.org,
            &edit_fields(&e),
            e.ts,
            &ConflictPolicy::LastWriterWins,
        );
        if std::env::var("MERGE_TRACE").is_ok() {
            eprintln!(
                "{e:?} -> accepted {:?} rewrite {:?} stale {:?} conflicts {}",
                r.accepted,
                r.rewrite_origin,
                r.stale,
                r.conflicts.len()
            );
        }
    }
    w.values
}

fn edits(n: usize) -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec((0..n, 0..FIELDS.len(), 0u8..4, 1i64..40), 0..10).prop_map(|v| {
        let mut seen = std::collections::HashSet::new();
        let mut v: Vec<Edit> = v
            .into_iter()
            .filter(|(o, _, _, ts)| seen.insert((*o, *ts))) // one commit per org per instant
            .map(|(org, field, value, ts)| Edit {
                org,
                field,
                value,
                ts,
            })
            .collect();
        // setting a field to the value it already has is not a change (no event, no modstamp)
        v.sort_by_key(|e| e.ts);
        let mut last = std::collections::HashMap::new();
        v.retain(|e| last.insert((e.org, e.field), e.value) != Some(e.value));
        v
    })
}

fn expected(edits: &[Edit]) -> BTreeMap<&'static str, FieldValue> {
    FIELDS
        .iter()
        .map(|f| {
            let best = edits
                .iter()
                .filter(|e| FIELDS[e.field] == *f)
                .max_by_key(|e| (e.ts, std::cmp::Reverse(e.org)));
            (
                *f,
                best.map_or(FieldValue::Text("init".into()), |e| {
                    FieldValue::Text(format!("v{}", e.value))
                }),
            )
        })
        .collect()
}

proptest! {
    #[test]
    fn concurrent_changes_converge_in_any_order(
        n in 2usize..4,
        edits in edits(3),
        order_a in prop::collection::vec(0usize..8, 12),
        order_b in prop::collection::vec(0usize..8, 12),
    ) {
        let edits: Vec<Edit> = edits.into_iter().filter(|e| e.org < n).collect();
        let a = run(n, &edits, &order_a);
        let b = run(n, &edits, &order_b);
        let want = expected(&edits);
        for vals in a.iter().chain(b.iter()) {
            for (f, v) in &want {
                prop_assert!(same_value(&vals[*f], v), "field {f}: got {:?}, want {:?}; edits {:?}", vals[*f], v, edits);
            }
        }
    }

    #[test]
    fn applying_a_change_twice_equals_once(
        edits in edits(2),
        pick in 0usize..10,
    ) {
        if edits.is_empty() {
            return Ok(());
        }
        let mut w = World::new(2);
        for e in &edits[..edits.len() - 1] {
            w.values[e.org].extend(edit_fields(e));
            w.process(e.org, &edit_fields(e), e.ts, &ConflictPolicy::LastWriterWins);
        }
        let e = &edits[pick % edits.len()];
        w.process(e.org, &edit_fields(e), e.ts, &ConflictPolicy::LastWriterWins);
        let (values, agreed) = (w.values.clone(), w.state.agreed.clone());
        let again = w.process(e.org, &edit_fields(e), e.ts, &ConflictPolicy::LastWriterWins);
        prop_assert_eq!(&w.values, &values);
        prop_assert_eq!(&w.state.agreed, &agreed);
        prop_assert!(again.accepted.is_empty() && again.rewrite_origin.is_empty());
    }
}

fn one(field: &str, v: &str) -> Fields {
    let mut f = Fields::new();
    f.insert(field.into(), FieldValue::Text(v.into()));
    f
}

#[test]
fn different_fields_on_two_orgs_merge_without_conflict() {
    let mut w = World::new(2);
    let r1 = w.edit(
        0,
        &one("name", "A-name"),
        10,
        &ConflictPolicy::LastWriterWins,
    );
    let r2 = w.edit(
        1,
        &one("stage", "B-stage"),
        5,
        &ConflictPolicy::LastWriterWins,
    );
    assert!(r1.conflicts.is_empty() && r2.conflicts.is_empty());
    for v in &w.values {
        assert_eq!(v["name"], FieldValue::Text("A-name".into()));
        assert_eq!(v["stage"], FieldValue::Text("B-stage".into()));
    }
}

#[test]
fn same_field_conflict_is_recorded_and_newer_wins() {
    let mut w = World::new(2);
    w.values[1].extend(one("name", "B"));
    w.edit(0, &one("name", "A"), 10, &ConflictPolicy::LastWriterWins);
    let r = w.process(1, &one("name", "B"), 20, &ConflictPolicy::LastWriterWins);
    assert_eq!(r.conflicts.len(), 1);
    let c = &r.conflicts[0];
    assert_eq!(
        (
            c.field.as_str(),
            c.winner.as_ref().map(|o| o.as_str()),
            c.resolution
        ),
        ("name", Some("org1"), Resolution::NewerWins)
    );
    // org1's own value had been overwritten by our write of A, so it is written back
    assert_eq!(r.rewrite_origin["name"], FieldValue::Text("B".into()));
    assert!(
        w.values
            .iter()
            .all(|v| v["name"] == FieldValue::Text("B".into()))
    );
}

#[test]
fn ties_go_to_the_lower_priority_number() {
    let mut w = World::new(2);
    w.values[0].extend(one("name", "A")); // both edit at the same instant
    w.edit(1, &one("name", "B"), 10, &ConflictPolicy::LastWriterWins);
    let r = w.process(0, &one("name", "A"), 10, &ConflictPolicy::LastWriterWins);
    assert_eq!(r.conflicts[0].resolution, Resolution::PriorityTieBreak);
    assert_eq!(r.conflicts[0].winner, Some(OrgName::from("org0")));
    assert!(
        w.values
            .iter()
            .all(|v| v["name"] == FieldValue::Text("A".into()))
    );
}

#[test]
fn source_wins_and_manual_policies() {
    let policy = ConflictPolicy::SourceWins(OrgName::from("org1"));
    let mut w = World::new(2);
    w.values[0].extend(one("name", "A"));
    w.edit(1, &one("name", "B"), 10, &policy);
    let r = w.process(0, &one("name", "A"), 20, &policy);
    assert_eq!(r.conflicts[0].resolution, Resolution::SourceWins);
    assert!(r.accepted.is_empty());
    assert!(
        w.values
            .iter()
            .all(|v| v["name"] == FieldValue::Text("B".into()))
    );

    let mut w = World::new(2);
    w.values[0].extend(one("name", "A"));
    w.edit(1, &one("name", "B"), 10, &ConflictPolicy::Manual);
    let r = w.process(0, &one("name", "A"), 20, &ConflictPolicy::Manual);
    assert_eq!(
        (r.conflicts[0].winner.clone(), r.conflicts[0].resolution),
        (None, Resolution::Manual)
    );
    assert!(r.accepted.is_empty() && r.rewrite_origin.is_empty());
}

#[test]
fn an_older_value_never_overwrites_a_newer_one() {
    let mut w = World::new(2);
    w.edit(0, &one("name", "new"), 50, &ConflictPolicy::LastWriterWins);
    // a late, replayed event from org0 itself, older than the agreed value
    let r = w.process(0, &one("name", "old"), 20, &ConflictPolicy::LastWriterWins);
    assert!(r.accepted.is_empty());
    assert_eq!(r.stale, vec!["name".to_string()]);
    assert_eq!(w.values[1]["name"], FieldValue::Text("new".into()));
}

#[test]
fn unchanged_fields_and_equal_numbers_are_not_changes() {
    let mut w = World::new(2);
    let mut f = Fields::new();
    f.insert("amount".into(), FieldValue::Number("10.50".into()));
    w.edit(0, &f, 10, &ConflictPolicy::LastWriterWins);
    let mut g = Fields::new();
    g.insert("Amount".into(), FieldValue::Number("10.5".into()));
    let r = w.edit(1, &g, 20, &ConflictPolicy::LastWriterWins);
    assert!(r.accepted.is_empty() && r.conflicts.is_empty());
}

/// A read showing what the org is known to hold is no edit, even when its date (the row's
/// last edit) precedes what the ledger learnt since — a restored copy holds a value we wrote
/// long before its undelete. Taken for an edit, that old value beat a newer one everywhere.
#[test]
fn a_read_of_what_the_org_holds_is_no_edit_whatever_its_date() {
    let (a, b) = (OrgName::from("org0"), OrgName::from("org1"));
    let mut state = RecordState::default();
    state.agreed.insert(
        "name".into(),
        Versioned {
            value: FieldValue::Text("A".into()),
            ts: t(200),
            org: b.clone(),
        },
    );
    // org0 holds B (our older write), learnt as of its restore at 500
    state.holds(&a, &one("name", "B"), t(500));
    let fields = one("name", "B");
    let r = merge(
        &state,
        Incoming {
            org: &a,
            fields: &fields,
            ts: t(300),
            snapshot: true,
        },
        &ConflictPolicy::LastWriterWins,
        &|o: &OrgName| u32::from(o.as_str() != "org0"),
    );
    assert!(r.accepted.is_empty() && r.conflicts.is_empty(), "{r:?}");
    assert_eq!(r.state.agreed["name"].value, FieldValue::Text("A".into()));
}

/// A read taken before our write replaced the org's value, processed after it (a push
/// delayed by its peer's retries, a poll read just before the write landed), shows the old
/// value: that is no edit, however new the read's date is against the agreed version. A
/// different value in such a read is still an edit our write overwrote.
#[test]
fn a_read_older_than_our_write_showing_the_replaced_value_is_no_edit() {
    let (hub, spoke) = (OrgName::from("org0"), OrgName::from("org1"));
    let mut state = RecordState::default();
    let agree = |state: &mut RecordState, v: &str, ts, org: &OrgName| {
        state.agreed.insert(
            "city".into(),
            Versioned {
                value: FieldValue::Text(v.into()),
                ts: t(ts),
                org: org.clone(),
            },
        );
    };
    // the hub got Berlin from us at 100; spoke then set Lisbon at 580, which we wrote to the
    // hub at 600
    state.record_written(&hub, &one("city", "Berlin"), t(100));
    agree(&mut state, "Lisbon", 580, &spoke);
    state.record_written(&hub, &one("city", "Lisbon"), t(600));
    // a push of the hub's record made at 590 (another field edited) still holds Berlin
    let read = |state: &RecordState, v: &str| {
        merge(
            state,
            Incoming {
                org: &hub,
                fields: &one("city", v),
                ts: t(590),
                snapshot: true,
            },
            &ConflictPolicy::LastWriterWins,
            &|o: &OrgName| u32::from(o.as_str() != "org0"),
        )
    };
    let r = read(&state, "Berlin");
    assert!(r.accepted.is_empty() && r.conflicts.is_empty(), "{r:?}");
    assert_eq!(
        r.state.agreed["city"].value,
        FieldValue::Text("Lisbon".into())
    );
    // a value the hub never held from us: a user's edit at 590, newer than Lisbon, that our
    // write at 600 overwrote — it wins and goes back to the hub
    let r = read(&state, "Osaka");
    assert_eq!(
        r.state.agreed["city"].value,
        FieldValue::Text("Osaka".into())
    );
    assert!(r.rewrite_origin.contains_key("city"), "{r:?}");
    // a read dated as the shadow itself is not older than it: the platform may have put the
    // old value back since (a lookup restored with its parent moves no edit date)
    let r = merge(
        &state,
        Incoming {
            org: &hub,
            fields: &one("city", "Berlin"),
            ts: t(600),
            snapshot: true,
        },
        &ConflictPolicy::LastWriterWins,
        &|o: &OrgName| u32::from(o.as_str() != "org0"),
    );
    assert_eq!(
        r.state.agreed["city"].value,
        FieldValue::Text("Berlin".into()),
        "news, not swallowed: {r:?}"
    );
}

/// Two reads of one org dated alike (the platform changed a field between them without
/// moving its edit date: a lookup restored with its parent) showing different values: the
/// later one is what the org holds, not an edit our write overwrote — nothing goes back to
/// the org. Our own write sent in that millisecond is still taken to have landed after.
#[test]
fn a_read_dated_like_an_earlier_read_is_not_overwritten_by_it() {
    let (hub, spoke) = (OrgName::from("org0"), OrgName::from("org1"));
    let lww = ConflictPolicy::LastWriterWins;
    let prio = |o: &OrgName| u32::from(o.as_str() != "org0");
    let read = |state: &RecordState, v: Option<&str>| {
        let fields: Fields = [(
            "account".to_string(),
            v.map_or(FieldValue::Null, |v| FieldValue::Text(v.into())),
        )]
        .into_iter()
        .collect();
        merge(
            state,
            Incoming {
                org: &hub,
                fields: &fields,
                ts: t(100),
                snapshot: true,
            },
            &lww,
            &prio,
        )
    };
    // first read: empty (cleared with its parent)
    let first = read(&RecordState::default(), None);
    assert!(first.accepted.is_empty(), "{first:?}");
    // the same row read again, restored, dated alike
    let r = read(&first.state, Some("P"));
    assert_eq!(r.accepted["account"], FieldValue::Text("P".into()), "{r:?}");
    assert!(r.rewrite_origin.is_empty(), "nothing goes back: {r:?}");
    assert_eq!(
        r.state.shadows[&hub]["account"].value,
        FieldValue::Text("P".into())
    );
    // our write of Q sent in that millisecond: the safe side, Q is written back after P
    let mut state = RecordState::default();
    state.record_written(&hub, &one("account", "Q"), t(100));
    state.record_written(&spoke, &one("account", "Q"), t(100));
    let r = read(&state, Some("P"));
    assert!(r.rewrite_origin.contains_key("account"), "{r:?}");
}
