//! The users: seeded random edits of every kind on every org, as a person would make them
//! (a different client than orgsync: `client=user` in the change origin). Creates of parents
//! and children anywhere (children of records created elsewhere, once they arrived), field
//! edits, deletes, undeletes, reparenting, and the races in [`races`]: the same record edited
//! on two orgs within a few ms, edit against delete, delete against undelete.
//!
//! The kind of each step comes from the seed; which record it touches depends on what has
//! arrived where, so the interleaving with the engine varies from run to run.

mod races;
pub mod values;

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};
use sfemu_org::DmlOp;

use crate::model::ObjectSpec;
use crate::orgs::{ChaosOrg, Rec};
use crate::plan::objects;
use crate::push::Peer;

/// The edit loop's state.
#[derive(Debug)]
pub struct Editor {
    rng: StdRng,
    specs: Vec<ObjectSpec>,
    n: u64,
    /// User operations committed.
    pub edits: u64,
    /// Steps by kind (a race is one step of two operations).
    pub made: BTreeMap<String, u64>,
    /// The pushing peer, if the plan has one.
    pub peer: Option<Peer>,
}

/// Lookups a user may change: (object, field).
const REPARENTABLE: &[(&str, &str)] = &[
    ("Work_Item__c", "Account__c"),
    ("Work_Item_Comment__c", "Work_Item__c"),
    ("Work_Log__c", "Work_Item__c"),
    ("Work_Item_Dependency__c", "Blocked_Item__c"),
    ("Work_Item_Dependency__c", "Blocking_Item__c"),
];

impl Editor {
    /// An editor drawing from `seed`.
    pub fn new(seed: u64, peer: Option<Peer>) -> Self {
        Editor {
            rng: StdRng::seed_from_u64(seed),
            specs: objects(),
            n: 0,
            edits: 0,
            made: BTreeMap::new(),
            peer,
        }
    }

    /// Load the first org with a few records of every object (the initial load orgsync copies).
    pub fn load(&mut self, org: &ChaosOrg) -> anyhow::Result<u64> {
        let mut total = 0;
        for (object, n) in [
            ("Account", 6),
            ("Work_Item__c", 15),
            ("Work_Item_Comment__c", 10),
            ("Work_Log__c", 10),
            ("Work_Item_Dependency__c", 4),
        ] {
            let mut rows = Vec::new();
            for _ in 0..n {
                self.n += 1;
                if let Some(rec) = self.new_record(org, object) {
                    rows.push(rec);
                }
            }
            total += org.create_all(object, rows)?.len() as u64;
        }
        Ok(total)
    }

    /// One step on a random org.
    pub async fn step(&mut self, orgs: &[ChaosOrg]) {
        self.n += 1;
        let i = self.rng.random_range(0..orgs.len());
        let roll = self.rng.random_range(0..100);
        let kind = match roll {
            0..6 => self.create(orgs, i, "Account"),
            6..16 => self.create(orgs, i, "Work_Item__c"),
            16..24 => self.create(orgs, i, "Work_Item_Comment__c"),
            24..30 => self.create(orgs, i, "Work_Log__c"),
            30..34 => self.create(orgs, i, "Work_Item_Dependency__c"),
            34..56 => self.update(orgs, i),
            56..66 => self.concurrent_edit(orgs, i).await,
            66..71 => self.edit_delete_race(orgs, i).await,
            71..78 => self.delete_or_undelete(orgs, i, false),
            78..84 => self.delete_or_undelete(orgs, i, true),
            84..89 => self.delete_undelete_race(orgs, i).await,
            _ => self.reparent(orgs, i),
        };
        *self.made.entry(kind.to_string()).or_default() += 1;
    }

    fn spec(&self, object: &str) -> ObjectSpec {
        self.specs
            .iter()
            .find(|s| s.name == object)
            .cloned()
            .unwrap_or_else(|| ObjectSpec {
                name: object.into(),
                fields: vec![],
                lookups: vec![],
            })
    }

    fn random_object(&mut self) -> String {
        let i = self.rng.random_range(0..self.specs.len());
        self.specs[i].name.clone()
    }

    fn choose(&mut self, recs: &[Rec]) -> Option<Rec> {
        recs.choose(&mut self.rng).cloned()
    }

    fn tag(&self, org: &ChaosOrg) -> String {
        format!("e{}@{}", self.n, org.name)
    }

    /// Commit one operation as a user of org `i`; pushes it when `i` is the peer's org.
    fn op(&mut self, orgs: &[ChaosOrg], i: usize, object: &str, op: DmlOp) -> Option<String> {
        let before = orgs[i].last_seq();
        let id = orgs[i].apply(op).ok()?.id;
        self.edits += 1;
        let fields = self.spec(object).fields;
        if let Some(p) = self.peer.as_mut().filter(|p| p.org == i) {
            p.after_edit(&orgs[i], object, &id, &fields, before);
        }
        Some(id)
    }

