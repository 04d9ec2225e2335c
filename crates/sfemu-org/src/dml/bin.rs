//! The recycle bin: delete and undelete.
//!
//! Deleting a record moves it to the bin with the children of its cascade-delete relationships
//! (master-detail style), and sets to null the lookups that other live records hold to it.
//! Undeleting it restores the cascade and puts those lookups back, except where the field was
//! given another value meanwhile ([CONF] Apex guide, "Referential Integrity When Deleting and
//! Restoring Records").
//!
//! A cleared or restored lookup is a change the platform makes on its own: the child's
//! SystemModstamp moves (SystemModstamp is documented as changing for system updates as well as
//! user edits) but LastModifiedDate and LastModifiedById do not (no user edited the child, and
//! the child's triggers do not run — observed, not documented), and the change is logged with a
//! [`Cause`] and not published as a change event. All three points are UNCONFIRMED.

use super::Exec;
use crate::changelog::{Cause, ChangeType};
use crate::schema::IS_DELETED_SLOT;
use crate::store::ClearedLookup;
use crate::{SfError, ids};
use soql::Value;

/// `UNDELETE_FAILED`, as Salesforce answers for a record that is not in the recycle bin (live,
/// hard-deleted, or deleted only as part of its parent's cascade) [CONF help article 000386040].
fn not_in_bin() -> SfError {
    SfError::new("UNDELETE_FAILED", "Entity is not in the recycle bin")
}

