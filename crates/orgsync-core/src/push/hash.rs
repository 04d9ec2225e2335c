//! What a push asks for, as one hash: stored with its transactionId so that the same id sent
//! again is recognised as a retry only when it carries the same content.
//!
//! Why the parsed request and not the raw body: a sender retrying after a timeout may
//! re-serialise its payload (other key order, other spacing, a fresh `timestamp`, the
//! 15-character org id) and it is still the same transaction; what must not pass silently is
//! other *content* under a used id. So the hash covers what the request would change —
//! `operation`, `object` (case-insensitive, as Salesforce names are) and the records in order
//! (externalId, Id as 18 characters, fields by lower-cased name with their JSON values) — and
//! leaves out `timestamp` and `sourceOrgId` (the sender is fixed by its token). Objects inside
//! values are written with sorted keys, so key order never matters.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{PushOperation, PushRecord, PushRequest};

impl PushRequest {
    /// Hex SHA-256 of the request's content (see the module doc for what it covers).
    pub fn content_hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"orgsync-push-v1\n");
        h.update(match self.operation {
            PushOperation::Upsert => b"upsert\n".as_slice(),
            PushOperation::Delete => b"delete\n".as_slice(),
        });
        h.update(self.object.to_ascii_lowercase().as_bytes());
        h.update(b"\n");
        for r in &self.records {
            h.update(canonical(&record_value(r)).as_bytes());
            h.update(b"\n");
        }
        hex::encode(h.finalize())
    }
}

fn record_value(r: &PushRecord) -> Value {
    let mut fields = Map::new();
    for (k, v) in &r.fields {
        fields.insert(k.to_ascii_lowercase(), v.clone());
    }
    let id =
        r.id.as_deref()
            .map(|i| crate::model::to_id18(i).unwrap_or_else(|_| i.to_string()));
    serde_json::json!({ "externalId": r.external_id, "Id": id, "fields": fields })
}

/// JSON text with every object's keys sorted (serde_json keeps insertion order here).
fn canonical(v: &Value) -> String {
    let mut out = String::new();
    write(v, &mut out);
    out
}

fn write(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(x) = m.get(k) {
                    write(x, out);
                }
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}
