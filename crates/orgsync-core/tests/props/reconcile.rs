//! Reconcile's pure classification: each drift class found with the right repair, nothing
//! reported for copies that agree, and (property) a copy equal to the agreed state is never
//! drift whatever its timestamps.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use orgsync_core::config::{OrgName, Settings};
use orgsync_core::life::Life;
use orgsync_core::merge::{RecordState, Versioned};
use orgsync_core::model::{FieldValue, Fields, GlobalId, OrgId};
use orgsync_core::reconcile::{Copy, DriftClass, Entry, Fix, Input, Scope, classify};
use proptest::prelude::*;

const CONFIG: &str = r#"
[orgs.hub]
login_url = "https://login.salesforce.com"
auth = { flow = "client_credentials", client_id = "x", client_secret = "y" }
[orgs.v1]
login_url = "https://login.salesforce.com"
auth = { flow = "client_credentials", client_id = "x", client_secret = "y" }
[topology]
kind = "hub_and_spoke"
hub = "hub"
spokes = ["v1"]
[[sync]]
object = "Account"
fields = ["Name"]
[[sync]]
object = "Work_Item__c"
fields = ["Name", "Status__c", "Account__c"]
parents = [{ field = "Account__c", policy = "sync", object = "Account" }]
"#;

fn settings() -> Settings {
    Settings::from_files(&[("orgsync.toml", CONFIG)], &|_| None).unwrap()
}

fn t(s: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + TimeDelta::seconds(s)
}

fn v1() -> OrgName {
    OrgName("v1".into())
}

fn v1_id() -> OrgId {
    "00D000000000002".parse().unwrap()
}

fn gid(n: u32) -> GlobalId {
    GlobalId::new("00D000000000001".parse().unwrap(), &format!("a00{n:012}")).unwrap()
}

fn parent(n: u32) -> GlobalId {
    GlobalId::new("00D000000000001".parse().unwrap(), &format!("001{n:012}")).unwrap()
}

fn local(n: u32) -> String {
    format!("a00B{n:011}")
}

fn text(s: &str) -> FieldValue {
    FieldValue::Text(s.into())
}

/// Agreed: Name, Status__c, Account__c as of t(10), made on the hub.
fn agreed(name: &str, status: &str, account: &GlobalId) -> RecordState {
    let mut st = RecordState::default();
    for (k, v) in [
        ("name", text(name)),
        ("status__c", text(status)),
        ("account__c", text(&account.to_string())),
    ] {
        st.agreed.insert(
            k.into(),
            Versioned {
                value: v,
                ts: t(10),
                org: OrgName("hub".into()),
            },
        );
    }
    st
}

fn copy(n: u32, name: &str, status: &str, account: FieldValue, modstamp: i64) -> Copy {
    let mut fields = Fields::new();
    fields.insert("name".into(), text(name));
    fields.insert("status__c".into(), text(status));
    fields.insert("account__c".into(), account);
    Copy {
        local_id: local(n),
        gid_field: Some(gid(n)),
        modstamp: t(modstamp),
        deleted: false,
        fields,
    }
}

fn entry(n: u32, seen: i64) -> Entry {
    Entry {
        local_id: Some(local(n)),
        deleted: false,
        last_modstamp: Some(t(seen)),
    }
}

struct World {
    settings: Settings,
    copies: Vec<Copy>,
    entries: HashMap<GlobalId, Entry>,
    agreed: HashMap<GlobalId, RecordState>,
    pending: HashSet<GlobalId>,
    parents_deleted: HashSet<GlobalId>,
}

impl World {
    fn new() -> World {
        World {
            settings: settings(),
            copies: Vec::new(),
            entries: HashMap::new(),
            agreed: HashMap::new(),
            pending: HashSet::new(),
            parents_deleted: HashSet::new(),
        }
    }

    /// Record `n`, agreed and mapped in v1 (seen at t(20)), with the copy given.
    fn known(&mut self, n: u32, c: Option<Copy>) {
        self.agreed.insert(gid(n), agreed("A", "New", &parent(1)));
        self.entries.insert(gid(n), entry(n, 20));
        self.copies.extend(c);
    }

