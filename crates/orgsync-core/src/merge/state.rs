//! The merge state of one record: agreed values and life, and per org what it holds (shadow
//! values, deleted flag), each fact with the time it is known as of — so that facts learned
//! out of order (a completion recorded after a later capture) never replace newer ones.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::OrgName;
use crate::echo::same_value;
use crate::life::Life;
use crate::model::{FieldValue, Fields};

/// A value with when and where it was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versioned {
    /// The value.
    pub value: FieldValue,
    /// Commit time of the edit that produced it.
    pub ts: DateTime<Utc>,
    /// The org where that edit was made.
    pub org: OrgName,
}

/// What an org holds for one field, as far as we know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShadowValue {
    /// The value.
    pub value: FieldValue,
    /// As of when it is known to hold it: the commit time of its own edit, or when our write
    /// to it was sent, moved forward when a later change or read shows the same value.
    pub at: DateTime<Utc>,
    /// The value the org held before this one replaced it (our write, or its own edit), when
    /// known. Why: a read taken before that replacement but processed after it (a delayed
    /// push, a poll read just before our write landed) shows the old value; compared with
    /// the new shadow alone it looked like an edit made at the read's time, and an untouched
    /// field of a pushed record beat a newer edit elsewhere (chaos seed 14).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<FieldValue>,
    /// The value is our write's (as of when it was sent), not what a read or a change event
    /// showed. Why: only our write can have landed after an edit dated in the same
    /// millisecond and overwritten it (`at` is the send time, a lower bound of its commit).
    /// A read's shadow dated like a later read that shows another value is no such write: the
    /// platform changed the field between them without moving its edit date (a lookup
    /// restored with its parent), and the later read is what the org holds — taken for an
    /// overwrite, the value was written back to the org that already held it (chaos seed 48).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ours: bool,
}

impl ShadowValue {
    /// What an org holds since `at`, with no earlier value known.
    pub fn new(value: FieldValue, at: DateTime<Utc>) -> Self {
        ShadowValue {
            value,
            at,
            before: None,
            ours: false,
        }
    }

    /// What our write sent at `at` made the org hold.
    pub fn written(value: FieldValue, at: DateTime<Utc>) -> Self {
        ShadowValue {
            ours: true,
            ..ShadowValue::new(value, at)
        }
    }

    /// Whether the org held this value, rather than a change's `value` dated `ts`, after
    /// that change: the shadow is newer, or our write sent in the same millisecond (taken
    /// to have landed after it — the safe side: at worst one extra write back).
    pub fn overwrote(&self, ts: DateTime<Utc>) -> bool {
        self.at > ts || (self.at == ts && self.ours)
    }

    /// `self` becoming what the org holds in place of `old`: remembers `old`'s value when it
    /// differs (else what `old` remembered).
    pub fn replacing(mut self, old: Option<&ShadowValue>) -> Self {
        self.before = match old {
            Some(o) if !same_value(&o.value, &self.value) => Some(o.value.clone()),
            Some(o) => o.before.clone(),
            None => None,
        };
        self
    }

    /// A read older than this shadow (`read_at` < `at`) showing `value` shows what the org
    /// held before it: no news. Not a read dated as the shadow itself: its values may be the
    /// platform's since (a lookup restored with its parent moves no edit date).
    pub fn shows_before(&self, value: &FieldValue, read_at: DateTime<Utc>) -> bool {
        self.at > read_at && self.before.as_ref().is_some_and(|b| same_value(b, value))
    }
}

/// The merge state of one record; field keys are lowercased source-side names.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RecordState {
    /// The agreed value per field.
    pub agreed: BTreeMap<String, Versioned>,
    /// The agreed life (live or deleted) and the event that set it; None: never recorded,
    /// which counts as live (see [`crate::life`]).
    #[serde(default)]
    pub life: Option<Life>,
    /// Per org, what it holds.
    pub shadows: BTreeMap<OrgName, BTreeMap<String, ShadowValue>>,
    /// Orgs where the record is deleted (in the recycle bin or gone).
    #[serde(default)]
    pub deleted: BTreeSet<OrgName>,
    /// Per org, the time of the fact its `deleted` flag states (the commit time of a captured
    /// delete, undelete or edit there, or when our write to it was sent): a fact older than
    /// the recorded one does not change the flag (see [`RecordState::set_deleted_at`]).
    #[serde(default)]
    pub deleted_at: BTreeMap<OrgName, DateTime<Utc>>,
}

impl RecordState {
    /// Whether the agreed life is deleted.
    pub fn is_deleted(&self) -> bool {
        crate::life::is_deleted(self.life.as_ref())
    }

