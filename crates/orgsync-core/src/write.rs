//! What a claimed item writes to its target org, decided when it is written from the record's
//! agreed state and what the target holds — never from the item's queued payload alone.
//!
//! Why: an item is queued with the change that caused it, but by the time it is written the
//! record may have been deleted, restored or edited again elsewhere, and the target may have
//! lost its copy. Writing the queued payload then re-created deleted records from a partial
//! payload (only the changed field and the global id), overwrote newer values with older ones
//! and left lookups behind. So the item only says "bring this record in this org up to date";
//! this module decides how:
//!
//! | agreed life | target holds          | write                                             |
//! |-------------|-----------------------|---------------------------------------------------|
//! | deleted     | a live copy           | delete it                                         |
//! | deleted     | nothing known         | delete whatever carries the global id (if any)    |
//! | deleted     | a deleted copy        | nothing                                           |
//! | live        | a live copy           | update the fields whose agreed value it lacks     |
//! | live        | a deleted copy        | undelete it, then update what differs             |
//! | live        | nothing known         | create it with the full agreed record             |
//!
//! Values always come from the agreed state (an older queued value never overwrites a newer
//! one), a field the target already holds is not written (no echo writes), a field whose
//! direction forbids the way from the org that set it to the target is left out, and a lookup
//! to a parent whose agreed life is deleted is dormant: Salesforce cleared it when the parent
//! was deleted and restores it on undelete, so it is neither written nor waited for (a copy
//! whose lookup points elsewhere is emptied instead, as it would have been had it pointed
//! there; one that never had it gets it when the parent comes back, which the engine queues).

use std::collections::BTreeMap;

use crate::config::{OrgName, Settings, SyncSettings};
use crate::echo::same_value;
use crate::mapping::{Leg, MappingError, Payload, allowed, from_merge_keys, map_fields};
use crate::merge::{RecordState, ShadowValue};
use crate::model::{FieldValue, Fields, GlobalId, ParentRef};
use crate::routing::{Travel, travel};

/// What the target org holds of the record, as far as the ledger knows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Held<'a> {
    /// Its id there, when known.
    pub local_id: Option<&'a str>,
    /// The copy there is deleted (in the recycle bin).
    pub deleted: bool,
    /// The values it holds (merge keys), when known.
    pub shadow: Option<&'a BTreeMap<String, ShadowValue>>,
}

/// Where a lookup's parent stands in the target org.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParentState {
    /// The parent exists there.
    Landed,
    /// Not there yet: the record waits for it.
    Missing,
    /// Its agreed life is deleted: the lookup is dormant.
    Deleted,
}

/// The write one item needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// The target already holds the agreed state.
    Nothing,
    /// Update the live copy by id.
    Update {
        /// Its id.
        local_id: String,
        /// The fields it lacks (target names), with the global-id field.
        payload: Payload,
        /// Parents the payload's lookups need.
        parents: Vec<ParentRef>,
    },
    /// Create it from the full agreed record (upsert on the global id, so a copy that landed
    /// without the ledger hearing of it is updated instead of duplicated).
    Create {
        /// Every synced field allowed there, with the global-id field.
        payload: Payload,
        /// Parents the payload's lookups need.
        parents: Vec<ParentRef>,
    },
    /// Delete it; `None`: the ledger knows no id there, find it by its global id.
    Delete {
        /// Its id, when known.
        local_id: Option<String>,
    },
    /// Restore the deleted copy, then write what differs from it.
    Undelete {
        /// Its id.
        local_id: String,
        /// The fields its restored copy lacks (may hold only the global-id field).
        then: Payload,
        /// Parents `then` needs.
        parents: Vec<ParentRef>,
    },
}

/// Decide the write that brings `target`'s copy of `gid` (object of `sync`) to `state`.
/// `parent` says where a lookup's parent (by global id) stands in the target.
pub fn decide(
    settings: &Settings,
    sync: &SyncSettings,
    target: &OrgName,
    gid: &GlobalId,
    state: &RecordState,
    held: Held<'_>,
    parent: &dyn Fn(&GlobalId) -> ParentState,
) -> Result<Write, MappingError> {
    if state.is_deleted() {
        return Ok(match (held.local_id, held.deleted) {
            (_, true) => Write::Nothing,
            (id, false) => Write::Delete {
                local_id: id.map(str::to_string),
            },
        });
    }
    let (local_id, shadow) = match (held.local_id, held.deleted) {
        (Some(id), deleted) => (Some((id.to_string(), deleted)), held.shadow),
        (None, _) => (None, None),
    };
    let (payload, parents) = lacking(settings, sync, target, gid, state, shadow, parent)?;
    Ok(match local_id {
        None => Write::Create { payload, parents },
        Some((local_id, true)) => Write::Undelete {
            local_id,
            then: payload,
            parents,
        },
        Some((local_id, false)) if carries(sync, &payload) => Write::Update {
            local_id,
            payload,
            parents,
        },
        Some(_) => Write::Nothing,
    })
}

