//! DML: operations applied in one transaction under the data write lock, with an undo log so a
//! failed operation (or, with all-or-none, the whole batch) leaves no trace.

mod bin;
mod content;
pub(crate) mod convert;
mod ops;

use crate::changelog::{Cause, ChangeType, CommitInfo, PendingChange, change_origin};
use crate::org::{Data, Org};
use crate::render;
use crate::schema::{ID_SLOT, IS_DELETED_SLOT, Schema};
use crate::{Caller, DmlFailure, DmlOp, DmlOutcome, SfError};
use chrono::{DateTime, Utc};
use soql::Value;
use std::collections::HashSet;

/// How to undo one mutation.
#[derive(Debug)]
pub(crate) enum Undo {
    /// A row appended to a table (always the table's last row when undone, LIFO).
    Insert { table: usize },
    /// A row changed: its previous values and recycle-bin state.
    Update {
        table: usize,
        row: usize,
        old: Vec<Value>,
        deleted_at: Option<DateTime<Utc>>,
        cascade_of: Option<u128>,
    },
    /// A row's cleared-lookup list changed: its previous list.
    Cleared {
        table: usize,
        row: usize,
        old: Option<Vec<crate::store::ClearedLookup>>,
    },
}

/// A position in the transaction to roll back to.
#[derive(Debug, Clone, Copy)]
struct Savepoint {
    undo: usize,
    changes: usize,
}

/// One transaction in progress.
pub(crate) struct Exec<'a> {
    pub schema: &'a Schema,
    pub data: &'a mut Data,
    pub hidden: &'a HashSet<(usize, usize)>,
    /// Where file bodies go (a base64 value is written out, never kept in the slot).
    pub blobs: &'a crate::blobs::BlobStore,
    /// The acting user's 18-char id.
    pub user: String,
    pub now: DateTime<Utc>,
    undo: Vec<Undo>,
    changes: Vec<PendingChange>,
}

