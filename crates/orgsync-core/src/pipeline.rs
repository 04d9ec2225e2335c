//! One captured change in, the sync items it causes out: the modules composed in the order the
//! engine runs them, still pure. The engine supplies what lives in the ledger (the record's
//! merge state, the id map, processed transactions) and persists what comes back.
//!
//! Order: origin tag (layer 1) → life (create, delete, undelete: [`crate::life`]) → merge
//! against the shadows (layer 2, per field) → routing → mapping → one item per target.
//! Transaction ids (layer 3) are the ledger's: it drops an item whose transaction the target
//! already processed when the batch is committed.
//!
//! While the agreed life is deleted nothing but deletes is routed: an edit racing a delete is
//! merged into the agreed fields (so a later undelete restores the newest values) and its org
//! is sent the delete.
//!
//! Whatever the change, the org it came from ends up queued whenever it is now known to
//! differ from the agreed state: its copy is live while the record is deleted or the other
//! way round (a losing delete or undelete, or our own write decided before the life changed),
//! its restored copy lacks what was agreed while it was deleted, or our own write landed over
//! newer agreed values. An undelete's fields, when the source gives them (a change event's
//! UNDELETE), are what the restored copy holds, never edits. A record seen for the first time
//! is routed to every target even when none of its synced fields holds a value.

use crate::config::{OrgName, Settings, SyncSettings};
use crate::echo::origin_is_ours;
use crate::life::{Life, LifeOutcome, merge_life};
use crate::mapping::{
    Leg, MappingError, canonical_known_lookups, canonical_lookups, from_merge_keys, map_fields,
    object_name, to_merge_keys,
};
use crate::merge::{Conflict, Incoming, MergeResult, RecordState, Versioned, merge};
use crate::model::{Change, ChangeKind, FieldValue, GlobalId, IdError, Op, OrgId, SyncItem};
use crate::routing::{Travel, route};

pub use crate::dormant::{Binned, drop_dormant_lookups, given_back, take_given_back};

/// What the ledger knows that the pipeline needs.
#[derive(Clone, Copy)]
pub struct Ledger<'a> {
    /// Salesforce org id of a configured org (known after login).
    pub org_id: &'a dyn Fn(&OrgName) -> Option<OrgId>,
    /// The id map: the global id of a record, by (org, object, local id).
    pub global_id_of: &'a dyn Fn(&OrgName, &str, &str) -> Option<GlobalId>,
}

impl std::fmt::Debug for Ledger<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").finish_non_exhaustive()
    }
}

/// Why a change produced nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dropped {
    /// Our own write (origin tag).
    OwnWrite,
    /// Nothing changed in the synced fields (shadow values, or an older value).
    NoChange,
    /// No org to send it to.
    NoTarget,
}

/// What one change leads to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    /// Set when the change produced no item.
    pub dropped: Option<Dropped>,
    /// The record's global id.
    pub global_id: Option<GlobalId>,
    /// The record's merge state to store.
    pub state: RecordState,
    /// Items to queue (merged into queued items per target, object, global id).
    pub items: Vec<SyncItem>,
    /// Conflicts to record.
    pub conflicts: Vec<Conflict>,
}

