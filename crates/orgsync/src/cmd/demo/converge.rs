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
}

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
            if vals.iter().any(Option::is_none) {
                d.missing += 1;
            } else if vals.windows(2).any(|w| w[0] != w[1]) {
                d.different += 1;
            }
        }
        let _ = first;
    }
    d
}
