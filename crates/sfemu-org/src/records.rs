//! Single-record reads (by Id, by external id, blob bodies), direct edits, counts and seed data.

use crate::dml::convert::convert_shape;
use crate::org::{Data, Org};
use crate::render;
use crate::schema::{FieldType, ID_SLOT, Schema};
use crate::store::text_eq;
use crate::{Caller, DmlFailure, DmlOp, SfError, ids};
use base64::Engine;
use serde_json::{Map, Value as Json};
use soql::Value;

/// `62.0` → `v62.0` (and `v62.0` stays).
pub(crate) fn url_version(version: &str) -> String {
    if version.starts_with('v') {
        version.to_string()
    } else {
        format!("v{version}")
    }
}

fn not_found() -> SfError {
    SfError::new("NOT_FOUND", "The requested resource does not exist")
}

/// A row as Salesforce's record JSON with the given slots (in order; Id appended when absent).
pub(crate) fn record_json(
    schema: &Schema,
    data: &Data,
    table: usize,
    row: usize,
    slots: &[usize],
    version: &str,
) -> Json {
    let obj = schema.obj(table);
    let t = &data.tables[table];
    let id = t.id(row);
    let mut m = Map::new();
    m.insert(
        "attributes".into(),
        serde_json::json!({"type": obj.name, "url": format!("/services/data/{}/sobjects/{}/{id}", url_version(version), obj.name)}),
    );
    let mut put = |s: usize| {
        let f = &obj.fields[s];
        let v = t.get(row, s);
        let j = if f.ftype == FieldType::Base64 && !v.is_null() {
            Json::String(format!(
                "/services/data/{}/sobjects/{}/{id}/{}",
                url_version(version),
                obj.name,
                f.name
            ))
        } else {
            render::value(v)
        };
        m.insert(f.name.clone(), j);
    };
    for &s in slots {
        put(s);
    }
    if !slots.contains(&ID_SLOT) {
        put(ID_SLOT);
    }
    Json::Object(m)
}

impl Org {
    fn visible_slots(
        &self,
        user: &str,
        table: usize,
        fields: Option<&[String]>,
    ) -> Result<Vec<usize>, SfError> {
        let hidden = self.hidden_for(user);
        let obj = self.schema.obj(table);
        match fields {
            None => Ok((0..obj.fields.len()).filter(|&s| !hidden.contains(&(table, s))).collect()),
            Some(list) => list
                .iter()
                .map(|n| n.trim())
                .filter(|n| !n.is_empty())
                .map(|n| {
                    obj.slot(n).filter(|&s| !hidden.contains(&(table, s))).ok_or_else(|| {
                        SfError::new(
                            "INVALID_FIELD",
                            format!(
                                "No such column '{n}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
                                obj.name
                            ),
                        )
                    })
                })
                .collect(),
        }
    }

    pub(crate) fn get_record(
        &self,
        user: &str,
        object: &str,
        id: &str,
        fields: Option<&[String]>,
        version: &str,
    ) -> Result<Json, SfError> {
        let table = self.schema.table(object).ok_or_else(not_found)?;
        let slots = self.visible_slots(user, table, fields)?;
        let id18 = ids::to18(id).ok_or_else(not_found)?;
        if self.schema.table_for_id(&id18) != Some(table) {
            return Err(not_found());
        }
        let data = self.data.read();
        let t = &data.tables[table];
        let row = t.find(&id18).ok_or_else(not_found)?;
        if t.is_deleted(row) {
            return Err(crate::dml::entity_is_deleted());
        }
        Ok(record_json(
            &self.schema,
            &data,
            table,
            row,
            &slots,
            version,
        ))
    }

    pub(crate) fn get_by_ext(
        &self,
        user: &str,
        object: &str,
        ext_field: &str,
        value: &str,
        fields: Option<&[String]>,
        version: &str,
    ) -> Result<Json, DmlFailure> {
        let errs = |e: SfError| DmlFailure::Errors(vec![e]);
        let table = self.schema.table(object).ok_or_else(|| errs(not_found()))?;
        let obj = self.schema.obj(table);
        let hidden = self.hidden_for(user);
        let slot = obj
            .slot(ext_field)
            .filter(|&s| !hidden.contains(&(table, s)))
            .filter(|&s| obj.fields[s].external_id || obj.fields[s].id_lookup)
            .ok_or_else(|| {
                errs(SfError::new(
                    "NOT_FOUND",
                    format!("Provided external ID field does not exist or is not accessible: {ext_field}"),
                ))
            })?;
        if slot == ID_SLOT {
            return self
                .get_record(user, object, value, fields, version)
                .map_err(errs);
        }
        let slots = self.visible_slots(user, table, fields).map_err(errs)?;
        let data = self.data.read();
        let t = &data.tables[table];
        let cs = obj.fields[slot].case_sensitive;
        let rows: Vec<usize> = match t.find_unique(slot, value) {
            Some(r) => r,
            None => (0..t.len())
                .filter(|&r| {
                    !t.is_deleted(r)
                        && t.get(r, slot)
                            .as_str()
                            .is_some_and(|v| text_eq(v, value, cs))
                })
                .collect(),
        };
        match rows.as_slice() {
            [] => Err(errs(not_found())),
            [r] => Ok(record_json(&self.schema, &data, table, *r, &slots, version)),
            many => Err(DmlFailure::MultipleMatches(
                many.iter().map(|&r| t.id(r).to_string()).collect(),
            )),
        }
    }

