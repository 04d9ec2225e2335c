//! Fuzzes the whole SOQL pipeline: parse, plan against a small catalog, execute and project.
//! Any panic is a bug (bad input must produce a `SoqlError`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use soql::{
    Catalog, ChildRel, DataSource, EvalContext, Execution, FieldInfo, FieldKind, ObjectInfo, ParentRel, ScanHint,
    Value,
};

/// Two objects: Account (table 0) and Contact (table 1, `Account` lookup, `Contacts` children).
struct Mini {
    rows: [Vec<Vec<Value>>; 2],
}

const ACCOUNT_FIELDS: &[(&str, FieldKind)] = &[
    ("Id", FieldKind::Id),
    ("Name", FieldKind::String),
    ("Amount__c", FieldKind::Currency),
    ("CreatedDate", FieldKind::DateTime),
    ("Tags__c", FieldKind::MultiPicklist),
    ("Active__c", FieldKind::Boolean),
    ("Since__c", FieldKind::Date),
    ("Size__c", FieldKind::Int),
];
const CONTACT_FIELDS: &[(&str, FieldKind)] =
    &[("Id", FieldKind::Id), ("LastName", FieldKind::String), ("AccountId", FieldKind::Reference)];

fn fields(table: usize) -> &'static [(&'static str, FieldKind)] {
    if table == 0 { ACCOUNT_FIELDS } else { CONTACT_FIELDS }
}

fn info(table: usize) -> ObjectInfo {
    ObjectInfo { name: if table == 0 { "Account" } else { "Contact" }.to_string(), table }
}

impl Catalog for Mini {
    fn object(&self, name: &str) -> Option<ObjectInfo> {
        ["Account", "Contact"].iter().position(|n| n.eq_ignore_ascii_case(name)).map(info)
    }
    fn field(&self, object: &ObjectInfo, name: &str) -> Option<FieldInfo> {
        self.fields(object).into_iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }
    fn fields(&self, object: &ObjectInfo) -> Vec<FieldInfo> {
        fields(object.table)
            .iter()
            .enumerate()
            .map(|(slot, (name, kind))| FieldInfo {
                name: name.to_string(),
                kind: *kind,
                slot,
                filterable: true,
                sortable: *kind != FieldKind::MultiPicklist,
                groupable: true,
                aggregatable: true,
            })
            .collect()
    }
    fn parent_relationship(&self, object: &ObjectInfo, name: &str) -> Option<ParentRel> {
        (object.table == 1 && name.eq_ignore_ascii_case("Account"))
            .then(|| ParentRel { name: "Account".into(), slot: 2, target: info(0) })
    }
    fn child_relationship(&self, object: &ObjectInfo, name: &str) -> Option<ChildRel> {
        (object.table == 0 && name.eq_ignore_ascii_case("Contacts"))
            .then(|| ChildRel { name: "Contacts".into(), child: info(1), slot: 2 })
    }
}

impl DataSource for Mini {
    fn scan(&self, table: usize, _: bool, _: &ScanHint) -> Vec<usize> {
        (0..self.rows[table].len()).collect()
    }
    fn value(&self, table: usize, row: usize, slot: usize) -> &Value {
        &self.rows[table][row][slot]
    }
    fn id(&self, table: usize, row: usize) -> &str {
        self.rows[table][row][0].as_str().unwrap_or("")
    }
    fn row_by_id(&self, table: usize, id: &str, _: bool) -> Option<usize> {
        self.rows[table].iter().position(|r| r[0].as_str() == Some(id))
    }
    fn children(&self, child_table: usize, slot: usize, parent_id: &str, _: bool) -> Vec<usize> {
        (0..self.rows[child_table].len()).filter(|&r| self.rows[child_table][r][slot].as_str() == Some(parent_id)).collect()
    }
}

fn mini() -> Mini {
    let a = |id: &str, name: &str, amount: f64, tags: &str| {
        vec![
            Value::text(id),
            Value::text(name),
            Value::Double(amount),
            Value::DateTime(chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()),
            Value::text(tags),
            Value::Bool(amount > 1.0),
            Value::Null,
            Value::Int(amount as i64),
        ]
    };
    let c = |id: &str, name: &str, acc: Value| vec![Value::text(id), Value::text(name), acc];
    Mini {
        rows: [
            vec![a("001000000000001AAA", "Acme", 1.5, "a;b"), a("001000000000002AAA", "beta", 0.5, "")],
            vec![
                c("003000000000001AAA", "Smith", Value::text("001000000000001AAA")),
                c("003000000000002AAA", "Jones", Value::Null),
            ],
        ],
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = soql::parse(text);
    let org = mini();
    let Ok(plan) = soql::plan(text, &org) else { return };
    let ctx = EvalContext::default();
    if let Ok(Execution::Rows(rows)) = plan.execute(&org, &ctx) {
        for r in rows {
            let _ = plan.project(&org, r, &ctx);
        }
    }
});
