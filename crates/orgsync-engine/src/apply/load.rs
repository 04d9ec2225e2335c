//! What a round needs from the ledger before it can decide its writes: per claimed record its
//! merge state (agreed fields and life, every org's shadow and deleted flag), what the target
//! holds of it, and where its lookups' parents stand in the target. One query per object and
//! org, never one per record.

use std::collections::{BTreeMap, HashMap, HashSet};

use orgsync_core::config::ParentPolicy;
use orgsync_core::merge::RecordState;
use orgsync_core::write::ParentState;
use orgsync_core::{FieldValue, GlobalId, OrgName, Settings};
use orgsync_store::{Item, RecordRow, Store};

use crate::capture::ingest::load_states;
use crate::error::EngineError;
use crate::leg::Legs;

/// The ledger's view of a round's records.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    /// Merge states by (sync index, global id).
    pub states: HashMap<(usize, GlobalId), RecordState>,
    /// The target's record rows by (sync index, global id).
    pub held: HashMap<(usize, GlobalId), RecordRow>,
    /// Where each referenced parent stands in the target.
    pub parents: HashMap<GlobalId, ParentState>,
    /// Landed parents' ids in the target (lookups to them are written by id).
    pub landed: HashMap<GlobalId, String>,
}

/// Load what `items` (all for `org`) need.
pub(crate) async fn load<S: Store>(
    settings: &Settings,
    store: &S,
    legs: &Legs,
    org: &OrgName,
    items: &[Item],
) -> Result<Loaded, EngineError> {
    let mut by_sync: BTreeMap<usize, Vec<GlobalId>> = BTreeMap::new();
    for it in items {
        if let Some(leg) = legs.find(org, &it.work.object) {
            by_sync
                .entry(leg.sync)
                .or_default()
                .push(it.work.global_id.clone());
        }
    }
    let mut out = Loaded::default();
    // parent global ids per parent sync index
    let mut wanted: BTreeMap<usize, HashSet<GlobalId>> = BTreeMap::new();
    for (sync, gids) in &by_sync {
        let Some(leg) = legs.of(org, *sync) else {
            continue;
        };
        for (g, st) in load_states(settings, store, *sync, gids).await? {
            out.states.insert((*sync, g), st);
        }
        for row in store.records(org, &leg.object, gids).await? {
            out.held.insert((*sync, row.global_id.clone()), row);
        }
        let s = &settings.syncs[*sync];
        for p in &s.parents {
            let ParentPolicy::Sync { object, .. } = &p.policy else {
                continue;
            };
            let Some(parent_sync) = settings
                .syncs
                .iter()
                .position(|x| x.object.eq_ignore_ascii_case(object))
            else {
                continue;
            };
            let key = p.field.to_ascii_lowercase();
            for g in gids {
                // the agreed parent, and the one the target's copy points at (whether that
                // parent is there decides if the copy's lookup still holds it)
                let agreed = out
                    .states
                    .get(&(*sync, g.clone()))
                    .map(|st| st.agreed_value(&key).clone());
                let held = out
                    .held
                    .get(&(*sync, g.clone()))
                    .and_then(|r| r.shadow.get(&key))
                    .map(|v| v.value.clone());
                for value in [agreed, held].into_iter().flatten() {
                    if let FieldValue::Text(t) = value
                        && let Ok(parent) = t.parse::<GlobalId>()
                    {
                        wanted.entry(parent_sync).or_default().insert(parent);
                    }
                }
            }
        }
    }
    for (parent_sync, gids) in wanted {
        let gids: Vec<GlobalId> = gids.into_iter().collect();
        let deleted: HashSet<GlobalId> = store
            .agreed(&settings.syncs[parent_sync].object, &gids)
            .await?
            .into_iter()
            .filter(|r| r.life.as_ref().is_some_and(|l| l.deleted))
            .map(|r| r.global_id)
            .collect();
        let mut rows = HashMap::new();
        if let Some(leg) = legs.of(org, parent_sync) {
            for r in store.records(org, &leg.object, &gids).await? {
                rows.insert(r.global_id.clone(), r);
            }
        }
        for g in gids {
            let state = match rows.get(&g) {
                _ if deleted.contains(&g) => ParentState::Deleted,
                Some(RecordRow {
                    local_id: Some(l),
                    deleted: false,
                    ..
                }) => {
                    out.landed.insert(g.clone(), l.clone());
                    ParentState::Landed
                }
                _ => ParentState::Missing,
            };
            out.parents.insert(g, state);
        }
    }
    Ok(out)
}
