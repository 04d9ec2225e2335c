//! Which links an unlink removes — pure, like `plan.rs`.
//!
//! An unlink is a ContentDocumentLink deleted in the source while its document stays: the
//! target's link of the same document (found by its versions' global ids) to the target's copy
//! of the same record goes too; the document and its other links stay. Deleting a link that is
//! not there is nothing, so an unlink orgsync made, read back in the org it made it in, finds
//! nothing left to remove anywhere: no echo, no loop.
//!
//! A target link made after the unlink (SystemModstamp later than the deletion's) is a newer
//! decision — the record linked again, in the target or elsewhere and synced since — and
//! stays. A deleted link whose document is linked to the record again in the source is no
//! unlink any more. Stamps of different orgs are compared: all are Salesforce's clocks.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::plan::TargetView;

/// A ContentDocumentLink deleted in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeletedLink {
    /// The source document.
    pub doc: String,
    /// The linked record in the source (local id).
    pub entity: String,
    /// The linked record's global id (as the ledger knows it).
    pub record: String,
    /// When the link was deleted (its SystemModstamp as read in the bin).
    pub deleted_at: DateTime<Utc>,
}

/// What the source says about the documents of its deleted links.
#[derive(Debug, Clone, Default)]
pub(crate) struct SourceLinks {
    /// The deleted links.
    pub deleted: Vec<DeletedLink>,
    /// Live links of the same documents: (document, record local id).
    pub live: HashSet<(String, String)>,
    /// The global ids of each live document's versions.
    pub versions: HashMap<String, Vec<String>>,
}

/// The ids of the target links to delete (each once), given what `target` holds.
pub(crate) fn plan_unlinks(source: &SourceLinks, target: &TargetView) -> Vec<String> {
    let mut out = BTreeSet::new();
    for d in &source.deleted {
        if source.live.contains(&(d.doc.clone(), d.entity.clone())) {
            continue;
        }
        let Some(copy) = target.copies.get(&d.record) else {
            continue;
        };
        let docs: HashSet<&str> = source
            .versions
            .get(&d.doc)
            .into_iter()
            .flatten()
            .filter_map(|g| target.versions.get(g))
            .filter(|t| !t.deleted)
            .map(|t| t.doc.as_str())
            .collect();
        for l in &target.links {
            if l.record == *copy
                && docs.contains(l.doc.as_str())
                && l.modstamp.is_some_and(|m| m < d.deleted_at)
            {
                out.insert(l.id.clone());
            }
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::plan::{TargetLink, TargetVersion};

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap_or_default()
    }

    fn source(deleted_at: i64) -> SourceLinks {
        SourceLinks {
            deleted: vec![DeletedLink {
                doc: "d1".into(),
                entity: "rec-1-local".into(),
                record: "rec-1".into(),
                deleted_at: at(deleted_at),
            }],
            live: HashSet::new(),
            versions: HashMap::from([("d1".into(), vec!["g-v1".into(), "g-v2".into()])]),
        }
    }

    /// The target holds a copy of d1 (its second version) linked at `linked_at` to the copy of
    /// rec-1, and another document linked to the same copy.
    fn target(linked_at: i64) -> TargetView {
        let mut t = TargetView::default();
        t.copies.insert("rec-1".into(), "T-rec-1".into());
        t.versions.insert(
            "g-v2".into(),
            TargetVersion {
                doc: "T-d1".into(),
                ..TargetVersion::default()
            },
        );
        for (id, doc) in [("L1", "T-d1"), ("L2", "T-other")] {
            t.links.push(TargetLink {
                id: id.into(),
                doc: doc.into(),
                record: "T-rec-1".into(),
                modstamp: Some(at(linked_at)),
            });
        }
        t
    }

    #[test]
    fn an_unlink_removes_the_same_link_in_the_target_only() {
        assert_eq!(
            plan_unlinks(&source(10), &target(5)),
            vec!["L1".to_string()]
        );
    }

    #[test]
    fn a_link_made_after_the_unlink_stays() {
        assert!(plan_unlinks(&source(10), &target(20)).is_empty());
    }

    #[test]
    fn a_document_linked_again_in_the_source_is_no_unlink() {
        let mut s = source(10);
        s.live.insert(("d1".into(), "rec-1-local".into()));
        assert!(plan_unlinks(&s, &target(5)).is_empty());
    }

    #[test]
    fn nothing_is_removed_where_the_copy_or_the_document_is_missing_or_deleted() {
        let mut no_copy = target(5);
        no_copy.copies.clear();
        assert!(plan_unlinks(&source(10), &no_copy).is_empty());
        let mut deleted = target(5);
        if let Some(v) = deleted.versions.get_mut("g-v2") {
            v.deleted = true;
        }
        assert!(plan_unlinks(&source(10), &deleted).is_empty());
        let mut unknown = source(10);
        unknown.versions.clear();
        assert!(plan_unlinks(&unknown, &target(5)).is_empty());
    }
}
