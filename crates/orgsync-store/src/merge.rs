//! The rule by which a later change merges into a sync item that is still waiting. Pure, so
//! it is property-tested on its own and both database implementations apply the same rule.
//!
//! **Fields**: per payload field the value with the newest commit time wins; on equal times
//! the incoming value wins (it was captured later). A field without a time loses to one with
//! a time. Fields only one side has are kept. So an older value never overwrites a newer
//! one, whatever order changes arrive in.
//!
//! **Parent references** follow the payload field they belong to (same field name): the side
//! whose value won brings its reference. References without a payload field: incoming wins.
//!
//! **Op** (existing → incoming):
//! - anything → `Delete` = `Delete` (the record is gone at the source);
//! - `Delete` → `Undelete` = `Upsert`: the delete never reached the target, so the net effect
//!   is "the record exists, with these fields";
//! - `Delete` → `Upsert` = `Delete`: an edit racing a delete does not revive the record (only
//!   an undelete does);
//! - `Undelete` → `Upsert` and `Upsert` → `Undelete` = `Undelete` (the engine undeletes, then
//!   writes the fields);
//! - otherwise the op stays.
//!
//! **Source and transaction id**: the incoming change's (the latest merged).

use orgsync_core::Op;

use crate::types::{Item, NewItem};

/// The op after merging `incoming` into `existing` (see the module doc).
pub fn merge_op(existing: Op, incoming: Op) -> Op {
    match (existing, incoming) {
        (_, Op::Delete) => Op::Delete,
        (Op::Delete, Op::Undelete) => Op::Upsert,
        (Op::Delete, Op::Upsert) => Op::Delete,
        (Op::Undelete, _) | (_, Op::Undelete) => Op::Undelete,
        (Op::Upsert, Op::Upsert) => Op::Upsert,
    }
}

/// Merge `incoming` into `existing` (same target, object and global id).
pub fn merge_items(existing: &NewItem, incoming: &NewItem) -> NewItem {
    let mut out = existing.clone();
    for (name, value) in &incoming.work.payload {
        let ts_in = incoming.field_ts.get(name);
        let ts_old = existing.field_ts.get(name);
        let incoming_wins = !existing.work.payload.contains_key(name) || ts_in >= ts_old;
        if !incoming_wins {
            continue;
        }
        out.work.payload.insert(name.clone(), value.clone());
        match ts_in {
            Some(t) => out.field_ts.insert(name.clone(), *t),
            None => out.field_ts.remove(name),
        };
        out.work.parents.retain(|p| &p.field != name);
        out.work.parents.extend(
            incoming
                .work
                .parents
                .iter()
                .filter(|p| &p.field == name)
                .cloned(),
        );
    }
    for parent in &incoming.work.parents {
        if !incoming.work.payload.contains_key(&parent.field) {
            out.work.parents.retain(|p| p.field != parent.field);
            out.work.parents.push(parent.clone());
        }
    }
    out.work.op = merge_op(existing.work.op, incoming.work.op);
    out.source_org = incoming.source_org.clone().or(out.source_org);
    out.source_record_id = incoming.source_record_id.clone().or(out.source_record_id);
    out.txn_id = incoming.txn_id.clone().or(out.txn_id);
    out
}

impl Item {
    /// The item's work as a [`NewItem`] (what [`merge_items`] combines).
    pub fn to_new(&self) -> NewItem {
        NewItem {
            work: self.work.clone(),
            field_ts: self.field_ts.clone(),
            source_org: self.source_org.clone(),
            source_record_id: self.source_record_id.clone(),
            txn_id: self.txn_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_table() {
        use Op::*;
        assert_eq!(merge_op(Upsert, Upsert), Upsert);
        assert_eq!(merge_op(Upsert, Delete), Delete);
        assert_eq!(merge_op(Undelete, Delete), Delete);
        assert_eq!(merge_op(Delete, Undelete), Upsert);
        assert_eq!(merge_op(Delete, Upsert), Delete);
        assert_eq!(merge_op(Undelete, Upsert), Undelete);
        assert_eq!(merge_op(Upsert, Undelete), Undelete);
    }
}
