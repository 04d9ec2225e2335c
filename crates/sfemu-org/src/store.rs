//! Record storage: one [`Table`] per object, rows as fixed-width slot vectors of [`Value`] in one
//! flat `Vec` (no per-row maps: a million rows of a 20-field object stay well under the memory
//! goal), with an Id index, value indexes for unique / external-id fields (live rows only,
//! case-insensitive unless the field is case-sensitive) and a reference index for children.
//!
//! Indexes key by hashes and the candidates are re-checked against the row values, which keeps
//! them small; rows are never physically removed except by a transaction rollback (always the
//! most recently inserted ones), so row handles stay stable for query cursors.

use crate::ids;
use crate::schema::{FieldType, ID_SLOT, IS_DELETED_SLOT, ObjectDef};
use chrono::{DateTime, Utc};
use soql::Value;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// Row handles matching one index key: no allocation for the common single row.
#[derive(Debug, Clone)]
enum Rows {
    One(u32),
    // Boxed so the enum stays 16 bytes: most keys have a single row.
    #[allow(clippy::box_collection)]
    Many(Box<Vec<u32>>),
}

impl Rows {
    fn push(&mut self, r: u32) {
        match self {
            Rows::One(a) => *self = Rows::Many(Box::new(vec![*a, r])),
            Rows::Many(v) => v.push(r),
        }
    }
    /// Removes `r`; returns true when nothing is left.
    fn remove(&mut self, r: u32) -> bool {
        match self {
            Rows::One(a) => *a == r,
            Rows::Many(v) => {
                v.retain(|x| *x != r);
                match v.as_slice() {
                    [] => true,
                    [one] => {
                        *self = Rows::One(*one);
                        false
                    }
                    _ => false,
                }
            }
        }
    }
    fn as_slice(&self) -> &[u32] {
        match self {
            Rows::One(a) => std::slice::from_ref(a),
            Rows::Many(v) => v,
        }
    }
}

fn multi_insert<K: Hash + Eq>(m: &mut HashMap<K, Rows>, k: K, r: u32) {
    match m.get_mut(&k) {
        Some(rows) => rows.push(r),
        None => {
            m.insert(k, Rows::One(r));
        }
    }
}

fn multi_remove<K: Hash + Eq>(m: &mut HashMap<K, Rows>, k: &K, r: u32) {
    if let Some(rows) = m.get_mut(k)
        && rows.remove(r)
    {
        m.remove(k);
    }
}

/// Hash of a text value for the unique indexes (lower-cased unless case-sensitive).
pub fn text_hash(s: &str, case_sensitive: bool) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    if case_sensitive {
        s.hash(&mut h);
    } else {
        for c in s.chars().flat_map(char::to_lowercase) {
            c.hash(&mut h);
        }
    }
    h.finish()
}

/// Whether two texts are equal under a field's case sensitivity.
pub fn text_eq(a: &str, b: &str, case_sensitive: bool) -> bool {
    if case_sensitive {
        a == b
    } else {
        soql::value::cmp_ci(a, b).is_eq()
    }
}

/// A lookup the platform cleared because the record it pointed to was deleted. Undeleting
/// the record whose delete caused it (`root`) puts `value` back, unless the field was given
/// another value meanwhile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClearedLookup {
    /// The lookup field's slot.
    pub slot: u16,
    /// Key of the record whose delete (directly or by cascade) cleared the lookup.
    pub root: u128,
    /// The id the lookup held.
    pub value: Box<str>,
}

/// The records of one object.
#[derive(Debug, Clone)]
pub struct Table {
    pub stride: usize,
    pub values: Vec<Value>,
    id_index: HashMap<u64, u32>,
    /// Per slot: value index of unique / external-id fields (live rows only).
    uniq: Vec<Option<(bool, HashMap<u64, Rows>)>>,
    /// Per slot: reference index (every row, deleted included).
    refs: Vec<Option<HashMap<u64, Rows>>>,
    /// Recycle bin: deleted rows and when they were deleted.
    pub deleted_at: HashMap<u32, DateTime<Utc>>,
    /// Rows deleted along with a parent (cascade): the key of the record whose delete took
    /// them, so undeleting that record restores them.
    pub cascade_of: HashMap<u32, u128>,
    /// Live rows whose lookups were cleared by a parent's delete (see [`ClearedLookup`]).
    pub cleared: HashMap<u32, Vec<ClearedLookup>>,
    /// Last auto-number handed out.
    pub autonumber: u64,
}

