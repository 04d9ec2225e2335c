//! Platform events (`/event/<Name>__e`): declared per org (config `[[org.platform_events]]` or
//! `POST /__sfemu/pubsub/platform-events`), published by clients through Publish or
//! PublishStream, delivered to subscribers like change events.
//!
//! The schema has Salesforce's shape: `CreatedDate` (long, epoch ms) and `CreatedById`
//! (string) first, then the custom fields as `["null", T]`. Payloads are stored as published:
//! Salesforce does not validate them either (only the schema id and the 1 MB event size).

use super::schema::{AvroKind, EntitySchema};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

/// Largest event payload accepted.
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// A platform event declaration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PlatformEventSpec {
    /// `Order_Event__e`.
    pub name: String,
    /// Custom field name → type (`string`, `boolean`, `int`, `double`, `date`, `datetime`).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// Why a declaration was refused.
#[derive(Debug, thiserror::Error)]
pub enum PlatformEventError {
    #[error("platform event names end in __e: {0}")]
    Name(String),
    #[error("field {field}: unknown type {ftype} (string, boolean, int, double, date, datetime)")]
    Type { field: String, ftype: String },
    #[error("field names are letters, digits and _: {0}")]
    FieldName(String),
    #[error("schema: {0}")]
    Schema(#[from] apache_avro::Error),
}

fn kind(t: &str) -> Option<AvroKind> {
    Some(match t.to_ascii_lowercase().as_str() {
        "string" | "text" | "textarea" | "picklist" | "id" | "reference" => AvroKind::String,
        "boolean" | "checkbox" => AvroKind::Boolean,
        "int" | "integer" => AvroKind::Int,
        "double" | "number" | "currency" | "percent" => AvroKind::Double,
        "date" => AvroKind::Date,
        "datetime" => AvroKind::DateTime,
        _ => return None,
    })
}

fn valid_name(n: &str) -> bool {
    n.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Builds the schema of a platform event.
pub fn build(spec: &PlatformEventSpec) -> Result<EntitySchema, PlatformEventError> {
    if !spec.name.ends_with("__e") || !valid_name(&spec.name) {
        return Err(PlatformEventError::Name(spec.name.clone()));
    }
    let mut json_fields = vec![
        json!({"name": "CreatedDate", "type": "long", "doc": "CreatedDate:DateTime"}),
        json!({"name": "CreatedById", "type": "string", "doc": "CreatedBy:EntityId"}),
    ];
    let mut fields = vec![
        ("CreatedDate".to_string(), AvroKind::DateTime),
        ("CreatedById".to_string(), AvroKind::String),
    ];
    for (name, ftype) in &spec.fields {
        if !valid_name(name) {
            return Err(PlatformEventError::FieldName(name.clone()));
        }
        let k = kind(ftype).ok_or_else(|| PlatformEventError::Type {
            field: name.clone(),
            ftype: ftype.clone(),
        })?;
        json_fields.push(json!({"name": name, "type": ["null", k.avro_type()], "default": null}));
        fields.push((name.clone(), k));
    }
    let mut schema = json!({
        "name": spec.name,
        "namespace": "com.sforce.eventbus",
        "type": "record",
        "fields": json_fields,
    });
    let digest = ring::digest::digest(&ring::digest::SHA256, schema.to_string().as_bytes());
    let schema_id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16]);
    schema["uuid"] = json!(schema_id);
    let text = schema.to_string();
    let avro = apache_avro::Schema::parse_str(&text)?;
    let by_name = fields
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (n.to_ascii_lowercase(), i))
        .collect();
    Ok(EntitySchema {
        entity: spec.name.clone(),
        topic: format!("/event/{}", spec.name),
        schema_id,
        json: text,
        avro,
        fields,
        by_name,
        platform: true,
    })
}
