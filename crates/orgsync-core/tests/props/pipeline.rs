//! The whole pure pipeline against simulated orgs: random edits on a hub and two spokes (and
//! on a chain of three, and a peer pair),
//! captured by CDC (tagged events with only the changed fields) or by polling (current values,
//! no tag), processed by `pipeline::process`, planned and applied. Every org converges to the
//! same values and orgsync never makes a write that changes nothing (an echo write).

use std::collections::HashMap;

use orgsync_core::config::{OrgName, Settings};
use orgsync_core::echo::same_value;
use orgsync_core::mapping::{payload_values, to_merge_keys};
use orgsync_core::merge::RecordState;
use orgsync_core::model::{Change, ChangeKind, FieldValue, Fields, GlobalId, OrgId, Origin};
use orgsync_core::pipeline::{Ledger, process};
use orgsync_core::plan::{ObjectOrder, plan};
use proptest::prelude::*;

/// Topologies the simulation runs, with their org count.
const TOPOLOGIES: [(&str, usize); 3] = [
    (
        "[topology]\nkind = \"hub_and_spoke\"\nhub = \"hub\"\nspokes = [\"v1\", \"v2\"]",
        3,
    ),
    (
        "[topology]\nkind = \"chain\"\norgs = [\"hub\", \"v1\", \"v2\"]",
        3,
    ),
    ("[topology]\nkind = \"peer\"\norgs = [\"hub\", \"v1\"]", 2),
];

const CONFIG: &str = r#"
[orgs.hub]
login_url = "https://login.salesforce.com"
auth = { flow = "client_credentials", client_id = "x", client_secret = "y" }
[orgs.v1]
login_url = "https://login.salesforce.com"
auth = { flow = "client_credentials", client_id = "x", client_secret = "y" }
[orgs.v2]
login_url = "https://login.salesforce.com"
auth = { flow = "client_credentials", client_id = "x", client_secret = "y" }
TOPOLOGY
[[sync]]
object = "Account"
target_object = "Customer__c"
fields = ["Name", "Phone", { source = "Notes__c", target = "Vendor_Notes__c" }]
"#;

/// Synced field names per side (source side = hub).
const HUB_FIELDS: [&str; 3] = ["Name", "Phone", "Notes__c"];
const SPOKE_FIELDS: [&str; 3] = ["Name", "Phone", "Vendor_Notes__c"];

#[derive(Debug, Clone)]
struct Rec {
    fields: Fields,
    modstamp: i64,
    /// Users' edits the engine has not processed yet.
    unprocessed: usize,
}

struct Org {
    name: OrgName,
    id: OrgId,
    records: HashMap<String, Rec>,
    /// CDC events not yet consumed.
    events: Vec<Change>,
    watermark: i64,
}

#[derive(Debug, Clone)]
enum Action {
    Create(usize),
    Edit {
        org: usize,
        pick: usize,
        field: usize,
        value: u8,
    },
    Step(usize),
}

struct Sim {
    settings: Settings,
    orgs: Vec<Org>,
    cdc: bool,
    clock: i64,
    ids: HashMap<(OrgName, String), GlobalId>,
    local: HashMap<(OrgName, GlobalId), String>,
    states: HashMap<GlobalId, RecordState>,
    next_local: usize,
    txn: usize,
    echo_writes: usize,
    writes: usize,
}

fn ts(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(1_700_000_000_000 + ms).unwrap()
}

