//! Which file goes where — pure, so every rule is tested without an org.
//!
//! The org read is the *source* of this round; each other org of the route is a *target*.
//! A file's identity across orgs is the global id of its version (`OrgSync_Global_Id__c` on
//! ContentVersion: set on the copies orgsync makes; for an original, made from its org id and
//! version id), so a round needs no ledger table of its own: what a target holds is read from
//! it by global id, which also makes a re-run send nothing and our own copies no news (echo).
//!
//! Rules, per latest live version `v` of a document linked to synced records:
//! - `v` already in the target (any state, deleted included: a delete there stands) → nothing;
//! - another version of the same document is there → `v` becomes a new version of that
//!   document (deleted there → nothing);
//! - else, a document linked to the target's copy of a linked record whose latest version has
//!   the same `Checksum` → nothing is sent (the file is there already);
//! - else a new document from `v`, linked to each copy with the source link's ShareType and
//!   Visibility; records without a copy there yet make the version wait for the next round.
//!
//! A document found in the target but not linked to a copy of a record it is linked to in the
//! source gets that link — unless that link was deleted there after the source's link was made
//! (an unlink made there, which `plan_unlink.rs` carries to the source). A deleted document (its versions read as deleted) is deleted where
//! a copy of it is live. Older versions (not latest when read) are never sent: a document's
//! history is not replayed, only the versions seen as latest.
//!
//! A latest version found in the target under another Title takes the source's Title when the
//! source's version was modified after the target's (SystemModstamp; the orgs' clocks are
//! Salesforce's). The stamp rule keeps a re-read of an older source version (the checkpoint
//! reads its last stamp again) from undoing a rename made since in the target, and our own
//! rename read back in the target finds the titles equal: no echo.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

/// A ContentVersion read from the source org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceVersion {
    /// Its id in the source (`068…`).
    pub id: String,
    /// Its document in the source (`069…`).
    pub doc: String,
    /// Its global id.
    pub gid: String,
    /// Hex MD5 of the bytes.
    pub checksum: String,
    /// The latest version of its document when read.
    pub latest: bool,
    /// Read as deleted (its document was deleted).
    pub deleted: bool,
    /// Global ids of the document's other versions in the source.
    pub siblings: Vec<String>,
    /// Its Title (the document's, when latest).
    pub title: Option<String>,
    /// Its SystemModstamp.
    pub modstamp: Option<DateTime<Utc>>,
}

/// A ContentDocumentLink of the source to a synced record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceLink {
    /// The source document.
    pub doc: String,
    /// The linked record's global id (as the ledger knows it).
    pub record: String,
    /// `V`, `C` or `I`.
    pub share_type: String,
    /// `AllUsers`, `InternalUsers` or `SharedUsers`.
    pub visibility: String,
    /// When the link was made (its SystemModstamp).
    pub modstamp: Option<DateTime<Utc>>,
}

/// A version found in the target by global id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TargetVersion {
    /// Its document there.
    pub doc: String,
    /// Deleted there.
    pub deleted: bool,
    /// Its id there (`068…`).
    pub id: String,
    /// Its Title there.
    pub title: Option<String>,
    /// Its SystemModstamp there.
    pub modstamp: Option<DateTime<Utc>>,
}

/// A live ContentDocumentLink of the target to a copy of a synced record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TargetLink {
    /// The link's id (`06A…`).
    pub id: String,
    /// The target's document.
    pub doc: String,
    /// The target's copy (local id).
    pub record: String,
    /// When the link was made (or last changed).
    pub modstamp: Option<DateTime<Utc>>,
}

/// What one target org holds, as read for this round.
#[derive(Debug, Clone, Default)]
pub(crate) struct TargetView {
    /// Versions found there, by global id.
    pub versions: HashMap<String, TargetVersion>,
    /// The target's live copy of each record: record global id → local id.
    pub copies: HashMap<String, String>,
    /// Documents linked to each copy (local id): (document, its latest version's checksum).
    pub linked: HashMap<String, Vec<(String, Option<String>)>>,
    /// The same links with their ids and stamps (what an unlink deletes).
    pub links: Vec<TargetLink>,
    /// Links of the copies in the recycle bin, stamped when they were deleted.
    pub unlinked: Vec<TargetLink>,
}

/// A link to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewLink {
    /// The target's copy of the record (local id).
    pub record: String,
    pub share_type: String,
    pub visibility: String,
}

/// One write in a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Upload source version `version` (index) as a new document, linked as listed.
    NewDocument { version: usize, links: Vec<NewLink> },
    /// Upload source version `version` as a new version of the target's `doc`.
    NewVersion { version: usize, doc: String },
    /// Link the target's `doc` to a record.
    Link { doc: String, link: NewLink },
    /// Delete the target's `doc` (and with it its versions and links).
    DeleteDocument { doc: String },
    /// Set the Title of the target's version `version` (its id there).
    Retitle { version: String, title: String },
}

