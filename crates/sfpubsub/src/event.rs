//! A change event decoded from its Avro payload into what the engine syncs with.

use crate::bitmap::decode_fields;
use crate::replay::ReplayId;
use crate::schema::EventSchema;
use crate::values::{Hint, to_json, unwrap_union};
use apache_avro::types::Value;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;

/// What happened to the records. Gap events carry no field values: the engine must re-read the
/// named records; an overflow carries no record ids: the engine must poll the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeType {
    Create,
    Update,
    Delete,
    Undelete,
    GapCreate,
    GapUpdate,
    GapDelete,
    GapUndelete,
    GapOverflow,
}

impl ChangeType {
    /// Parses Salesforce's spelling (`CREATE`, `GAP_UPDATE`, …).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "CREATE" => Self::Create,
            "UPDATE" => Self::Update,
            "DELETE" => Self::Delete,
            "UNDELETE" => Self::Undelete,
            "GAP_CREATE" => Self::GapCreate,
            "GAP_UPDATE" => Self::GapUpdate,
            "GAP_DELETE" => Self::GapDelete,
            "GAP_UNDELETE" => Self::GapUndelete,
            "GAP_OVERFLOW" => Self::GapOverflow,
            _ => return None,
        })
    }

    /// True for the gap kinds (including overflow): the event has no usable field values.
    pub fn is_gap(self) -> bool {
        matches!(
            self,
            Self::GapCreate
                | Self::GapUpdate
                | Self::GapDelete
                | Self::GapUndelete
                | Self::GapOverflow
        )
    }
}

/// The `ChangeEventHeader` with the field bitmaps already turned into names.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEventHeader {
    /// `Account`, `Work_Item__c`.
    pub entity_name: String,
    /// Usually one; several when one transaction made the same change to many records. Empty
    /// for `GAP_OVERFLOW`.
    pub record_ids: Vec<String>,
    pub change_type: ChangeType,
    /// `com/salesforce/api/rest/59.0;client=orgsync`, or empty for UI changes.
    pub change_origin: String,
    /// The `client=` tag of `change_origin`: the engine's own writes carry its tag, so events
    /// with it are echoes to drop.
    pub origin_client: Option<String>,
    /// Same for every change of one transaction.
    pub transaction_key: String,
    /// Order within the transaction, from 1.
    pub sequence_number: i64,
    pub commit_timestamp: DateTime<Utc>,
    pub commit_number: i64,
    /// The user id that committed.
    pub commit_user: String,
    /// Changed fields (UPDATE only), compound parts as `Parent.Child`.
    pub changed_fields: Vec<String>,
    /// Fields set to null.
    pub nulled_fields: Vec<String>,
    /// Large text fields sent as a diff rather than a value.
    pub diff_fields: Vec<String>,
}

/// One decoded change event.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEvent {
    /// Where this event sits in the topic: store it with what the event produced.
    pub replay_id: ReplayId,
    pub schema_id: String,
    /// `ProducerEvent.id` (a UUID).
    pub event_id: String,
    pub header: ChangeEventHeader,
    /// Non-null object fields under their REST names (compound parts flattened with
    /// [`rest_field_name`]), datetimes formatted as REST does.
    pub fields: Map<String, Json>,
    /// For each compound field present (`Name`, `MailingAddress`), the REST names of its
    /// non-null parts in `fields`: lets a changed compound field reported by its parent name be
    /// expanded to the parts the engine maps.
    pub compound_parts: BTreeMap<String, Vec<String>>,
}

impl ChangeEvent {
    /// Changed and nulled fields with their new values under REST names (null for nulled ones):
    /// the input of a field-level merge.
    ///
    /// A changed name without a value (and not nulled) is left out rather than reported as null;
    /// a compound parent (`Name`) expands to its parts present in the event.
    pub fn changed_values(&self) -> Map<String, Json> {
        let mut out = Map::new();
        for f in &self.header.changed_fields {
            if let Some(parts) = self.compound_parts.get(f) {
                for p in parts {
                    if let Some(v) = self.fields.get(p) {
                        out.insert(p.clone(), v.clone());
                    }
                }
                continue;
            }
            let name = rest_field_name(f);
            if let Some(v) = self.fields.get(&name) {
                out.insert(name, v.clone());
            }
        }
        for f in &self.header.nulled_fields {
            out.insert(rest_field_name(f), Json::Null);
        }
        out
    }
}

/// The REST name of a field path from a change event: `Name.LastName` → `LastName`,
/// `BillingAddress.City` → `BillingCity`, `Address.Street` → `Street`; plain names unchanged.
/// (Salesforce's CDC schemas nest compound fields; REST exposes their parts flat.)
pub fn rest_field_name(path: &str) -> String {
    match path.split_once('.') {
        Some((parent, child)) => match parent.strip_suffix("Address") {
            Some(prefix) => format!("{prefix}{child}"),
            None => child.to_string(),
        },
        None => path.to_string(),
    }
}

