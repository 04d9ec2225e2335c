//! Drift of one org's copies of one object against the ledger: [`classify`].
//!
//! Which side is right:
//! - a copy that differs from the agreed state and whose SystemModstamp is newer than both
//!   what the ledger last saw of it and the agreed version of what differs is a change capture
//!   missed: [`Fix::Propagate`] (ingested like a captured row; the merge and conflict policy
//!   decide);
//! - otherwise the org is behind: [`Fix::Restore`] (brought back to the agreed state);
//! - a copy the ledger maps but the org no longer has at all (a full pass reads the recycle
//!   bin too) while the record is live: [`Fix::Recreate`];
//! - a copy carrying a global id the ledger does not map there: [`Fix::Adopt`]; one carrying
//!   none and unknown to the ledger: a new record, [`Fix::Propagate`];
//! - two live copies of one record in one org: reported, [`Fix::Manual`].

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::config::{OrgName, Settings, SyncSettings};
use crate::echo::{fingerprint, same_value};
use crate::mapping::{allowed, sync_parents};
use crate::merge::RecordState;
use crate::model::{FieldValue, Fields, GlobalId, OrgId};
use crate::routing::travel;

use super::report::{Drift, DriftClass, Fix};

/// One copy as a pass read it.
#[derive(Debug, Clone, PartialEq)]
pub struct Copy {
    /// Its id in the org.
    pub local_id: String,
    /// The global-id field's value, if set.
    pub gid_field: Option<GlobalId>,
    /// Its SystemModstamp.
    pub modstamp: DateTime<Utc>,
    /// In the recycle bin.
    pub deleted: bool,
    /// The synced fields as merge keys (source-side lowercased names), lookups as their
    /// parent's global id.
    pub fields: Fields,
}

/// What the ledger holds for a record in one org.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry {
    /// Its id there, once landed.
    pub local_id: Option<String>,
    /// Deleted there, as far as the ledger knows.
    pub deleted: bool,
    /// The newest SystemModstamp the ledger saw of it there.
    pub last_modstamp: Option<DateTime<Utc>>,
}

/// How much of the org a pass read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every copy, live and deleted: a mapped copy not read is gone.
    Full,
    /// Only copies changed in a window: absence says nothing.
    Window,
}

/// One org's pass over one object, with what the ledger knows.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The configuration (topology and directions decide which fields an org must agree on).
    pub settings: &'a Settings,
    /// The sync of the object.
    pub sync: &'a SyncSettings,
    /// The org.
    pub org: &'a OrgName,
    /// Its Salesforce id (a record born there has the global id `<org id>:<its id>`).
    pub org_id: &'a OrgId,
    /// Full or window.
    pub scope: Scope,
    /// The copies read.
    pub copies: &'a [Copy],
    /// The ledger's entries in this org, by global id (all of them for a full pass; at least
    /// those of the copies read otherwise).
    pub entries: &'a HashMap<GlobalId, Entry>,
    /// Agreed values and life by global id.
    pub agreed: &'a HashMap<GlobalId, RecordState>,
    /// Records with an item for this org still waiting: work in progress, not drift.
    pub pending: &'a HashSet<GlobalId>,
    /// Parents deleted by agreement: an empty lookup to one is dormant (Salesforce cleared
    /// it), not a wrong parent.
    pub parents_deleted: &'a HashSet<GlobalId>,
}

/// What [`classify`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    /// The drifted records.
    pub drifts: Vec<Drift>,
    /// Records skipped because an item for them is waiting.
    pub skipped_pending: u64,
}