impl Exec<'_> {
    /// Moves a record (and its cascade-delete children) to the recycle bin and clears the
    /// lookups that point to any of them.
    pub(super) fn delete(&mut self, table: usize, row: usize) -> Result<(), SfError> {
        let obj = self.schema.obj(table);
        if !obj.flags.deletable {
            return Err(SfError::new(
                "DELETE_FAILED",
                format!("entity type cannot be deleted: {}", obj.name),
            ));
        }
        let root = ids::key(self.data.tables[table].id(row)).unwrap_or(0);
        self.delete_rec(table, row, None, root, 0);
        Ok(())
    }

    fn delete_rec(
        &mut self,
        table: usize,
        row: usize,
        cascade: Option<u128>,
        root: u128,
        depth: usize,
    ) {
        let obj = self.schema.obj(table);
        let t = &self.data.tables[table];
        if t.is_deleted(row) || depth > 16 {
            return;
        }
        let id = t.id(row).to_string();
        let mut new = t.row(row).to_vec();
        new[IS_DELETED_SLOT] = Value::Bool(true);
        new[obj.sys.system_modstamp] = Value::DateTime(self.now);
        self.replace_row(table, row, new);
        let t = &mut self.data.tables[table];
        t.deleted_at.insert(row as u32, self.now);
        if let Some(c) = cascade {
            t.cascade_of.insert(row as u32, c);
        }
        self.log(table, &id, ChangeType::Delete, Vec::new(), Vec::new(), &[]);
        for c in obj.children.iter().filter(|c| c.cascade_delete) {
            let kids = self.data.tables[c.child_table]
                .find_children(c.slot, &id)
                .unwrap_or_default();
            for k in kids {
                self.delete_rec(c.child_table, k, Some(root), root, depth + 1);
            }
        }
        self.clear_lookups(table, &id, root);
    }

    /// Sets to null every record's lookup to `id` through a relationship that does not
    /// cascade (those in the recycle bin too, without a change-log entry), remembering it
    /// under `root` for the undelete.
    fn clear_lookups(&mut self, table: usize, id: &str, root: u128) {
        let schema = self.schema;
        for c in schema
            .obj(table)
            .children
            .iter()
            .filter(|c| !c.cascade_delete)
        {
            let child = schema.obj(c.child_table);
            // A required lookup cannot be cleared: Salesforce refuses the parent's delete
            // instead. No such relationship exists in the built-in schema; not emulated.
            if !child.fields[c.slot].nillable {
                continue;
            }
            let kids = self.data.tables[c.child_table]
                .find_children(c.slot, id)
                .unwrap_or_default();
            let c_slot = c.slot;
            for k in kids {
                let t = &self.data.tables[c.child_table];
                let binned = t.is_deleted(k);
                let child_id = t.id(k).to_string();
                let mut new = t.row(k).to_vec();
                new[c.slot] = Value::Null;
                if !binned {
                    new[child.sys.system_modstamp] = Value::DateTime(self.now);
                }
                // the field held this parent: any older clear of it was replaced since
                let mut cleared: Vec<ClearedLookup> = t
                    .cleared
                    .get(&(k as u32))
                    .map(|l| {
                        l.iter()
                            .filter(|c| usize::from(c.slot) != c_slot)
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                cleared.push(ClearedLookup {
                    slot: c.slot as u16,
                    root,
                    value: id.into(),
                });
                self.replace_row(c.child_table, k, new);
                self.set_cleared(c.child_table, k, Some(cleared));
                // a record in the recycle bin loses the lookup too, silently (it is no one's
                // visible record): undeleted later, it never points at a deleted parent
                if binned {
                    continue;
                }
                let slot = c.slot as u16;
                self.log_with(
                    c.child_table,
                    &child_id,
                    ChangeType::Update,
                    (vec![slot], vec![slot]),
                    &[(c.slot, &Value::Null)],
                    Some(Cause::LookupCleared),
                );
            }
        }
    }

    /// Restores a record from the recycle bin, with the records its delete cascaded to and the
    /// lookups it cleared.
    pub(super) fn undelete(&mut self, table: usize, row: usize) -> Result<(), SfError> {
        if !self.schema.obj(table).flags.deletable {
            // Seen on Salesforce for an object that cannot be undeleted (salesforce.stackexchange
            // 138077).
            return Err(SfError::new(
                "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
                "Entity type is not undeletable",
            ));
        }
        let t = &self.data.tables[table];
        // A record deleted only through its parent's cascade comes back only with the parent.
        if !t.is_deleted(row) || t.cascade_of.contains_key(&(row as u32)) {
            return Err(not_in_bin());
        }
        let root = ids::key(t.id(row)).unwrap_or(0);
        self.restore(table, row)?;
        for t in 0..self.data.tables.len() {
            let mut rows: Vec<usize> = self.data.tables[t]
                .cascade_of
                .iter()
                .filter(|(_, c)| **c == root)
                .map(|(r, _)| *r as usize)
                .collect();
            rows.sort_unstable();
            for r in rows {
                self.restore(t, r)?;
            }
        }
        self.restore_lookups(root);
        Ok(())
    }

    fn restore(&mut self, table: usize, row: usize) -> Result<(), SfError> {
        let obj = self.schema.obj(table);
        let t = &self.data.tables[table];
        let id = t.id(row).to_string();
        let mut new = t.row(row).to_vec();
        new[IS_DELETED_SLOT] = Value::Bool(false);
        new[obj.sys.system_modstamp] = Value::DateTime(self.now);
        self.check_unique(table, Some(row), &new)?;
        self.replace_row(table, row, new);
        let t = &mut self.data.tables[table];
        t.deleted_at.remove(&(row as u32));
        t.cascade_of.remove(&(row as u32));
        self.log(
            table,
            &id,
            ChangeType::Undelete,
            Vec::new(),
            Vec::new(),
            &[],
        );
        Ok(())
    }

    /// Puts back the lookups the delete of `root` cleared, on records whose field is still null
    /// (a lookup given another value meanwhile stays as it is); on records in the recycle bin
    /// without a change-log entry, as they were cleared.
    fn restore_lookups(&mut self, root: u128) {
        let mut hits: Vec<(usize, usize)> = Vec::new();
        for (t, table) in self.data.tables.iter().enumerate() {
            for (r, list) in &table.cleared {
                if list.iter().any(|c| c.root == root) {
                    hits.push((t, *r as usize));
                }
            }
        }
        hits.sort_unstable();
        for (t, r) in hits {
            let list = self.data.tables[t]
                .cleared
                .get(&(r as u32))
                .cloned()
                .unwrap_or_default();
            let (mine, rest): (Vec<_>, Vec<_>) = list.into_iter().partition(|c| c.root == root);
            self.set_cleared(t, r, Some(rest));
            let table = &self.data.tables[t];
            let binned = table.is_deleted(r);
            let mut new = table.row(r).to_vec();
            let mut slots = Vec::new();
            for c in mine {
                let s = usize::from(c.slot);
                if new.get(s).is_some_and(Value::is_null) {
                    new[s] = Value::text(&*c.value);
                    slots.push(c.slot);
                }
            }
            if slots.is_empty() {
                continue;
            }
            if binned {
                // back in the bin row, silently, as it was cleared
                self.replace_row(t, r, new);
                continue;
            }
            slots.sort_unstable();
            slots.dedup();
            let id = table.id(r).to_string();
            new[self.schema.obj(t).sys.system_modstamp] = Value::DateTime(self.now);
            let values: Vec<(usize, Value)> = slots
                .iter()
                .map(|&s| (usize::from(s), new[usize::from(s)].clone()))
                .collect();
            self.replace_row(t, r, new);
            let refs: Vec<(usize, &Value)> = values.iter().map(|(s, v)| (*s, v)).collect();
            self.log_with(
                t,
                &id,
                ChangeType::Update,
                (slots, Vec::new()),
                &refs,
                Some(Cause::LookupRestored),
            );
        }
    }
}
