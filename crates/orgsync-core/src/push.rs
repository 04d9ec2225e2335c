//! The push API's request, as the engine takes it (`POST /api/v1/sync`, the seeds' payload:
//! transactionId, sourceOrgId, timestamp, operation, records[] each with an externalId).
//!
//! Why here: the shape and its validation are pure, shared by the HTTP layer (which parses
//! and authenticates) and the engine (which turns records into changes). [`parse`] turns a
//! body into a [`PushRequest`] or a [`PushError`] naming the wrong field, so the HTTP layer can
//! answer 400 with "which field is wrong" as the seeds promise. The optional request signature
//! is in [`signature`].
//!
//! Accepted body (unknown top-level keys are ignored, for forward compatibility):
//! ```json
//! { "transactionId": "t-1", "sourceOrgId": "00D…", "timestamp": "2026-01-01T00:00:00Z",
//!   "operation": "upsert", "object": "Work_Item__c",
//!   "records": [ { "attributes": { "type": "Work_Item__c" }, "externalId": "…", "Id": "a00…",
//!                  "Name": "…" } ] }
//! ```
//! The object type comes from the top-level `object` or from every record's
//! `attributes.type` (Salesforce's record shape); when both are given they must agree.
//!
//! Records are partial: a field left out of a record is not touched anywhere; `null` clears it.
//! A request is identified by its transactionId together with [`PushRequest::content_hash`]
//! (in [`hash`]), so a retry is recognised and a reused id with other content is not.

pub mod hash;
pub mod signature;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

pub use signature::{
    DEFAULT_WINDOW, SIGNATURE_HEADER, SignatureError, TIMESTAMP_HEADER, check_timestamp, sign,
    verify_signature,
};

/// One validated push request.
#[derive(Debug, Clone, PartialEq)]
pub struct PushRequest {
    /// Unique per sync operation; the engine applies a transaction once (idempotency).
    pub transaction_id: String,
    /// The Salesforce organization id of the sending org, normalised to 18 characters.
    pub source_org_id: String,
    /// When the change happened in the sending org: the commit time used by the merge
    /// (last writer wins), and the reference for "a newer version exists" (409).
    pub timestamp: DateTime<Utc>,
    /// What to do with the records.
    pub operation: PushOperation,
    /// The sObject the records belong to, as named in the sending org.
    pub object: String,
    /// The records.
    pub records: Vec<PushRecord>,
}

/// `upsert` or `delete`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOperation {
    /// Create or update.
    Upsert,
    /// Delete.
    Delete,
}

/// One pushed record.
#[derive(Debug, Clone, PartialEq)]
pub struct PushRecord {
    /// The record's global id (`<origin org id>:<origin record id>`) or, for a record that
    /// originates in the sending org, its record id there.
    pub external_id: String,
    /// The record's id in the sending org, when given.
    pub id: Option<String>,
    /// Field values as Salesforce JSON, named as in the sending org.
    pub fields: Map<String, Value>,
}

/// Why a push body was refused; every variant names the field (a JSON path such as
/// `records[2].externalId`) so the caller can fix its payload from a 400 alone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// The body is not JSON at all.
    #[error("the body is not valid JSON: {0}")]
    Malformed(String),
    /// The body is JSON but not an object.
    #[error("the body must be a JSON object")]
    NotAnObject,
    /// A required field is absent (or null).
    #[error("`{field}` is missing")]
    Missing {
        /// JSON path of the field.
        field: String,
    },
    /// A field is present but wrong.
    #[error("`{field}` {why}")]
    Invalid {
        /// JSON path of the field.
        field: String,
        /// What is wrong and what is expected.
        why: String,
    },
    /// More records than one request may carry (HTTP 413).
    #[error(
        "`records` holds {count} records; a push carries at most {cap} records ([api] max_records): split it"
    )]
    TooManyRecords {
        /// Records in the request.
        count: usize,
        /// The cap.
        cap: usize,
    },
}

