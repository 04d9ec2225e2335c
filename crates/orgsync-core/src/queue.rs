//! Coalescing: the ledger keeps one queued item per (target org, object, global id); a later
//! change to a record whose item is still queued merges into it, so a record edited ten times
//! while its org was paused costs one write, not ten.

use crate::model::{Op, SyncItem};

/// The result of merging a newer item into a queued one for the same record and target.
#[derive(Debug, Clone, PartialEq)]
pub enum Coalesced {
    /// Replace the queued item with this one.
    Merged(SyncItem),
    /// The two cancel out (a delete and an undelete not yet applied): drop the queued item.
    Cancelled,
    /// Keep both, in this order (an undelete, then the upsert that followed it).
    Both(SyncItem, SyncItem),
}

/// Merge `newer` into `queued` (same target, object and global id; `newer` was produced
/// later). Upserts overlay field by field (the newer value wins; fields only in the older
/// payload stay), a delete supersedes a queued upsert, and a delete/undelete pair cancels.
pub fn coalesce(queued: SyncItem, newer: SyncItem) -> Coalesced {
    match (queued.op, newer.op) {
        (Op::Upsert, Op::Upsert) => {
            let mut merged = queued;
            for (k, v) in newer.payload {
                merged.payload.shift_remove(&k);
                merged.payload.insert(k, v);
            }
            for p in newer.parents {
                merged
                    .parents
                    .retain(|old| !old.field.eq_ignore_ascii_case(&p.field));
                merged.parents.push(p);
            }
            Coalesced::Merged(merged)
        }
        (Op::Upsert | Op::Delete, Op::Delete) => Coalesced::Merged(newer),
        (Op::Delete, Op::Undelete) | (Op::Undelete, Op::Delete) => Coalesced::Cancelled,
        (Op::Undelete, Op::Upsert) => Coalesced::Both(queued, newer),
        // an upsert queued, then the record was deleted and restored: the restore changes
        // nothing at the target (the delete never got there), so the upsert stays
        (Op::Upsert, Op::Undelete) => Coalesced::Merged(queued),
        // deleted at the source, then upserted: the source record was restored and edited;
        // the target still has it, so the delete is dropped and the upsert stands
        (Op::Delete, Op::Upsert) => Coalesced::Merged(newer),
        (Op::Undelete, Op::Undelete) => Coalesced::Merged(newer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::PayloadValue;
    use crate::model::{FieldValue, GlobalId, OrgId};

    fn item(op: Op, fields: &[(&str, &str)]) -> SyncItem {
        let org: OrgId = "00D000000000001".parse().unwrap();
        SyncItem {
            target: "b".into(),
            object: "Account".into(),
            global_id: GlobalId::new(org, "001000000000001").unwrap(),
            op,
            payload: fields
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        PayloadValue::value(FieldValue::Text(v.to_string())),
                    )
                })
                .collect(),
            parents: Vec::new(),
        }
    }

    #[test]
    fn upserts_overlay_newer_fields() {
        let Coalesced::Merged(m) = coalesce(
            item(Op::Upsert, &[("Name", "a"), ("Phone", "1")]),
            item(Op::Upsert, &[("Name", "b")]),
        ) else {
            panic!("expected a merge")
        };
        assert_eq!(
            m.payload["Name"],
            PayloadValue::value(FieldValue::Text("b".into()))
        );
        assert_eq!(
            m.payload["Phone"],
            PayloadValue::value(FieldValue::Text("1".into()))
        );
    }

    #[test]
    fn deletes_supersede_and_pairs_cancel() {
        assert_eq!(
            coalesce(item(Op::Upsert, &[("Name", "a")]), item(Op::Delete, &[])),
            Coalesced::Merged(item(Op::Delete, &[]))
        );
        assert_eq!(
            coalesce(item(Op::Delete, &[]), item(Op::Undelete, &[])),
            Coalesced::Cancelled
        );
        assert!(matches!(
            coalesce(item(Op::Undelete, &[]), item(Op::Upsert, &[("Name", "a")])),
            Coalesced::Both(..)
        ));
    }
}