/// The round's decisions for one target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    pub actions: Vec<Action>,
    /// Versions (indexes) already there.
    pub present: usize,
    /// Versions not sent because the same bytes are linked to the record there.
    pub same_checksum: usize,
    /// Versions (indexes) waiting for a record to land in the target.
    pub waiting: Vec<usize>,
}

/// Decides what `target` needs of `versions` (the source's read) given the source's links.
pub(crate) fn plan(versions: &[SourceVersion], links: &[SourceLink], target: &TargetView) -> Plan {
    let mut out = Plan::default();
    let mut deleted_docs = BTreeSet::new();
    for (i, v) in versions.iter().enumerate() {
        if v.deleted {
            if let Some(t) = target.versions.get(&v.gid).filter(|t| !t.deleted)
                && deleted_docs.insert(t.doc.clone())
            {
                out.actions
                    .push(Action::DeleteDocument { doc: t.doc.clone() });
            }
            continue;
        }
        if !v.latest {
            continue;
        }
        // (link wanted there, when the source's link was made)
        let wanted_at: Vec<(NewLink, Option<DateTime<Utc>>)> = links
            .iter()
            .filter(|l| l.doc == v.doc)
            .filter_map(|l| {
                target.copies.get(&l.record).map(|local| {
                    let link = NewLink {
                        record: local.clone(),
                        share_type: l.share_type.clone(),
                        visibility: l.visibility.clone(),
                    };
                    (link, l.modstamp)
                })
            })
            .collect();
        let wanted: Vec<NewLink> = wanted_at.iter().map(|(l, _)| l.clone()).collect();
        // Removed there after the source's link was made: an unlink on its way to the source
        // (its org's unlink phase deletes the source's link next round), not a missing link.
        let removed_later = |doc: &str, record: &str, made: Option<DateTime<Utc>>| {
            target.unlinked.iter().any(|u| {
                u.doc == doc
                    && u.record == record
                    && matches!((u.modstamp, made), (Some(gone), Some(made)) if gone > made)
            })
        };
        let unlanded = links
            .iter()
            .any(|l| l.doc == v.doc && !target.copies.contains_key(&l.record));
        let linked_to = |doc: &str, record: &str| {
            target
                .linked
                .get(record)
                .is_some_and(|docs| docs.iter().any(|(d, _)| d == doc))
        };
        let missing_links = |doc: &str| -> Vec<Action> {
            wanted_at
                .iter()
                .filter(|(l, made)| {
                    !linked_to(doc, &l.record) && !removed_later(doc, &l.record, *made)
                })
                .map(|(l, _)| Action::Link {
                    doc: doc.to_string(),
                    link: l.clone(),
                })
                .collect()
        };
        if let Some(t) = target.versions.get(&v.gid) {
            out.present += 1;
            if !t.deleted {
                out.actions.extend(retitle(v, t));
                out.actions.extend(missing_links(&t.doc));
            }
            continue;
        }
        let sibling = v
            .siblings
            .iter()
            .filter_map(|g| target.versions.get(g))
            .next();
        if let Some(t) = sibling {
            if !t.deleted {
                out.actions.push(Action::NewVersion {
                    version: i,
                    doc: t.doc.clone(),
                });
                out.actions.extend(missing_links(&t.doc));
            }
            continue;
        }
        if wanted.is_empty() {
            if unlanded {
                out.waiting.push(i);
            }
            continue;
        }
        let same = wanted.iter().find_map(|l| {
            target.linked.get(&l.record).and_then(|docs| {
                docs.iter()
                    .find(|(_, sum)| sum.as_deref() == Some(v.checksum.as_str()))
                    .map(|(d, _)| d.clone())
            })
        });
        if let Some(doc) = same {
            out.same_checksum += 1;
            out.actions.extend(missing_links(&doc));
            continue;
        }
        out.actions.push(Action::NewDocument {
            version: i,
            links: wanted,
        });
        if unlanded {
            // Linked to records of which only some have landed: the others get their link
            // in a later round, once the version is found there by its global id.
            out.waiting.push(i);
        }
    }
    out
}

/// The rename of `t` (the target's copy of `v`) to `v`'s Title, if `v` was renamed later.
fn retitle(v: &SourceVersion, t: &TargetVersion) -> Option<Action> {
    let title = v.title.as_ref()?;
    let newer = match (v.modstamp, t.modstamp) {
        (Some(s), Some(t)) => s > t,
        _ => false,
    };
    (newer && t.title.as_ref() != Some(title) && !t.id.is_empty()).then(|| Action::Retitle {
        version: t.id.clone(),
        title: title.clone(),
    })
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
