//! Snapshots: the org's data, counters, recycle bin and change log in one JSON-lines file,
//! written atomically (temp file + fsync + rename) and streamed line by line both ways so a
//! million-row org never needs a second in-memory copy. The schema is not stored: it is rebuilt
//! from the spec, and stored fields are matched to it by name (unknown ones are dropped).

use crate::SfError;
use crate::changelog::{ChangeLog, Entry};
use crate::ids::IdGen;
use crate::org::{Data, Org};
use crate::render::{self, parse_date, parse_datetime, parse_time};
use crate::schema::{FieldDef, FieldType, ObjectDef, Schema};
use crate::store::{ClearedLookup, Table};
use serde_json::{Value as Json, json};
use soql::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The snapshot's file name inside the data directory.
pub const SNAPSHOT_FILE: &str = "org-snapshot.jsonl";
const FORMAT: &str = "sfemu-org-snapshot";

fn err(path: &Path, msg: impl std::fmt::Display) -> SfError {
    SfError::new("SNAPSHOT_ERROR", format!("{}: {msg}", path.display()))
}

/// Where the snapshot of `dir` lives.
pub fn snapshot_path(dir: &Path) -> PathBuf {
    dir.join(SNAPSHOT_FILE)
}

fn enc(v: &Value) -> Json {
    match v {
        Value::Double(d) if !d.is_finite() => Json::Null,
        other => render::value(other),
    }
}

fn dec(f: &FieldDef, j: &Json) -> Value {
    if j.is_null() {
        return if f.ftype == FieldType::Boolean {
            Value::Bool(false)
        } else {
            Value::Null
        };
    }
    let s = j.as_str();
    match f.ftype {
        FieldType::Boolean => Value::Bool(j.as_bool().unwrap_or(false)),
        FieldType::Int => j.as_i64().map_or(Value::Null, Value::Int),
        FieldType::Double | FieldType::Currency | FieldType::Percent => {
            j.as_f64().map_or(Value::Null, Value::Double)
        }
        FieldType::Date => s.and_then(parse_date).map_or(Value::Null, Value::Date),
        FieldType::DateTime => s
            .and_then(parse_datetime)
            .map_or(Value::Null, Value::DateTime),
        FieldType::Time => s.and_then(parse_time).map_or(Value::Null, Value::Time),
        _ => s.map_or(Value::Null, Value::text),
    }
}

/// One `[field, root, value]` entry of a row's cleared lookups (fields unknown to the schema
/// are dropped).
fn cleared_lookup(obj: &ObjectDef, j: &Json) -> Option<ClearedLookup> {
    let slot = u16::try_from(obj.slot(j.get(0)?.as_str()?)?).ok()?;
    Some(ClearedLookup {
        slot,
        root: j.get(1)?.as_str()?.parse().ok()?,
        value: j.get(2)?.as_str()?.into(),
    })
}

