//! The judge on hand-made worlds: each check fires on the case it names and stays quiet on
//! its near miss, so a wrong count in a chaos run is the product's, not the instrument's.
#![allow(clippy::unwrap_used)]

use serde_json::{Map, Value, json};

use super::{Check, judge};
use crate::model::{Change, ChangeKind, Lookup, ObjectSpec, OrgState, Row, World};

const USER: Option<&str> = Some("user");
const SYNC: Option<&str> = Some("orgsync");

fn objects() -> Vec<ObjectSpec> {
    vec![
        ObjectSpec {
            name: "Account".into(),
            fields: vec!["Name".into()],
            lookups: vec![],
        },
        ObjectSpec {
            name: "Work_Item__c".into(),
            fields: vec!["Name".into(), "Status__c".into(), "Account__c".into()],
            lookups: vec![Lookup {
                field: "Account__c".into(),
                parent: "Account".into(),
            }],
        },
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
    };
    World {
        objects: objects(),
        orgs: vec![org("a", "00DA", 1), org("b", "00DB", 2)],
        client_tag: "orgsync".into(),
    }
}

fn row(w: &mut World, org: usize, object: &str, id: &str, gid: Option<&str>, values: Value) {
    w.orgs[org].rows.push(Row {
        object: object.into(),
        id: id.into(),
        gid_field: gid.map(str::to_string),
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

#[allow(clippy::too_many_arguments)]
fn change(
    w: &mut World,
    org: usize,
    id: &str,
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
    });
}

/// A work item created by a user in A (id wa, never stamped) and copied by orgsync to B (id
/// wb, stamped `00DA:wa`), both with the values `final_a` / `final_b`.
fn item(final_a: Value, final_b: Value) -> World {
    let mut w = world();
    row(&mut w, 0, "Work_Item__c", "wa", None, final_a);
    row(&mut w, 1, "Work_Item__c", "wb", Some("00DA:wa"), final_b);
    change(
        &mut w,
        0,
        "wa",
        ChangeKind::Create,
        1000,
        USER,
        json!({"Name": "x", "Status__c": "New"}),
    );
    change(
        &mut w,
        1,
        "wb",
        ChangeKind::Create,
        1100,
        SYNC,
        json!({"Name": "x", "Status__c": "New"}),
    );
    w
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
    let w = item(
        json!({"Name": "x", "Status__c": "New"}),
        json!({"Name": "x", "Status__c": "New"}),
    );
    assert_eq!(counts(&w), vec![]);
    assert_eq!(judge(&w).writes, 1);
}

#[test]
fn the_newer_edit_of_a_field_must_win() {
    let edits = |w: &mut World| {
        change(
            w,
            0,
            "wa",
            ChangeKind::Update,
            2000,
            USER,
            json!({"Status__c": "Done"}),
        );
        change(
            w,
            1,
            "wb",
            ChangeKind::Update,
            2005,
            USER,
            json!({"Status__c": "Blocked"}),
        );
    };
    let mut lost = item(
        json!({"Status__c": "Done", "Name": "x"}),
        json!({"Status__c": "Done", "Name": "x"}),
    );
    edits(&mut lost);
    // orgsync overwrote b's newer value with a's older one
    change(
        &mut lost,
        1,
        "wb",
        ChangeKind::Update,
        2100,
        SYNC,
        json!({"Status__c": "Done"}),
    );
    assert_eq!(counts(&lost), vec![(Check::LostUpdate, 1)]);
    let f = &judge(&lost).findings[0];
    assert!(f.note.contains("Status__c"), "{f}");
    assert!(f.note.contains("edited by a user on a"), "{f}");

    let mut kept = item(
        json!({"Status__c": "Blocked", "Name": "x"}),
        json!({"Status__c": "Blocked", "Name": "x"}),
    );
    edits(&mut kept);
    change(
        &mut kept,
        0,
        "wa",
        ChangeKind::Update,
        2100,
        SYNC,
        json!({"Status__c": "Blocked"}),
    );
    assert_eq!(counts(&kept), vec![]);
}

#[test]
fn an_exact_tie_goes_to_the_lower_priority_number() {
    let mut w = item(
        json!({"Status__c": "Done", "Name": "x"}),
        json!({"Status__c": "Done", "Name": "x"}),
    );
    change(
        &mut w,
        0,
        "wa",
        ChangeKind::Update,
        2000,
        USER,
        json!({"Status__c": "Done"}),
    );
    change(
        &mut w,
        1,
        "wb",
        ChangeKind::Update,
        2000,
        USER,
        json!({"Status__c": "Blocked"}),
    );
    assert_eq!(counts(&w), vec![], "a (priority 1) wins the tie");

    let mut w = item(
        json!({"Status__c": "Blocked", "Name": "x"}),
        json!({"Status__c": "Blocked", "Name": "x"}),
    );
    change(
        &mut w,
        0,
        "wa",
        ChangeKind::Update,
        2000,
        USER,
        json!({"Status__c": "Done"}),
    );
    change(
        &mut w,
        1,
        "wb",
        ChangeKind::Update,
        2000,
        USER,
        json!({"Status__c": "Blocked"}),
    );
    assert_eq!(counts(&w), vec![(Check::LostUpdate, 1)]);
}

#[test]
fn fields_are_judged_one_by_one_not_by_the_record_time() {
    // a edits Status at 2000, b edits Status at 2010, then a edits Name at 2020: the record's
    // newest change is a's, but the newest edit of Status is b's
    let edits = |w: &mut World| {
        change(
            w,
            0,
            "wa",
            ChangeKind::Update,
            2000,
            USER,
            json!({"Status__c": "Done"}),
        );
        change(
            w,
            1,
            "wb",
            ChangeKind::Update,
            2010,
            USER,
            json!({"Status__c": "Blocked"}),
        );
        change(
            w,
            0,
            "wa",
            ChangeKind::Update,
            2020,
            USER,
            json!({"Name": "y"}),
        );
    };
    let mut right = item(
        json!({"Status__c": "Blocked", "Name": "y"}),
        json!({"Status__c": "Blocked", "Name": "y"}),
    );
    edits(&mut right);
    assert_eq!(counts(&right), vec![]);
    let mut wrong = item(
        json!({"Status__c": "Done", "Name": "y"}),
        json!({"Status__c": "Done", "Name": "y"}),
    );
    edits(&mut wrong);
    assert_eq!(counts(&wrong), vec![(Check::LostUpdate, 1)]);
}

#[test]
fn a_value_differing_across_orgs_is_a_diff_and_names_both_values() {
    let w = item(
        json!({"Status__c": "Done", "Name": "x"}),
        json!({"Status__c": "New", "Name": "x"}),
    );
    let v = judge(&w);
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
    row(&mut w, 0, "Account", "pa", None, json!({"Name": "Acme"}));
    row(
        &mut w,
        1,
        "Account",
        "pb",
        Some("00DA:pa"),
        json!({"Name": "Acme"}),
    );
    change(
        &mut w,
        0,
        "pa",
        ChangeKind::Create,
        900,
        USER,
        json!({"Name": "Acme"}),
    );
    row(
        &mut w,
        0,
        "Work_Item__c",
        "wa",
        None,
        json!({"Name": 5, "Status__c": "New", "Account__c": "pa"}),
    );
    row(
        &mut w,
        1,
        "Work_Item__c",
        "wb",
        Some("00DA:wa"),
        json!({"Name": 5.0, "Status__c": "New", "Account__c": "pb"}),
    );
    change(
        &mut w,
        0,
        "wa",
        ChangeKind::Create,
        1000,
        USER,
        json!({"Name": 5, "Status__c": "New", "Account__c": "pa"}),
    );
    assert_eq!(counts(&w), vec![]);
    // b pointing at another account is a diff (and a's value wins: b's is a lost update)
    row(&mut w, 1, "Account", "qb", None, json!({"Name": "Other"}));
    w.orgs[1].rows[1]
        .values
        .insert("Account__c".into(), json!("qb"));
    let c = counts(&w);
    assert!(c.contains(&(Check::Diff, 1)), "{c:?}");
    assert!(c.contains(&(Check::LostUpdate, 1)), "{c:?}");
}

#[test]
fn missing_and_duplicates() {
    let mut w = item(
        json!({"Status__c": "New", "Name": "x"}),
        json!({"Status__c": "New", "Name": "x"}),
    );
    delete_row(&mut w, 1, "wb");
    assert_eq!(counts(&w), vec![(Check::Missing, 1)]);
    let v = judge(&w);
    assert!(
        v.findings[0].note.contains("deleted in [b]"),
        "{}",
        v.findings[0]
    );

    let mut w = item(
        json!({"Status__c": "New", "Name": "x"}),
        json!({"Status__c": "New", "Name": "x"}),
    );
    row(
        &mut w,
        1,
        "Work_Item__c",
        "wb2",
        Some("00DA:wa"),
        json!({"Status__c": "New", "Name": "x"}),
    );
    assert_eq!(counts(&w), vec![(Check::Duplicate, 1)]);
    // the re-created copy beside a deleted one is no duplicate
    delete_row(&mut w, 1, "wb");
    assert_eq!(counts(&w), vec![]);
}

fn with_parent() -> World {
    let mut w = world();
    row(&mut w, 0, "Account", "pa", None, json!({"Name": "Acme"}));
    row(
        &mut w,
        1,
        "Account",
        "pb",
        Some("00DA:pa"),
        json!({"Name": "Acme"}),
    );
    change(
        &mut w,
        0,
        "pa",
        ChangeKind::Create,
        900,
        USER,
        json!({"Name": "Acme"}),
    );
    row(
        &mut w,
        0,
        "Work_Item__c",
        "wa",
        None,
        json!({"Name": "x", "Account__c": "pa"}),
    );
    row(
        &mut w,
        1,
        "Work_Item__c",
        "wb",
        Some("00DA:wa"),
        json!({"Name": "x", "Account__c": null}),
    );
    change(
        &mut w,
        0,
        "wa",
        ChangeKind::Create,
        1000,
        USER,
        json!({"Name": "x", "Account__c": "pa"}),
    );
    w
}

#[test]
fn an_empty_lookup_beside_a_live_parent_is_an_orphan() {
    let w = with_parent();
    let c = counts(&w);
    assert!(c.contains(&(Check::Orphan, 1)), "{c:?}");
    // with the parent deleted in b, an empty lookup there is right (and not a lost update)
    let mut w = with_parent();
    delete_row(&mut w, 0, "pa");
    delete_row(&mut w, 1, "pb");
    change(&mut w, 0, "pa", ChangeKind::Delete, 1500, USER, json!({}));
    w.orgs[0].rows[1]
        .values
        .insert("Account__c".into(), Value::Null);
    assert_eq!(counts(&w), vec![]);
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
        "pb2",
        Some("00DA:pa"),
        json!({"Name": "Acme"}),
    );
    w.orgs[1].rows[1]
        .values
        .insert("Account__c".into(), json!("pb"));
    assert_eq!(counts(&w), vec![(Check::Orphan, 1)]);
}

