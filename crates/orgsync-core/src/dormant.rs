//! Empty lookups Salesforce cleared when their parent was deleted (dormant), told apart from
//! users' edits before a read is merged (see [`drop_dormant_lookups`]).

use chrono::{DateTime, Utc};

use crate::config::{OrgName, SyncSettings};
use crate::merge::RecordState;
use crate::model::GlobalId;

/// Drop from a read of a record in `org` (a poll, a re-read, an undelete's restored values;
/// fields as named on that org) every empty lookup whose agreed parent, or the parent that
/// org's copy was last known to hold (for a read older than our last write there, at
/// `read_at`: also the one it held before that write), is deleted in that org or by agreement
/// (`parent_deleted`): the engine calls this before [`process`] for such reads.
///
/// Why: Salesforce clears a child's lookup when its parent is deleted, with no change event
/// and no new SystemModstamp, and restores it when the parent is undeleted. Read back, the
/// empty lookup looked like an edit newer than the agreed one: it was adopted and written
/// everywhere, and the restore was then undone. The lookup is dormant, not changed; the
/// shadow keeps the parent, which is what the restore brings back. (A change event still
/// counts: it says the field changed.)
pub fn drop_dormant_lookups(
    sync: &SyncSettings,
    source_side: bool,
    state: &RecordState,
    org: &OrgName,
    fields: &mut crate::model::Fields,
    read_at: DateTime<Utc>,
    parent_deleted: &dyn Fn(&GlobalId) -> bool,
) {
    for (p, _) in crate::mapping::sync_parents(sync, source_side) {
        let name = if source_side {
            &p.field
        } else {
            &p.target_field
        };
        let empty = fields.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case(name)
                && crate::echo::same_value(v, &crate::model::FieldValue::Null)
        });
        let key = p.field.to_ascii_lowercase();
        let to_deleted = |v: &crate::model::FieldValue| match v {
            crate::model::FieldValue::Text(t) => {
                t.parse::<GlobalId>().is_ok_and(|g| parent_deleted(&g))
            }
            _ => false,
        };
        // the agreed parent is deleted, or the parent the org's copy was last known to point
        // at is (a write of the newer lookup had not reached that org when Salesforce
        // cleared the old one)
        // (or the one it held before our last write there: a read taken before that write,
        // processed after it, shows what Salesforce made of the older parent's delete)
        let held = state.shadows.get(org).and_then(|s| s.get(&key));
        let dormant = to_deleted(state.agreed_value(&key))
            || held.is_some_and(|s| {
                to_deleted(&s.value)
                    || (s.at > read_at && s.before.as_ref().is_some_and(to_deleted))
            });
        if empty && dormant {
            fields.retain(|k, _| !k.eq_ignore_ascii_case(name));
        }
    }
}