    fn run(&self, scope: Scope) -> Vec<orgsync_core::reconcile::Drift> {
        let org = v1();
        let org_id = v1_id();
        let input = Input {
            settings: &self.settings,
            sync: &self.settings.syncs[1],
            org: &org,
            org_id: &org_id,
            scope,
            copies: &self.copies,
            entries: &self.entries,
            agreed: &self.agreed,
            pending: &self.pending,
            parents_deleted: &self.parents_deleted,
        };
        classify(&input).drifts
    }
}

fn p1() -> FieldValue {
    text(&parent(1).to_string())
}

#[test]
fn copies_that_agree_are_no_drift() {
    let mut w = World::new();
    w.known(1, Some(copy(1, "A", "New", p1(), 20)));
    w.known(2, Some(copy(2, "A", "New", p1(), 99)));
    assert!(w.run(Scope::Full).is_empty());
}

#[test]
fn a_value_changed_after_what_the_ledger_saw_propagates() {
    let mut w = World::new();
    w.known(1, Some(copy(1, "A", "Done", p1(), 30)));
    let d = w.run(Scope::Window);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].class, DriftClass::Stale);
    assert_eq!(d[0].fields, ["status__c"]);
    assert_eq!(d[0].fix, Fix::Propagate);
}

#[test]
fn a_value_changed_without_a_newer_stamp_is_an_org_behind() {
    let mut w = World::new();
    // stamp already seen by the ledger: the org holds an older value (a restore, a lost write)
    w.known(1, Some(copy(1, "A", "Done", p1(), 20)));
    let d = w.run(Scope::Full);
    assert_eq!((d[0].class, d[0].fix), (DriftClass::Stale, Fix::Restore));
    // unseen stamp, but older than the agreed version of the field: still behind
    let mut w = World::new();
    w.known(1, Some(copy(1, "A", "Done", p1(), 5)));
    w.entries.get_mut(&gid(1)).unwrap().last_modstamp = None;
    let d = w.run(Scope::Full);
    assert_eq!((d[0].class, d[0].fix), (DriftClass::Stale, Fix::Restore));
}

#[test]
fn a_lookup_to_another_parent_is_a_wrong_parent() {
    let mut w = World::new();
    w.known(
        1,
        Some(copy(1, "A", "Old", text(&parent(2).to_string()), 20)),
    );
    let d = w.run(Scope::Full);
    assert_eq!(d[0].class, DriftClass::WrongParent);
    assert_eq!(d[0].fields, ["account__c", "status__c"]);
    assert_eq!(d[0].fix, Fix::Restore);
}

#[test]
fn an_empty_lookup_to_a_deleted_parent_is_dormant_not_drift() {
    let mut w = World::new();
    w.known(1, Some(copy(1, "A", "New", FieldValue::Null, 20)));
    assert_eq!(w.run(Scope::Full)[0].class, DriftClass::WrongParent);
    w.parents_deleted.insert(parent(1));
    assert!(w.run(Scope::Full).is_empty());
}

#[test]
fn a_mapped_copy_gone_from_the_org_is_missing_in_a_full_pass_only() {
    let mut w = World::new();
    w.known(1, None);
    let d = w.run(Scope::Full);
    assert_eq!((d[0].class, d[0].fix), (DriftClass::Missing, Fix::Recreate));
    assert_eq!(d[0].local_id.as_deref(), Some(local(1).as_str()));
    assert!(
        w.run(Scope::Window).is_empty(),
        "a window says nothing of absence"
    );
    // agreed deleted: a copy gone is what it should be
    w.agreed.get_mut(&gid(1)).unwrap().life = Some(Life {
        deleted: true,
        ts: t(30),
        org: OrgName("hub".into()),
    });
    assert!(w.run(Scope::Full).is_empty());
}

#[test]
fn deleted_in_one_org_only() {
    // a delete newer than anything known: a missed capture, propagates
    let mut w = World::new();
    let mut c = copy(1, "A", "New", p1(), 40);
    c.deleted = true;
    w.known(1, Some(c));
    let d = w.run(Scope::Window);
    assert_eq!(
        (d[0].class, d[0].fix),
        (DriftClass::DeletedInSomeOrgs, Fix::Propagate)
    );
    // a live copy of a record deleted by agreement (after its stamp): the org is behind
    let mut w = World::new();
    w.known(1, Some(copy(1, "A", "New", p1(), 20)));
    w.agreed.get_mut(&gid(1)).unwrap().life = Some(Life {
        deleted: true,
        ts: t(30),
        org: OrgName("hub".into()),
    });
    let d = w.run(Scope::Full);
    assert_eq!(
        (d[0].class, d[0].fix),
        (DriftClass::DeletedInSomeOrgs, Fix::Restore)
    );
}