    /// The bytes of a base64 field read whole (small files, tests); the wire streams
    /// [`Org::blob_body`] instead.
    pub fn blob(
        &self,
        user_id: &str,
        object: &str,
        id: &str,
        field: &str,
    ) -> Result<Vec<u8>, SfError> {
        match self.blob_body(user_id, object, id, field)? {
            BlobBody::Bytes(b) => Ok(b),
            BlobBody::File { path, .. } => std::fs::read(path)
                .map_err(|e| SfError::new("UNKNOWN_EXCEPTION", format!("stored file: {e}"))),
        }
    }

    /// Where the body of a base64 field is (`GET /sobjects/ContentVersion/{id}/VersionData`):
    /// a file on disk (every body written through DML), or bytes for a value set by a direct
    /// edit. `NOT_FOUND` for a field that is not base64 or hidden from the user.
    pub fn blob_body(
        &self,
        user_id: &str,
        object: &str,
        id: &str,
        field: &str,
    ) -> Result<BlobBody, SfError> {
        let table = self.schema.table(object).ok_or_else(not_found)?;
        let obj = self.schema.obj(table);
        let slot = obj
            .slot(field)
            .filter(|&s| {
                obj.fields[s].ftype == FieldType::Base64
                    && !self.hidden_for(user_id).contains(&(table, s))
            })
            .ok_or_else(not_found)?;
        let id18 = ids::to18(id).ok_or_else(not_found)?;
        let data = self.data.read();
        let t = &data.tables[table];
        let row = t.find(&id18).ok_or_else(not_found)?;
        if t.is_deleted(row) {
            return Err(crate::dml::entity_is_deleted());
        }
        let Value::Text(b) = t.get(row, slot) else {
            return Ok(BlobBody::Bytes(Vec::new()));
        };
        if let Some(meta) = crate::blobs::BlobMeta::from_slot(b) {
            let path = self
                .blobs
                .path(&meta)
                .ok_or_else(|| SfError::new("UNKNOWN_EXCEPTION", "stored file is missing"))?;
            return Ok(BlobBody::File {
                path,
                size: meta.size,
            });
        }
        base64::engine::general_purpose::STANDARD
            .decode(b.as_bytes())
            .map(BlobBody::Bytes)
            .map_err(|_| SfError::new("UNKNOWN_EXCEPTION", "stored blob is not base64"))
    }

    pub(crate) fn edit_direct(
        &self,
        object: &str,
        id: &str,
        fields: &Map<String, Json>,
    ) -> Result<(), SfError> {
        let table = self.schema.table(object).ok_or_else(not_found)?;
        let obj = self.schema.obj(table);
        let mut data = self.data.write();
        let t = &mut data.tables[table];
        let row = ids::to18(id)
            .and_then(|i| t.find(&i))
            .ok_or_else(not_found)?;
        let mut new = t.row(row).to_vec();
        for (k, v) in fields {
            if k == "attributes" {
                continue;
            }
            let slot = obj
                .slot(k)
                .ok_or_else(|| crate::dml::convert::no_such_column(&obj.name, k))?;
            if slot == ID_SLOT {
                continue;
            }
            new[slot] = convert_shape(&obj.fields[slot], v)?;
        }
        t.replace(row, new);
        Ok(())
    }

    pub(crate) fn purge_direct_impl(&self, object: &str, id: &str) -> Result<(), SfError> {
        let table = self.schema.table(object).ok_or_else(not_found)?;
        let mut data = self.data.write();
        let t = &mut data.tables[table];
        let row = ids::to18(id)
            .and_then(|i| t.find(&i))
            .ok_or_else(not_found)?;
        t.swap_remove(row);
        Ok(())
    }

    pub(crate) fn counts(&self) -> Vec<(String, usize)> {
        let data = self.data.read();
        self.schema
            .objects
            .iter()
            .zip(&data.tables)
            .map(|(o, t)| (o.name.clone(), t.live_count()))
            .collect()
    }

    pub(crate) fn seed(&self, caller: &Caller, seed: &Json) -> Result<usize, SfError> {
        let Json::Object(objects) = seed else {
            return Err(SfError::new(
                "INVALID_SEED",
                "seed data must be an object {\"Account\": [records…]}",
            ));
        };
        let mut ops = Vec::new();
        let mut labels = Vec::new();
        for (object, records) in objects {
            let Json::Array(records) = records else {
                return Err(SfError::new(
                    "INVALID_SEED",
                    format!("seed data for {object} must be an array"),
                ));
            };
            for (i, r) in records.iter().enumerate() {
                let Json::Object(fields) = r else {
                    return Err(SfError::new(
                        "INVALID_SEED",
                        format!("seed {object}[{i}] must be an object"),
                    ));
                };
                ops.push(DmlOp::Create {
                    object: object.clone(),
                    fields: fields.clone(),
                });
                labels.push(format!("{object}[{i}]"));
            }
        }
        let n = ops.len();
        let results = self.apply(caller, ops, true);
        for (r, label) in results.iter().zip(labels) {
            if let Err(DmlFailure::Errors(errs)) = r
                && let Some(e) = errs
                    .iter()
                    .find(|e| e.code != "ALL_OR_NONE_OPERATION_ROLLED_BACK")
            {
                return Err(SfError::with_fields(
                    e.code.clone(),
                    format!("seed {label}: {}", e.message),
                    e.fields.clone(),
                ));
            }
        }
        Ok(n)
    }
}

/// The body of a base64 field: on disk (stream it) or, for direct edits, in memory.
#[derive(Debug)]
pub enum BlobBody {
    /// A stored file of `size` bytes.
    File { path: std::path::PathBuf, size: u64 },
    /// Bytes held in the record (set by a direct edit).
    Bytes(Vec<u8>),
}
