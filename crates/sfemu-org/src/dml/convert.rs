//! JSON field maps → typed values, with Salesforce's validation codes and messages.

use super::Exec;
use crate::SfError;
use crate::ids;
use crate::render::{parse_date, parse_datetime, parse_time};
use crate::schema::{FieldDef, FieldType, ID_SLOT, ObjectDef, Schema};
use crate::store::text_eq;
use base64::Engine;
use serde_json::{Map, Value as Json};
use soql::Value;

/// Whether values are being written by a create or an update (decides which fields are
/// writable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Create,
    Update,
}

/// `INVALID_FIELD` for a field the user cannot see or that does not exist.
pub(crate) fn no_such_column(obj: &str, field: &str) -> SfError {
    SfError::new(
        "INVALID_FIELD",
        format!("No such column '{field}' on sobject of type {obj}"),
    )
}

/// Parses a record body into `(slot, value)` assignments. Keys are matched case-insensitively;
/// `attributes` is ignored, as is `Id` on update (the id travels separately).
pub(crate) fn parse_fields(
    ex: &Exec<'_>,
    table: usize,
    fields: &Map<String, Json>,
    mode: Mode,
) -> Result<Vec<(usize, Value)>, SfError> {
    let obj = ex.schema.obj(table);
    let mut out = Vec::with_capacity(fields.len());
    let mut read_only: Vec<String> = Vec::new();
    let mut first_err: Option<SfError> = None;
    for (key, v) in fields {
        if key == "attributes" {
            continue;
        }
        if key.eq_ignore_ascii_case("Id") {
            if mode == Mode::Update || v.is_null() {
                continue;
            }
            return Err(SfError::with_fields(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                "cannot specify Id in an insert call",
                vec!["Id".into()],
            ));
        }
        let visible = |s: usize| !ex.hidden.contains(&(table, s));
        let (slot, value) = match obj.slot(key).filter(|&s| visible(s)) {
            Some(slot) => {
                let f = &obj.fields[slot];
                if !writable(f, mode) {
                    read_only.push(f.name.clone());
                    continue;
                }
                match convert(ex, f, v) {
                    Ok(val) => (slot, val),
                    Err(e) => {
                        first_err.get_or_insert(e);
                        continue;
                    }
                }
            }
            None => match (v, obj.rel_slot(key).filter(|&s| visible(s))) {
                (Json::Object(m), Some(slot)) => {
                    let f = &obj.fields[slot];
                    if !writable(f, mode) {
                        read_only.push(f.name.clone());
                        continue;
                    }
                    match resolve_parent(ex, f, m) {
                        Ok(id) => (slot, Value::text(id)),
                        Err(e) => {
                            first_err.get_or_insert(e);
                            continue;
                        }
                    }
                }
                _ => return Err(no_such_column(&obj.name, key)),
            },
        };
        out.push((slot, value));
    }
    if !read_only.is_empty() {
        return Err(SfError::with_fields(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            format!(
                "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                read_only.join(", ")
            ),
            read_only,
        ));
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

fn writable(f: &FieldDef, mode: Mode) -> bool {
    match mode {
        Mode::Create => f.createable,
        Mode::Update => f.updateable,
    }
}

fn shown(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn type_err(f: &FieldDef, v: &Json) -> SfError {
    SfError::with_fields(
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        format!("{}: value not of required type: {}", f.label, shown(v)),
        vec![f.name.clone()],
    )
}

fn range_err(f: &FieldDef, v: &Json) -> SfError {
    SfError::with_fields(
        "NUMBER_OUTSIDE_VALID_RANGE",
        format!(
            "{}: value outside of valid range on numeric field: {}",
            f.label,
            shown(v)
        ),
        vec![f.name.clone()],
    )
}

/// Converts one JSON value for a field, validating it as Salesforce does.
pub(crate) fn convert(ex: &Exec<'_>, f: &FieldDef, v: &Json) -> Result<Value, SfError> {
    if f.ftype == FieldType::Base64 {
        return blob_value(ex, f, v);
    }
    let val = convert_shape(f, v)?;
    match (&val, f.ftype) {
        (Value::Text(s), FieldType::Reference) => Ok(Value::text(resolve_id(ex, f, s)?)),
        (Value::Text(s), t) if t.is_text() => check_text(f, s).map(Value::text),
        _ => Ok(val),
    }
}

/// A base64 field's value → a blob on disk named in the slot. A value that already names a
/// stored blob (a streamed multipart upload, written by the wire layer) is kept as it is.
fn blob_value(ex: &Exec<'_>, f: &FieldDef, v: &Json) -> Result<Value, SfError> {
    if let Some(meta) = v.as_str().and_then(crate::blobs::BlobMeta::from_slot) {
        return match ex.blobs.path(&meta) {
            Some(_) => Ok(Value::text(meta.slot_value())),
            None => Err(type_err(f, v)),
        };
    }
    let Value::Text(b64) = convert_shape(f, v)? else {
        return Ok(Value::Null);
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map_err(|_| type_err(f, v))?;
    let meta = ex
        .blobs
        .put(&bytes)
        .map_err(|e| SfError::new("UNKNOWN_EXCEPTION", format!("storing the file failed: {e}")))?;
    Ok(Value::text(meta.slot_value()))
}

/// Type conversion only (no length, picklist or reference checks): used by direct edits.
pub(crate) fn convert_shape(f: &FieldDef, v: &Json) -> Result<Value, SfError> {
    if v.is_null() {
        return Ok(if f.ftype == FieldType::Boolean {
            Value::Bool(false)
        } else {
            Value::Null
        });
    }
    match f.ftype {
        FieldType::Boolean => match v {
            Json::Bool(b) => Ok(Value::Bool(*b)),
            Json::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Json::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => Err(type_err(f, v)),
        },
        FieldType::Int => {
            let n = number(v).ok_or_else(|| type_err(f, v))?;
            if n.fract() != 0.0 {
                return Err(type_err(f, v));
            }
            let limit = 10f64.powi(f.digits.clamp(1, 18) as i32);
            if n.abs() >= limit || n.abs() > i64::MAX as f64 {
                return Err(range_err(f, v));
            }
            Ok(Value::Int(n as i64))
        }
        FieldType::Double | FieldType::Currency | FieldType::Percent => {
            let n = number(v).ok_or_else(|| type_err(f, v))?;
            let factor = 10f64.powi(f.scale as i32);
            let rounded = (n * factor).round() / factor;
            let int_digits = f.precision.saturating_sub(f.scale).min(300);
            if rounded.abs() >= 10f64.powi(int_digits as i32) {
                return Err(range_err(f, v));
            }
            Ok(Value::Double(rounded))
        }
        FieldType::Date => {
            let s = v.as_str().ok_or_else(|| type_err(f, v))?;
            if s.is_empty() {
                return Ok(Value::Null);
            }
            parse_date(s).map(Value::Date).ok_or_else(|| type_err(f, v))
        }
        FieldType::DateTime => {
            let s = v.as_str().ok_or_else(|| type_err(f, v))?;
            if s.is_empty() {
                return Ok(Value::Null);
            }
            parse_datetime(s)
                .map(Value::DateTime)
                .ok_or_else(|| type_err(f, v))
        }
        FieldType::Time => {
            let s = v.as_str().ok_or_else(|| type_err(f, v))?;
            if s.is_empty() {
                return Ok(Value::Null);
            }
            parse_time(s).map(Value::Time).ok_or_else(|| type_err(f, v))
        }
        FieldType::Base64 => {
            let s = v.as_str().ok_or_else(|| type_err(f, v))?;
            let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(&compact)
                .map_err(|_| type_err(f, v))?;
            Ok(if compact.is_empty() {
                Value::Null
            } else {
                Value::text(compact)
            })
        }
        _ => {
            let s = match v {
                Json::String(s) => s.clone(),
                Json::Number(n) => n.to_string(),
                Json::Bool(b) => b.to_string(),
                _ => return Err(type_err(f, v)),
            };
            // Salesforce stores an empty string as null.
            Ok(if s.is_empty() {
                Value::Null
            } else {
                Value::text(s)
            })
        }
    }
}

fn number(v: &Json) -> Option<f64> {
    let n = match v {
        Json::Number(n) => n.as_f64()?,
        Json::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    n.is_finite().then_some(n)
}

/// Length, email and picklist checks of a text value; returns the value to store (picklist
/// values are stored in their canonical case).
fn check_text(f: &FieldDef, s: &str) -> Result<String, SfError> {
    let mut out = s.to_string();
    match f.ftype {
        FieldType::Email if !valid_email(s) => {
            return Err(SfError::with_fields(
                "INVALID_EMAIL_ADDRESS",
                format!("{}: invalid email address: {s}", f.label),
                vec![f.name.clone()],
            ));
        }
        FieldType::Picklist => out = picklist_value(f, s)?,
        FieldType::MultiPicklist => {
            let mut parts: Vec<String> = Vec::new();
            for p in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                let v = picklist_value(f, p)?;
                if !parts.contains(&v) {
                    parts.push(v);
                }
            }
            out = parts.join(";");
        }
        _ => {}
    }
    if f.length > 0 && out.chars().count() > f.length as usize {
        let shown: String = out.chars().take(255).collect();
        let ell = if out.chars().count() > 255 { "..." } else { "" };
        return Err(SfError::with_fields(
            "STRING_TOO_LONG",
            format!(
                "{}: data value too large: {shown}{ell} (max length={})",
                f.label, f.length
            ),
            vec![f.name.clone()],
        ));
    }
    Ok(out)
}

fn picklist_value(f: &FieldDef, s: &str) -> Result<String, SfError> {
    if let Some(p) = f
        .picklist
        .iter()
        .find(|p| p.value == s)
        .or_else(|| f.picklist.iter().find(|p| p.value.eq_ignore_ascii_case(s)))
    {
        return Ok(p.value.clone());
    }
    if f.restricted {
        return Err(SfError::with_fields(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            format!("{}: bad value for restricted picklist field: {s}", f.label),
            vec![f.name.clone()],
        ));
    }
    Ok(s.to_string())
}

/// A pragmatic email check: one `@`, a non-empty local part, a dotted domain, no spaces.
pub(crate) fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c == ',' || c == ';')
}

/// A reference value → the 18-char id of a live record of an allowed object.
fn resolve_id(ex: &Exec<'_>, f: &FieldDef, s: &str) -> Result<String, SfError> {
    let id = ids::to18(s).ok_or_else(|| ids::malformed(&f.label, s, &f.name))?;
    let xref = || {
        SfError::with_fields(
            "INVALID_CROSS_REFERENCE_KEY",
            "invalid cross reference id",
            vec![f.name.clone()],
        )
    };
    let t = ex.schema.table_for_id(&id).ok_or_else(xref)?;
    let target = &ex.schema.obj(t).name;
    if !f.reference_to.iter().any(|r| r == target) {
        return Err(xref());
    }
    let table = &ex.data.tables[t];
    match table.find(&id) {
        Some(r) if !table.is_deleted(r) => Ok(id),
        _ => Err(xref()),
    }
}

/// Live rows of `table` whose `slot` equals `value` (indexed fields use their index).
pub(crate) fn find_by_value(ex: &Exec<'_>, table: usize, slot: usize, value: &str) -> Vec<usize> {
    let t = &ex.data.tables[table];
    if slot == ID_SLOT {
        return t
            .find(value)
            .filter(|&r| !t.is_deleted(r) && ids::is_well_formed(value))
            .into_iter()
            .collect();
    }
    if let Some(rows) = t.find_unique(slot, value) {
        return rows;
    }
    let cs = ex.schema.obj(table).fields[slot].case_sensitive;
    (0..t.len())
        .filter(|&r| {
            !t.is_deleted(r)
                && t.get(r, slot)
                    .as_str()
                    .is_some_and(|v| text_eq(v, value, cs))
        })
        .collect()
}

/// The slot of an external-id (or idLookup) field usable for upsert/parent matching.
pub(crate) fn ext_slot(ex: &Exec<'_>, table: usize, name: &str) -> Option<usize> {
    let obj: &ObjectDef = ex.schema.obj(table);
    obj.slot(name)
        .filter(|&s| !ex.hidden.contains(&(table, s)))
        .filter(|&s| obj.fields[s].external_id || obj.fields[s].id_lookup)
}

/// `"Account": {"OrgSync_Global_Id__c": "x"}` → the parent's Id.
fn resolve_parent(ex: &Exec<'_>, f: &FieldDef, m: &Map<String, Json>) -> Result<String, SfError> {
    let schema: &Schema = ex.schema;
    let type_name = m
        .get("attributes")
        .and_then(|a| a.get("type"))
        .and_then(Json::as_str);
    let target_name = type_name
        .or(f.reference_to.first().map(String::as_str))
        .unwrap_or("");
    let target = schema
        .table(target_name)
        .filter(|&t| f.reference_to.iter().any(|r| r == &schema.obj(t).name))
        .ok_or_else(|| {
            SfError::new(
                "INVALID_FIELD",
                format!("Invalid type {target_name} for relationship {}", f.name),
            )
        })?;
    let tobj = schema.obj(target);
    let keys: Vec<(&String, &Json)> = m
        .iter()
        .filter(|(k, _)| k.as_str() != "attributes")
        .collect();
    let [(key, val)] = keys.as_slice() else {
        return Err(SfError::new(
            "INVALID_FIELD",
            format!(
                "Relationship {} must specify exactly one external ID field of {}",
                f.relationship_name.as_deref().unwrap_or(&f.name),
                tobj.name
            ),
        ));
    };
    let slot = ext_slot(ex, target, key).ok_or_else(|| {
        SfError::new(
            "INVALID_FIELD",
            format!(
                "Field {key} is not an External ID or indexed field for {}",
                tobj.name
            ),
        )
    })?;
    let value = shown(val);
    let fname = &tobj.fields[slot].name;
    let rows = find_by_value(ex, target, slot, &value);
    match rows.as_slice() {
        [r] => Ok(ex.data.tables[target].id(*r).to_string()),
        [] => Err(SfError::new(
            "INVALID_FIELD",
            format!(
                "Foreign key external ID: {value} not found for field {fname} in entity {}",
                tobj.name
            ),
        )),
        _ => Err(SfError::new(
            "DUPLICATE_EXTERNAL_ID",
            format!("More than 1 record found for External ID field {fname}: {value}"),
        )),
    }
}
