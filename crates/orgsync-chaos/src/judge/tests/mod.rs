//! The judge on hand-made worlds: each check fires on the case it names and stays quiet on
//! its near miss, so a wrong count in a chaos run is the product's, not the instrument's.
#![allow(clippy::unwrap_used)]

use serde_json::{Map, Value, json};

use super::{Check, judge};
use crate::model::{Change, ChangeKind, Lookup, ObjectSpec, OrgState, Row, World};

const USER: Option<&str> = Some("user");
const SYNC: Option<&str> = Some("orgsync");

mod races;

fn objects() -> Vec<ObjectSpec> {
    let spec = |name: &str, fields: &[&str], lookups| ObjectSpec {
        name: name.into(),
        fields: fields.iter().map(|f| f.to_string()).collect(),
        lookups,
    };
    let account = Lookup {
        field: "Account__c".into(),
        parent: "Account".into(),
    };
    vec![
        spec("Account", &["Name"], vec![]),
        spec(
            "Work_Item__c",
            &["Name", "Status__c", "Account__c"],
            vec![account],
        ),
    ]
}

fn map(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// Two orgs, A (priority 1) and B (priority 2), nothing in them.
fn world() -> World {
    let org = |name: &str, id: &str, priority| OrgState {
        name: name.into(),
        org_id: id.into(),
        priority,
        rows: vec![],
        changes: vec![],
        snapshot_objects: vec![],
    };
    World {
        objects: objects(),
        orgs: vec![org("a", "00DA", 1), org("b", "00DB", 2)],
        client_tag: "orgsync".into(),
    }
}

/// A row of `object` in `org`: (local id, stamped global id) and its values.
fn row(w: &mut World, org: usize, object: &str, ids: (&str, Option<&str>), values: Value) {
    w.orgs[org].rows.push(Row {
        object: object.into(),
        id: ids.0.into(),
        gid_field: ids.1.map(str::to_string),
        deleted: false,
        values: map(values),
    });
}

fn delete_row(w: &mut World, org: usize, id: &str) {
    for r in &mut w.orgs[org].rows {
        if r.id == id {
            r.deleted = true;
        }
    }
}

fn set(w: &mut World, org: usize, id: &str, field: &str, v: Value) {
    for r in &mut w.orgs[org].rows {
        if r.id == id {
            r.values.insert(field.into(), v.clone());
        }
    }
}

/// A change-log entry of `org` for its row `id`, by `client` (the user or orgsync).
fn change(
    w: &mut World,
    (org, id): (usize, &str),
    kind: ChangeKind,
    ts_ms: i64,
    client: Option<&str>,
    values: Value,
) {
    let object = w.orgs[org]
        .rows
        .iter()
        .find(|r| r.id == id)
        .map(|r| r.object.clone())
        .unwrap();
    let values = map(values);
    let mut changed: Vec<String> = values.keys().cloned().collect();
    changed.push("LastModifiedDate".into());
    let seq = w.orgs[org].changes.len() as u64 + 1;
    w.orgs[org].changes.push(Change {
        seq,
        object,
        record_id: id.into(),
        kind,
        ts_ms,
        client: client.map(str::to_string),
        changed: if kind == ChangeKind::Update {
            changed
        } else {
            vec![]
        },
        values,
        platform: None,
    });
}

/// A user's field edit.
fn edit(w: &mut World, at: (usize, &str), ts_ms: i64, values: Value) {
    change(w, at, ChangeKind::Update, ts_ms, USER, values);
}

/// orgsync's write.
fn write(w: &mut World, at: (usize, &str), ts_ms: i64, values: Value) {
    change(w, at, ChangeKind::Update, ts_ms, SYNC, values);
}

/// A user's create, delete or undelete.
fn life(w: &mut World, at: (usize, &str), kind: ChangeKind, ts_ms: i64) {
    let values = if kind == ChangeKind::Create {
        json!({"Name": "x", "Status__c": "New"})
    } else {
        json!({})
    };
    change(w, at, kind, ts_ms, USER, values);
}

/// A work item created by a user in A (id wa, never stamped, Status New) and copied by
/// orgsync to B (id wb, stamped `00DA:wa`); at the end A's Status is `a`, B's `b`.
fn item(a: &str, b: &str) -> World {
    let mut w = world();
    row(
        &mut w,
        0,
        "Work_Item__c",
        ("wa", None),
        json!({"Name": "x", "Status__c": a}),
    );
    let stamped = ("wb", Some("00DA:wa"));
    row(
        &mut w,
        1,
        "Work_Item__c",
        stamped,
        json!({"Name": "x", "Status__c": b}),
    );
    life(&mut w, (0, "wa"), ChangeKind::Create, 1000);
    let created = json!({"Name": "x", "Status__c": "New"});
    change(&mut w, (1, "wb"), ChangeKind::Create, 1100, SYNC, created);
    w
}

/// An account created by a user in A (pa) and copied to B (pb).
fn account(w: &mut World) {
    row(w, 0, "Account", ("pa", None), json!({"Name": "Acme"}));
    row(
        w,
        1,
        "Account",
        ("pb", Some("00DA:pa")),
        json!({"Name": "Acme"}),
    );
    change(
        w,
        (0, "pa"),
        ChangeKind::Create,
        900,
        USER,
        json!({"Name": "Acme"}),
    );
}

fn counts(w: &World) -> Vec<(Check, usize)> {
    let v = judge(w);
    Check::ALL
        .iter()
        .map(|c| (*c, v.count(*c)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[test]
fn a_clean_copy_is_all_zero() {
    let w = item("New", "New");
    assert_eq!(counts(&w), vec![]);
    assert_eq!(judge(&w).writes, 1);
}

#[test]
fn the_newer_edit_of_a_field_must_win() {
    let edits = |w: &mut World| {
        edit(w, (0, "wa"), 2000, json!({"Status__c": "Done"}));
        edit(w, (1, "wb"), 2005, json!({"Status__c": "Blocked"}));
    };
    let mut lost = item("Done", "Done");
    edits(&mut lost);
    // orgsync overwrote b's newer value with a's older one
    write(&mut lost, (1, "wb"), 2100, json!({"Status__c": "Done"}));
    assert_eq!(counts(&lost), vec![(Check::LostUpdate, 1)]);
    let f = &judge(&lost).findings[0];
    assert!(f.note.contains("Status__c"), "{f}");
    assert!(f.note.contains("edited by a user on a"), "{f}");

    let mut kept = item("Blocked", "Blocked");
    edits(&mut kept);
    write(&mut kept, (0, "wa"), 2100, json!({"Status__c": "Blocked"}));
    assert_eq!(counts(&kept), vec![]);
}

#[test]
fn an_exact_tie_goes_to_the_lower_priority_number() {
    let tie = |w: &mut World| {
        edit(w, (0, "wa"), 2000, json!({"Status__c": "Done"}));
        edit(w, (1, "wb"), 2000, json!({"Status__c": "Blocked"}));
    };
    let mut w = item("Done", "Done");
    tie(&mut w);
    assert_eq!(counts(&w), vec![], "a (priority 1) wins the tie");
    let mut w = item("Blocked", "Blocked");
    tie(&mut w);
    assert_eq!(counts(&w), vec![(Check::LostUpdate, 1)]);
}

#[test]
fn fields_are_judged_one_by_one_not_by_the_record_time() {
    // a edits Status at 2000, b edits Status at 2010, then a edits Name at 2020: the record's
    // newest change is a's, but the newest edit of Status is b's
    let edits = |w: &mut World, name: &str| {
        edit(w, (0, "wa"), 2000, json!({"Status__c": "Done"}));
        edit(w, (1, "wb"), 2010, json!({"Status__c": "Blocked"}));
        edit(w, (0, "wa"), 2020, json!({"Name": name}));
    };
    let mut right = item("Blocked", "Blocked");
    edits(&mut right, "x");
    assert_eq!(counts(&right), vec![]);
    let mut wrong = item("Done", "Done");
    edits(&mut wrong, "x");
    assert_eq!(counts(&wrong), vec![(Check::LostUpdate, 1)]);
}

#[test]
fn a_value_differing_across_orgs_is_a_diff_and_names_both_values() {
    let v = judge(&item("Done", "New"));
    assert_eq!(v.count(Check::Diff), 1);
    let d = v.findings.iter().find(|f| f.check == Check::Diff).unwrap();
    assert!(
        d.note.contains("a=\"Done\"") && d.note.contains("b=\"New\""),
        "{d}"
    );
    // a's "Done" was never set by a user either
    assert_eq!(v.count(Check::LostUpdate), 1);
}

#[test]
fn lookups_compare_by_the_parents_global_id_and_numbers_by_value() {
    let mut w = world();
    account(&mut w);
    let a = json!({"Name": 5, "Status__c": "New", "Account__c": "pa"});
    let b = json!({"Name": 5.0, "Status__c": "New", "Account__c": "pb"});
    row(&mut w, 0, "Work_Item__c", ("wa", None), a.clone());
    row(&mut w, 1, "Work_Item__c", ("wb", Some("00DA:wa")), b);
    change(&mut w, (0, "wa"), ChangeKind::Create, 1000, USER, a);
    assert_eq!(counts(&w), vec![]);
    // b pointing at another account is a diff (and a's value wins: b's is a lost update)
    row(&mut w, 1, "Account", ("qb", None), json!({"Name": "Other"}));
    set(&mut w, 1, "wb", "Account__c", json!("qb"));
    let c = counts(&w);
    assert!(c.contains(&(Check::Diff, 1)), "{c:?}");
    assert!(c.contains(&(Check::LostUpdate, 1)), "{c:?}");
}

#[test]
fn missing_and_duplicates() {
    let mut w = item("New", "New");
    delete_row(&mut w, 1, "wb");
    assert_eq!(counts(&w), vec![(Check::Missing, 1)]);
    let v = judge(&w);
    assert!(
        v.findings[0].note.contains("deleted in [b]"),
        "{}",
        v.findings[0]
    );

    let mut w = item("New", "New");
    let copy = json!({"Status__c": "New", "Name": "x"});
    row(&mut w, 1, "Work_Item__c", ("wb2", Some("00DA:wa")), copy);
    assert_eq!(counts(&w), vec![(Check::Duplicate, 1)]);
    // the re-created copy beside a deleted one is no duplicate
    delete_row(&mut w, 1, "wb");
    assert_eq!(counts(&w), vec![]);
}

/// An account in both orgs; a work item of A linked to it, whose copy in B is not.
fn with_parent() -> World {
    let mut w = world();
    account(&mut w);
    let a = json!({"Name": "x", "Account__c": "pa"});
    row(&mut w, 0, "Work_Item__c", ("wa", None), a.clone());
    let b = json!({"Name": "x", "Account__c": null});
    row(&mut w, 1, "Work_Item__c", ("wb", Some("00DA:wa")), b);
    change(&mut w, (0, "wa"), ChangeKind::Create, 1000, USER, a);
    w
}

#[test]
fn an_empty_lookup_beside_a_live_parent_is_an_orphan() {
    let c = counts(&with_parent());
    assert!(c.contains(&(Check::Orphan, 1)), "{c:?}");
    // with the parent deleted everywhere, an empty lookup is right (and not a lost update)
    let mut w = with_parent();
    delete_row(&mut w, 0, "pa");
    delete_row(&mut w, 1, "pb");
    life(&mut w, (0, "pa"), ChangeKind::Delete, 1500);
    set(&mut w, 0, "wa", "Account__c", Value::Null);
    assert_eq!(counts(&w), vec![]);
}

#[test]
fn lookups_the_platform_cleared_and_restored_are_nobodys_edit() {
    // both copies point at the account; a user deleted it in a (the platform cleared a's
    // lookup), a user restored it in b, and orgsync's undelete in a brought it back there
    // (the platform restored a's lookup)
    let mut w = with_parent();
    set(&mut w, 1, "wb", "Account__c", json!("pb"));
    life(&mut w, (0, "pa"), ChangeKind::Delete, 1500);
    let platform = |w: &mut World, ts, v: Value, cause: &str| {
        change(
            w,
            (0, "wa"),
            ChangeKind::Update,
            ts,
            USER,
            json!({"Account__c": v}),
        );
        w.orgs[0].changes.last_mut().unwrap().platform = Some(cause.into());
    };
    platform(&mut w, 1500, Value::Null, "LOOKUP_CLEARED");
    life(&mut w, (1, "pb"), ChangeKind::Undelete, 1550);
    change(
        &mut w,
        (0, "pa"),
        ChangeKind::Undelete,
        1600,
        SYNC,
        json!({}),
    );
    platform(&mut w, 1600, json!("pa"), "LOOKUP_RESTORED");
    let v = judge(&w);
    assert_eq!(counts(&w), vec![], "{:?}", v.findings);
    // the platform's changes are not orgsync's writes either
    assert_eq!(v.writes, 1);
}

#[test]
fn a_lookup_the_platform_restored_after_the_newest_edit_is_its_own() {
    // a's user pointed the item at account pa; the platform later put back an older parent
    // (px, whose undelete restored the lookup it had cleared) in both orgs
    let mut w = with_parent();
    set(&mut w, 1, "wb", "Account__c", json!("pb"));
    edit(&mut w, (0, "wa"), 1500, json!({"Account__c": "pa"}));
    row(&mut w, 0, "Account", ("px", None), json!({"Name": "X"}));
    row(
        &mut w,
        1,
        "Account",
        ("qx", Some("00DA:px")),
        json!({"Name": "X"}),
    );
    let restore = |w: &mut World, at: (usize, &str), v: &str| {
        change(
            w,
            at,
            ChangeKind::Update,
            1700,
            USER,
            json!({"Account__c": v}),
        );
        w.orgs[at.0].changes.last_mut().unwrap().platform = Some("LOOKUP_RESTORED".into());
    };
    set(&mut w, 0, "wa", "Account__c", json!("px"));
    set(&mut w, 1, "wb", "Account__c", json!("qx"));
    let before = counts(&w);
    assert!(before.contains(&(Check::LostUpdate, 1)), "{before:?}");
    restore(&mut w, (0, "wa"), "px");
    restore(&mut w, (1, "wb"), "qx");
    assert!(
        !counts(&w).contains(&(Check::LostUpdate, 1)),
        "{:?}",
        counts(&w)
    );
}

#[test]
fn a_lookup_to_the_deleted_copy_of_a_live_parent_is_an_orphan() {
    let mut w = with_parent();
    // b's parent was re-created (new id pb2) and the child still points at the old copy
    delete_row(&mut w, 1, "pb");
    row(
        &mut w,
        1,
        "Account",
        ("pb2", Some("00DA:pa")),
        json!({"Name": "Acme"}),
    );
    set(&mut w, 1, "wb", "Account__c", json!("pb"));
    assert_eq!(counts(&w), vec![(Check::Orphan, 1)]);
    assert!(judge(&w).findings[0].note.contains("deleted copy"));
}

#[test]
fn a_delete_as_the_last_life_event_must_stay_deleted() {
    let mut w = item("Done", "Done");
    life(&mut w, (1, "wb"), ChangeKind::Delete, 3000);
    // an edit after the delete is not a life event
    edit(&mut w, (0, "wa"), 3001, json!({"Status__c": "Done"}));
    assert_eq!(counts(&w), vec![(Check::Resurrected, 1)]);
    let f = &judge(&w).findings[0];
    assert!(f.note.contains("deleted by a user on b"), "{f}");
    // deleted everywhere: fine
    delete_row(&mut w, 0, "wa");
    delete_row(&mut w, 1, "wb");
    assert_eq!(counts(&w), vec![]);
}

#[test]
fn an_undelete_after_the_delete_keeps_it_alive_and_ties_follow_priority() {
    let mut w = item("New", "New");
    life(&mut w, (1, "wb"), ChangeKind::Delete, 3000);
    life(&mut w, (1, "wb"), ChangeKind::Undelete, 3500);
    assert_eq!(counts(&w), vec![]);
    // same millisecond: a's delete (priority 1) beats b's undelete
    let mut w = item("New", "New");
    life(&mut w, (0, "wa"), ChangeKind::Delete, 3000);
    life(&mut w, (1, "wb"), ChangeKind::Undelete, 3000);
    assert_eq!(counts(&w), vec![(Check::Resurrected, 1)]);
}

#[test]
fn an_undelete_whose_row_the_platform_moved_past_a_later_delete_is_a_race() {
    // a user restored the item in a, a user deleted it in b 16 ms later; then the platform
    // changed a's row (a lookup cleared): a read of a dates the restore after the delete
    let run = |snapshot: bool, platform_at: i64| {
        let mut w = item("New", "New");
        if snapshot {
            w.orgs[0].snapshot_objects = vec!["Work_Item__c".into()];
        }
        life(&mut w, (0, "wa"), ChangeKind::Delete, 2000);
        life(&mut w, (0, "wa"), ChangeKind::Undelete, 3000);
        life(&mut w, (1, "wb"), ChangeKind::Delete, 3016);
        change(
            &mut w,
            (0, "wa"),
            ChangeKind::Update,
            platform_at,
            USER,
            json!({"Account__c": null}),
        );
        w.orgs[0].changes.last_mut().unwrap().platform = Some("LOOKUP_CLEARED".into());
        counts(&w)
    };
    assert_eq!(run(true, 3500), vec![(Check::SnapshotRace, 1)]);
    // change events date the undelete exactly: no excuse
    assert_eq!(run(false, 3500), vec![(Check::Resurrected, 1)]);
    // a's row unchanged since before the delete: a read orders the two
    assert_eq!(run(true, 3010), vec![(Check::Resurrected, 1)]);
}

#[test]
fn orgsync_writes_that_change_no_synced_field_are_echoes() {
    let mut w = item("New", "New");
    write(&mut w, (0, "wa"), 1200, json!({}));
    write(
        &mut w,
        (0, "wa"),
        1300,
        json!({"OrgSync_Global_Id__c": "00DA:wa"}),
    );
    write(&mut w, (1, "wb"), 1400, json!({"Status__c": "New"}));
    // a user's no-op edit is no echo
    edit(&mut w, (1, "wb"), 1500, json!({}));
    let v = judge(&w);
    assert_eq!(v.count(Check::EchoWrite), 2);
    assert_eq!(v.writes, 4);
    let first = &v.findings[0];
    assert!(
        first.note.contains("changed only [LastModifiedDate]"),
        "{first}"
    );
}

#[test]
fn an_older_restore_in_an_org_read_only_after_its_next_edit_is_a_race() {
    // a user restored the item in a (read by snapshots) at 3000; b restored and deleted it
    // (b's restore is the newest revival of all); a's copy, unread since, was edited 1 ms
    // after b's delete: every read of a dates its restore after the delete (chaos seed 227)
    let run = |snapshot: bool, deleted_again_in_a: bool, edit_at: i64| {
        let mut w = item("Done", "Done");
        if snapshot {
            w.orgs[0].snapshot_objects = vec!["Work_Item__c".into()];
        }
        life(&mut w, (0, "wa"), ChangeKind::Delete, 2000);
        life(&mut w, (1, "wb"), ChangeKind::Delete, 2001);
        life(&mut w, (0, "wa"), ChangeKind::Undelete, 3000);
        if deleted_again_in_a {
            life(&mut w, (0, "wa"), ChangeKind::Delete, 3005);
        }
        life(&mut w, (1, "wb"), ChangeKind::Undelete, 3010);
        life(&mut w, (1, "wb"), ChangeKind::Delete, 3016);
        edit(&mut w, (0, "wa"), edit_at, json!({"Status__c": "Done"}));
        counts(&w)
    };
    assert_eq!(run(true, false, 3017), vec![(Check::SnapshotRace, 1)]);
    // change events date a's restore exactly: no excuse
    assert_eq!(run(false, false, 3017), vec![(Check::Resurrected, 1)]);
    // a's copy unchanged since before the delete: a read orders the two
    assert_eq!(run(true, false, 3012), vec![(Check::Resurrected, 1)]);
    // a deleted it again before b's delete: a's restore was not what stood there
    assert_eq!(run(true, true, 3017), vec![(Check::Resurrected, 1)]);
}