    /// A new record's fields, its lookups pointing at live parents of `org` (None when a
    /// required parent is missing there).
    fn new_record(&mut self, org: &ChaosOrg, object: &str) -> Option<Map<String, Value>> {
        let spec = self.spec(object);
        let plain: Vec<&str> = spec
            .fields
            .iter()
            .filter(|f| spec.lookup(f).is_none())
            .map(String::as_str)
            .collect();
        let tag = self.tag(org);
        let mut rec = values::new_record(&mut self.rng, object, &plain, &tag);
        let mut taken = Vec::new();
        for lk in &spec.lookups {
            let parents: Vec<Rec> = org
                .records(&lk.parent, false)
                .into_iter()
                .filter(|p| !taken.contains(&p.id))
                .collect();
            // an account is optional on a work item; every other parent is required
            let optional = lk.field == "Account__c";
            if optional && self.rng.random_bool(0.3) {
                continue;
            }
            match self.choose(&parents) {
                Some(p) => {
                    rec.insert(lk.field.clone(), Value::String(p.id.clone()));
                    taken.push(p.id);
                }
                None if optional => {}
                None => return None,
            }
        }
        Some(rec)
    }

    fn create(&mut self, orgs: &[ChaosOrg], i: usize, object: &str) -> &'static str {
        let Some(fields) = self.new_record(&orgs[i], object) else {
            return "create: no parent yet";
        };
        let op = DmlOp::Create {
            object: object.into(),
            fields,
        };
        match self.op(orgs, i, object, op) {
            Some(_) => "create",
            None => "create: refused",
        }
    }

    /// 1–3 synced non-lookup fields of `object` with fresh values.
    fn field_edit(&mut self, org: &ChaosOrg, object: &str) -> Map<String, Value> {
        let spec = self.spec(object);
        let plain: Vec<&String> = spec
            .fields
            .iter()
            .filter(|f| spec.lookup(f).is_none())
            .collect();
        let k = self.rng.random_range(1..=3.min(plain.len()).max(1));
        let chosen: Vec<String> = plain
            .choose_multiple(&mut self.rng, k)
            .map(|f| (*f).clone())
            .collect();
        let tag = self.tag(org);
        chosen
            .into_iter()
            .map(|f| {
                let v = values::value(&mut self.rng, object, &f, &tag);
                (f, v)
            })
            .collect()
    }

    fn update(&mut self, orgs: &[ChaosOrg], i: usize) -> &'static str {
        let object = self.random_object();
        let Some(r) = self.choose(&orgs[i].records(&object, false)) else {
            return "update: nothing to edit";
        };
        let fields = self.field_edit(&orgs[i], &object);
        let op = DmlOp::Update {
            object: Some(object.clone()),
            id: r.id,
            fields,
        };
        match self.op(orgs, i, &object, op) {
            Some(_) => "update",
            None => "update: refused",
        }
    }

    /// Delete a live record of a random object (`restore` false), or undelete a recycled one.
    fn delete_or_undelete(&mut self, orgs: &[ChaosOrg], i: usize, restore: bool) -> &'static str {
        let object = self.random_object();
        let Some(r) = self.choose(&orgs[i].records(&object, restore)) else {
            return if restore {
                "undelete: recycle bin empty"
            } else {
                "delete: nothing to delete"
            };
        };
        let op = if restore {
            DmlOp::Undelete { id: r.id }
        } else {
            DmlOp::Delete { id: r.id }
        };
        match (self.op(orgs, i, &object, op).is_some(), restore) {
            (true, false) => "delete",
            (true, true) => "undelete",
            (false, false) => "delete: refused",
            (false, true) => "undelete: refused",
        }
    }

    /// Point a child's lookup at another live parent of the same org (or, now and then, at
    /// nothing).
    fn reparent(&mut self, orgs: &[ChaosOrg], i: usize) -> &'static str {
        let Some(&(object, field)) = REPARENTABLE.choose(&mut self.rng) else {
            return "reparent: nothing";
        };
        let Some(child) = self.choose(&orgs[i].records(object, false)) else {
            return "reparent: no child";
        };
        let parent_object = if field == "Account__c" {
            "Account"
        } else {
            "Work_Item__c"
        };
        let value = if self.rng.random_bool(0.15) {
            Value::Null
        } else {
            match self.choose(&orgs[i].records(parent_object, false)) {
                Some(p) => Value::String(p.id),
                None => return "reparent: no parent",
            }
        };
        let mut fields = Map::new();
        fields.insert(field.into(), value);
        let op = DmlOp::Update {
            object: Some(object.into()),
            id: child.id,
            fields,
        };
        match self.op(orgs, i, object, op) {
            Some(_) => "reparent",
            None => "reparent: refused",
        }
    }
}