/// Why a change could not be processed at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PipelineError {
    /// The org's Salesforce id is not known yet (not logged in).
    #[error("org {0} has no known organization id yet")]
    UnknownOrg(OrgName),
    /// A record id that is not a Salesforce id.
    #[error(transparent)]
    Id(#[from] IdError),
    /// A value could not be mapped.
    #[error(transparent)]
    Mapping(#[from] MappingError),
}

/// Process one change of `sync` against the record's `state`.
pub fn process(
    settings: &Settings,
    sync: &SyncSettings,
    change: &Change,
    state: &RecordState,
    ledger: Ledger<'_>,
) -> Result<Outcome, PipelineError> {
    let mut out = Outcome {
        state: state.clone(),
        ..Outcome::default()
    };
    let tag = &settings.engine.client_tag;
    let own = change
        .origin
        .client_tag
        .as_deref()
        .is_some_and(|t| origin_is_ours(&format!("client={t}"), tag));
    let from_org_id = (ledger.org_id)(&change.org);
    let known_gid = change
        .global_id
        .clone()
        .or_else(|| (ledger.global_id_of)(&change.org, &change.object, &change.record_id));
    let from_source_side = settings.topology.is_source_side(&change.org);
    let realign = |out: &mut Outcome, global_id: &GlobalId| {
        // whatever this change was, the org must end with the agreed life
        if let Some(op) = out.state.life_to_fix(&change.org) {
            out.items.push(SyncItem {
                target: change.org.clone(),
                object: object_name(sync, from_source_side).to_string(),
                global_id: global_id.clone(),
                op,
                payload: Default::default(),
                parents: Vec::new(),
            });
        }
    };
    if own {
        out.dropped = Some(Dropped::OwnWrite);
        out.global_id = known_gid.clone();
        match change.kind {
            ChangeKind::Upsert => {
                let mut fields = to_merge_keys(sync, from_source_side, &change.fields);
                let parent =
                    |object: &str, id: &str| (ledger.global_id_of)(&change.org, object, id);
                canonical_known_lookups(sync, from_source_side, &mut fields, &parent);
                let behind = out
                    .state
                    .confirm_written(&change.org, &fields, change.commit_ts);
                // our write there landed on a live copy
                out.state
                    .set_deleted_at(&change.org, false, change.commit_ts);
                if let Some(g) = known_gid.as_ref().filter(|_| !behind.is_empty()) {
                    // it was decided before the agreed values changed, or landed over an
                    // edit made there: bring the org up to date
                    out.items.push(SyncItem {
                        target: change.org.clone(),
                        object: object_name(sync, from_source_side).to_string(),
                        global_id: g.clone(),
                        op: Op::Upsert,
                        payload: Default::default(),
                        parents: Vec::new(),
                    });
                }
            }
            // our own delete or undelete landed: that is what the org now holds
            ChangeKind::Delete | ChangeKind::Undelete => {
                let deleted = change.kind == ChangeKind::Delete;
                out.state
                    .set_deleted_at(&change.org, deleted, change.commit_ts);
            }
        }
        // a write decided before the life changed elsewhere contradicts it now
        if let Some(g) = &known_gid {
            realign(&mut out, g);
        }
        return Ok(out);
    }
    let from_org_id = from_org_id.ok_or_else(|| PipelineError::UnknownOrg(change.org.clone()))?;
    let global_id = match known_gid {
        Some(g) => g,
        None => GlobalId::new(from_org_id.clone(), &change.record_id)?,
    };
    out.global_id = Some(global_id.clone());
    let targets = route(&settings.topology, &change.org, &change.origin);
    let priority = |o: &OrgName| settings.orgs.get(o).map_or(u32::MAX, |s| s.priority);
    let item = |target: &OrgName, source_side: bool, op: Op| SyncItem {
        target: target.clone(),
        object: object_name(sync, source_side).to_string(),
        global_id: global_id.clone(),
        op,
        payload: Default::default(),
        parents: Vec::new(),
    };

    if change.kind != ChangeKind::Upsert {
        // a repeat of the org's known state is an echo; an undelete may carry the restored
        // values (a change event's), a delete carries none
        let deleted = change.kind == ChangeKind::Delete;
        // ... unless a read shows the copy deleted with a stamp newer than the known delete
        // there: it was restored and deleted again between two reads, and that later delete
        // is a life event of its own (our own deletes there are dated as the org stamped them)
        let deleted_again = deleted
            && change.snapshot
            && out
                .state
                .deleted_at
                .get(&change.org)
                .is_some_and(|t| change.commit_ts > *t);
        let event = Life {
            deleted,
            ts: change.commit_ts,
            org: change.org.clone(),
        };
        let (life, outcome) = merge_life(out.state.life.as_ref(), event, &priority);
        // ... nor is an event older than the fact the flag holds that moves the agreed life:
        // a user's delete or undelete told after our later write there set the flag it
        // repeats (a user deleted and restored the copy while our stale delete was on its
        // way, and our undelete followed: the user's restore is what stands)
        let told_late = outcome == LifeOutcome::Changed
            && out
                .state
                .deleted_at
                .get(&change.org)
                .is_some_and(|t| *t > change.commit_ts);
        if out.state.deleted.contains(&change.org) == deleted && !deleted_again && !told_late {
            out.dropped = Some(Dropped::NoChange);
            return Ok(out);
        }
        // the flag keeps a newer fact (our later write there), the life event counts anyway
        out.state
            .set_deleted_at(&change.org, deleted, change.commit_ts);
        out.state.life = Some(life);
        if outcome == LifeOutcome::Changed {
            let op = Op::from(change.kind);
            // every target, whatever the ledger believes it holds: the write is decided
            // when it is made (`crate::write::decide`), from what it holds then
            out.items
                .extend(targets.iter().map(|t| item(&t.org, t.source_side, op)));
        }
        if !deleted {
            // a restored copy holds the values it had when deleted: not edits (change events
            // told those when they were made), but what it holds now
            let mut fields = to_merge_keys(sync, from_source_side, &change.fields);
            let parent = |object: &str, id: &str| (ledger.global_id_of)(&change.org, object, id);
            canonical_lookups(sync, from_source_side, &mut fields, &from_org_id, &parent);
            // a value no edit ever agreed on is the record's own (a record first seen by its
            // undelete: its create was never captured — a change event missed while the
            // subscription started, the row deleted before any read): adopted, not written
            // over with null (chaos seed 61)
            let mut adopted = false;
            for (k, v) in &fields {
                let key = k.to_ascii_lowercase();
                if !out.state.agreed.contains_key(&key) && !matches!(v, FieldValue::Null) {
                    let version = Versioned {
                        value: v.clone(),
                        ts: change.commit_ts,
                        org: change.org.clone(),
                    };
                    out.state.agreed.insert(key, version);
                    adopted = true;
                }
            }
            out.state.holds(&change.org, &fields, change.commit_ts);
            if adopted && outcome != LifeOutcome::Changed {
                out.items.extend(
                    targets
                        .iter()
                        .map(|t| item(&t.org, t.source_side, Op::Upsert)),
                );
            }
        }
        // a losing event sends its org back to the agreed life
        realign(&mut out, &global_id);
        if !out.state.is_deleted() && !out.state.deleted.contains(&change.org) {
            // the restored copy holds its pre-delete values: what was agreed since (edits
            // merged while it was deleted) is written back to it, if it lacks any
            out.items
                .push(item(&change.org, from_source_side, Op::Upsert));
        }
        if out.items.is_empty() {
            out.dropped = Some(Dropped::NoChange);
        }
        return Ok(out);
    }

    if !out.state.deleted.contains(&change.org) {
        // the org held a live copy then: a completion stated as of an earlier send (our delete
        // that landed before a user restored the record) must not mark it deleted
        out.state
            .set_deleted_at(&change.org, false, change.commit_ts);
    }
    let first_sight = out.state.life.is_none()
        && out.state.agreed.is_empty()
        && out.state.shadows.is_empty()
        && out.state.deleted.is_empty();
    if first_sight {
        // a record seen for the first time was created live where it was seen
        out.state.life = Some(Life {
            deleted: false,
            ts: change.commit_ts,
            org: change.org.clone(),
        });
    }
    let mut fields = to_merge_keys(sync, from_source_side, &change.fields);
    let parent = |object: &str, id: &str| (ledger.global_id_of)(&change.org, object, id);
    canonical_lookups(sync, from_source_side, &mut fields, &from_org_id, &parent);
    let incoming = Incoming {
        org: &change.org,
        fields: &fields,
        ts: change.commit_ts,
        snapshot: change.snapshot,
    };
    let MergeResult {
        state,
        accepted,
        rewrite_origin,
        conflicts,
        ..
    } = merge(&out.state, incoming, &sync.conflict, &priority);
    out.state = state;
    out.conflicts = conflicts;
    if out.state.is_deleted() {
        // the record is deleted: the edit is kept in the agreed fields (an undelete restores
        // the newest values) but goes nowhere; the org that still holds it live is sent the
        // delete
        if !out.state.deleted.contains(&change.org) {
            out.items
                .push(item(&change.org, from_source_side, Op::Delete));
        } else {
            out.dropped = Some(Dropped::NoChange);
        }
        return Ok(out);
    }
    let op = Op::Upsert;
    let mut emit =
        |target: &OrgName, to_source_side: bool, travel: Travel, fields: &crate::model::Fields| {
            let leg = Leg {
                from_source_side,
                to_source_side,
                travel,
            };
            let named = from_merge_keys(sync, from_source_side, fields);
            let mapped = map_fields(
                settings,
                sync,
                leg,
                &named,
                &global_id,
                &from_org_id,
                &parent,
            )?;
            // only the global-id field (and constants) left: nothing of this change travels there
            let carries = mapped.payload.keys().any(|k| {
                sync.fields
                    .iter()
                    .any(|f| f.source.eq_ignore_ascii_case(k) || f.target.eq_ignore_ascii_case(k))
            });
            if carries {
                out.items.push(SyncItem {
                    target: target.clone(),
                    object: object_name(sync, to_source_side).to_string(),
                    global_id: global_id.clone(),
                    op,
                    payload: mapped.payload,
                    parents: mapped.parents,
                });
            }
            Ok::<(), PipelineError>(())
        };
    if !accepted.is_empty() {
        for t in &targets {
            emit(&t.org, t.source_side, t.travel, &accepted)?;
        }
    }
    if !rewrite_origin.is_empty() {
        emit(
            &change.org,
            from_source_side,
            Travel::default(),
            &rewrite_origin,
        )?;
    }
    if first_sight {
        // a new record exists even when none of its synced fields holds a value: every target
        // gets it (the write is decided from the agreed state, see `crate::write`)
        for t in &targets {
            if !out.items.iter().any(|i| i.target == t.org) {
                out.items.push(item(&t.org, t.source_side, op));
            }
        }
    }
    if out.items.is_empty() {
        out.dropped = Some(if accepted.is_empty() && rewrite_origin.is_empty() {
            Dropped::NoChange
        } else {
            Dropped::NoTarget
        });
    }
    Ok(out)
}
