//! Salesforce JSON values ↔ `orgsync_core::FieldValue`, and payloads → records to write.
//!
//! Text that has the exact shape of a Salesforce date or datetime is read as one, so that
//! `…Z` and `…+0000` spellings of the same instant compare equal and never cause an echo
//! write. (A text field holding such a string is read as a date too; it is written back in
//! Salesforce's canonical spelling, which is harmless.)

use std::collections::HashMap;

use chrono::NaiveDate;
use orgsync_core::mapping::{Payload, PayloadValue};
use orgsync_core::{FieldValue, GlobalId};
use serde_json::Value;
use sfclient::Record;

/// A JSON value as read from Salesforce.
pub(crate) fn from_json(v: &Value) -> FieldValue {
    match v {
        Value::Null => FieldValue::Null,
        Value::Bool(b) => FieldValue::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => FieldValue::Int(i),
            None => FieldValue::Number(n.to_string()),
        },
        Value::String(s) => from_text(s),
        other => FieldValue::Text(other.to_string()),
    }
}

fn from_text(s: &str) -> FieldValue {
    let b = s.as_bytes();
    let date_shape = b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[8..10].iter().all(u8::is_ascii_digit);
    if date_shape
        && b.len() == 10
        && let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
    {
        return FieldValue::Date(d);
    }
    if date_shape
        && b.len() > 10
        && b[10] == b'T'
        && let Some(v) = FieldValue::parse_datetime(s)
    {
        return v;
    }
    FieldValue::Text(s.to_string())
}

/// A value as written to Salesforce.
pub(crate) fn to_json(v: &FieldValue) -> Value {
    match v {
        FieldValue::Null => Value::Null,
        FieldValue::Bool(b) => Value::Bool(*b),
        FieldValue::Int(i) => Value::from(*i),
        FieldValue::Number(n) => {
            serde_json::from_str::<Value>(n).unwrap_or_else(|_| Value::String(n.clone()))
        }
        FieldValue::Text(t) => Value::String(t.clone()),
        FieldValue::Date(d) => Value::String(d.format("%Y-%m-%d").to_string()),
        FieldValue::DateTime(t) => Value::String(sfclient::values::format_datetime(t)),
    }
}

/// The inside of a SOQL `IN (…)`: each value quoted and escaped, comma-separated.
pub(crate) fn soql_in_list<T: std::fmt::Display>(values: &[T]) -> String {
    values
        .iter()
        .map(|v| sfclient::values::soql_string(&v.to_string()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every row `queryAll` returns for `ids`, 200 per query: `soql` makes each query from the
/// inside of its `IN (…)` (see [`soql_in_list`]). Deleted rows included.
pub(crate) async fn query_all_ids(
    client: &sfclient::Client,
    ids: &[String],
    soql: impl Fn(&str) -> String,
) -> Result<Vec<Record>, sfclient::SfError> {
    use futures::StreamExt;
    let mut out = Vec::new();
    for part in ids.chunks(200) {
        let mut stream = client.query_all(&soql(&soql_in_list(part)));
        while let Some(rec) = stream.next().await {
            out.push(rec?);
        }
    }
    Ok(out)
}

/// Where the lookups of a round's payloads point in the target org.
#[derive(Debug, Default)]
pub(crate) struct Links {
    /// Parents by global id that have landed there: global id → local id.
    pub landed: HashMap<GlobalId, String>,
    /// `match_by_name` parents found or created there (see `apply::names`).
    pub by_name: HashMap<(String, String), String>,
}

/// The record to upsert for a payload: plain values as they are; a lookup whose parent's
/// local id in the target is known (`links.landed`) as that id, other synced lookups as
/// relationship external-id references (`"Account": {"OrgSync_Global_Id__c": "<gid>"}`) so no
/// lookup query is spent; `match_by_name` lookups as the id found or created by Name (left
/// out when that failed).
///
/// Why a known parent is written by id: a record created in the target itself (its origin)
/// does not carry its global id in the external-id field, so a reference would not find it.
pub(crate) fn payload_record(payload: &Payload, links: &Links) -> Record {
    let mut rec = Record::new();
    for (field, value) in payload {
        match value {
            PayloadValue::Value { value } => {
                rec.insert(field.clone(), to_json(value));
            }
            PayloadValue::Reference { global_id, .. } if links.landed.contains_key(global_id) => {
                let id = links.landed.get(global_id).cloned().unwrap_or_default();
                rec.insert(field.clone(), Value::String(id));
            }
            PayloadValue::Reference {
                relationship,
                external_field,
                global_id,
            } => {
                let mut inner = Record::new();
                inner.insert(external_field.clone(), Value::String(global_id.to_string()));
                rec.insert(relationship.clone(), Value::Object(inner));
            }
            PayloadValue::MatchByName { object, name } => {
                if let Some(id) = links
                    .by_name
                    .get(&(object.to_ascii_lowercase(), name.clone()))
                {
                    rec.insert(field.clone(), Value::String(id.clone()));
                }
            }
        }
    }
    rec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_in_either_spelling_are_equal() {
        let a = from_json(&Value::String("2024-01-02T03:04:05.000+0000".into()));
        let b = from_json(&Value::String("2024-01-02T03:04:05Z".into()));
        assert_eq!(a, b);
        assert!(matches!(a, FieldValue::DateTime(_)));
        assert_eq!(
            to_json(&a),
            Value::String("2024-01-02T03:04:05.000+0000".into())
        );
        assert!(matches!(
            from_json(&Value::String("2024-01-02".into())),
            FieldValue::Date(_)
        ));
        assert!(matches!(
            from_json(&Value::String("2024-01-02 notes".into())),
            FieldValue::Text(_)
        ));
        assert_eq!(
            from_json(&serde_json::json!(1.5)),
            FieldValue::Number("1.5".into())
        );
    }
}
