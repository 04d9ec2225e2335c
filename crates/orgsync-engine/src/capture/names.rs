//! `match_by_name` lookups are captured as their parent's Name ([`name_ref`]), not its id: the
//! id differs in every org, the Name is what the policy matches on. One query per parent
//! object per chunk reads the Names of the parents the chunk's rows point at.

use std::collections::{BTreeSet, HashMap};

use futures::StreamExt;
use orgsync_core::Settings;
use orgsync_core::config::ParentPolicy;
use orgsync_core::mapping::{NAME_REF, name_ref, parent_object};
use orgsync_core::{FieldValue, OrgName};

use super::Captured;
use crate::error::EngineError;
use crate::leg::Leg;
use crate::orgs::OrgConn;

/// Ids per Name query.
const IDS_PER_QUERY: usize = 300;

/// Replace the parent ids of `sync`'s `match_by_name` lookups in `rows` by the parents' Names.
/// A parent that cannot be read (deleted, not visible) leaves its lookup as the id, which the
/// mapping then leaves out rather than linking a wrong record.
pub(crate) async fn canonical_names(
    settings: &Settings,
    leg: &Leg,
    conn: &OrgConn,
    rows: &mut [Captured],
) -> Result<(), EngineError> {
    let side = leg.side.is_source();
    let org = &leg.org;
    for p in &leg.settings(settings).parents {
        let ParentPolicy::MatchByName { object } = &p.policy else {
            continue;
        };
        let field = if side { &p.field } else { &p.target_field };
        let ids: BTreeSet<String> = rows
            .iter()
            .filter_map(|r| match r.field(field) {
                Some(FieldValue::Text(t)) if !t.starts_with(NAME_REF) => Some(t.clone()),
                _ => None,
            })
            .collect();
        if ids.is_empty() {
            continue;
        }
        let names = read_names(conn, org, &parent_object(settings, object, side), ids).await?;
        for r in rows.iter_mut() {
            if let Some((_, v)) = r
                .fields
                .iter_mut()
                .find(|(k, _)| k.eq_ignore_ascii_case(field))
                && let FieldValue::Text(id) = v
                && let Some(name) = names.get(id.as_str())
            {
                *v = name_ref(name);
            }
        }
    }
    Ok(())
}

/// Id → Name of `ids` in `object` on `org`.
async fn read_names(
    conn: &OrgConn,
    org: &OrgName,
    object: &str,
    ids: BTreeSet<String>,
) -> Result<HashMap<String, String>, EngineError> {
    let ids: Vec<String> = ids.into_iter().collect();
    let mut out = HashMap::new();
    for part in ids.chunks(IDS_PER_QUERY) {
        let list = crate::convert::soql_in_list(part);
        let soql = format!("SELECT Id, Name FROM {object} WHERE Id IN ({list})");
        let mut stream = conn.client.query(&soql);
        while let Some(rec) = stream.next().await {
            let rec = rec.map_err(|source| EngineError::Api {
                org: org.clone(),
                source,
            })?;
            if let (Some(id), Some(name)) = (
                rec.get("Id").and_then(|v| v.as_str()),
                rec.get("Name").and_then(|v| v.as_str()),
            ) {
                out.insert(id.to_string(), name.to_string());
            }
        }
    }
    Ok(out)
}
