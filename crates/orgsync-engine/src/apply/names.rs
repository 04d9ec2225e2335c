//! Resolve `match_by_name` lookups of a round in the target org: one query per parent object
//! finds the records with those Names; the Names not found are created there (one sObject
//! Collections call per 200). The seeds' `account.sync.policy = syncAccount`, without one call
//! per record.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures::StreamExt;
use orgsync_core::OrgName;
use orgsync_core::mapping::{Payload, PayloadValue};
use serde_json::Value;
use sfclient::Record;

use super::writes::off_task;
use crate::orgs::OrgConn;

/// Names per lookup query.
const NAMES_PER_QUERY: usize = 200;

/// (parent object lowercased, Name) → the target's record id.
pub(crate) type ByName = HashMap<(String, String), String>;

/// Find or create the parents named by the `match_by_name` values of `items` in `org`.
/// A failed query or create leaves those names unresolved: the lookup is then not written
/// this round (the rest of the record is), and a warning names the cause.
pub(crate) async fn resolve<'a>(
    org: &OrgName,
    conn: &OrgConn,
    payloads: impl Iterator<Item = &'a Payload>,
) -> ByName {
    let mut wanted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for payload in payloads {
        for v in payload.values() {
            if let PayloadValue::MatchByName { object, name } = v {
                wanted
                    .entry(object.clone())
                    .or_default()
                    .insert(name.clone());
            }
        }
    }
    let mut out = ByName::new();
    for (object, names) in wanted {
        let key = object.to_ascii_lowercase();
        let names: Vec<String> = names.into_iter().collect();
        for part in names.chunks(NAMES_PER_QUERY) {
            let list = crate::convert::soql_in_list(part);
            // oldest first: with duplicates by Name, every round links the same record
            let soql = format!(
                "SELECT Id, Name FROM {object} WHERE Name IN ({list}) ORDER BY CreatedDate, Id"
            );
            let mut stream = conn.client.query(&soql);
            while let Some(rec) = stream.next().await {
                match rec {
                    Ok(r) => {
                        if let (Some(id), Some(name)) = (
                            r.get("Id").and_then(|v| v.as_str()),
                            r.get("Name").and_then(|v| v.as_str()),
                        ) {
                            out.entry((key.clone(), name.to_string()))
                                .or_insert_with(|| id.to_string());
                        }
                    }
                    Err(e) => {
                        tracing::warn!(%org, object, error = %e, "cannot look up parents by Name");
                        break;
                    }
                }
            }
        }
        let missing: Vec<&String> = names
            .iter()
            .filter(|n| !out.contains_key(&(key.clone(), (*n).clone())))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let records: Vec<Record> = missing
            .iter()
            .map(|n| {
                let mut r = Record::new();
                r.insert("Name".into(), Value::String((*n).clone()));
                r
            })
            .collect();
        let (client, obj) = (conn.client.clone(), object.clone());
        let created =
            off_task(move || async move { client.create_many(&obj, &records).await }).await;
        for (name, result) in missing.into_iter().zip(created) {
            match result {
                Ok(saved) => {
                    out.insert((key.clone(), name.clone()), saved.id);
                }
                Err(e) => {
                    tracing::warn!(%org, object, name, error = %e, "cannot create the parent by Name")
                }
            }
        }
    }
    out
}