impl Exec<'_> {
    fn savepoint(&self) -> Savepoint {
        Savepoint {
            undo: self.undo.len(),
            changes: self.changes.len(),
        }
    }

    fn rollback_to(&mut self, sp: Savepoint) {
        while self.undo.len() > sp.undo {
            match self.undo.pop() {
                Some(u) => undo(self.data, u),
                None => break,
            }
        }
        self.changes.truncate(sp.changes);
    }

    /// Appends a row, recording how to undo it.
    fn insert_row(&mut self, table: usize, row: Vec<Value>) -> usize {
        self.undo.push(Undo::Insert { table });
        self.data.tables[table].push(row)
    }

    /// Replaces a row, recording how to undo it.
    fn replace_row(&mut self, table: usize, row: usize, new: Vec<Value>) {
        let t = &mut self.data.tables[table];
        let r = row as u32;
        self.undo.push(Undo::Update {
            table,
            row,
            old: t.row(row).to_vec(),
            deleted_at: t.deleted_at.get(&r).copied(),
            cascade_of: t.cascade_of.get(&r).copied(),
        });
        t.replace(row, new);
    }

    /// Replaces a row's cleared-lookup list (None or empty removes it), recording how to undo.
    fn set_cleared(
        &mut self,
        table: usize,
        row: usize,
        new: Option<Vec<crate::store::ClearedLookup>>,
    ) {
        let t = &mut self.data.tables[table];
        let r = row as u32;
        let old = match new.filter(|v| !v.is_empty()) {
            Some(v) => t.cleared.insert(r, v),
            None => t.cleared.remove(&r),
        };
        self.undo.push(Undo::Cleared { table, row, old });
    }

    /// Drops what earlier parent deletes cleared in `slots` of a row: those lookups were set
    /// again since (replaced), so an undelete of the old parent leaves them as they are — even
    /// when a later delete of the new parent emptied the field again. Salesforce restores only
    /// the associations "not replaced meanwhile" (see `restore_lookups`).
    fn forget_cleared(&mut self, table: usize, row: usize, slots: &[u16]) {
        let Some(list) = self.data.tables[table].cleared.get(&(row as u32)) else {
            return;
        };
        if !list.iter().any(|c| slots.contains(&c.slot)) {
            return;
        }
        let rest: Vec<_> = list
            .iter()
            .filter(|c| !slots.contains(&c.slot))
            .cloned()
            .collect();
        self.set_cleared(table, row, Some(rest));
    }

    /// Records a change for the change log.
    fn log(
        &mut self,
        table: usize,
        id: &str,
        kind: ChangeType,
        changed: Vec<u16>,
        nulled: Vec<u16>,
        values: &[(usize, &Value)],
    ) {
        self.log_with(table, id, kind, (changed, nulled), values, None);
    }

    /// Records a change, with the reason when the platform made it on its own.
    fn log_with(
        &mut self,
        table: usize,
        id: &str,
        kind: ChangeType,
        (changed, nulled): (Vec<u16>, Vec<u16>),
        values: &[(usize, &Value)],
        cause: Option<Cause>,
    ) {
        let obj = self.schema.obj(table);
        let values = values
            .iter()
            .map(|(s, v)| (obj.fields[*s].name.clone(), render::value(v)))
            .collect();
        self.changes.push(PendingChange {
            table,
            record_id: id.to_string(),
            change_type: kind,
            changed,
            nulled,
            values,
            cause,
        });
    }

    fn run(&mut self, op: DmlOp) -> Result<DmlOutcome, DmlFailure> {
        let errs = |e: SfError| DmlFailure::Errors(vec![e]);
        match op {
            DmlOp::Create { object, fields } => {
                let t = self.object(&object).map_err(errs)?;
                let id = self.create(t, &fields).map_err(errs)?;
                Ok(DmlOutcome {
                    id,
                    created: Some(true),
                })
            }
            DmlOp::Update { object, id, fields } => {
                let (t, row) = self.locate(object.as_deref(), &id).map_err(errs)?;
                self.update(t, row, &fields).map_err(errs)?;
                Ok(DmlOutcome {
                    id: self.data.tables[t].id(row).to_string(),
                    created: None,
                })
            }
            DmlOp::Upsert {
                object,
                ext_field,
                ext_value,
                fields,
            } => {
                let t = self.object(&object).map_err(errs)?;
                self.upsert(t, &ext_field, &ext_value, &fields)
            }
            DmlOp::Delete { id } => {
                let (t, row) = self.locate(None, &id).map_err(errs)?;
                self.delete(t, row).map_err(errs)?;
                Ok(DmlOutcome {
                    id: self.data.tables[t].id(row).to_string(),
                    created: None,
                })
            }
            DmlOp::Undelete { id } => {
                // An id of no record at all (never existed, or purged for good) answers like
                // the delete of such an id (UNCONFIRMED for undelete).
                let (t, row) = self
                    .locate_any(None, &id)
                    .map_err(|e| match e.code.as_str() {
                        "NOT_FOUND" => entity_is_deleted(),
                        _ => e,
                    })
                    .map_err(errs)?;
                self.undelete(t, row).map_err(errs)?;
                Ok(DmlOutcome {
                    id: self.data.tables[t].id(row).to_string(),
                    created: None,
                })
            }
        }
    }

    fn object(&self, name: &str) -> Result<usize, SfError> {
        self.schema.table(name).ok_or_else(|| {
            SfError::new(
                "INVALID_TYPE",
                format!("sObject type '{name}' is not supported."),
            )
        })
    }

    /// A record by id, deleted or not: `MALFORMED_ID` / `NOT_FOUND`.
    fn locate_any(&self, object: Option<&str>, id: &str) -> Result<(usize, usize), SfError> {
        let t = match object {
            Some(o) => Some(self.object(o)?),
            None => None,
        };
        let label = t.map_or_else(
            || "Record".to_string(),
            |t| self.schema.obj(t).label.clone(),
        );
        let id18 = crate::ids::to18(id)
            .ok_or_else(|| crate::ids::malformed(&format!("{label} ID"), id, "Id"))?;
        let not_found = || SfError::new("NOT_FOUND", "The requested resource does not exist");
        let by_prefix = self.schema.table_for_id(&id18).ok_or_else(not_found)?;
        if t.is_some_and(|t| t != by_prefix) {
            return Err(not_found());
        }
        let row = self.data.tables[by_prefix]
            .find(&id18)
            .ok_or_else(not_found)?;
        Ok((by_prefix, row))
    }

    /// A live record by id: additionally `ENTITY_IS_DELETED` for a recycled one.
    fn locate(&self, object: Option<&str>, id: &str) -> Result<(usize, usize), SfError> {
        let (t, r) = self.locate_any(object, id)?;
        if self.data.tables[t].is_deleted(r) {
            return Err(entity_is_deleted());
        }
        Ok((t, r))
    }
}

