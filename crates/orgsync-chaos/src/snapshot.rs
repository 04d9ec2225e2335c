//! Read the emulated orgs into a [`World`] for the judge: every row of every synced object
//! (`queryAll`, so the recycle bin too) and the whole change log, in-process (no API calls,
//! so reading does not disturb what it measures). The change log is the one
//! `/__sfemu/changes` serves.

use serde_json::{Map, Value};

use crate::config::{CLIENT_TAG, priority};
use crate::model::{Change, ChangeKind, OrgState, Row, World, client_of};
use crate::orgs::ChaosOrg;
use crate::plan::objects;

/// The world as the orgs hold it now; `snapshot_objects(i)` lists the objects org `i`'s
/// changes reach orgsync as snapshots (see [`OrgState::snapshot_objects`]).
pub fn world(
    orgs: &[ChaosOrg],
    snapshot_objects: impl Fn(usize) -> Vec<String>,
) -> anyhow::Result<World> {
    let specs = objects();
    let mut states = Vec::with_capacity(orgs.len());
    for (i, org) in orgs.iter().enumerate() {
        let mut rows = Vec::new();
        for spec in &specs {
            let soql = format!(
                "SELECT Id, IsDeleted, OrgSync_Global_Id__c, {} FROM {}",
                spec.fields.join(", "),
                spec.name
            );
            for r in org.query(&soql, true)? {
                let get = |k: &str| r.get(k).cloned().unwrap_or(Value::Null);
                let values: Map<String, Value> =
                    spec.fields.iter().map(|f| (f.clone(), get(f))).collect();
                rows.push(Row {
                    object: spec.name.clone(),
                    id: get("Id").as_str().unwrap_or_default().to_string(),
                    gid_field: get("OrgSync_Global_Id__c").as_str().map(str::to_string),
                    deleted: get("IsDeleted").as_bool().unwrap_or(false),
                    values,
                });
            }
        }
        let changes = org
            .changes_after(0)
            .into_iter()
            .filter(|c| specs.iter().any(|s| s.name == c.entity))
            .filter_map(|c| {
                Some(Change {
                    seq: c.seq,
                    object: c.entity,
                    record_id: c.record_id,
                    kind: ChangeKind::parse(&c.change_type)?,
                    ts_ms: c.commit_timestamp.timestamp_millis(),
                    client: client_of(&c.change_origin),
                    changed: c.changed_fields,
                    values: c.values,
                    platform: c.cause,
                })
            })
            .collect();
        states.push(OrgState {
            name: org.name.clone(),
            org_id: org.org_id.clone(),
            priority: priority(i),
            rows,
            changes,
            snapshot_objects: snapshot_objects(i),
        });
    }
    Ok(World {
        objects: specs,
        orgs: states,
        client_tag: CLIENT_TAG.to_string(),
    })
}