#[test]
fn unknown_copies_with_and_without_a_global_id() {
    let mut w = World::new();
    // carries a known global id the ledger does not map in v1
    w.agreed.insert(gid(1), agreed("A", "New", &parent(1)));
    w.copies.push(copy(1, "A", "New", p1(), 20));
    // carries nothing: born here, never captured
    let mut fresh = copy(2, "B", "New", FieldValue::Null, 20);
    fresh.gid_field = None;
    w.copies.push(fresh);
    // deleted before ever synced: nothing
    let mut gone = copy(3, "C", "New", FieldValue::Null, 20);
    gone.gid_field = None;
    gone.deleted = true;
    w.copies.push(gone);
    let d = w.run(Scope::Full);
    let classes: Vec<_> = d.iter().map(|d| (d.class, d.fix)).collect();
    assert_eq!(d.len(), 2, "{d:?}");
    assert!(classes.contains(&(DriftClass::UnknownWithGlobalId, Fix::Adopt)));
    assert!(classes.contains(&(DriftClass::UnknownNew, Fix::Propagate)));
    let new = d
        .iter()
        .find(|d| d.class == DriftClass::UnknownNew)
        .unwrap();
    assert_eq!(new.global_id, None, "listed by org and local id");
    assert_eq!(new.local_id.as_deref(), Some(local(2).as_str()));
}

#[test]
fn a_copy_carrying_the_global_id_of_a_vanished_one_is_adopted_not_recreated() {
    let mut w = World::new();
    w.known(1, None);
    let mut other = copy(1, "A", "New", p1(), 25);
    other.local_id = local(8);
    w.copies.push(other);
    let d = w.run(Scope::Full);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(
        (d[0].class, d[0].fix),
        (DriftClass::UnknownWithGlobalId, Fix::Adopt)
    );
    assert_eq!(d[0].local_id.as_deref(), Some(local(8).as_str()));
}

#[test]
fn a_second_live_copy_of_a_mapped_record_is_a_duplicate() {
    let mut w = World::new();
    w.known(1, Some(copy(1, "A", "New", p1(), 20)));
    let mut twin = copy(1, "A", "New", p1(), 25);
    twin.local_id = local(7);
    w.copies.push(twin);
    let d = w.run(Scope::Full);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(
        (d[0].class, d[0].fix),
        (DriftClass::DuplicateGlobalId, Fix::Manual)
    );
    assert_eq!(d[0].local_id.as_deref(), Some(local(7).as_str()));
}

#[test]
fn records_with_a_waiting_item_are_work_in_progress() {
    let mut w = World::new();
    w.known(1, Some(copy(1, "A", "Done", p1(), 20)));
    w.known(2, None);
    w.pending.insert(gid(1));
    w.pending.insert(gid(2));
    assert!(w.run(Scope::Full).is_empty());
}

proptest! {
    /// Whatever the stamps, a copy holding the agreed values is never drift, and one differing
    /// in a field is always found, as stale or wrong parent.
    #[test]
    fn equal_is_never_drift_and_different_is_always_found(
        stamp in 0i64..100, seen in proptest::option::of(0i64..100),
        name in "[a-c]{1,2}", other in "[a-c]{1,2}", field in 0usize..3,
    ) {
        let mut w = World::new();
        w.agreed.insert(gid(1), agreed(&name, "New", &parent(1)));
        w.entries.insert(gid(1), Entry { local_id: Some(local(1)), deleted: false, last_modstamp: seen.map(t) });
        w.copies.push(copy(1, &name, "New", p1(), stamp));
        prop_assert!(w.run(Scope::Full).is_empty());
        let k = ["name", "status__c", "account__c"][field];
        let changed = if k == "account__c" { text(&parent(9).to_string()) } else { text(&format!("{other}!")) };
        w.copies[0].fields.insert(k.into(), changed);
        let d = w.run(Scope::Full);
        prop_assert_eq!(d.len(), 1);
        prop_assert!(d[0].fields.contains(&k.to_string()));
        let newer = seen.is_none_or(|s| stamp > s) && stamp > 10;
        prop_assert_eq!(d[0].fix, if newer { Fix::Propagate } else { Fix::Restore });
    }
}