impl Table {
    /// An empty table for an object.
    pub fn new(obj: &ObjectDef) -> Self {
        let uniq = obj
            .fields
            .iter()
            .map(|f| f.indexed().then(|| (f.case_sensitive, HashMap::new())))
            .collect();
        let refs = obj
            .fields
            .iter()
            .map(|f| (f.ftype == FieldType::Reference && !f.system).then(HashMap::new))
            .collect();
        Table {
            stride: obj.fields.len(),
            values: Vec::new(),
            id_index: HashMap::new(),
            uniq,
            refs,
            deleted_at: HashMap::new(),
            cascade_of: HashMap::new(),
            cleared: HashMap::new(),
            autonumber: 0,
        }
    }

    /// Number of rows, deleted ones included.
    pub fn len(&self) -> usize {
        self.values.len() / self.stride
    }

    /// True when the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The values of a row.
    pub fn row(&self, row: usize) -> &[Value] {
        &self.values[row * self.stride..(row + 1) * self.stride]
    }

    /// One value.
    pub fn get(&self, row: usize, slot: usize) -> &Value {
        &self.values[row * self.stride + slot]
    }

    /// The 18-char Id of a row.
    pub fn id(&self, row: usize) -> &str {
        self.get(row, ID_SLOT).as_str().unwrap_or("")
    }

    /// True when the row is in the recycle bin.
    pub fn is_deleted(&self, row: usize) -> bool {
        matches!(self.get(row, IS_DELETED_SLOT), Value::Bool(true))
    }

    /// Number of live rows.
    pub fn live_count(&self) -> usize {
        self.len() - self.deleted_at.len()
    }

    /// The row with this Id (15 or 18 chars), deleted or not.
    pub fn find(&self, id: &str) -> Option<usize> {
        let k = ids::short_key(id)?;
        let r = *self.id_index.get(&k)? as usize;
        (self.id(r).get(..15) == id.get(..15)).then_some(r)
    }

    /// Live rows whose indexed `slot` holds `value` (under the field's case rule).
    pub fn find_unique(&self, slot: usize, value: &str) -> Option<Vec<usize>> {
        let (cs, m) = self.uniq.get(slot)?.as_ref()?;
        let rows = m
            .get(&text_hash(value, *cs))
            .map(Rows::as_slice)
            .unwrap_or(&[]);
        Some(
            rows.iter()
                .map(|&r| r as usize)
                .filter(|&r| {
                    self.get(r, slot)
                        .as_str()
                        .is_some_and(|v| text_eq(v, value, *cs))
                })
                .collect(),
        )
    }

    /// Rows whose reference `slot` holds `parent_id`, if that slot is indexed.
    pub fn find_children(&self, slot: usize, parent_id: &str) -> Option<Vec<usize>> {
        let m = self.refs.get(slot)?.as_ref()?;
        let k = ids::short_key(parent_id)?;
        let want = parent_id.get(..15);
        Some(
            m.get(&k)
                .map(|r| {
                    r.as_slice()
                        .iter()
                        .map(|&r| r as usize)
                        .filter(|&r| self.get(r, slot).as_str().and_then(|v| v.get(..15)) == want)
                        .collect()
                })
                .unwrap_or_default(),
        )
    }

    /// Whether `slot` has a value index.
    pub fn has_unique_index(&self, slot: usize) -> bool {
        self.uniq.get(slot).is_some_and(Option::is_some)
    }

    /// Whether `slot` has a unique index that matches case-insensitively, as SOQL's `=` on
    /// text does (a case-sensitive index would miss `'abc'` for a stored `'ABC'`).
    pub fn has_ci_unique_index(&self, slot: usize) -> bool {
        self.uniq
            .get(slot)
            .is_some_and(|u| u.as_ref().is_some_and(|(cs, _)| !cs))
    }

    /// Whether `slot` has a reference index.
    pub fn has_ref_index(&self, slot: usize) -> bool {
        self.refs.get(slot).is_some_and(Option::is_some)
    }