#[test]
fn a_delete_as_the_last_life_event_must_stay_deleted() {
    let mut w = item(
        json!({"Status__c": "Done", "Name": "x"}),
        json!({"Status__c": "Done", "Name": "x"}),
    );
    change(&mut w, 1, "wb", ChangeKind::Delete, 3000, USER, json!({}));
    // an edit after the delete is not a life event
    change(
        &mut w,
        0,
        "wa",
        ChangeKind::Update,
        3001,
        USER,
        json!({"Status__c": "Done"}),
    );
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
    let mut w = item(
        json!({"Status__c": "New", "Name": "x"}),
        json!({"Status__c": "New", "Name": "x"}),
    );
    change(&mut w, 1, "wb", ChangeKind::Delete, 3000, USER, json!({}));
    change(&mut w, 1, "wb", ChangeKind::Undelete, 3500, USER, json!({}));
    assert_eq!(counts(&w), vec![]);
    // same millisecond: a's delete (priority 1) beats b's undelete
    let mut w = item(
        json!({"Status__c": "New", "Name": "x"}),
        json!({"Status__c": "New", "Name": "x"}),
    );
    change(&mut w, 0, "wa", ChangeKind::Delete, 3000, USER, json!({}));
    change(&mut w, 1, "wb", ChangeKind::Undelete, 3000, USER, json!({}));
    assert_eq!(counts(&w), vec![(Check::Resurrected, 1)]);
}

#[test]
fn orgsync_writes_that_change_no_synced_field_are_echoes() {
    let mut w = item(
        json!({"Status__c": "New", "Name": "x"}),
        json!({"Status__c": "New", "Name": "x"}),
    );
    change(&mut w, 0, "wa", ChangeKind::Update, 1200, SYNC, json!({}));
    change(
        &mut w,
        0,
        "wa",
        ChangeKind::Update,
        1300,
        SYNC,
        json!({"OrgSync_Global_Id__c": "00DA:wa"}),
    );
    change(
        &mut w,
        1,
        "wb",
        ChangeKind::Update,
        1400,
        SYNC,
        json!({"Status__c": "New"}),
    );
    // a user's no-op edit is no echo
    change(&mut w, 1, "wb", ChangeKind::Update, 1500, USER, json!({}));
    let v = judge(&w);
    assert_eq!(v.count(Check::EchoWrite), 2);
    assert_eq!(v.writes, 4);
    assert!(
        v.findings[0]
            .note
            .contains("changed only [LastModifiedDate]"),
        "{}",
        v.findings[0]
    );
}
