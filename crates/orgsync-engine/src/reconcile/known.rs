//! What the ledger knows of the copies a pass read: their record rows, the agreed states,
//! the items still waiting, the parents deleted by agreement; and the rows as canonical copies
//! (merge keys, lookups as global ids) the pure classifier compares.

use std::collections::{HashMap, HashSet};

use orgsync_core::config::ParentPolicy;
use orgsync_core::mapping::{canonical_lookups, sync_parents, to_merge_keys};
use orgsync_core::merge::RecordState;
use orgsync_core::reconcile::{Copy, Entry, PassReport, Scope};
use orgsync_core::{FieldValue, GlobalId, OrgId};
use orgsync_store::{ItemFilter, ItemState, Page, RecordRow, Store};

use super::read::Pass;
use crate::capture::Captured;
use crate::capture::ingest::Ingest;
use crate::error::EngineError;
use crate::leg::Leg;

/// The ledger's rows of the copies a window read: by their local id, and by the global id
/// they carry.
pub(super) async fn window_entries<S: Store>(
    ingest: &Ingest<S>,
    leg: &Leg,
    rows: &[Captured],
) -> Result<HashMap<GlobalId, RecordRow>, EngineError> {
    let mut out = HashMap::new();
    if rows.is_empty() {
        return Ok(out);
    }
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    for r in ingest
        .store
        .records_by_local_ids(&leg.org, &leg.object, &ids)
        .await?
    {
        out.insert(r.global_id.clone(), r);
    }
    let carried: Vec<GlobalId> = rows.iter().filter_map(|r| r.gid_field.clone()).collect();
    for r in ingest
        .store
        .records(&leg.org, &leg.object, &carried)
        .await?
    {
        out.insert(r.global_id.clone(), r);
    }
    Ok(out)
}

/// Turn rows into canonical copies and load the agreed states, waiting items and deleted
/// parents the classifier needs.
pub(super) async fn finish<S: Store>(
    ingest: &Ingest<S>,
    leg: &Leg,
    rows: Vec<Captured>,
    rows_known: HashMap<GlobalId, RecordRow>,
    scope: Scope,
    report: PassReport,
) -> Result<Pass, EngineError> {
    let settings = ingest.settings.as_ref();
    let sync = leg.settings(settings);
    let org_id = ingest
        .orgs
        .org_id(&leg.org)
        .ok_or_else(|| EngineError::Config(format!("org {} has no known org id", leg.org)))?;
    let copies = copies(ingest, leg, &rows, &org_id).await?;
    let entries: HashMap<GlobalId, Entry> = rows_known
        .into_iter()
        .map(|(g, r)| {
            let e = Entry {
                local_id: r.local_id,
                deleted: r.deleted,
                last_modstamp: r.last_modstamp,
            };
            (g, e)
        })
        .collect();
    let mut gids: HashSet<GlobalId> = entries.keys().cloned().collect();
    for c in &copies {
        gids.extend(c.gid_field.clone());
        gids.extend(GlobalId::new(org_id.clone(), &c.local_id).ok());
    }
    let gids: Vec<GlobalId> = gids.into_iter().collect();
    let mut agreed: HashMap<GlobalId, RecordState> = HashMap::new();
    for row in ingest.store.agreed(&sync.object, &gids).await? {
        let st = agreed.entry(row.global_id).or_default();
        st.agreed = row.fields;
        st.life = row.life;
    }
    let pending = pending(ingest, leg).await?;
    let parents_deleted = parents_deleted(ingest, leg, &agreed).await?;
    Ok(Pass {
        rows,
        copies,
        scope,
        entries,
        agreed,
        pending,
        parents_deleted,
        report,
    })
}

/// Rows as canonical copies: merge keys, lookups of synced parents as global ids (other
/// parent policies are not compared: their canonical form needs the parent's Name).
async fn copies<S: Store>(
    ingest: &Ingest<S>,
    leg: &Leg,
    rows: &[Captured],
    org_id: &OrgId,
) -> Result<Vec<Copy>, EngineError> {
    let sync = leg.settings(ingest.settings.as_ref());
    let source = leg.side.is_source();
    let mut parents: HashMap<(String, String), GlobalId> = HashMap::new();
    for (p, parent_object) in sync_parents(sync, source) {
        let field = if source { &p.field } else { &p.target_field };
        let ids: Vec<String> = rows
            .iter()
            .filter_map(|r| match r.field(field) {
                Some(FieldValue::Text(t)) => Some(t.clone()),
                _ => None,
            })
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        for row in ingest
            .store
            .records_by_local_ids(&leg.org, parent_object, &ids)
            .await?
        {
            if let Some(l) = row.local_id {
                parents.insert((parent_object.to_ascii_lowercase(), l), row.global_id);
            }
        }
    }
    let uncompared: Vec<String> = sync
        .parents
        .iter()
        .filter(|p| !matches!(p.policy, ParentPolicy::Sync { .. }))
        .map(|p| p.field.to_ascii_lowercase())
        .collect();
    let lookup = |object: &str, id: &str| {
        parents
            .get(&(object.to_ascii_lowercase(), id.to_string()))
            .cloned()
    };
    Ok(rows
        .iter()
        .map(|r| {
            let mut fields = to_merge_keys(sync, source, &r.fields);
            canonical_lookups(sync, source, &mut fields, org_id, &lookup);
            for k in &uncompared {
                fields.shift_remove(k);
            }
            Copy {
                local_id: r.id.clone(),
                gid_field: r.gid_field.clone(),
                modstamp: r.modstamp.unwrap_or(r.commit_ts),
                deleted: r.deleted,
                fields,
            }
        })
        .collect())
}

/// Records of `leg` with an item for its org still waiting or being written.
async fn pending<S: Store>(
    ingest: &Ingest<S>,
    leg: &Leg,
) -> Result<HashSet<GlobalId>, EngineError> {
    let mut out = HashSet::new();
    for state in [ItemState::Queued, ItemState::InFlight, ItemState::Pending] {
        let filter = ItemFilter {
            state: Some(state),
            target: Some(leg.org.clone()),
            object: Some(leg.object.clone()),
            global_id: None,
        };
        let mut page = Page::first(1000);
        loop {
            let items = ingest.store.items(&filter, page).await?;
            let Some(last) = items.last() else { break };
            page.after = last.id.0;
            out.extend(items.into_iter().map(|i| i.work.global_id));
        }
    }
    Ok(out)
}

/// The synced parents (by global id) of `agreed`'s lookups whose agreed life is deleted.
async fn parents_deleted<S: Store>(
    ingest: &Ingest<S>,
    leg: &Leg,
    agreed: &HashMap<GlobalId, RecordState>,
) -> Result<HashSet<GlobalId>, EngineError> {
    let sync = leg.settings(ingest.settings.as_ref());
    let mut out = HashSet::new();
    for (p, parent_object) in sync_parents(sync, true) {
        let key = p.field.to_ascii_lowercase();
        let gids: Vec<GlobalId> = agreed
            .values()
            .filter_map(|st| match st.agreed.get(&key).map(|v| &v.value) {
                Some(FieldValue::Text(t)) => t.parse().ok(),
                _ => None,
            })
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        for row in ingest.store.agreed(parent_object, &gids).await? {
            if orgsync_core::life::is_deleted(row.life.as_ref()) {
                out.insert(row.global_id);
            }
        }
    }
    Ok(out)
}
