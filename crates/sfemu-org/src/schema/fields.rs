//! One field definition from its schema-file entry (types, lengths, defaults, picklists,
//! relationship names), and the system fields every object gets.

use super::build::{bad, valid_api_name};
use super::file::FieldSpec;
use super::{FieldDef, FieldType, PicklistValue};
use crate::SfError;
use soql::Value;

pub(super) fn default_label(name: &str) -> String {
    name.trim_end_matches("__c").replace('_', " ")
}

pub(super) fn sys_field(
    name: &str,
    label: &str,
    ftype: FieldType,
    to: &[&str],
    rel: Option<&str>,
) -> FieldDef {
    FieldDef {
        name: name.into(),
        label: label.into(),
        ftype,
        length: if ftype == FieldType::Id || ftype == FieldType::Reference {
            18
        } else {
            0
        },
        precision: 0,
        scale: 0,
        digits: 0,
        nillable: false,
        required: false,
        unique: false,
        external_id: false,
        id_lookup: ftype == FieldType::Id,
        case_sensitive: false,
        reference_to: to.iter().map(|s| s.to_string()).collect(),
        relationship_name: rel.map(str::to_string),
        child_relationship: None,
        cascade_delete: false,
        picklist: Vec::new(),
        restricted: false,
        default: None,
        createable: false,
        updateable: false,
        name_field: false,
        auto_number: None,
        compound: Vec::new(),
        custom: false,
        system: true,
    }
}

pub(super) fn field_def(
    file: &str,
    obj: &str,
    fs: &FieldSpec,
    objects: &[String],
) -> Result<FieldDef, SfError> {
    let err = |m: String| bad(file, format_args!("{obj}.{}: {m}", fs.name));
    if !valid_api_name(&fs.name) {
        return Err(err("invalid field name".into()));
    }
    let ftype =
        FieldType::parse(&fs.ftype).ok_or_else(|| err(format!("unknown type '{}'", fs.ftype)))?;
    let custom = fs.name.ends_with("__c");
    let length = match ftype {
        FieldType::TextArea if fs.ftype.to_ascii_lowercase().starts_with("long") => {
            fs.length.unwrap_or(32768)
        }
        FieldType::String
        | FieldType::TextArea
        | FieldType::Email
        | FieldType::Phone
        | FieldType::Url => fs.length.unwrap_or(255),
        FieldType::Picklist | FieldType::MultiPicklist => fs.length.unwrap_or(255),
        FieldType::Reference | FieldType::Id => 18,
        FieldType::Base64 => fs.length.unwrap_or(0),
        _ => 0,
    };
    let (precision, scale) = match ftype {
        FieldType::Double | FieldType::Currency | FieldType::Percent => {
            (fs.precision.unwrap_or(18), fs.scale.unwrap_or(0))
        }
        _ => (0, 0),
    };
    if scale > precision {
        return Err(err("scale exceeds precision".into()));
    }
    let digits = if ftype == FieldType::Int {
        fs.digits.unwrap_or(9)
    } else {
        0
    };
    if ftype == FieldType::Reference {
        if fs.reference_to.is_empty() {
            return Err(err("reference field needs reference_to".into()));
        }
        for t in &fs.reference_to {
            // "*": any object (expanded once every object is known, build.rs).
            if t != "*" && !objects.iter().any(|o| o.eq_ignore_ascii_case(t)) {
                return Err(err(format!("reference_to unknown object '{t}'")));
            }
        }
    }
    let relationship_name = if ftype == FieldType::Reference {
        Some(fs.relationship_name.clone().unwrap_or_else(|| {
            if let Some(b) = fs.name.strip_suffix("__c") {
                format!("{b}__r")
            } else {
                fs.name.strip_suffix("Id").unwrap_or(&fs.name).to_string()
            }
        }))
    } else {
        None
    };
    let picklist_type = matches!(ftype, FieldType::Picklist | FieldType::MultiPicklist);
    if picklist_type && fs.values.is_empty() {
        return Err(err("picklist needs values".into()));
    }
    let default = match &fs.default {
        None if ftype == FieldType::Boolean => Some(Value::Bool(false)),
        None => None,
        Some(v) => Some(toml_default(ftype, v).ok_or_else(|| err(format!("bad default {v}")))?),
    };
    let default_text = default
        .as_ref()
        .and_then(|d| d.as_str().map(str::to_string));
    if picklist_type
        && let Some(d) = &default_text
        && !fs.values.iter().any(|v| v == d)
    {
        return Err(err(format!("default '{d}' is not a picklist value")));
    }
    let picklist = fs
        .values
        .iter()
        .map(|v| PicklistValue {
            value: v.clone(),
            label: v.clone(),
            default: default_text.as_deref() == Some(v.as_str()),
        })
        .collect();
    let read_only = !fs.compound.is_empty() || fs.auto_number.is_some();
    let createable = fs.createable.unwrap_or(!read_only);
    let updateable = fs.updateable.unwrap_or(!read_only);
    let nillable = !(fs.required || ftype == FieldType::Boolean || fs.auto_number.is_some());
    Ok(FieldDef {
        label: fs.label.clone().unwrap_or_else(|| {
            if ftype == FieldType::Reference && fs.name.ends_with("Id") {
                format!("{} ID", &fs.name[..fs.name.len() - 2])
            } else {
                default_label(&fs.name)
            }
        }),
        name: fs.name.clone(),
        ftype,
        length,
        precision,
        scale,
        digits,
        nillable,
        required: fs.required && createable && default.is_none(),
        unique: fs.unique,
        external_id: fs.external_id,
        id_lookup: fs.id_lookup || fs.external_id || fs.unique,
        case_sensitive: fs.case_sensitive,
        reference_to: fs
            .reference_to
            .iter()
            .map(|t| {
                objects
                    .iter()
                    .find(|o| o.eq_ignore_ascii_case(t))
                    .cloned()
                    .unwrap_or_else(|| t.clone())
            })
            .collect(),
        relationship_name,
        child_relationship: fs.child_relationship.clone(),
        cascade_delete: fs.cascade_delete,
        picklist,
        restricted: fs.restricted,
        default,
        createable,
        updateable,
        name_field: fs.name_field,
        auto_number: fs.auto_number.clone(),
        compound: fs.compound.clone(),
        custom,
        system: false,
    })
}

pub(super) fn toml_default(ftype: FieldType, v: &toml::Value) -> Option<Value> {
    Some(match (ftype, v) {
        (FieldType::Boolean, toml::Value::Boolean(b)) => Value::Bool(*b),
        (FieldType::Int, toml::Value::Integer(i)) => Value::Int(*i),
        (FieldType::Double | FieldType::Currency | FieldType::Percent, toml::Value::Integer(i)) => {
            Value::Double(*i as f64)
        }
        (FieldType::Double | FieldType::Currency | FieldType::Percent, toml::Value::Float(f)) => {
            Value::Double(*f)
        }
        (t, toml::Value::String(s)) if t.is_text() => Value::text(s.as_str()),
        _ => return None,
    })
}