impl Org {
    pub(crate) fn save_snapshot(&self, dir: &Path) -> Result<(), SfError> {
        std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
        let path = snapshot_path(dir);
        let tmp = dir.join(format!("{SNAPSHOT_FILE}.tmp"));
        let data = self.data.read();
        let file = std::fs::File::create(&tmp).map_err(|e| err(&tmp, e))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let io = |e: std::io::Error| err(&tmp, e);
        let line = |w: &mut BufWriter<std::fs::File>, j: &Json| -> Result<(), SfError> {
            serde_json::to_writer(&mut *w, j).map_err(|e| err(&tmp, e))?;
            w.write_all(b"\n").map_err(|e| err(&tmp, e))
        };
        line(
            &mut w,
            &json!({"format": FORMAT, "version": 1, "org_id": self.org_id, "id_counter": data.idgen.counter,
                    "clock": render::datetime(&data.clock)}),
        )?;
        for (obj, t) in self.schema.objects.iter().zip(&data.tables) {
            let names: Vec<&str> = obj.fields.iter().map(|f| f.name.as_str()).collect();
            line(
                &mut w,
                &json!({"table": obj.name, "fields": names, "autonumber": t.autonumber, "rows": t.len()}),
            )?;
            for r in 0..t.len() {
                let mut vals: Vec<Json> = t.row(r).iter().map(enc).collect();
                let ru = r as u32;
                vals.push(
                    t.deleted_at
                        .get(&ru)
                        .map_or(Json::Null, |d| Json::String(render::datetime(d))),
                );
                vals.push(
                    t.cascade_of
                        .get(&ru)
                        .map_or(Json::Null, |c| Json::String(c.to_string())),
                );
                vals.push(t.cleared.get(&ru).map_or(Json::Null, |list| {
                    list.iter()
                        .filter_map(|c| {
                            let f = obj.fields.get(usize::from(c.slot))?;
                            Some(json!([f.name, c.root.to_string(), &*c.value]))
                        })
                        .collect()
                }));
                line(&mut w, &Json::Array(vals))?;
            }
        }
        let log = &data.log;
        let tables: Vec<&str> = self
            .schema
            .objects
            .iter()
            .map(|o| o.name.as_str())
            .collect();
        let fields: Vec<Vec<&str>> = self
            .schema
            .objects
            .iter()
            .map(|o| o.fields.iter().map(|f| f.name.as_str()).collect())
            .collect();
        line(
            &mut w,
            &json!({"log": {"cap": log.cap, "max_bytes": log.max_bytes, "last_seq": log.last_seq, "last_commit": log.last_commit,
                    "entries": log.len(), "tables": tables, "fields": fields}}),
        )?;
        for e in log.entries() {
            serde_json::to_writer(&mut w, e).map_err(|e| err(&tmp, e))?;
            w.write_all(b"\n").map_err(io)?;
        }
        let file = w.into_inner().map_err(|e| err(&tmp, e.error()))?;
        file.sync_all().map_err(io)?;
        drop(file);
        std::fs::rename(&tmp, &path).map_err(|e| err(&path, e))?;
        Ok(())
    }
}