/// `com/salesforce/api/rest/59.0;client=xyz` → `Some("xyz")`.
pub fn origin_client(change_origin: &str) -> Option<String> {
    change_origin.split(';').skip(1).find_map(|part| {
        part.trim()
            .strip_prefix("client=")
            .filter(|c| !c.is_empty())
            .map(str::to_string)
    })
}

/// Decodes a bare Avro datum written with `schema`.
pub(crate) fn decode(
    schema: &EventSchema,
    replay_id: ReplayId,
    event_id: String,
    payload: &[u8],
) -> Result<ChangeEvent, String> {
    let mut reader = payload;
    let value = apache_avro::reader::datum::GenericDatumReader::builder(&schema.schema)
        .build()
        .and_then(|r| r.read_value(&mut reader))
        .map_err(|e| format!("Avro: {e}"))?;
    if !reader.is_empty() {
        // A bare datum fills the payload exactly; leftovers mean the wrong schema.
        return Err(format!("{} bytes left after the Avro datum", reader.len()));
    }
    let Value::Record(values) = value else {
        return Err("payload is not a record".into());
    };
    let mut header = None;
    let mut fields = Map::new();
    let mut compound_parts = BTreeMap::new();
    for ((name, value), field) in values.iter().zip(schema.root_fields()) {
        let value = unwrap_union(value);
        if name == "ChangeEventHeader" {
            header = Some(decode_header(value, schema)?);
            continue;
        }
        match value {
            Value::Null => {}
            Value::Record(parts) => {
                let sub = schema.record_of(&field.schema);
                let mut present = Vec::new();
                for (child, v) in parts {
                    let v = unwrap_union(v);
                    if matches!(v, Value::Null) {
                        continue;
                    }
                    let doc = sub
                        .and_then(|r| r.fields.iter().find(|f| &f.name == child))
                        .and_then(|f| f.doc.as_deref());
                    let key = rest_field_name(&format!("{name}.{child}"));
                    present.push(key.clone());
                    fields.insert(
                        key,
                        to_json(v, Hint::from_doc(doc))
                            .map_err(|e| format!("{name}.{child}: {e}"))?,
                    );
                }
                compound_parts.insert(name.clone(), present);
            }
            v => {
                let json = to_json(v, Hint::from_doc(field.doc.as_deref()))
                    .map_err(|e| format!("{name}: {e}"))?;
                fields.insert(name.clone(), json);
            }
        }
    }
    let header = header.ok_or("no ChangeEventHeader: not a change event")?;
    Ok(ChangeEvent {
        replay_id,
        schema_id: schema.schema_id.clone(),
        event_id,
        header,
        fields,
        compound_parts,
    })
}

fn decode_header(v: &Value, schema: &EventSchema) -> Result<ChangeEventHeader, String> {
    let Value::Record(parts) = v else {
        return Err("ChangeEventHeader is not a record".into());
    };
    let get = |k: &str| {
        parts
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| unwrap_union(v))
    };
    let string = |k: &str| -> Result<String, String> {
        match get(k) {
            Some(Value::String(s)) | Some(Value::Enum(_, s)) => Ok(s.clone()),
            None | Some(Value::Null) => Ok(String::new()),
            Some(other) => Err(format!("header {k} is not a string: {other:?}")),
        }
    };
    let long = |k: &str| -> Result<i64, String> {
        match get(k) {
            Some(Value::Long(l)) | Some(Value::TimestampMillis(l)) => Ok(*l),
            Some(Value::Int(i)) => Ok(i64::from(*i)),
            None | Some(Value::Null) => Ok(0),
            Some(other) => Err(format!("header {k} is not a number: {other:?}")),
        }
    };
    let strings = |k: &str| -> Result<Vec<String>, String> {
        match get(k) {
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| match unwrap_union(i) {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(format!("header {k} holds a non-string: {other:?}")),
                })
                .collect(),
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(other) => Err(format!("header {k} is not an array: {other:?}")),
        }
    };
    let bitmap = |k: &str| -> Result<Vec<String>, String> {
        decode_fields(&strings(k)?, &schema.slots).map_err(|e| format!("header {k}: {e}"))
    };
    let ct = string("changeType")?;
    let change_type = ChangeType::parse(&ct).ok_or_else(|| format!("unknown changeType '{ct}'"))?;
    let change_origin = string("changeOrigin")?;
    let ts = long("commitTimestamp")?;
    Ok(ChangeEventHeader {
        entity_name: string("entityName")?,
        record_ids: strings("recordIds")?,
        change_type,
        origin_client: origin_client(&change_origin),
        change_origin,
        transaction_key: string("transactionKey")?,
        sequence_number: long("sequenceNumber")?,
        commit_timestamp: DateTime::<Utc>::from_timestamp_millis(ts)
            .ok_or_else(|| format!("commitTimestamp {ts} is out of range"))?,
        commit_number: long("commitNumber")?,
        commit_user: string("commitUser")?,
        changed_fields: bitmap("changedFields")?,
        nulled_fields: bitmap("nulledFields")?,
        diff_fields: bitmap("diffFields")?,
    })
}

#[cfg(test)]
mod tests;