/// Classify the drift of `input`'s org.
pub fn classify(input: &Input<'_>) -> Found {
    let mut found = Found::default();
    let by_local: HashMap<&str, &GlobalId> = input
        .entries
        .iter()
        .filter_map(|(g, e)| Some((e.local_id.as_deref()?, g)))
        .collect();
    let read: HashSet<&str> = input.copies.iter().map(|c| c.local_id.as_str()).collect();
    let drift = |class, gid: Option<&GlobalId>, c: Option<&Copy>, fields, fix| Drift {
        class,
        object: input.sync.object.clone(),
        org: input.org.clone(),
        global_id: gid.cloned(),
        local_id: c.map(|c| c.local_id.clone()),
        fields,
        fix,
    };
    for c in input.copies {
        if let Some(gid) = by_local.get(c.local_id.as_str()) {
            if input.pending.contains(*gid) {
                found.skipped_pending += 1;
                continue;
            }
            let entry = input.entries.get(*gid).cloned().unwrap_or_default();
            if let Some(d) = known(input, gid, &entry, c) {
                found.drifts.push(d);
            }
            continue;
        }
        if c.deleted {
            continue; // deleted before the ledger ever mapped it here: nothing to repair
        }
        let own = GlobalId::new(input.org_id.clone(), &c.local_id).ok();
        let Some(gid) = c.gid_field.clone().or(own) else {
            // no global id can be made of it: still a record nobody synced
            let d = drift(
                DriftClass::UnknownNew,
                None,
                Some(c),
                Vec::new(),
                Fix::Propagate,
            );
            found.drifts.push(d);
            continue;
        };
        if input.pending.contains(&gid) {
            found.skipped_pending += 1;
            continue;
        }
        let mapped_elsewhere = input
            .entries
            .get(&gid)
            .and_then(|e| e.local_id.as_deref().filter(|_| !e.deleted));
        let (class, fix) = match mapped_elsewhere {
            // the mapped copy is still there (or a window cannot tell): two copies of one
            Some(l) if input.scope == Scope::Window || read.contains(l) => {
                (DriftClass::DuplicateGlobalId, Fix::Manual)
            }
            _ if input.agreed.contains_key(&gid) || input.entries.contains_key(&gid) => {
                (DriftClass::UnknownWithGlobalId, Fix::Adopt)
            }
            // a global id the ledger never saw: ingested, it becomes a record with that id
            _ if c.gid_field.is_some() => (DriftClass::UnknownWithGlobalId, Fix::Propagate),
            _ => (DriftClass::UnknownNew, Fix::Propagate),
        };
        let gid = (class != DriftClass::UnknownNew).then_some(&gid);
        found
            .drifts
            .push(drift(class, gid, Some(c), Vec::new(), fix));
    }
    if input.scope == Scope::Full {
        // a record whose mapped copy is gone but another copy carrying its global id is there:
        // that copy is adopted, nothing is re-created
        let adopted: HashSet<GlobalId> = found
            .drifts
            .iter()
            .filter(|d| d.fix == Fix::Adopt)
            .filter_map(|d| d.global_id.clone())
            .collect();
        for (gid, e) in input.entries {
            if adopted.contains(gid) {
                continue;
            }
            let Some(l) = e.local_id.as_deref() else {
                continue;
            };
            if e.deleted || read.contains(l) || input.pending.contains(gid) {
                continue;
            }
            let live = input.agreed.get(gid).is_some_and(|s| !s.is_deleted());
            if live {
                let mut d = drift(
                    DriftClass::Missing,
                    Some(gid),
                    None,
                    Vec::new(),
                    Fix::Recreate,
                );
                d.local_id = Some(l.to_string());
                found.drifts.push(d);
            }
        }
    }
    found
        .drifts
        .sort_by(|a, b| (&a.global_id, &a.local_id).cmp(&(&b.global_id, &b.local_id)));
    found
}

/// A copy the ledger maps: its life, then its values, against the agreed state.
fn known(input: &Input<'_>, gid: &GlobalId, entry: &Entry, c: &Copy) -> Option<Drift> {
    let state = input.agreed.get(gid)?;
    let unseen = entry.last_modstamp.is_none_or(|s| c.modstamp > s);
    let mk = |class, fields, fix| Drift {
        class,
        object: input.sync.object.clone(),
        org: input.org.clone(),
        global_id: Some(gid.clone()),
        local_id: Some(c.local_id.clone()),
        fields,
        fix,
    };
    if c.deleted != state.is_deleted() {
        let life_ts = state.life.as_ref().map(|l| l.ts);
        let newer = unseen && life_ts.is_none_or(|t| c.modstamp > t);
        let fix = if newer { Fix::Propagate } else { Fix::Restore };
        return Some(mk(DriftClass::DeletedInSomeOrgs, Vec::new(), fix));
    }
    if c.deleted {
        return None;
    }
    let keys = compared_keys(input, state);
    let agreed: Fields = keys
        .iter()
        .map(|k| (k.clone(), state.agreed_value(k).clone()))
        .collect();
    if fingerprint(&c.fields, &keys) == fingerprint(&agreed, &keys) {
        return None;
    }
    let lookups: HashSet<String> = sync_parents(input.sync, true)
        .map(|(p, _)| p.field.to_ascii_lowercase())
        .collect();
    let held = |k: &str| {
        c.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map_or(&FieldValue::Null, |(_, v)| v)
    };
    let mut stale = Vec::new();
    let mut parents = Vec::new();
    for k in &keys {
        let (h, a) = (held(k), state.agreed_value(k));
        if same_value(h, a) {
            continue;
        }
        if lookups.contains(k) {
            let dormant = matches!(h, FieldValue::Null)
                && matches!(a, FieldValue::Text(t) if t.parse::<GlobalId>().is_ok_and(|p| input.parents_deleted.contains(&p)));
            if !dormant {
                parents.push(k.clone());
            }
        } else {
            stale.push(k.clone());
        }
    }
    let differing: Vec<&String> = stale.iter().chain(&parents).collect();
    if differing.is_empty() {
        return None;
    }
    let agreed_ts = differing
        .iter()
        .filter_map(|k| state.agreed.get(*k).map(|v| v.ts))
        .max();
    let newer = unseen && agreed_ts.is_none_or(|t| c.modstamp > t);
    let fix = if newer { Fix::Propagate } else { Fix::Restore };
    // a wrong parent is the more specific finding; the other fields are listed with it
    if parents.is_empty() {
        Some(mk(DriftClass::Stale, stale, fix))
    } else {
        parents.extend(stale);
        Some(mk(DriftClass::WrongParent, parents, fix))
    }
}

/// The synced fields (merge keys) `input`'s org must hold the agreed value of: those whose
/// agreed version may travel there (the same rule `crate::write::behind` applies).
fn compared_keys(input: &Input<'_>, state: &RecordState) -> Vec<String> {
    input
        .sync
        .fields
        .iter()
        .filter_map(|f| {
            let key = f.source.to_ascii_lowercase();
            let ok = state.agreed.get(&key).is_none_or(|v| {
                v.org == *input.org
                    || travel(&input.settings.topology, &v.org, input.org)
                        .is_some_and(|t| allowed(f.direction, t))
            });
            ok.then_some(key)
        })
        .collect()
}
