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

/// When a parent was in an org's recycle bin, as far as known: deleted there at `since`,
/// back (undeleted) by `back` — its undelete's commit time when captured, else an upper bound
/// of it (the parent's `SystemModstamp` when found live again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binned {
    /// When its delete there was known (the ledger's fact time).
    pub since: DateTime<Utc>,
    /// When it was back there (at the latest).
    pub back: DateTime<Utc>,
}

/// Whether a read showing a lookup set to a parent that spent `binned` in the org's recycle
/// bin shows the value Salesforce gave back with that parent's undelete, not a user's edit:
/// the org was known to hold the lookup empty (`shadow`) since the parent was already
/// deleted there — no one can set a lookup to a record in the bin, so nothing but the undelete
/// put it back before `binned.back` — and the row's last edit (`edited`) is older than that
/// undelete, while a later change the platform made (`stamp`, its `SystemModstamp`) is not.
///
/// Why: emptying a lookup that the parent's delete had already cleared does not replace it,
/// so the undelete still restores it, moving the row's `SystemModstamp` but not its
/// `LastModifiedDate`. The read, dated by the last edit (our own write of the empty value),
/// looked like an edit newer than the agreed empty value and was written everywhere (chaos
/// seed 140). The org holds the restored value since the undelete: it is behind, and is
/// written the agreed value again.
pub fn given_back(
    shadow: Option<&crate::merge::ShadowValue>,
    binned: Binned,
    edited: DateTime<Utc>,
    stamp: DateTime<Utc>,
) -> bool {
    shadow.is_some_and(|s| {
        crate::echo::same_value(&s.value, &crate::model::FieldValue::Null) && s.at >= binned.since
    }) && edited < binned.back
        && edited < stamp
}

/// Take out of a read of a record in `org` (fields as named on that org, lookups as that
/// org's ids) every lookup Salesforce gave back with its parent's undelete
/// ([`given_back`]), returning them by merge key with the parent's global id and when the
/// org holds it since: for [`crate::merge::RecordState::holds`], not the merge.
/// `parent_of(object, local id)` is the id map, `binned(parent)` what is known of that
/// parent's stay in the org's recycle bin.
#[allow(clippy::too_many_arguments)]
pub fn take_given_back(
    sync: &SyncSettings,
    source_side: bool,
    state: &RecordState,
    org: &OrgName,
    fields: &mut crate::model::Fields,
    (edited, stamp): (DateTime<Utc>, DateTime<Utc>),
    parent_of: &dyn Fn(&str, &str) -> Option<GlobalId>,
    binned: &dyn Fn(&GlobalId) -> Option<Binned>,
) -> Vec<(String, GlobalId, DateTime<Utc>)> {
    let mut out = Vec::new();
    for (p, parent_object) in crate::mapping::sync_parents(sync, source_side) {
        let name = if source_side {
            &p.field
        } else {
            &p.target_field
        };
        let key = p.field.to_ascii_lowercase();
        let Some((field, local)) = fields.iter().find_map(|(k, v)| match v {
            crate::model::FieldValue::Text(t) if k.eq_ignore_ascii_case(name) => {
                Some((k.clone(), t.clone()))
            }
            _ => None,
        }) else {
            continue;
        };
        let Some(parent) = parent_of(parent_object, &local) else {
            continue;
        };
        let Some(b) = binned(&parent) else {
            continue;
        };
        let shadow = state.shadows.get(org).and_then(|s| s.get(&key));
        if given_back(shadow, b, edited, stamp) {
            fields.shift_remove(&field);
            out.push((key, parent, b.back));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merge::ShadowValue;
    use crate::model::FieldValue;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0)
            .single()
            .unwrap_or_default()
    }

    /// Parent deleted at 10, back at 20; our empty write sent at 12 (over the cleared lookup);
    /// the row's last edit is that write's commit (13), its SystemModstamp the undelete's (20).
    #[test]
    fn a_lookup_restored_over_our_empty_write_is_given_back() {
        let b = Binned {
            since: t(10),
            back: t(20),
        };
        let ours = ShadowValue::written(FieldValue::Null, t(12));
        assert!(given_back(Some(&ours), b, t(13), t(20)));
    }

    #[test]
    fn near_misses_are_edits() {
        let b = Binned {
            since: t(10),
            back: t(20),
        };
        let empty = ShadowValue::written(FieldValue::Null, t(12));
        // known empty since before the parent's delete: a user may have set it meanwhile
        let early = ShadowValue::written(FieldValue::Null, t(9));
        assert!(!given_back(Some(&early), b, t(13), t(20)));
        // the org was known to hold another value: the undelete restores nothing there
        let set = ShadowValue::new(FieldValue::Text("x".into()), t(12));
        assert!(!given_back(Some(&set), b, t(13), t(20)));
        // nothing known of the copy
        assert!(!given_back(None, b, t(13), t(20)));
        // last edited after the parent was back: a user may have set it
        assert!(!given_back(Some(&empty), b, t(21), t(22)));
        // no change by the platform after the last edit
        assert!(!given_back(Some(&empty), b, t(13), t(13)));
    }
}