    /// Appends a row (already complete and valid) and indexes it; returns its handle.
    pub fn push(&mut self, row: Vec<Value>) -> usize {
        debug_assert_eq!(row.len(), self.stride);
        let r = self.len();
        self.values.extend(row);
        self.index(r);
        r
    }

    /// Replaces a row's values, keeping the indexes right.
    pub fn replace(&mut self, row: usize, vals: Vec<Value>) {
        self.unindex(row);
        let s = self.stride;
        for (dst, v) in self.values[row * s..(row + 1) * s].iter_mut().zip(vals) {
            *dst = v;
        }
        self.index(row);
    }

    /// Removes a row for good, moving the last row into its place (a purge: the record leaves
    /// no trace, not even in the recycle bin). Row numbers held elsewhere (open query cursors)
    /// may then point at another row: a test hook, not a transaction.
    pub fn swap_remove(&mut self, row: usize) {
        let n = self.len();
        if row >= n {
            return;
        }
        let last = n - 1;
        self.unindex(row);
        let (r, l) = (row as u32, last as u32);
        self.deleted_at.remove(&r);
        self.cascade_of.remove(&r);
        self.cleared.remove(&r);
        if row != last {
            self.unindex(last);
            let s = self.stride;
            let moved: Vec<Value> = self.values[last * s..n * s].to_vec();
            for (dst, v) in self.values[row * s..(row + 1) * s].iter_mut().zip(moved) {
                *dst = v;
            }
            if let Some(v) = self.deleted_at.remove(&l) {
                self.deleted_at.insert(r, v);
            }
            if let Some(v) = self.cascade_of.remove(&l) {
                self.cascade_of.insert(r, v);
            }
            if let Some(v) = self.cleared.remove(&l) {
                self.cleared.insert(r, v);
            }
        }
        self.values.truncate(last * self.stride);
        if row != last {
            self.index(row);
        }
    }

    /// Removes the last row (transaction rollback of an insert).
    pub fn pop(&mut self) {
        let n = self.len();
        if n == 0 {
            return;
        }
        self.unindex(n - 1);
        self.deleted_at.remove(&((n - 1) as u32));
        self.cascade_of.remove(&((n - 1) as u32));
        self.cleared.remove(&((n - 1) as u32));
        self.values.truncate((n - 1) * self.stride);
    }

    fn index(&mut self, row: usize) {
        let r = row as u32;
        let live = !self.is_deleted(row);
        if let Some(k) = ids::short_key(self.id(row)) {
            self.id_index.insert(k, r);
        }
        for slot in 0..self.stride {
            let v = &self.values[row * self.stride + slot];
            let Value::Text(t) = v else { continue };
            if live && let Some((cs, m)) = &mut self.uniq[slot] {
                multi_insert(m, text_hash(t, *cs), r);
            }
            if let Some(m) = &mut self.refs[slot]
                && let Some(k) = ids::short_key(t)
            {
                multi_insert(m, k, r);
            }
        }
    }

    fn unindex(&mut self, row: usize) {
        let r = row as u32;
        if let Some(k) = ids::short_key(self.id(row)) {
            self.id_index.remove(&k);
        }
        for slot in 0..self.stride {
            let v = &self.values[row * self.stride + slot];
            let Value::Text(t) = v else { continue };
            if let Some((cs, m)) = &mut self.uniq[slot] {
                multi_remove(m, &text_hash(t, *cs), r);
            }
            if let Some(m) = &mut self.refs[slot]
                && let Some(k) = ids::short_key(t)
            {
                multi_remove(m, &k, r);
            }
        }
    }

