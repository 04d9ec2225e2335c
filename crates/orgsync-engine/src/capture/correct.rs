//! Anti-entropy on every read: a captured record whose synced values disagree with the agreed
//! state (after the merge) is written back with the agreed values.
//!
//! Why: polling sees only the latest value. If our write of an older value lands on an org
//! just after a newer edit there was captured, the org ends up holding exactly what we wrote,
//! the shadow says "echo", and nothing would ever fix it. Comparing every read against the
//! agreed state closes that window; a converged record never differs, so this costs nothing
//! at rest. Lookup fields are left out (their ids differ per org by design).

use orgsync_core::config::SyncSettings;
use orgsync_core::echo::same_value;
use orgsync_core::mapping::{Payload, PayloadValue, from_merge_keys, object_name, to_merge_keys};
use orgsync_core::merge::RecordState;
use orgsync_core::model::Fields;
use orgsync_core::{FieldValue, GlobalId, Op, OrgName, SyncItem};
use orgsync_store::NewItem;

/// The corrective item for `org`, if its `fields` (that org's names) disagree with `state`.
pub(crate) fn correction(
    sync: &SyncSettings,
    org: &OrgName,
    source_side: bool,
    gid: &GlobalId,
    fields: &Fields,
    state: &RecordState,
    already: &[NewItem],
) -> Option<NewItem> {
    let lookups: Vec<String> = sync
        .parents
        .iter()
        .map(|p| p.field.to_ascii_lowercase())
        .collect();
    let mut wrong = Fields::new();
    let mut newest = None;
    for (k, v) in to_merge_keys(sync, source_side, fields) {
        if lookups.contains(&k) {
            continue;
        }
        let Some(agreed) = state.agreed.get(&k) else {
            continue;
        };
        if !same_value(&agreed.value, &v) {
            newest = newest.max(Some(agreed.ts));
            wrong.insert(k, agreed.value.clone());
        }
    }
    let ts = newest?;
    let object = object_name(sync, source_side).to_string();
    let covered = |name: &str| {
        already.iter().any(|i| {
            i.work.target == *org
                && i.work.object.eq_ignore_ascii_case(&object)
                && i.work.payload.keys().any(|k| k.eq_ignore_ascii_case(name))
        })
    };
    let mut payload = Payload::new();
    for (name, value) in from_merge_keys(sync, source_side, &wrong) {
        if !covered(&name) {
            payload.insert(name, PayloadValue::value(value));
        }
    }
    if payload.is_empty() {
        return None;
    }
    payload.insert(
        sync.global_id_field.clone(),
        PayloadValue::value(FieldValue::Text(gid.to_string())),
    );
    Some(NewItem::new(
        SyncItem {
            target: org.clone(),
            object,
            global_id: gid.clone(),
            op: Op::Upsert,
            payload,
            parents: Vec::new(),
        },
        ts,
    ))
}