impl PushError {
    /// The JSON path of the wrong field, when one field is to blame.
    pub fn field(&self) -> Option<&str> {
        match self {
            PushError::Missing { field } | PushError::Invalid { field, .. } => Some(field),
            PushError::TooManyRecords { .. } => Some("records"),
            PushError::Malformed(_) | PushError::NotAnObject => None,
        }
    }

    fn invalid(field: impl Into<String>, why: impl Into<String>) -> Self {
        PushError::Invalid {
            field: field.into(),
            why: why.into(),
        }
    }

    fn missing(field: impl Into<String>) -> Self {
        PushError::Missing {
            field: field.into(),
        }
    }
}

/// Longest accepted transactionId / externalId: ids are stored in the ledger and echoed back,
/// so an unbounded string is refused rather than stored.
pub const MAX_ID_LEN: usize = 255;

/// Parse and validate a push body, with no cap on the number of records. Never panics.
pub fn parse(body: &[u8]) -> Result<PushRequest, PushError> {
    parse_capped(body, usize::MAX)
}

/// Parse and validate a push body carrying at most `max_records` records (checked before any
/// record is looked at). Never panics, whatever the bytes.
pub fn parse_capped(body: &[u8], max_records: usize) -> Result<PushRequest, PushError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| PushError::Malformed(e.to_string()))?;
    let Value::Object(top) = value else {
        return Err(PushError::NotAnObject);
    };
    let transaction_id = id_string(&top, "transactionId")?;
    let source_org_id = {
        let raw = required_str(&top, "sourceOrgId")?;
        match raw.parse::<crate::OrgId>() {
            Ok(id) => id.as_str().to_string(),
            Err(e) => return Err(PushError::invalid("sourceOrgId", format!("is wrong: {e}"))),
        }
    };
    let timestamp = {
        let raw = required_str(&top, "timestamp")?;
        parse_timestamp(raw).ok_or_else(|| {
            PushError::invalid(
                "timestamp",
                format!("`{raw}` is not an ISO 8601 datetime like 2026-01-31T12:00:00.000Z"),
            )
        })?
    };
    let operation = match required_str(&top, "operation")? {
        "upsert" => PushOperation::Upsert,
        "delete" => PushOperation::Delete,
        other => {
            return Err(PushError::invalid(
                "operation",
                format!("`{other}` is not a known operation (use \"upsert\" or \"delete\")"),
            ));
        }
    };
    let top_object = match top.get("object") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if is_api_name(s) => Some(s.clone()),
        Some(_) => {
            return Err(PushError::invalid(
                "object",
                "must be an sObject API name such as \"Work_Item__c\"",
            ));
        }
    };
    let raw_records = match top.get("records") {
        None | Some(Value::Null) => return Err(PushError::missing("records")),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(PushError::invalid("records", "must be an array")),
    };
    if raw_records.len() > max_records {
        return Err(PushError::TooManyRecords {
            count: raw_records.len(),
            cap: max_records,
        });
    }
    if raw_records.is_empty() {
        return Err(PushError::invalid(
            "records",
            "is empty (send at least one record)",
        ));
    }
    let mut object = top_object.clone();
    let mut records = Vec::with_capacity(raw_records.len());
    for (i, raw) in raw_records.iter().enumerate() {
        let (record, ty) = parse_record(i, raw)?;
        match (&object, ty) {
            (None, Some(t)) => object = Some(t),
            (Some(o), Some(t)) if !o.eq_ignore_ascii_case(&t) => {
                let against = if top_object.is_some() {
                    "the top-level `object`"
                } else {
                    "the first record's type"
                };
                return Err(PushError::invalid(
                    format!("records[{i}].attributes.type"),
                    format!("`{t}` disagrees with {against} `{o}`"),
                ));
            }
            _ => {}
        }
        records.push(record);
    }
    let Some(object) = object else {
        return Err(PushError::missing("object"));
    };
    // records before the first one with a type were checked only when `object` is top-level
    if top_object.is_none() {
        for (i, raw) in raw_records.iter().enumerate() {
            if record_type(raw).is_none() {
                return Err(PushError::missing(format!("records[{i}].attributes.type")));
            }
        }
    }
    Ok(PushRequest {
        transaction_id,
        source_org_id,
        timestamp,
        operation,
        object,
        records,
    })
}