    /// Rebuilds every index (after loading a snapshot).
    pub fn reindex_all(&mut self) {
        self.id_index.clear();
        for u in self.uniq.iter_mut().flatten() {
            u.1.clear();
        }
        for m in self.refs.iter_mut().flatten() {
            m.clear();
        }
        for r in 0..self.len() {
            self.index(r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::build_schema;

    #[test]
    fn indexes_follow_updates_and_rollback() {
        let s = build_schema(&[]).unwrap();
        let t = s.table("Account").unwrap();
        let obj = s.obj(t);
        let mut table = Table::new(obj);
        let gid = obj.slot("OrgSync_Global_Id__c").unwrap();
        let mut row = vec![Value::Null; table.stride];
        row[ID_SLOT] = Value::text("001000000000001AAA");
        row[IS_DELETED_SLOT] = Value::Bool(false);
        row[gid] = Value::text("Org:1");
        let r = table.push(row.clone());
        assert_eq!(table.find("001000000000001"), Some(r));
        assert_eq!(table.find_unique(gid, "org:1").unwrap(), vec![r]);
        row[gid] = Value::text("org:2");
        table.replace(r, row);
        assert!(table.find_unique(gid, "org:1").unwrap().is_empty());
        assert_eq!(table.find_unique(gid, "ORG:2").unwrap(), vec![r]);
        table.pop();
        assert!(table.is_empty());
        assert!(table.find_unique(gid, "org:2").unwrap().is_empty());
        assert_eq!(table.find("001000000000001AAA"), None);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Push {
            gid: Option<u8>,
            parent: Option<u8>,
            deleted: bool,
        },
        Replace {
            row: usize,
            gid: Option<u8>,
            parent: Option<u8>,
            deleted: bool,
        },
        Pop,
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        let v = || proptest::option::of(0u8..4);
        prop_oneof![
            (v(), v(), any::<bool>()).prop_map(|(gid, parent, deleted)| Op::Push {
                gid,
                parent,
                deleted
            }),
            (0usize..16, v(), v(), any::<bool>()).prop_map(|(row, gid, parent, deleted)| {
                Op::Replace {
                    row,
                    gid,
                    parent,
                    deleted,
                }
            }),
            Just(Op::Pop),
        ]
    }

    proptest::proptest! {
        /// Whatever the sequence of inserts, replacements and rollbacks, every index answers
        /// exactly what a scan of the rows would.
        #[test]
        fn indexes_agree_with_a_scan(ops in proptest::collection::vec(op(), 1..40)) {
            let s = build_schema(&[]).unwrap();
            let t = s.table("Contact").unwrap();
            let obj = s.obj(t);
            let gid = obj.slot("OrgSync_Global_Id__c").unwrap();
            let acc = obj.slot("AccountId").unwrap();
            let mut table = Table::new(obj);
            let mut next = 0u64;
            let make = |id: &str, g: Option<u8>, p: Option<u8>, d: bool| {
                let mut row = vec![Value::Null; obj.fields.len()];
                row[ID_SLOT] = Value::text(id);
                row[IS_DELETED_SLOT] = Value::Bool(d);
                row[gid] = g.map_or(Value::Null, |g| Value::text(format!("G{g}")));
                row[acc] = p.map_or(Value::Null, |p| Value::text(crate::ids::to18(&format!("001AB000000000{p}")).unwrap()));
                row
            };
            for o in ops {
                match o {
                    Op::Push { gid: g, parent, deleted } => {
                        next += 1;
                        let id = crate::ids::to18(&format!("003AB0{}", crate::ids::base62(next, 9))).unwrap();
                        table.push(make(&id, g, parent, deleted));
                    }
                    Op::Replace { row, gid: g, parent, deleted } if row < table.len() => {
                        let id = table.id(row).to_string();
                        table.replace(row, make(&id, g, parent, deleted));
                    }
                    Op::Replace { .. } => {}
                    Op::Pop => table.pop(),
                }
                for g in 0..4u8 {
                    let want: Vec<usize> = (0..table.len())
                        .filter(|&r| !table.is_deleted(r) && table.get(r, gid).as_str() == Some(format!("G{g}").as_str()))
                        .collect();
                    let mut got = table.find_unique(gid, &format!("g{g}")).unwrap();
                    got.sort_unstable();
                    proptest::prop_assert_eq!(got, want);
                    let pid = crate::ids::to18(&format!("001AB000000000{g}")).unwrap();
                    let want: Vec<usize> = (0..table.len()).filter(|&r| table.get(r, acc).as_str() == Some(pid.as_str())).collect();
                    let mut got = table.find_children(acc, &pid).unwrap();
                    got.sort_unstable();
                    proptest::prop_assert_eq!(got, want);
                }
                for r in 0..table.len() {
                    let id = table.id(r).to_string();
                    proptest::prop_assert_eq!(table.find(&id[..15]), Some(r));
                }
            }
        }
    }
}
