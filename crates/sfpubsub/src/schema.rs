//! An event's Avro schema, parsed once and kept with what decoding needs: the top-level field
//! slots for the header bitmaps and the named records for `Ref`s.

use crate::bitmap::FieldSlot;
use apache_avro::Schema;
use apache_avro::schema::{RecordField, RecordSchema};
use std::collections::HashMap;

/// One schema from `GetSchema`, parsed. Schemas are immutable per id, so the client caches these.
#[derive(Debug)]
pub struct EventSchema {
    /// The id events carry in `ProducerEvent.schema_id`.
    pub schema_id: String,
    /// The JSON as the server sent it.
    pub schema_json: String,
    pub(crate) schema: Schema,
    /// Top-level fields with compound children, for bitmap decoding.
    pub(crate) slots: Vec<FieldSlot>,
    /// Named records by simple and full name, to follow `Ref`s.
    named: HashMap<String, RecordSchema>,
}

impl EventSchema {
    /// Parses a schema; the root must be a record (every Salesforce event is one).
    pub fn parse(schema_id: &str, schema_json: &str) -> Result<Self, String> {
        let schema = Schema::parse_str(schema_json).map_err(|e| e.to_string())?;
        let mut named = HashMap::new();
        collect_named(&schema, &mut named);
        let Schema::Record(root) = &schema else {
            return Err("the event schema's root is not a record".into());
        };
        let mut me = Self {
            schema_id: schema_id.to_string(),
            schema_json: schema_json.to_string(),
            slots: Vec::new(),
            named,
            schema: schema.clone(),
        };
        me.slots = root
            .fields
            .iter()
            .map(|f| FieldSlot {
                name: f.name.clone(),
                children: me
                    .record_of(&f.schema)
                    .map(|r| r.fields.iter().map(|c| c.name.clone()).collect()),
            })
            .collect();
        Ok(me)
    }

    /// The root record's fields, in schema (and datum) order.
    pub(crate) fn root_fields(&self) -> &[RecordField] {
        match &self.schema {
            Schema::Record(r) => &r.fields,
            _ => &[],
        }
    }

    /// Names of the top-level fields, in schema order (bit order of the header bitmaps).
    pub fn field_names(&self) -> impl Iterator<Item = &str> {
        self.slots.iter().map(|s| s.name.as_str())
    }

    /// The record schema a field holds, looking through `["null", record]` unions and `Ref`s.
    pub(crate) fn record_of<'a>(&'a self, s: &'a Schema) -> Option<&'a RecordSchema> {
        match s {
            Schema::Record(r) => Some(r),
            Schema::Ref { name } => self
                .named
                .get(&name.fullname(None))
                .or_else(|| self.named.get(name.name())),
            Schema::Union(u) => u.variants().iter().find_map(|v| self.record_of(v)),
            _ => None,
        }
    }
}

fn collect_named(s: &Schema, out: &mut HashMap<String, RecordSchema>) {
    match s {
        Schema::Record(r) => {
            out.insert(r.name.fullname(None), r.clone());
            out.entry(r.name.name().to_string())
                .or_insert_with(|| r.clone());
            for f in &r.fields {
                collect_named(&f.schema, out);
            }
        }
        Schema::Union(u) => u.variants().iter().for_each(|v| collect_named(v, out)),
        Schema::Array(a) => collect_named(&a.items, out),
        Schema::Map(m) => collect_named(&m.types, out),
        _ => {}
    }
}