/// Reverts one mutation.
pub(crate) fn undo(data: &mut Data, u: Undo) {
    match u {
        Undo::Insert { table } => data.tables[table].pop(),
        Undo::Update {
            table,
            row,
            old,
            deleted_at,
            cascade_of,
        } => {
            let t = &mut data.tables[table];
            t.replace(row, old);
            let r = row as u32;
            match deleted_at {
                Some(d) => t.deleted_at.insert(r, d),
                None => t.deleted_at.remove(&r),
            };
            match cascade_of {
                Some(c) => t.cascade_of.insert(r, c),
                None => t.cascade_of.remove(&r),
            };
        }
        Undo::Cleared { table, row, old } => {
            let t = &mut data.tables[table];
            let r = row as u32;
            match old {
                Some(v) => t.cleared.insert(r, v),
                None => t.cleared.remove(&r),
            };
        }
    }
}

pub(crate) fn entity_is_deleted() -> SfError {
    SfError::new("ENTITY_IS_DELETED", "entity is deleted")
}

fn rolled_back() -> SfError {
    SfError::new(
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "Record rolled back because not all records were valid and the request was using AllOrNone header",
    )
}

/// Runs `ops` in one transaction (see [`Org::apply`]).
pub(crate) fn apply(
    org: &Org,
    caller: &Caller,
    ops: Vec<DmlOp>,
    all_or_none: bool,
) -> Vec<Result<DmlOutcome, DmlFailure>> {
    let user = org
        .find_user(&caller.user_id)
        .unwrap_or_else(|| org.default_user())
        .id
        .clone();
    let hidden = org.hidden_for(&user);
    let origin = change_origin(&caller.api, &caller.api_version, caller.client.as_deref());
    let mut guard = org.data.write();
    let now = guard.tick();
    let mut ex = Exec {
        schema: &org.schema,
        data: &mut guard,
        hidden,
        blobs: &org.blobs,
        user,
        now,
        undo: Vec::new(),
        changes: Vec::new(),
    };
    let mut results = Vec::with_capacity(ops.len());
    for op in ops {
        let sp = ex.savepoint();
        let r = ex.run(op);
        if r.is_err() {
            ex.rollback_to(sp);
        }
        results.push(r);
    }
    let mut committed = None;
    if all_or_none && results.iter().any(Result::is_err) {
        ex.rollback_to(Savepoint {
            undo: 0,
            changes: 0,
        });
        results = results
            .into_iter()
            .map(|r| match r {
                Ok(_) => Err(DmlFailure::Errors(vec![rolled_back()])),
                e => e,
            })
            .collect();
    } else {
        let changes = std::mem::take(&mut ex.changes);
        let undo = std::mem::take(&mut ex.undo);
        let user = ex.user.clone();
        committed = guard.log.commit(
            CommitInfo {
                origin: &origin,
                user: &user,
                ts: now,
            },
            changes,
        );
        if guard.sp_depth > 0 {
            // An org-level savepoint is open: keep the undo log, publish at release.
            guard.journal.extend(undo);
            committed = None;
        }
    }
    drop(guard);
    if let Some(seq) = committed {
        org.notify(seq);
    }
    results
}

/// Slots whose value differs between two rows, ignoring Id, IsDeleted and SystemModstamp.
fn diff(old: &[Value], new: &[Value], modstamp: usize) -> Vec<u16> {
    old.iter()
        .zip(new)
        .enumerate()
        .filter(|(i, (a, b))| *i != ID_SLOT && *i != IS_DELETED_SLOT && *i != modstamp && a != b)
        .map(|(i, _)| i as u16)
        .collect()
}
