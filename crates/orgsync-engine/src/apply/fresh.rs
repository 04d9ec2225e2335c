//! Bring claimed payloads up to the agreed state before writing.
//!
//! Why: an item queued for org B with A's value can be overtaken by a newer edit made on B
//! itself (captured after the item was queued). Writing the queued value would overwrite the
//! newer one, and since B then holds exactly what we wrote, polling would see no change and
//! the orgs would diverge. So each plain field whose agreed version is newer than the
//! item's value is replaced by the agreed value: an older value never overwrites a newer one.

use std::collections::BTreeMap;

use orgsync_core::echo::same_value;
use orgsync_core::mapping::PayloadValue;
use orgsync_core::{GlobalId, OrgName};
use orgsync_store::{Item, Store};

use crate::shared::Shared;

/// Refresh `items` (all for `org`) in place; one ledger query per synced object.
pub(crate) async fn refresh<S: Store>(sh: &Shared<S>, org: &OrgName, items: &mut [Item]) {
    let side = sh.source_side(org);
    let mut by_object: BTreeMap<String, Vec<GlobalId>> = BTreeMap::new();
    for it in items.iter() {
        if let Some(sync) = sh.sync_for(org, &it.work.object) {
            by_object
                .entry(sync.object.clone())
                .or_default()
                .push(it.work.global_id.clone());
        }
    }
    let mut agreed = BTreeMap::new();
    for (object, gids) in by_object {
        if let Ok(rows) = sh.store.agreed(&object, &gids).await {
            for r in rows {
                agreed.insert((object.clone(), r.global_id), r.fields);
            }
        }
    }
    for it in items.iter_mut() {
        let Some(sync) = sh.sync_for(org, &it.work.object) else {
            continue;
        };
        let Some(fields) = agreed.get(&(sync.object.clone(), it.work.global_id.clone())) else {
            continue;
        };
        for f in &sync.fields {
            let name = if side { &f.source } else { &f.target };
            let Some((key, PayloadValue::Value { value })) = it
                .work
                .payload
                .iter_mut()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
            else {
                continue;
            };
            let Some(v) = fields.get(&f.source.to_ascii_lowercase()) else {
                continue;
            };
            let queued_at = it.field_ts.get(key.as_str()).copied();
            if queued_at.is_none_or(|t| v.ts > t) && !same_value(&v.value, value) {
                *value = v.value.clone();
            }
        }
    }
}