/// Whether a payload writes any synced field (not only the global id and constants).
pub fn carries(sync: &SyncSettings, payload: &Payload) -> bool {
    payload.keys().any(|k| {
        sync.fields
            .iter()
            .any(|f| f.source.eq_ignore_ascii_case(k) || f.target.eq_ignore_ascii_case(k))
    })
}

/// The agreed fields `shadow` does not hold (all of them when it is None), mapped for `target`.
fn lacking(
    settings: &Settings,
    sync: &SyncSettings,
    target: &OrgName,
    gid: &GlobalId,
    state: &RecordState,
    shadow: Option<&BTreeMap<String, ShadowValue>>,
    parent: &dyn Fn(&GlobalId) -> ParentState,
) -> Result<(Payload, Vec<ParentRef>), MappingError> {
    let to_source_side = settings.topology.is_source_side(target);
    let lookups: Vec<String> = sync
        .parents
        .iter()
        .map(|p| p.field.to_ascii_lowercase())
        .collect();
    let mut wanted = Fields::new();
    // a lookup to a deleted parent: Salesforce cleared it (and will restore it)
    let to_deleted = |v: &FieldValue| {
        matches!(v, FieldValue::Text(t)
            if t.parse::<GlobalId>().is_ok_and(|g| parent(&g) == ParentState::Deleted))
    };
    for f in &sync.fields {
        let key = f.source.to_ascii_lowercase();
        let value = state.agreed_value(&key);
        let lookup = lookups.contains(&key);
        // what the copy holds now; a lookup to a parent not there (deleted there) was
        // emptied
        let held = shadow.and_then(|s| s.get(&key)).map(|s| {
            let gone = matches!(&s.value, FieldValue::Text(t)
                if t.parse::<GlobalId>().is_ok_and(|g| parent(&g) != ParentState::Landed));
            if lookup && gone {
                &FieldValue::Null
            } else {
                &s.value
            }
        });
        if held.is_some_and(|h| same_value(h, value)) {
            continue;
        }
        if let Some(v) = state.agreed.get(&key)
            && v.org != *target
            && !travel(&settings.topology, &v.org, target).is_some_and(|t| allowed(f.direction, t))
        {
            continue;
        }
        if lookup && to_deleted(value) {
            // dormant where the copy is empty (Salesforce will restore it where it cleared
            // it); a copy pointing elsewhere is emptied, as it would be had it pointed there
            if held.is_some_and(|h| !same_value(h, &FieldValue::Null)) {
                wanted.insert(key, FieldValue::Null);
            }
            continue;
        }
        wanted.insert(key, value.clone());
    }
    let named = from_merge_keys(sync, true, &wanted);
    let leg = Leg {
        from_source_side: true,
        to_source_side,
        travel: Travel::default(),
    };
    let mapped = map_fields(
        settings,
        sync,
        leg,
        &named,
        gid,
        gid.origin_org(),
        &|_, _| None,
    )?;
    let parents = mapped
        .parents
        .into_iter()
        .filter(|p| parent(&p.global_id) != ParentState::Landed)
        .collect();
    Ok((mapped.payload, parents))
}

/// Whether `org`'s copy, as the ledger last saw it (its shadow and deleted flag in `state`),
/// lacks something of the agreed state that a write would bring: the capture of a read that
/// shows an org behind queues an item for it (anti-entropy), and [`decide`] then writes exactly
/// what it lacks. Fields the ledger never saw there, and values whose direction forbids the way
/// to `org`, do not count.
pub fn behind(
    settings: &Settings,
    sync: &SyncSettings,
    org: &OrgName,
    state: &RecordState,
) -> bool {
    if state.deleted.contains(org) != state.is_deleted() {
        return true;
    }
    if state.is_deleted() {
        return false;
    }
    let Some(shadow) = state.shadows.get(org) else {
        return false;
    };
    sync.fields.iter().any(|f| {
        let key = f.source.to_ascii_lowercase();
        let Some(held) = shadow.get(&key) else {
            return false;
        };
        if same_value(&held.value, state.agreed_value(&key)) {
            return false;
        }
        state.agreed.get(&key).is_none_or(|v| {
            v.org == *org
                || travel(&settings.topology, &v.org, org).is_some_and(|t| allowed(f.direction, t))
        })
    })
}