    /// The agreed value of a field (merge key); a field never recorded is null.
    pub fn agreed_value(&self, key: &str) -> &FieldValue {
        self.agreed.get(key).map_or(&FieldValue::Null, |v| &v.value)
    }

    /// Our own write to `org` was seen committed at `commit_ts` (a CDC event carrying our
    /// client tag, with the values it set): see [`RecordState::holds`].
    pub fn confirm_written(
        &mut self,
        org: &OrgName,
        fields: &Fields,
        commit_ts: DateTime<Utc>,
    ) -> Vec<String> {
        self.holds(org, fields, commit_ts)
    }

    /// `org` was seen holding `fields` at `commit_ts` without any of them being an edit made
    /// there: our own write landed (its change event), or a copy was restored from the
    /// recycle bin (an undelete brings back the values it had). That is what the org holds
    /// since then, unless a newer fact is known. A shadow already holding the value moves its
    /// time forward (correcting an engine clock that runs behind the org's; never back: an
    /// echo processed late must not take the time of a newer write back); a different, older
    /// shadow value is replaced: a user's edit committed after our write was sent but before
    /// it landed was overwritten by it, a write whose completion was lost is known at last,
    /// a restored copy holds its old values again. Returns the fields now known to differ
    /// from the agreed values (the org must be brought up to date).
    pub fn holds(
        &mut self,
        org: &OrgName,
        fields: &Fields,
        commit_ts: DateTime<Utc>,
    ) -> Vec<String> {
        let mut behind = Vec::new();
        for (k, v) in fields {
            let key = k.to_ascii_lowercase();
            let shadow = self.shadows.entry(org.clone()).or_default();
            match shadow.get_mut(&key) {
                Some(s) if same_value(&s.value, v) => s.at = s.at.max(commit_ts),
                // a newer fact, or our write sent in the same millisecond (as in `merge`)
                Some(s) if s.overwrote(commit_ts) => continue,
                _ => {
                    let next = ShadowValue::new(v.clone(), commit_ts).replacing(shadow.get(&key));
                    shadow.insert(key.clone(), next);
                }
            }
            if !same_value(self.agreed_value(&key), v) {
                behind.push(key);
            }
        }
        behind
    }

    /// Record that the record is now deleted (or restored) in `org`, whatever was known
    /// before; when the time of the fact is known, [`RecordState::set_deleted_at`] is the one
    /// to call.
    pub fn set_deleted(&mut self, org: &OrgName, deleted: bool) {
        if deleted {
            self.deleted.insert(org.clone());
        } else {
            self.deleted.remove(org);
        }
    }

    /// Record that the record is deleted (or live) in `org` as of `at`, unless a newer fact
    /// is recorded (ties: this one). Returns whether the flag was set.
    ///
    /// Why: a completion is recorded after the write landed, possibly after a capture saw what
    /// happened there next (a user deleted the copy we had just created, or restored the one
    /// we had just deleted). Stated as of when the write was sent, the completion no longer
    /// overrides that newer fact, the same way [`RecordState::record_written`] keeps a newer
    /// shadow value.
    pub fn set_deleted_at(&mut self, org: &OrgName, deleted: bool, at: DateTime<Utc>) -> bool {
        if self.deleted_at.get(org).is_some_and(|t| *t > at) {
            return false;
        }
        self.deleted_at.insert(org.clone(), at);
        self.set_deleted(org, deleted);
        true
    }

    /// The life operation `org` needs to match the agreed life, if its copy disagrees.
    pub fn life_to_fix(&self, org: &OrgName) -> Option<crate::model::Op> {
        match (self.is_deleted(), self.deleted.contains(org)) {
            (true, false) => Some(crate::model::Op::Delete),
            (false, true) => Some(crate::model::Op::Undelete),
            _ => None,
        }
    }

    /// Record that `org` now holds `fields` since `at` (call when a write to it succeeded,
    /// with `at` = when the write was sent). A field whose shadow is newer than `at` keeps it
    /// (ties: the write): an edit there captured before this completion was recorded
    /// committed after the write was sent, so it is what the org holds — the same merge the
    /// ledger applies to its record rows.
    pub fn record_written(&mut self, org: &OrgName, fields: &Fields, at: DateTime<Utc>) {
        let shadow = self.shadows.entry(org.clone()).or_default();
        for (k, v) in fields {
            let key = k.to_ascii_lowercase();
            if shadow.get(&key).is_some_and(|s| s.at > at) {
                continue;
            }
            let next = ShadowValue::written(v.clone(), at).replacing(shadow.get(&key));
            shadow.insert(key, next);
        }
    }
}
