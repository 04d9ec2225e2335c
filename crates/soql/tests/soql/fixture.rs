//! An in-memory org (catalog + data source) for the integration tests.

use soql::*;
use std::cell::RefCell;

pub const ACCOUNT: usize = 0;
pub const CONTACT: usize = 1;
pub const USER: usize = 2;

/// 15-char id → 18-char id (same algorithm Salesforce uses).
pub fn id18(s: &str) -> String {
    const ALPHA: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    let mut out = s.to_string();
    for chunk in s.as_bytes().chunks(5) {
        let mut bits = 0;
        for (i, b) in chunk.iter().enumerate() {
            if b.is_ascii_uppercase() {
                bits |= 1 << i;
            }
        }
        out.push(ALPHA[bits] as char);
    }
    out
}

pub fn id(prefix: &str, n: usize) -> String {
    id18(&format!("{prefix}{n:012}"))
}

struct Field {
    name: &'static str,
    kind: FieldKind,
    filterable: bool,
}

fn f(name: &'static str, kind: FieldKind) -> Field {
    Field {
        name,
        kind,
        filterable: kind != FieldKind::LongTextArea,
    }
}

struct Table {
    name: &'static str,
    fields: Vec<Field>,
    rows: Vec<Vec<Value>>,
    deleted: Vec<bool>,
}

pub struct Org {
    tables: Vec<Table>,
    pub hints: RefCell<Vec<ScanHint>>,
}

pub fn t(s: &str) -> Value {
    Value::text(s)
}

pub fn dt(s: &str) -> Value {
    Value::DateTime(s.parse().unwrap())
}

pub fn date(s: &str) -> Value {
    Value::Date(s.parse().unwrap())
}

impl Org {
    pub fn new() -> Self {
        use FieldKind::*;
        let account = Table {
            name: "Account",
            fields: vec![
                f("Id", Id),
                f("Name", String),
                f("Type", Picklist),
                f("AnnualRevenue", Currency),
                f("NumberOfEmployees", Int),
                f("OwnerId", Reference),
                f("CreatedDate", DateTime),
                f("Active__c", Boolean),
                f("Tags__c", MultiPicklist),
                f("Description", LongTextArea),
                f("Founded__c", Date),
                f("ParentId", Reference),
            ],
            rows: Vec::new(),
            deleted: Vec::new(),
        };
        let contact = Table {
            name: "Contact",
            fields: vec![
                f("Id", Id),
                f("LastName", String),
                f("AccountId", Reference),
                f("Email", Email),
            ],
            rows: Vec::new(),
            deleted: Vec::new(),
        };
        let user = Table {
            name: "User",
            fields: vec![f("Id", Id), f("Name", String), f("ManagerId", Reference)],
            rows: Vec::new(),
            deleted: Vec::new(),
        };
        let cdl = Table {
            name: "ContentDocumentLink",
            fields: vec![
                f("Id", Id),
                f("ContentDocumentId", Reference),
                f("LinkedEntityId", Reference),
            ],
            rows: Vec::new(),
            deleted: Vec::new(),
        };
        Org {
            tables: vec![account, contact, user, cdl],
            hints: RefCell::new(Vec::new()),
        }
    }

    /// Adds a row; `vals` are (field, value) pairs, the rest null. Returns the row handle.
    pub fn add(&mut self, table: usize, id: &str, vals: &[(&str, Value)]) -> usize {
        let tb = &mut self.tables[table];
        let mut row = vec![Value::Null; tb.fields.len()];
        row[0] = t(id);
        for (name, v) in vals {
            let i = tb.fields.iter().position(|f| f.name == *name).unwrap();
            row[i] = v.clone();
        }
        tb.rows.push(row);
        tb.deleted.push(false);
        tb.rows.len() - 1
    }

    pub fn delete(&mut self, table: usize, row: usize) {
        self.tables[table].deleted[row] = true;
    }

    fn info(&self, table: usize) -> ObjectInfo {
        ObjectInfo {
            name: self.tables[table].name.to_string(),
            table,
        }
    }
}

impl Catalog for Org {
    fn object(&self, name: &str) -> Option<ObjectInfo> {
        let i = self
            .tables
            .iter()
            .position(|t| t.name.eq_ignore_ascii_case(name))?;
        Some(self.info(i))
    }

    fn field(&self, object: &ObjectInfo, name: &str) -> Option<FieldInfo> {
        self.fields(object)
            .into_iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    fn fields(&self, object: &ObjectInfo) -> Vec<FieldInfo> {
        self.tables[object.table]
            .fields
            .iter()
            .enumerate()
            .map(|(slot, f)| FieldInfo {
                name: f.name.to_string(),
                kind: f.kind,
                slot,
                filterable: f.filterable,
                sortable: f.filterable && f.kind != FieldKind::MultiPicklist,
                groupable: f.filterable
                    && !matches!(f.kind, FieldKind::Double | FieldKind::Currency),
                aggregatable: true,
            })
            .collect()
    }

    fn parent_relationship(&self, object: &ObjectInfo, name: &str) -> Option<ParentRel> {
        let rels: &[(&str, &str, usize)] = match object.table {
            ACCOUNT => &[("Owner", "OwnerId", USER), ("Parent", "ParentId", ACCOUNT)],
            CONTACT => &[("Account", "AccountId", ACCOUNT)],
            USER => &[("Manager", "ManagerId", USER)],
            _ => &[],
        };
        let (rel, field, target) = rels.iter().find(|(r, _, _)| r.eq_ignore_ascii_case(name))?;
        Some(ParentRel {
            name: rel.to_string(),
            slot: self.field(object, field)?.slot,
            target: self.info(*target),
        })
    }

    fn child_relationship(&self, object: &ObjectInfo, name: &str) -> Option<ChildRel> {
        if object.table == ACCOUNT && name.eq_ignore_ascii_case("Contacts") {
            return Some(ChildRel {
                name: "Contacts".into(),
                child: self.info(CONTACT),
                slot: 2,
            });
        }
        None
    }
}

impl DataSource for Org {
    fn scan(&self, table: usize, include_deleted: bool, hint: &ScanHint) -> Vec<usize> {
        self.hints.borrow_mut().push(hint.clone());
        let tb = &self.tables[table];
        (0..tb.rows.len())
            .filter(|&r| include_deleted || !tb.deleted[r])
            .filter(|&r| match hint {
                ScanHint::All => true,
                // Text hints match case-insensitively, as SOQL's `=` does (the hint contract).
                ScanHint::AnyOf { slot, values } => values
                    .iter()
                    .any(|v| v.compare(&tb.rows[r][*slot]) == Some(std::cmp::Ordering::Equal)),
            })
            .collect()
    }

    fn value(&self, table: usize, row: usize, slot: usize) -> &Value {
        &self.tables[table].rows[row][slot]
    }

    fn id(&self, table: usize, row: usize) -> &str {
        self.tables[table].rows[row][0].as_str().unwrap()
    }

    fn row_by_id(&self, table: usize, id: &str, include_deleted: bool) -> Option<usize> {
        let tb = &self.tables[table];
        (0..tb.rows.len())
            .find(|&r| (include_deleted || !tb.deleted[r]) && tb.rows[r][0].as_str() == Some(id))
    }

    fn children(
        &self,
        child_table: usize,
        slot: usize,
        parent_id: &str,
        include_deleted: bool,
    ) -> Vec<usize> {
        let tb = &self.tables[child_table];
        (0..tb.rows.len())
            .filter(|&r| {
                (include_deleted || !tb.deleted[r]) && tb.rows[r][slot].as_str() == Some(parent_id)
            })
            .collect()
    }
}
