//! Children of parents that came back from the recycle bin: a child synced while its parent
//! was deleted got no lookup, a copy whose lookup the parent's delete cleared gets it back
//! from the undelete (also over our write of an empty value, which does not replace it) — each
//! is queued, and the write decided for it brings what it lacks.

use chrono::{DateTime, Utc};
use orgsync_core::OrgName;
use orgsync_store::Store;

use super::ingest::Ingest;
use super::plan::Comeback;
use crate::error::EngineError;
use crate::leg::{Leg, Side};

/// Queue the children of parents that came back (every org's when the parent was
/// revived, the capturing org's when it was restored there): a child synced while its
/// parent was deleted got no lookup, and the write decided for it now brings what it lacks.
pub(crate) async fn wake_children<S: Store>(
    ingest: &Ingest<S>,
    leg: &Leg,
    comebacks: &[Comeback],
    now: DateTime<Utc>,
) -> Result<(), EngineError> {
    let parent_object = &leg.settings(&ingest.settings).object;
    let mut batch = orgsync_store::CaptureBatch::default();
    for child in &ingest.settings.syncs {
        let lookups: Vec<_> = child
            .parents
            .iter()
            .filter(|p| {
                matches!(&p.policy, orgsync_core::config::ParentPolicy::Sync { object, .. }
                    if object.eq_ignore_ascii_case(parent_object))
            })
            .collect();
        if lookups.is_empty() {
            continue;
        }
        for back in comebacks {
            let parent = &back.parent;
            let kids = ingest
                .store
                .agreed_referencing(&child.object, parent)
                .await?;
            let orgs: Vec<OrgName> = if back.revived {
                ingest.settings.topology.orgs()
            } else {
                vec![leg.org.clone()]
            };
            for org in &orgs {
                let side = Side::of(&ingest.settings, org);
                let object = orgsync_core::mapping::object_name(child, side.is_source());
                // and those whose copy there still holds the parent (cleared by its
                // delete, given back by its undelete) while the agreed lookup moved on
                let mut kids = kids.clone();
                let held = ingest.store.held_referencing(org, object, parent).await?;
                // copies known empty that the undelete gave the parent back
                if *org == leg.org {
                    for lookup in &lookups {
                        let field = match side.is_source() {
                            true => &lookup.field,
                            false => &lookup.target_field,
                        };
                        let key = lookup.field.to_ascii_lowercase();
                        let child = super::dormant::ChildLookup {
                            object,
                            field,
                            key: &key,
                        };
                        let given =
                            super::dormant::given_back_children(ingest, leg, child, back, &held)
                                .await?;
                        batch.records.extend(given);
                    }
                }
                for h in held {
                    if !kids.contains(&h) {
                        kids.push(h);
                    }
                }
                for kid in &kids {
                    let work = orgsync_core::SyncItem {
                        target: org.clone(),
                        object: object.to_string(),
                        global_id: kid.clone(),
                        op: orgsync_core::Op::Upsert,
                        payload: Default::default(),
                        parents: Vec::new(),
                    };
                    batch.items.push(orgsync_store::NewItem::new(work, now));
                }
            }
        }
    }
    if !batch.items.is_empty() || !batch.records.is_empty() {
        ingest.store.commit_capture(batch, now).await?;
    }
    Ok(())
}