impl Sim {
    fn new(cdc: bool, topology: &str, n: usize) -> Sim {
        let mut text = CONFIG.replace("TOPOLOGY", topology);
        if n == 2 {
            let cut = text.find("[orgs.v2]").unwrap();
            let end = text[cut..].find("[topology]").unwrap() + cut;
            text.replace_range(cut..end, "");
        }
        let settings = Settings::from_files(&[("sim.toml", &text)], &|_| None).unwrap();
        let orgs = ["hub", "v1", "v2"][..n]
            .iter()
            .enumerate()
            .map(|(i, n)| Org {
                name: OrgName::from(*n),
                id: format!("00D00000000000{i}").parse().unwrap(),
                records: HashMap::new(),
                events: Vec::new(),
                watermark: -1,
            })
            .collect();
        Sim {
            settings,
            orgs,
            cdc,
            clock: 0,
            ids: HashMap::new(),
            local: HashMap::new(),
            states: HashMap::new(),
            next_local: 1,
            txn: 0,
            echo_writes: 0,
            writes: 0,
        }
    }

    fn field_name(&self, org: usize, i: usize) -> &'static str {
        if org == 0 {
            HUB_FIELDS[i]
        } else {
            SPOKE_FIELDS[i]
        }
    }

    /// A write to an org (a user's or ours) commits now and, under CDC, emits an event.
    fn commit(&mut self, org: usize, id: &str, changed: Fields, by_us: bool) {
        self.clock += 1;
        let now = self.clock;
        let o = &mut self.orgs[org];
        let rec = o.records.entry(id.to_string()).or_insert(Rec {
            fields: Fields::new(),
            modstamp: now,
            unprocessed: 0,
        });
        rec.fields.extend(changed.clone());
        rec.modstamp = now;
        rec.unprocessed += usize::from(!by_us);
        self.txn += 1;
        if self.cdc {
            o.events.push(Change {
                org: o.name.clone(),
                object: if org == 0 { "Account" } else { "Customer__c" }.into(),
                record_id: id.to_string(),
                global_id: None,
                fields: changed,
                commit_ts: ts(now),
                origin: Origin {
                    org: o.name.clone(),
                    client_tag: by_us.then(|| "orgsync".to_string()),
                    via_push_from: None,
                },
                kind: ChangeKind::Upsert,
                txn_id: format!("tx{}", self.txn),
                snapshot: false,
            });
        }
    }

    fn act(&mut self, a: &Action) {
        let n = self.orgs.len();
        let a = match *a {
            Action::Create(o) => Action::Create(o % n),
            Action::Edit {
                org,
                pick,
                field,
                value,
            } => Action::Edit {
                org: org % n,
                pick,
                field,
                value,
            },
            Action::Step(o) => Action::Step(o % n),
        };
        match a {
            Action::Create(org) => {
                let id = format!("001{:012}", self.next_local);
                self.next_local += 1;
                let mut f = Fields::new();
                f.insert("Name".into(), FieldValue::Text(format!("new{id}")));
                self.commit(org, &id, f, false);
            }
            Action::Edit {
                org,
                pick,
                field,
                value,
            } => {
                let mut ids: Vec<String> = self.orgs[org].records.keys().cloned().collect();
                if ids.is_empty() {
                    return;
                }
                ids.sort();
                let id = ids[pick % ids.len()].clone();
                let name = self.field_name(org, field);
                let current = self.orgs[org].records[&id].fields.get(name).cloned();
                let v = FieldValue::Text(format!("v{value}"));
                if current.as_ref().is_some_and(|c| same_value(c, &v)) {
                    return; // not a change
                }
                let mut f = Fields::new();
                f.insert(name.into(), v);
                self.commit(org, &id, f, false);
            }
            Action::Step(org) => self.step(org),
        }
    }

    /// The engine captures what is new in one org and processes it.
    fn step(&mut self, org: usize) {
        let changes: Vec<Change> = if self.cdc {
            std::mem::take(&mut self.orgs[org].events)
        } else {
            let o = &mut self.orgs[org];
            let mut fresh: Vec<(&String, &Rec)> = o
                .records
                .iter()
                .filter(|(_, r)| r.modstamp > o.watermark)
                .collect();
            fresh.sort_by_key(|(_, r)| r.modstamp);
            let out = fresh
                .iter()
                .map(|(id, r)| Change {
                    org: o.name.clone(),
                    object: if org == 0 { "Account" } else { "Customer__c" }.into(),
                    record_id: (*id).clone(),
                    global_id: None,
                    fields: r.fields.clone(),
                    commit_ts: ts(r.modstamp),
                    origin: Origin {
                        org: o.name.clone(),
                        client_tag: None,
                        via_push_from: None,
                    },
                    kind: ChangeKind::Upsert,
                    txn_id: format!("{}:{}:{}", o.name, id, r.modstamp),
                    snapshot: true,
                })
                .collect();
            o.watermark = o.records.values().map(|r| r.modstamp).max().unwrap_or(-1);
            out
        };
        if !self.cdc {
            // a poll reads current values: every edit so far is in them
            for r in self.orgs[org].records.values_mut() {
                r.unprocessed = 0;
            }
        }
        for c in changes {
            let user_event = self.cdc && c.origin.client_tag.is_none();
            let (org_i, rid) = (org, c.record_id.clone());
            if std::env::var("SIM_TRACE").is_ok() {
                eprintln!(
                    "capture {} {} {:?} @{} tag={:?}",
                    c.org,
                    c.record_id,
                    c.fields,
                    c.commit_ts.timestamp_millis() - 1_700_000_000_000,
                    c.origin.client_tag
                );
            }
            self.handle(c);
            if user_event && let Some(r) = self.orgs[org_i].records.get_mut(&rid) {
                r.unprocessed -= 1;
            }
        }
    }

    fn handle(&mut self, c: Change) {
        let gid = self.ids.get(&(c.org.clone(), c.record_id.clone())).cloned();
        let state = gid
            .as_ref()
            .and_then(|g| self.states.get(g))
            .cloned()
            .unwrap_or_default();
        let org_ids: HashMap<OrgName, OrgId> = self
            .orgs
            .iter()
            .map(|o| (o.name.clone(), o.id.clone()))
            .collect();
        let ids = self.ids.clone();
        let org_id = |o: &OrgName| org_ids.get(o).cloned();
        let gid_of =
            |o: &OrgName, _: &str, id: &str| ids.get(&(o.clone(), id.to_string())).cloned();
        let ledger = Ledger {
            org_id: &org_id,
            global_id_of: &gid_of,
        };
        let sync = self.settings.syncs[0].clone();
        let out = process(&self.settings, &sync, &c, &state, ledger).unwrap();
        let g = out
            .global_id
            .clone()
            .unwrap_or_else(|| gid.clone().unwrap());
        self.ids
            .insert((c.org.clone(), c.record_id.clone()), g.clone());
        self.local
            .insert((c.org.clone(), g.clone()), c.record_id.clone());
        self.states.insert(g.clone(), out.state);
        let local = self.local.clone();
        let p = plan(
            out.items,
            &ObjectOrder::from_settings(&self.settings),
            200,
            &|t, g| local.contains_key(&(t.clone(), g.clone())),
        );
        assert!(p.pending.is_empty());
        for batch in p.batches {
            for item in batch.items {
                self.apply(&item.target, &item.global_id, payload_values(&item.payload));
            }
        }
    }

    /// Upsert on the global id; record what the target now holds.
    fn apply(&mut self, target: &OrgName, g: &GlobalId, values: Fields) {
        let t = self.orgs.iter().position(|o| &o.name == target).unwrap();
        let id = match self.local.get(&(target.clone(), g.clone())) {
            Some(id) => id.clone(),
            None => {
                let id = format!("001{:012}", self.next_local);
                self.next_local += 1;
                self.local.insert((target.clone(), g.clone()), id.clone());
                self.ids.insert((target.clone(), id.clone()), g.clone());
                id
            }
        };
        let synced: Fields = values
            .into_iter()
            .filter(|(k, _)| k != "OrgSync_Global_Id__c")
            .collect();
        let (existing, dirty) = self.orgs[t]
            .records
            .get(&id)
            .map_or((Fields::new(), false), |r| {
                (r.fields.clone(), r.unprocessed > 0)
            });
        // a write that changes nothing the engine already knew about
        if !existing.is_empty()
            && !dirty
            && synced
                .iter()
                .all(|(k, v)| existing.get(k).is_some_and(|e| same_value(e, v)))
        {
            self.echo_writes += 1;
        }
        if std::env::var("SIM_TRACE").is_ok() {
            eprintln!("  write {target} {id} {synced:?}");
        }
        self.writes += 1;
        let sent = ts(self.clock);
        let keyed = to_merge_keys(&self.settings.syncs[0], t == 0, &synced);
        self.states
            .entry(g.clone())
            .or_default()
            .record_written(target, &keyed, sent);
        self.commit(t, &id, synced, true);
    }

    /// Synced values of every global id in every org, in merge-key form.
    fn snapshot(&self) -> HashMap<GlobalId, Vec<Fields>> {
        let mut out: HashMap<GlobalId, Vec<Fields>> = HashMap::new();
        for ((org, g), id) in &self.local {
            let t = self.orgs.iter().position(|o| &o.name == org).unwrap();
            let rec = &self.orgs[t].records[id];
            let mut keyed = to_merge_keys(&self.settings.syncs[0], t == 0, &rec.fields);
            keyed.sort_keys();
            out.entry(g.clone()).or_default().push(keyed);
        }
        out
    }
}