/// One record and its `attributes.type`, if any.
fn parse_record(i: usize, raw: &Value) -> Result<(PushRecord, Option<String>), PushError> {
    let Value::Object(map) = raw else {
        return Err(PushError::invalid(
            format!("records[{i}]"),
            "must be an object",
        ));
    };
    let external_id = match map.get("externalId") {
        None | Some(Value::Null) => {
            return Err(PushError::missing(format!("records[{i}].externalId")));
        }
        Some(Value::String(s)) if is_id_text(s) => s.clone(),
        Some(_) => {
            return Err(PushError::invalid(
                format!("records[{i}].externalId"),
                id_rule(),
            ));
        }
    };
    let id = match map.get("Id").or_else(|| map.get("id")) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if crate::model::to_id18(s).is_ok() => Some(s.clone()),
        Some(_) => {
            return Err(PushError::invalid(
                format!("records[{i}].Id"),
                "must be a 15- or 18-character Salesforce id",
            ));
        }
    };
    let ty = match map.get("attributes") {
        None | Some(Value::Null) => None,
        Some(Value::Object(attrs)) => match attrs.get("type") {
            None | Some(Value::Null) => None,
            Some(Value::String(t)) if is_api_name(t) => Some(t.clone()),
            Some(_) => {
                return Err(PushError::invalid(
                    format!("records[{i}].attributes.type"),
                    "must be an sObject API name",
                ));
            }
        },
        Some(_) => {
            return Err(PushError::invalid(
                format!("records[{i}].attributes"),
                "must be an object like {\"type\": \"Account\"}",
            ));
        }
    };
    let fields = map
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "externalId" | "attributes" | "Id" | "id"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok((
        PushRecord {
            external_id,
            id,
            fields,
        },
        ty,
    ))
}

fn record_type(raw: &Value) -> Option<&str> {
    raw.get("attributes")?.get("type")?.as_str()
}

fn required_str<'a>(top: &'a Map<String, Value>, field: &str) -> Result<&'a str, PushError> {
    match top.get(field) {
        None | Some(Value::Null) => Err(PushError::missing(field)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(PushError::invalid(field, "must be a string")),
    }
}

fn id_string(top: &Map<String, Value>, field: &str) -> Result<String, PushError> {
    let s = required_str(top, field)?;
    if !is_id_text(s) {
        return Err(PushError::invalid(field, id_rule()));
    }
    Ok(s.to_string())
}

fn id_rule() -> String {
    format!(
        "must be a non-empty string of at most {MAX_ID_LEN} characters, without control characters"
    )
}

/// An id a peer chose (transactionId, externalId): non-empty, at most [`MAX_ID_LEN`] bytes,
/// no control characters (ids are stored, logged and echoed back).
fn is_id_text(s: &str) -> bool {
    !s.trim().is_empty() && s.len() <= MAX_ID_LEN && !s.chars().any(char::is_control)
}

/// ISO 8601 with an offset (`…Z`, `…+00:00`, Salesforce's `…+0000`), to the millisecond.
fn parse_timestamp(raw: &str) -> Option<DateTime<Utc>> {
    match crate::FieldValue::parse_datetime(raw)? {
        // epoch milliseconds are a CDC convenience, not ISO 8601
        crate::FieldValue::DateTime(t) if raw.contains('T') => Some(t),
        _ => None,
    }
}

fn is_api_name(s: &str) -> bool {
    s.len() <= 80
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
