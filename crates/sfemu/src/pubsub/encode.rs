//! Change events as Avro: the header, the field values and the changed/nulled-field bitmaps.
//!
//! The payload is a bare Avro binary datum (no container file, no single-object header), as
//! the Pub/Sub API sends it.

use super::schema::{AvroKind, CHANGE_TYPES, EntitySchema};
use apache_avro::types::Value as Avro;
use serde_json::{Map, Value as Json};

/// The `ChangeEventHeader` of one event.
#[derive(Debug, Clone, Default)]
pub struct Header {
    pub entity: String,
    pub record_ids: Vec<String>,
    /// One of [`CHANGE_TYPES`].
    pub change_type: String,
    pub change_origin: String,
    pub transaction_key: String,
    pub sequence_number: i32,
    /// Epoch ms.
    pub commit_timestamp: i64,
    pub commit_number: i64,
    pub commit_user: String,
    /// Top-level schema indexes of the changed fields.
    pub changed: Vec<usize>,
    /// Top-level schema indexes of the nulled fields.
    pub nulled: Vec<usize>,
}

/// The bitmap form of a field list: `[]` when empty, else `["0x…"]` — bit `i` (LSB = 0) of the
/// big-endian hex number set for `schema.fields[i]`, in whole uppercase bytes.
///
/// UNCONFIRMED: the minimal byte length (we emit as few whole bytes as hold the highest bit).
pub fn bitmap(indexes: &[usize]) -> Vec<String> {
    let Some(&max) = indexes.iter().max() else {
        return Vec::new();
    };
    let mut bytes = vec![0u8; max / 8 + 1];
    let n = bytes.len();
    for &i in indexes {
        bytes[n - 1 - i / 8] |= 1 << (i % 8);
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
    vec![format!("0x{hex}")]
}

fn strings(v: Vec<String>) -> Avro {
    Avro::Array(v.into_iter().map(Avro::String).collect())
}

fn header_value(h: &Header) -> Avro {
    let ct = CHANGE_TYPES
        .iter()
        .position(|t| *t == h.change_type)
        .unwrap_or(0);
    Avro::Record(vec![
        ("entityName".into(), Avro::String(h.entity.clone())),
        ("recordIds".into(), strings(h.record_ids.clone())),
        (
            "changeType".into(),
            Avro::Enum(ct as u32, CHANGE_TYPES[ct].to_string()),
        ),
        ("changeOrigin".into(), Avro::String(h.change_origin.clone())),
        (
            "transactionKey".into(),
            Avro::String(h.transaction_key.clone()),
        ),
        ("sequenceNumber".into(), Avro::Int(h.sequence_number)),
        ("commitTimestamp".into(), Avro::Long(h.commit_timestamp)),
        ("commitNumber".into(), Avro::Long(h.commit_number)),
        ("commitUser".into(), Avro::String(h.commit_user.clone())),
        ("nulledFields".into(), strings(bitmap(&h.nulled))),
        ("diffFields".into(), Avro::Array(Vec::new())),
        ("changedFields".into(), strings(bitmap(&h.changed))),
    ])
}

/// A JSON value (as the change log renders it) in a field's Avro type; None when it does not
/// fit (sent as null rather than failing the whole event).
fn convert(kind: AvroKind, v: &Json) -> Option<Avro> {
    Some(match (kind, v) {
        (_, Json::Null) => return None,
        (AvroKind::String, Json::String(s)) => Avro::String(s.clone()),
        (AvroKind::String, other) => Avro::String(other.to_string()),
        (AvroKind::Boolean, Json::Bool(b)) => Avro::Boolean(*b),
        (AvroKind::Int, Json::Number(n)) => Avro::Int(i32::try_from(n.as_i64()?).ok()?),
        (AvroKind::Double, Json::Number(n)) => Avro::Double(n.as_f64()?),
        (AvroKind::Date, Json::String(s)) => {
            let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
            Avro::Long(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
        }
        (AvroKind::DateTime, Json::String(s)) => {
            Avro::Long(sfemu_org::render::parse_datetime(s)?.timestamp_millis())
        }
        (AvroKind::Time, Json::String(s)) => {
            let t =
                chrono::NaiveTime::parse_from_str(s.trim_end_matches('Z'), "%H:%M:%S%.f").ok()?;
            let ms = t.signed_duration_since(chrono::NaiveTime::MIN);
            Avro::Long(ms.num_milliseconds())
        }
        _ => return None,
    })
}

/// Encodes one event: the header, then every object field — its value from `values` when
/// present (matched case-insensitively), else null.
pub fn encode(
    schema: &EntitySchema,
    header: &Header,
    values: &Map<String, Json>,
) -> Result<Vec<u8>, apache_avro::Error> {
    let lower: std::collections::HashMap<String, &Json> = values
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    let mut fields = Vec::with_capacity(schema.fields.len() + 1);
    fields.push(("ChangeEventHeader".to_string(), header_value(header)));
    for (name, kind) in &schema.fields {
        let v = lower
            .get(&name.to_ascii_lowercase())
            .and_then(|v| convert(*kind, v));
        let u = match v {
            Some(v) => Avro::Union(1, Box::new(v)),
            None => Avro::Union(0, Box::new(Avro::Null)),
        };
        fields.push((name.clone(), u));
    }
    apache_avro::writer::datum::GenericDatumWriter::builder(&schema.avro)
        .build()?
        .write_value_to_vec(Avro::Record(fields))
}

#[cfg(test)]
mod tests {
    use super::bitmap;

    #[test]
    fn bitmaps_are_big_endian_whole_bytes() {
        assert!(bitmap(&[]).is_empty());
        assert_eq!(bitmap(&[1]), vec!["0x02"]);
        assert_eq!(bitmap(&[0, 9]), vec!["0x0201"]);
        assert_eq!(bitmap(&[5, 6, 7, 18, 29, 30]), vec!["0x600400E0"]);
    }
}