fn actions() -> impl Strategy<Value = Vec<Action>> {
    let one = prop_oneof![
        1 => (0usize..3).prop_map(Action::Create),
        4 => (0usize..3, 0usize..5, 0usize..3, 0u8..3).prop_map(|(org, pick, field, value)| Action::Edit { org, pick, field, value }),
        3 => (0usize..3).prop_map(Action::Step),
    ];
    prop::collection::vec(one, 1..40)
}

fn run(cdc: bool, script: &[Action]) -> Result<(), TestCaseError> {
    for (topology, n) in TOPOLOGIES {
        run_on(cdc, topology, n, script)?;
    }
    Ok(())
}

fn run_on(cdc: bool, topology: &str, n: usize, script: &[Action]) -> Result<(), TestCaseError> {
    let mut sim = Sim::new(cdc, topology, n);
    for a in script {
        sim.act(a);
    }
    for _ in 0..20 {
        for o in 0..n {
            sim.step(o);
        }
    }
    for (g, copies) in sim.snapshot() {
        prop_assert_eq!(copies.len(), n, "{} is not in every org ({})", g, topology);
        for c in &copies[1..] {
            prop_assert_eq!(c, &copies[0], "{} differs between orgs ({})", g, topology);
        }
    }
    prop_assert_eq!(
        sim.echo_writes,
        0,
        "{} of {} writes changed nothing",
        sim.echo_writes,
        sim.writes
    );
    // quiet: once converged, another round of capture causes no write at all
    let before = sim.writes;
    for o in 0..n {
        sim.step(o);
    }
    prop_assert_eq!(sim.writes, before);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn cdc_converges_without_echo_writes(script in actions()) {
        run(true, &script)?;
    }

    #[test]
    fn polling_converges_without_echo_writes(script in actions()) {
        run(false, &script)?;
    }
}

