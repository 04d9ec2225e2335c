//! The edit loop: about once a second, something a person would do on one of the orgs —
//! status changes on the hub, comments and work logs on the vendors, new work items, deletes
//! and undeletes, files attached to work items, and now and then the same record edited on two
//! orgs at once.

use rand::Rng;
use rand::seq::IndexedRandom;
use serde_json::{Map, Value, json};
use sfemu_org::DmlOp;

use super::data;
use super::orgs::DemoOrg;

/// What the loop remembers between edits.
#[derive(Debug, Default)]
pub struct Editor {
    n: usize,
    /// Recently deleted records (org index, id) that may be undeleted.
    deleted: Vec<(usize, String)>,
    /// Edits made, by kind.
    pub made: std::collections::BTreeMap<&'static str, u64>,
}

fn ids(org: &DemoOrg, object: &str) -> Vec<String> {
    org.query(&format!("SELECT Id FROM {object} ORDER BY Id LIMIT 500"))
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r.get("Id").and_then(Value::as_str).map(str::to_string))
        .collect()
}

fn fields(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn update(object: &str, id: &str, v: Value) -> DmlOp {
    DmlOp::Update {
        object: Some(object.into()),
        id: id.into(),
        fields: fields(v),
    }
}

impl Editor {
    /// Make one edit on a random org (orgs[0] is the hub).
    pub fn step(&mut self, orgs: &[DemoOrg], rng: &mut impl Rng) {
        self.n += 1;
        let i = rng.random_range(0..orgs.len());
        let org = &orgs[i];
        let items = ids(org, "Work_Item__c");
        let Some(item) = items.choose(rng).cloned() else {
            return;
        };
        let roll = rng.random_range(0..100);
        let kind = match (i, roll) {
            (0, 0..40) => {
                let st = data::STATUSES.choose(rng).copied().unwrap_or("New");
                org.apply(vec![update(
                    "Work_Item__c",
                    &item,
                    json!({"Status__c": st}),
                )]);
                "status change"
            }
            (_, 0..30) => {
                org.apply(vec![DmlOp::Create {
                    object: "Work_Item_Comment__c".into(),
                    fields: data::comment(rng, &item),
                }]);
                "comment"
            }
            (_, 30..55) => {
                org.apply(vec![DmlOp::Create {
                    object: "Work_Log__c".into(),
                    fields: data::work_log(rng, 1000 + self.n, &item),
                }]);
                "work log"
            }
            (_, 55..65) => {
                org.apply(vec![DmlOp::Create {
                    object: "Work_Item__c".into(),
                    fields: data::work_item(rng, 1000 + self.n, None),
                }]);
                "new work item"
            }
            (_, 65..75) => {
                let logs = ids(org, "Work_Log__c");
                match logs.choose(rng) {
                    Some(id) => {
                        org.apply(vec![DmlOp::Delete { id: id.clone() }]);
                        self.deleted.push((i, id.clone()));
                        "delete"
                    }
                    None => "nothing",
                }
            }
            (_, 75..82) => match self.deleted.pop() {
                Some((j, id)) => {
                    orgs[j].apply(vec![DmlOp::Undelete { id }]);
                    "undelete"
                }
                None => "nothing",
            },
            (_, 82..90) => {
                let h = rng.random_range(1..60) as f64;
                org.apply(vec![update("Work_Item__c", &item, json!({"Estimate_Hours__c": h, "Assignee__c": data::PEOPLE.choose(rng).copied().unwrap_or("")}))]);
                "estimate"
            }
            (_, 90..96) => {
                // A file attached to the work item (files = true: it follows the record).
                let n = self.n;
                let text = format!("Notes {n} on this work item, written on {}.\n", org.name);
                use base64::Engine as _;
                let data = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
                org.apply(vec![DmlOp::Create {
                    object: "ContentVersion".into(),
                    fields: fields(json!({"Title": format!("notes-{n}"), "PathOnClient": format!("notes-{n}.txt"), "VersionData": data, "FirstPublishLocationId": item})),
                }]);
                "file attached"
            }
            _ => {
                self.concurrent(orgs, rng);
                "concurrent edit"
            }
        };
        *self.made.entry(kind).or_default() += 1;
    }

    /// The same work item edited on the hub and on a vendor before either change is synced:
    /// one field each (they merge) and one field on both (last writer wins, recorded).
    fn concurrent(&mut self, orgs: &[DemoOrg], rng: &mut impl Rng) {
        let (hub, vendor) = (&orgs[0], &orgs[rng.random_range(1..orgs.len())]);
        let rows = vendor
            .query("SELECT Id, OrgSync_Global_Id__c FROM Work_Item__c WHERE OrgSync_Global_Id__c != null LIMIT 200")
            .unwrap_or_default();
        let Some(row) = rows.choose(rng) else { return };
        let (Some(vid), Some(gid)) = (
            row.get("Id").and_then(Value::as_str),
            row.get("OrgSync_Global_Id__c").and_then(Value::as_str),
        ) else {
            return;
        };
        // on the hub the record is found by its global id, or by its own id when it began there
        let local = gid
            .split_once(':')
            .map(|(o, r)| (o == hub.org_id).then(|| r.to_string()));
        let hub_id = match local.flatten() {
            Some(id) => Some(id),
            None => hub
                .query(&format!(
                    "SELECT Id FROM Work_Item__c WHERE OrgSync_Global_Id__c = '{gid}'"
                ))
                .ok()
                .and_then(|r| {
                    r.first()
                        .and_then(|r| r.get("Id"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                }),
        };
        let Some(hub_id) = hub_id else { return };
        hub.apply(vec![update(
            "Work_Item__c",
            &hub_id,
            json!({"Priority__c": "High", "Status__c": "Blocked"}),
        )]);
        vendor.apply(vec![update(
            "Work_Item__c",
            vid,
            json!({"Assignee__c": "Vendor Team", "Status__c": "In Progress"}),
        )]);
    }
}