/// Reads a snapshot written by [`Org::save`] against the current schema.
pub(crate) fn load(schema: &Schema, path: &Path) -> Result<(String, Data), SfError> {
    let file = std::fs::File::open(path).map_err(|e| err(path, e))?;
    let mut lines = BufReader::with_capacity(1 << 20, file).lines();
    let mut next = |what: &str| -> Result<Json, SfError> {
        let l = lines
            .next()
            .ok_or_else(|| err(path, format!("truncated: expected {what}")))?
            .map_err(|e| err(path, e))?;
        serde_json::from_str(&l).map_err(|e| err(path, format!("bad {what}: {e}")))
    };
    let head = next("header")?;
    if head.get("format").and_then(Json::as_str) != Some(FORMAT) {
        return Err(err(path, "not an sfemu org snapshot"));
    }
    let org_id = head
        .get("org_id")
        .and_then(Json::as_str)
        .ok_or_else(|| err(path, "no org_id"))?
        .to_string();
    let mut idgen = IdGen::new(&org_id);
    idgen.counter = head.get("id_counter").and_then(Json::as_u64).unwrap_or(0);
    let clock = head
        .get("clock")
        .and_then(Json::as_str)
        .and_then(parse_datetime)
        .unwrap_or_else(chrono::Utc::now);
    let mut tables: Vec<Table> = schema.objects.iter().map(Table::new).collect();
    let mut table_map: HashMap<String, usize> = HashMap::new();
    let log_head = loop {
        let h = next("section")?;
        if let Some(l) = h.get("log") {
            break l.clone();
        }
        let name = h
            .get("table")
            .and_then(Json::as_str)
            .ok_or_else(|| err(path, "bad table header"))?
            .to_string();
        let fields: Vec<String> =
            serde_json::from_value(h.get("fields").cloned().unwrap_or(Json::Null))
                .map_err(|e| err(path, format!("table {name}: {e}")))?;
        let rows = h.get("rows").and_then(Json::as_u64).unwrap_or(0);
        let target = schema.table(&name);
        let map: Vec<Option<usize>> = match target {
            Some(t) => fields.iter().map(|f| schema.obj(t).slot(f)).collect(),
            None => vec![None; fields.len()],
        };
        if let Some(t) = target {
            table_map.insert(name.clone(), t);
            tables[t].autonumber = h.get("autonumber").and_then(Json::as_u64).unwrap_or(0);
        }
        for _ in 0..rows {
            let row = next("row")?;
            let Some(t) = target else { continue };
            let Json::Array(vals) = row else {
                return Err(err(path, format!("table {name}: row is not an array")));
            };
            let obj = schema.obj(t);
            let mut out: Vec<Value> = obj.fields.iter().map(|f| dec(f, &Json::Null)).collect();
            for (i, v) in vals.iter().take(fields.len()).enumerate() {
                if let Some(Some(s)) = map.get(i) {
                    out[*s] = dec(&obj.fields[*s], v);
                }
            }
            let table = &mut tables[t];
            let r = table.len() as u32;
            if let Some(d) = vals
                .get(fields.len())
                .and_then(Json::as_str)
                .and_then(parse_datetime)
            {
                table.deleted_at.insert(r, d);
            }
            if let Some(c) = vals
                .get(fields.len() + 1)
                .and_then(Json::as_str)
                .and_then(|c| c.parse::<u128>().ok())
            {
                table.cascade_of.insert(r, c);
            }
            if let Some(list) = vals.get(fields.len() + 2).and_then(Json::as_array) {
                let cleared: Vec<ClearedLookup> =
                    list.iter().filter_map(|c| cleared_lookup(obj, c)).collect();
                if !cleared.is_empty() {
                    table.cleared.insert(r, cleared);
                }
            }
            table.push(out);
        }
    };
    let mut log = ChangeLog::default();
    log.cap = log_head
        .get("cap")
        .and_then(Json::as_u64)
        .map_or(crate::changelog::DEFAULT_CAP, |c| c as usize);
    log.last_seq = log_head.get("last_seq").and_then(Json::as_u64).unwrap_or(0);
    log.last_commit = log_head
        .get("last_commit")
        .and_then(Json::as_u64)
        .unwrap_or(0);
    if let Some(b) = log_head.get("max_bytes").and_then(Json::as_u64) {
        log.max_bytes = b as usize;
    }
    let old_tables: Vec<String> =
        serde_json::from_value(log_head.get("tables").cloned().unwrap_or(Json::Null))
            .unwrap_or_default();
    let old_fields: Vec<Vec<String>> =
        serde_json::from_value(log_head.get("fields").cloned().unwrap_or(Json::Null))
            .unwrap_or_default();
    let n = log_head.get("entries").and_then(Json::as_u64).unwrap_or(0);
    for _ in 0..n {
        let mut e: Entry = serde_json::from_value(next("change")?)
            .map_err(|e| err(path, format!("bad change: {e}")))?;
        let Some(name) = old_tables.get(e.table as usize) else {
            continue;
        };
        let Some(t) = schema.table(name) else {
            continue;
        };
        let remap = |slots: &[u16]| -> Vec<u16> {
            slots
                .iter()
                .filter_map(|&s| old_fields.get(e.table as usize)?.get(s as usize))
                .filter_map(|n| schema.obj(t).slot(n).map(|s| s as u16))
                .collect()
        };
        e.changed = remap(&e.changed);
        e.nulled = remap(&e.nulled);
        e.table = t as u32;
        log.push_restored(e);
    }
    Ok((
        org_id,
        Data {
            tables,
            idgen,
            clock,
            log,
            journal: Vec::new(),
            sp_depth: 0,
            sp_base: None,
        },
    ))
}