mod unit {
    use super::*;
    use orgsync_core::model::Op;
    use orgsync_core::pipeline::Dropped;

    const HUB: &str = r#"
[orgs.hub]
login_url = "https://login.salesforce.com"
auth = { flow = "client_credentials", client_id = "x", client_secret = "y" }
[orgs.v1]
login_url = "https://login.salesforce.com"
auth = { flow = "client_credentials", client_id = "x", client_secret = "y" }
[orgs.v2]
login_url = "https://login.salesforce.com"
auth = { flow = "client_credentials", client_id = "x", client_secret = "y" }
[topology]
kind = "hub_and_spoke"
hub = "hub"
spokes = ["v1", "v2"]
[[sync]]
object = "Account"
fields = ["Name", { source = "Rating", target = "Rating", direction = "to_target" }]
"#;

    fn change(org: &str, fields: &[(&str, &str)], kind: ChangeKind, tag: Option<&str>) -> Change {
        Change {
            org: OrgName::from(org),
            object: "Account".into(),
            record_id: "001000000000001AAA".into(),
            global_id: None,
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), FieldValue::Text(v.to_string())))
                .collect(),
            commit_ts: ts(10),
            origin: Origin {
                org: OrgName::from(org),
                client_tag: tag.map(str::to_string),
                via_push_from: None,
            },
            kind,
            txn_id: "tx1".into(),
            snapshot: false,
        }
    }

    fn go(c: &Change, state: &RecordState) -> orgsync_core::pipeline::Outcome {
        let s = Settings::from_files(&[("t.toml", HUB)], &|_| None).unwrap();
        let org_id = |o: &OrgName| {
            Some(
                format!("00D00000000000{}", o.as_str().len())
                    .parse()
                    .unwrap(),
            )
        };
        let ledger = Ledger {
            org_id: &org_id,
            global_id_of: &|_, _, _| None,
        };
        process(&s, &s.syncs[0], c, state, ledger).unwrap()
    }

    fn targets(o: &orgsync_core::pipeline::Outcome) -> Vec<(&str, Op)> {
        o.items.iter().map(|i| (i.target.as_str(), i.op)).collect()
    }

    #[test]
    fn own_writes_are_dropped_by_their_tag() {
        let o = go(
            &change("v1", &[("Name", "x")], ChangeKind::Upsert, Some("orgsync")),
            &RecordState::default(),
        );
        assert_eq!(o.dropped, Some(Dropped::OwnWrite));
        assert!(o.items.is_empty());
    }

    #[test]
    fn spoke_change_reaches_hub_and_other_spoke_but_one_way_fields_do_not_go_up() {
        let o = go(
            &change(
                "v1",
                &[("Name", "x"), ("Rating", "Hot")],
                ChangeKind::Upsert,
                None,
            ),
            &RecordState::default(),
        );
        assert_eq!(targets(&o), [("hub", Op::Upsert), ("v2", Op::Upsert)]);
        for i in &o.items {
            assert!(
                i.payload.contains_key("Name") && !i.payload.contains_key("Rating"),
                "{:?}",
                i.payload
            );
        }
        // a record known to the ledger (not a first sight, which is routed everywhere)
        let known = o.state.clone();
        let mut cold = change("v1", &[("Rating", "Cold")], ChangeKind::Upsert, None);
        cold.commit_ts = ts(11);
        let o = go(&cold, &known);
        assert!(
            o.items.is_empty(),
            "a to_target field changed on a spoke goes nowhere: {:?}",
            o.items
        );
        let o = go(
            &change("hub", &[("Rating", "Hot")], ChangeKind::Upsert, None),
            &RecordState::default(),
        );
        assert_eq!(targets(&o), [("v1", Op::Upsert), ("v2", Op::Upsert)]);
    }

    #[test]
    fn deletes_and_undeletes_propagate_once() {
        let o = go(
            &change("v1", &[], ChangeKind::Delete, None),
            &RecordState::default(),
        );
        assert_eq!(targets(&o), [("hub", Op::Delete), ("v2", Op::Delete)]);
        // the echo of our delete in the hub: the hub is already known deleted once it landed
        let mut state = o.state.clone();
        state.set_deleted(&OrgName::from("hub"), true);
        let echo = go(&change("hub", &[], ChangeKind::Delete, None), &state);
        assert_eq!(echo.dropped, Some(Dropped::NoChange));
        // an undelete at the same instant loses: on equal times a delete stands
        let o = go(&change("v1", &[], ChangeKind::Undelete, None), &state);
        assert_eq!(targets(&o), [("v1", Op::Delete)]);
        // a later one revives the record everywhere
        let mut later = change("v1", &[], ChangeKind::Undelete, None);
        later.commit_ts = ts(11);
        let o = go(&later, &state);
        // and its own restored copy gets what was agreed while it was deleted, if it lacks any
        assert_eq!(
            targets(&o),
            [
                ("hub", Op::Undelete),
                ("v2", Op::Undelete),
                ("v1", Op::Upsert)
            ]
        );
    }

    /// A read showing a copy deleted, as the ledger believes, but stamped later than the
    /// delete it knows there: restored and deleted again between two reads. That delete is
    /// the newest life event and beats an older undelete elsewhere; the same read stamped no
    /// later than the known delete (ours, dated as the org stamped it) is no news.
    #[test]
    fn a_read_of_a_copy_deleted_again_is_a_delete() {
        let created = go(
            &change("v1", &[("Name", "x")], ChangeKind::Upsert, None),
            &RecordState::default(),
        );
        let gid = created.global_id.clone().unwrap();
        let mut state = created.state.clone();
        // deleted in v1 at 20 (known), restored by the hub at 30 (agreed: live)
        state.set_deleted_at(&OrgName::from("v1"), true, ts(20));
        state.life = Some(orgsync_core::life::Life {
            deleted: false,
            ts: ts(30),
            org: OrgName::from("hub"),
        });
        let read = |at: i64| {
            let mut c = change("v1", &[], ChangeKind::Delete, None);
            c.global_id = Some(gid.clone());
            c.snapshot = true;
            c.commit_ts = ts(at);
            c
        };
        let same = go(&read(20), &state);
        assert_eq!(same.dropped, Some(Dropped::NoChange));
        let again = go(&read(40), &state);
        assert!(again.state.is_deleted(), "{:?}", again.state.life);
        assert!(
            targets(&again).contains(&("hub", Op::Delete)),
            "{:?}",
            targets(&again)
        );
    }

    /// A record first seen by its delete and undelete (its create was never captured: a
    /// change event missed while the subscription started, a row deleted before any read):
    /// the values the undelete carries are the record's own — agreed and sent on, never
    /// written over with null (chaos seed 61). A value already agreed stays what the copy is
    /// brought back to.
    #[test]
    fn an_undelete_of_a_record_never_seen_carries_its_values() {
        let deleted = go(
            &change("v1", &[], ChangeKind::Delete, None),
            &RecordState::default(),
        );
        let gid = deleted.global_id.clone().unwrap();
        let mut state = deleted.state.clone();
        state.set_deleted_at(&OrgName::from("v1"), true, ts(10));
        let mut undelete = change("v1", &[("Name", "kept")], ChangeKind::Undelete, None);
        undelete.global_id = Some(gid);
        undelete.commit_ts = ts(11);
        let o = go(&undelete, &state);
        assert_eq!(
            o.state.agreed["name"].value,
            FieldValue::Text("kept".into()),
            "{o:?}"
        );
        // (its own copy is looked at too: the write is decided from what it holds then)
        assert_eq!(
            targets(&o)[..2],
            [("hub", Op::Undelete), ("v2", Op::Undelete)]
        );
        // an agreed value newer than the copy's: the copy is brought back to it
        let mut state = o.state.clone();
        state.agreed.get_mut("name").unwrap().value = FieldValue::Text("newer".into());
        state.set_deleted_at(&OrgName::from("v1"), true, ts(12));
        state.life = Some(orgsync_core::life::Life {
            deleted: true,
            ts: ts(12),
            org: OrgName::from("v1"),
        });
        let mut again = undelete.clone();
        again.commit_ts = ts(13);
        let o = go(&again, &state);
        assert_eq!(
            o.state.agreed["name"].value,
            FieldValue::Text("newer".into())
        );
        assert!(targets(&o).contains(&("v1", Op::Upsert)), "{o:?}");
    }
}
