//! Convergence: every org's records of every synced object, keyed by global id (the
//! `OrgSync_Global_Id__c` value, or `<org id>:<Id>` for a record still only in its origin org),
//! compared field by field. Read in-process from the emulator, so it costs no API calls.

use std::collections::BTreeMap;

use serde_json::Value;

use super::config::OBJECTS;
use super::orgs::DemoOrg;

/// One org's records: object → global id → compared field values.
pub type Snapshot = BTreeMap<String, BTreeMap<String, Vec<Value>>>;

/// Read one org.
pub fn snapshot(org: &DemoOrg) -> anyhow::Result<Snapshot> {
    let mut snap = Snapshot::new();
    for (object, fields) in OBJECTS {
        let soql = format!(
            "SELECT Id, OrgSync_Global_Id__c, {} FROM {object}",
            fields.join(", ")
        );
        let mut by_gid = BTreeMap::new();
        for row in org.query(&soql)? {
            let gid = match row.get("OrgSync_Global_Id__c").and_then(Value::as_str) {
                Some(g) if !g.is_empty() => g.to_string(),
                _ => format!(
                    "{}:{}",
                    org.org_id,
                    row.get("Id").and_then(Value::as_str).unwrap_or("")
                ),
            };
            let vals = fields
                .iter()
                .map(|f| row.get(*f).cloned().unwrap_or(Value::Null))
                .collect();
            by_gid.insert(gid, vals);
        }
        snap.insert(object.to_string(), by_gid);
    }
    Ok(snap)
}

/// How far apart the orgs are: records missing somewhere plus records whose values differ.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// (object, global id) present in some org but not all.
    pub missing: usize,
    /// (object, global id) present everywhere with different values.
    pub different: usize,
    /// A few of the records concerned: (object, global id, indexes of the orgs holding it).
    pub samples: Vec<(String, String, Vec<usize>)>,
}

/// Samples kept per comparison.
const SAMPLES: usize = 5;

impl Divergence {
    /// Every org holds the same records with the same values.
    pub fn converged(&self) -> bool {
        self.missing == 0 && self.different == 0
    }
}

/// Compare snapshots of every org.
pub fn compare(snaps: &[Snapshot]) -> Divergence {
    let mut d = Divergence::default();
    let Some(first) = snaps.first() else { return d };
    for (object, _) in OBJECTS {
        let mut keys: std::collections::BTreeSet<&String> = Default::default();
        for s in snaps {
            if let Some(m) = s.get(*object) {
                keys.extend(m.keys());
            }
        }
        for k in keys {
            let vals: Vec<Option<&Vec<Value>>> = snaps
                .iter()
                .map(|s| s.get(*object).and_then(|m| m.get(k)))
                .collect();
            let missing = vals.iter().any(Option::is_none);
            let different = !missing && vals.windows(2).any(|w| w[0] != w[1]);
            if missing {
                d.missing += 1;
            } else if different {
                d.different += 1;
            }
            if (missing || different) && d.samples.len() < SAMPLES {
                let holding = (0..vals.len()).filter(|i| vals[*i].is_some()).collect();
                d.samples.push((object.to_string(), k.clone(), holding));
            }
        }
        let _ = first;
    }
    d
}

/// For a demo that did not converge: each sampled record, where it is, and what the ledger
/// did with it (id map per org, items with their outcome), so the cause can be read off.
pub async fn explain(
    store: &orgsync_store::SqlStore,
    orgs: &[DemoOrg],
    d: &Divergence,
) -> anyhow::Result<String> {
    use orgsync_store::{ItemFilter, Page, Store};
    let mut out = String::new();
    for (object, gid, holding) in &d.samples {
        let names: Vec<&str> = holding
            .iter()
            .filter_map(|i| orgs.get(*i).map(|o| o.name.as_str()))
            .collect();
        out += &format!(
            "  {object} {gid}: held by {}
",
            names.join(", ")
        );
        let Ok(g) = gid.parse::<orgsync_core::GlobalId>() else {
            continue;
        };
        for o in orgs {
            let org = orgsync_core::OrgName(o.name.clone());
            for r in store
                .records(&org, object, std::slice::from_ref(&g))
                .await?
            {
                out += &format!(
                    "    ledger {}: local id {:?}, deleted {}\n",
                    o.name, r.local_id, r.deleted
                );
            }
        }
        let filter = ItemFilter {
            global_id: Some(g.clone()),
            ..ItemFilter::default()
        };
        for it in store.items(&filter, Page::first(50)).await? {
            out += &format!(
                "    item {} {:?} → {} from {:?} ({:?}) txn {:?}\n",
                it.id.0, it.work.op, it.work.target, it.source_org, it.state, it.txn_id
            );
        }
    }
    Ok(out)
}
