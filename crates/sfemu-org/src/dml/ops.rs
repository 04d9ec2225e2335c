//! The record operations: create, update, upsert (delete and undelete live in `bin`).

use super::convert::{Mode, ext_slot, find_by_value, parse_fields};
use super::{Exec, diff};
use crate::changelog::ChangeType;
use crate::schema::{FieldType, ID_SLOT, IS_DELETED_SLOT};
use crate::{DmlFailure, DmlOutcome, SfError};
use serde_json::{Map, Value as Json};
use soql::Value;

impl Exec<'_> {
    /// Creates a record from a JSON body; returns its Id.
    pub(super) fn create(
        &mut self,
        table: usize,
        fields: &Map<String, Json>,
    ) -> Result<String, SfError> {
        let obj = self.schema.obj(table);
        if !obj.flags.createable {
            // Salesforce has been seen answering `CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY` "entity
            // type cannot be inserted: <label>" (Contact, Flow, Case History); UNCONFIRMED for
            // Organization / RecordType / Profile specifically.
            return Err(SfError::new(
                "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
                format!("entity type cannot be inserted: {}", obj.label),
            ));
        }
        let assigns = parse_fields(self, table, fields, Mode::Create)?;
        let mut row = self.new_row(table);
        for (s, v) in assigns {
            row[s] = v;
        }
        if obj.name == "ContentVersion" {
            return self.create_content_version(table, row);
        }
        self.finish_create(table, row)
    }

    /// A row with defaults applied.
    pub(super) fn new_row(&self, table: usize) -> Vec<Value> {
        self.schema
            .obj(table)
            .fields
            .iter()
            .map(|f| f.default.clone().unwrap_or(Value::Null))
            .collect()
    }

    /// Fills system and computed fields, validates required/unique, inserts and logs.
    pub(super) fn finish_create(
        &mut self,
        table: usize,
        mut row: Vec<Value>,
    ) -> Result<String, SfError> {
        let obj = self.schema.obj(table);
        let missing: Vec<String> = obj
            .fields
            .iter()
            .enumerate()
            .filter(|(s, f)| f.required && row[*s].is_null() && !self.hidden.contains(&(table, *s)))
            .map(|(_, f)| f.name.clone())
            .collect();
        if !missing.is_empty() {
            return Err(required_missing(missing));
        }
        compute_compound(self, table, &mut row);
        let id = match &row[ID_SLOT] {
            Value::Text(t) => t.to_string(),
            _ => self.data.idgen.next(&obj.key_prefix),
        };
        row[ID_SLOT] = Value::text(id.as_str());
        row[IS_DELETED_SLOT] = Value::Bool(false);
        for (s, f) in obj.fields.iter().enumerate() {
            if let Some(fmt) = &f.auto_number {
                let t = &mut self.data.tables[table];
                t.autonumber += 1;
                row[s] = Value::text(format_auto_number(fmt, t.autonumber));
            }
        }
        let sys = obj.sys;
        let user = Value::text(self.user.as_str());
        if let Some(o) = sys.owner
            && row[o].is_null()
        {
            row[o] = user.clone();
        }
        row[sys.created_date] = Value::DateTime(self.now);
        row[sys.last_modified_date] = Value::DateTime(self.now);
        row[sys.system_modstamp] = Value::DateTime(self.now);
        row[sys.created_by] = user.clone();
        row[sys.last_modified_by] = user;
        self.check_unique(table, None, &row)?;
        let values: Vec<(usize, Value)> = row
            .iter()
            .enumerate()
            .filter(|(s, v)| {
                !v.is_null() && *s != ID_SLOT && *s != IS_DELETED_SLOT && *s != sys.system_modstamp
            })
            .map(|(s, v)| (s, v.clone()))
            .collect();
        self.insert_row(table, row);
        let refs: Vec<(usize, &Value)> = values.iter().map(|(s, v)| (*s, v)).collect();
        self.log(
            table,
            &id,
            ChangeType::Create,
            Vec::new(),
            Vec::new(),
            &refs,
        );
        Ok(id)
    }

    /// `DUPLICATE_VALUE` when a unique field's value is held by another live record.
    pub(super) fn check_unique(
        &self,
        table: usize,
        this: Option<usize>,
        row: &[Value],
    ) -> Result<(), SfError> {
        let obj = self.schema.obj(table);
        let t = &self.data.tables[table];
        for (s, f) in obj.fields.iter().enumerate() {
            if !f.unique || s == ID_SLOT {
                continue;
            }
            let Value::Text(v) = &row[s] else { continue };
            let Some(rows) = t.find_unique(s, v) else {
                continue;
            };
            if let Some(&other) = rows.iter().find(|&&r| Some(r) != this) {
                return Err(SfError::new(
                    "DUPLICATE_VALUE",
                    format!(
                        "duplicate value found: {} duplicates value on record with id: {}",
                        f.name,
                        &t.id(other)[..15]
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Updates a live record from a JSON body.
    pub(super) fn update(
        &mut self,
        table: usize,
        row: usize,
        fields: &Map<String, Json>,
    ) -> Result<(), SfError> {
        let obj = self.schema.obj(table);
        if !obj.flags.updateable {
            // UNCONFIRMED: by analogy with inserts into a read-only entity.
            return Err(SfError::new(
                "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
                format!("entity type cannot be updated: {}", obj.label),
            ));
        }
        let assigns = parse_fields(self, table, fields, Mode::Update)?;
        let old = self.data.tables[table].row(row).to_vec();
        let mut new = old.clone();
        let mut missing = Vec::new();
        for (s, v) in assigns {
            let f = &obj.fields[s];
            if v.is_null() && !f.nillable && f.ftype != FieldType::Boolean {
                missing.push(f.name.clone());
            }
            new[s] = v;
        }
        if !missing.is_empty() {
            return Err(required_missing(missing));
        }
        let title = obj.slot("Title").filter(|&s| old[s] != new[s]);
        let is_file = matches!(obj.name.as_str(), "ContentDocument" | "ContentVersion");
        self.write_update(table, row, old, new)?;
        match title {
            Some(s) if is_file => self.mirror_title(table, row, s),
            _ => Ok(()),
        }
    }

    /// Stamps, checks and stores an updated row, logging the fields that changed.
    pub(super) fn write_update(
        &mut self,
        table: usize,
        row: usize,
        old: Vec<Value>,
        mut new: Vec<Value>,
    ) -> Result<(), SfError> {
        let sys = self.schema.obj(table).sys;
        compute_compound(self, table, &mut new);
        new[sys.last_modified_date] = Value::DateTime(self.now);
        new[sys.last_modified_by] = Value::text(self.user.as_str());
        new[sys.system_modstamp] = Value::DateTime(self.now);
        self.check_unique(table, Some(row), &new)?;
        let mut changed = diff(&old, &new, sys.system_modstamp);
        let lmd = sys.last_modified_date as u16;
        if !changed.contains(&lmd) {
            changed.push(lmd);
            changed.sort_unstable();
        }
        let nulled: Vec<u16> = changed
            .iter()
            .copied()
            .filter(|&s| new[s as usize].is_null())
            .collect();
        let values: Vec<(usize, Value)> = changed
            .iter()
            .map(|&s| (s as usize, new[s as usize].clone()))
            .collect();
        let id = self.data.tables[table].id(row).to_string();
        self.replace_row(table, row, new);
        // a lookup set again is replaced: no parent's undelete puts its old value back
        self.forget_cleared(table, row, &changed);
        let refs: Vec<(usize, &Value)> = values.iter().map(|(s, v)| (*s, v)).collect();
        self.log(table, &id, ChangeType::Update, changed, nulled, &refs);
        Ok(())
    }

    /// Upsert on an external-id (or idLookup) field.
    pub(super) fn upsert(
        &mut self,
        table: usize,
        ext_field: &str,
        ext_value: &str,
        fields: &Map<String, Json>,
    ) -> Result<DmlOutcome, DmlFailure> {
        let errs = |e: SfError| DmlFailure::Errors(vec![e]);
        let obj = self.schema.obj(table);
        let slot = ext_slot(self, table, ext_field).ok_or_else(|| {
            errs(SfError::new(
                "NOT_FOUND",
                format!(
                    "Provided external ID field does not exist or is not accessible: {ext_field}"
                ),
            ))
        })?;
        if slot == ID_SLOT {
            if ext_value.is_empty() {
                let id = self.create(table, fields).map_err(errs)?;
                return Ok(DmlOutcome {
                    id,
                    created: Some(true),
                });
            }
            let (t, row) = self.locate(Some(&obj.name), ext_value).map_err(errs)?;
            self.update(t, row, fields).map_err(errs)?;
            return Ok(DmlOutcome {
                id: self.data.tables[t].id(row).to_string(),
                created: Some(false),
            });
        }
        let fname = obj.fields[slot].name.clone();
        let matches = find_by_value(self, table, slot, ext_value);
        match matches.as_slice() {
            [] => {
                let mut body: Map<String, Json> = fields
                    .iter()
                    .filter(|(k, _)| !k.eq_ignore_ascii_case(&fname))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                body.insert(fname, Json::String(ext_value.to_string()));
                let id = self.create(table, &body).map_err(errs)?;
                Ok(DmlOutcome {
                    id,
                    created: Some(true),
                })
            }
            [row] => {
                let row = *row;
                let body: Map<String, Json> = fields
                    .iter()
                    .filter(|(k, v)| {
                        !(k.eq_ignore_ascii_case(&fname) && v.as_str() == Some(ext_value))
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                self.update(table, row, &body).map_err(errs)?;
                Ok(DmlOutcome {
                    id: self.data.tables[table].id(row).to_string(),
                    created: Some(false),
                })
            }
            many => Err(DmlFailure::MultipleMatches(
                many.iter()
                    .map(|&r| self.data.tables[table].id(r).to_string())
                    .collect(),
            )),
        }
    }
}

pub(super) fn required_missing(fields: Vec<String>) -> SfError {
    SfError::with_fields(
        "REQUIRED_FIELD_MISSING",
        format!("Required fields are missing: [{}]", fields.join(", ")),
        fields,
    )
}

/// Compound fields (Contact.Name = FirstName + LastName).
fn compute_compound(ex: &Exec<'_>, table: usize, row: &mut [Value]) {
    let obj = ex.schema.obj(table);
    for (s, f) in obj.fields.iter().enumerate() {
        if f.compound.is_empty() {
            continue;
        }
        let parts: Vec<&str> = f
            .compound
            .iter()
            .filter_map(|n| obj.slot(n))
            .filter_map(|i| row[i].as_str())
            .collect();
        row[s] = if parts.is_empty() {
            Value::Null
        } else {
            Value::text(parts.join(" "))
        };
    }
}

/// `WIC-{000000}` with 42 → `WIC-000042`.
pub(crate) fn format_auto_number(fmt: &str, n: u64) -> String {
    match (fmt.find('{'), fmt.find('}')) {
        (Some(a), Some(b)) if b > a => {
            let width = b - a - 1;
            format!("{}{:0width$}{}", &fmt[..a], n, &fmt[b + 1..])
        }
        _ => format!("{fmt}{n}"),
    }
}
