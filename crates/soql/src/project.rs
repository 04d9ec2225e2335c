//! Building result rows: selected fields in SELECT order, parent paths nested per relationship,
//! child subqueries as nested lists.

use crate::Value;

/// One result record, before JSON rendering (the emulator adds `attributes`).
#[derive(Debug, Clone, PartialEq)]
pub struct OutRecord {
    /// sObject type for `attributes.type`; `"AggregateResult"` for aggregate rows.
    pub object: String,
    /// Record Id for `attributes.url`; `None` for aggregate rows.
    pub id: Option<String>,
    /// Fields in SELECT order under canonical names (relationship names for nested records).
    pub fields: Vec<(String, OutValue)>,
}

/// One value of a result record.
#[derive(Debug, Clone, PartialEq)]
pub enum OutValue {
    Scalar(Value),
    /// A parent relationship; `None` when the lookup is empty (rendered `null`).
    Parent(Option<Box<OutRecord>>),
    /// A child subquery's rows; `None` when there are none (Salesforce renders `null`).
    Children(Option<Vec<OutRecord>>),
}

use crate::eval::EvalContext;
use crate::plan::{FieldRef, ProjItem};
use crate::{DataSource, ObjectInfo};

/// Builds the output record of one row of `object` with the selected items.
pub(crate) fn project_row<D: DataSource>(
    ds: &D,
    object: &ObjectInfo,
    row: usize,
    items: &[ProjItem],
    ctx: &EvalContext,
) -> OutRecord {
    let table = object.table;
    let mut rec = OutRecord {
        object: object.name.clone(),
        id: Some(ds.id(table, row).to_string()),
        fields: Vec::new(),
    };
    for item in items {
        match item {
            ProjItem::Field(f) => put_field(ds, &mut rec, f, 0, table, row, ctx),
            ProjItem::Child(c) => {
                let parent_id = ds.id(table, row).to_string();
                let candidates =
                    ds.children(c.rows.object.table, c.slot, &parent_id, ctx.include_deleted);
                let rows = c.rows.run(ds, candidates, ctx);
                let out: Vec<OutRecord> = rows
                    .into_iter()
                    .map(|r| project_row(ds, &c.rows.object, r, &c.items, ctx))
                    .collect();
                let v = if out.is_empty() { None } else { Some(out) };
                rec.fields.push((c.rel.clone(), OutValue::Children(v)));
            }
        }
    }
    rec
}

/// Places `f` (from hop `depth` on) into `rec`, nesting one record per relationship and reusing
/// a relationship already present, so `Account.Name, Account.Owner.Name` share one `Account`.
fn put_field<D: DataSource>(
    ds: &D,
    rec: &mut OutRecord,
    f: &FieldRef,
    depth: usize,
    table: usize,
    row: usize,
    ctx: &EvalContext,
) {
    let Some(hop) = f.hops.get(depth) else {
        if !rec.fields.iter().any(|(k, _)| k == &f.field.name) {
            let v = ds.value(table, row, f.field.slot).clone();
            rec.fields.push((f.field.name.clone(), OutValue::Scalar(v)));
        }
        return;
    };
    let parent = match ds.value(table, row, hop.slot) {
        Value::Text(id) => ds
            .row_by_id(hop.target.table, id, ctx.include_deleted)
            .map(|r| (hop.target.table, r)),
        _ => None,
    };
    let pos = match rec.fields.iter().position(|(k, _)| k == &hop.rel) {
        Some(p) => p,
        None => {
            let v = parent.map(|(t, r)| {
                Box::new(OutRecord {
                    object: hop.target.name.clone(),
                    id: Some(ds.id(t, r).to_string()),
                    fields: Vec::new(),
                })
            });
            rec.fields.push((hop.rel.clone(), OutValue::Parent(v)));
            rec.fields.len() - 1
        }
    };
    if let (Some((t, r)), OutValue::Parent(Some(inner))) = (parent, &mut rec.fields[pos].1) {
        put_field(ds, inner, f, depth + 1, t, r, ctx);
    }
}
