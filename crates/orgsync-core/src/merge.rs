//! Three-way field merge of an incoming change against the record's state.
//!
//! Per record (global id) the ledger keeps, by *source-side field name*:
//! - the **agreed** value of each field, with the commit time and org of the write that set it
//!   (a per-field last-writer-wins register);
//! - per org, the **shadow**: the value that org holds as far as we know, and since when (the
//!   commit time of its own edit, or the time our write to it was *sent* — a lower bound of its
//!   commit time, so the echo of that write, committed later, is recognised as unchanged, while
//!   an edit committed before the write is known to have been overwritten by it).
//!
//! A field whose incoming value equals the org's shadow did not change there and is ignored. A
//! changed field made on top of the agreed value passes (unless older than it); a changed field
//! made without having seen the agreed value is a **conflict** and goes to the policy. Under
//! last-writer-wins the order is (commit time, then lower priority number), a total order, so
//! every org ends on the same value whatever order the engine processes concurrent changes
//! in, and an older value never overwrites a newer one.
//!
//! The origin of a change sometimes has to be written too: when its value lost, or when our
//! write of another value landed after its edit and so overwrote it. Those fields come back in
//! [`MergeResult::rewrite_origin`].

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{ConflictPolicy, OrgName};
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
                // a write sent in the same millisecond is taken to have landed after (as in
                // `merge`)
                Some(s) if s.at >= commit_ts => continue,
                _ => {
                    shadow.insert(
                        key.clone(),
                        ShadowValue {
                            value: v.clone(),
                            at: commit_ts,
                        },
                    );
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
            shadow.insert(
                key,
                ShadowValue {
                    value: v.clone(),
                    at,
                },
            );
        }
    }
}

/// Why a conflict was resolved the way it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Newer commit time won.
    NewerWins,
    /// Same commit time; the org with the lower priority number won.
    PriorityTieBreak,
    /// `source_wins:<org>` named the winner.
    SourceWins,
    /// Manual policy: the agreed value stays, a person decides.
    Manual,
}

/// A field changed on two orgs without either seeing the other's change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    /// Source-side field name (lowercased).
    pub field: String,
    /// The incoming change's value.
    pub incoming: Versioned,
    /// The agreed value it competed with.
    pub current: Versioned,
    /// The winning org; None under the manual policy.
    pub winner: Option<OrgName>,
    /// Why.
    pub resolution: Resolution,
}

/// An incoming change's fields (source-side names) with their commit time and org.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    /// The org where the edit was made.
    pub org: &'a OrgName,
    /// Its fields (only changed ones where known).
    pub fields: &'a Fields,
    /// Commit time.
    pub ts: DateTime<Utc>,
    /// The fields are the record's state as read (a poll, a re-read, a created record, a
    /// pushed record), not a list of edits: a value equal to the org's shadow is then no
    /// change, and one equal to the agreed one no new version of it, only news that this org
    /// holds it. Otherwise (a change event's changed fields) every field changed at `ts`. (A
    /// row's SystemModstamp says when the row last changed, not when each field did: stamping
    /// every field with it made old values look new.)
    pub snapshot: bool,
}

/// What to do with an incoming change.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MergeResult {
    /// The state after the merge (shadows of other orgs change only via
    /// [`RecordState::record_written`] once writes land).
    pub state: RecordState,
    /// Fields that won: write them to the routed targets.
    pub accepted: Fields,
    /// Fields the origin org must be written back with (it lost, or was overwritten).
    pub rewrite_origin: Fields,
    /// Fields dropped because an equal-or-newer value is already agreed (late or replayed).
    pub stale: Vec<String>,
    /// Conflicts found, to record.
    pub conflicts: Vec<Conflict>,
}

/// Merge `incoming` into `state`. `priority` gives each org's rank (lower wins ties).
pub fn merge(
    state: &RecordState,
    incoming: Incoming<'_>,
    policy: &ConflictPolicy,
    priority: &dyn Fn(&OrgName) -> u32,
) -> MergeResult {
    let mut out = MergeResult {
        state: state.clone(),
        ..MergeResult::default()
    };
    let rank = |org: &OrgName, ts: DateTime<Utc>| (ts, Reverse(priority(org)));
    for (name, value) in incoming.fields {
        let key = name.to_ascii_lowercase();
        let shadow = state.shadows.get(incoming.org).and_then(|s| s.get(&key));
        if incoming.snapshot
            && shadow.is_some_and(|s| same_value(&s.value, value) && s.at < incoming.ts)
        {
            // unchanged in that org since we last knew it (or our own echo); it still held it
            // then, which a completion recorded later, as of an earlier send, must not undo.
            // (A change in the very millisecond our write was sent is not this: that write is
            // taken to have landed after it, below, and the change is still a version. Nor is
            // an edit: it says the field changed, so our write of that value had not landed
            // yet, whatever its completion said.)
            if let Some(s) = out
                .state
                .shadows
                .get_mut(incoming.org)
                .and_then(|s| s.get_mut(&key))
            {
                s.at = incoming.ts;
            }
            continue;
        }
        // the origin holds our last write instead of `value` if that write landed after its
        // edit; a write sent in the same millisecond as the edit is assumed to have landed after
        // it (the safe side: at worst one extra write back to the origin)
        let overwritten = shadow.filter(|s| s.at >= incoming.ts).map(|s| &s.value);
        let mine = Versioned {
            value: value.clone(),
            ts: incoming.ts,
            org: incoming.org.clone(),
        };
        let Some(agreed) = state.agreed.get(&key) else {
            if matches!(value, FieldValue::Null) {
                // never recorded is null: nothing changed, the org holds what everyone holds
                set_shadow(
                    &mut out,
                    incoming.org,
                    &key,
                    value,
                    incoming.ts,
                    overwritten,
                );
            } else {
                accept(&mut out, &key, name, mine, overwritten);
            }
            continue;
        };
        if same_value(&agreed.value, value) {
            // a real edit to the agreed value: keep the newest version, so that an older edit
            // elsewhere loses to it in every processing order. A snapshot showing the agreed
            // value is no edit: the org merely holds it (our write, or a value it always had).
            if !incoming.snapshot && rank(incoming.org, incoming.ts) > rank(&agreed.org, agreed.ts)
            {
                out.state.agreed.insert(key.clone(), mine.clone());
            }
            set_shadow(
                &mut out,
                incoming.org,
                &key,
                value,
                incoming.ts,
                overwritten,
            );
            if overwritten.is_some_and(|o| !same_value(o, value)) {
                out.rewrite_origin
                    .insert(name.clone(), agreed.value.clone());
            }
            continue;
        }
        let based_on_agreed = agreed.org == *incoming.org
            || shadow.is_some_and(|s| same_value(&s.value, &agreed.value) && s.at < incoming.ts);
        let incoming_wins = if based_on_agreed {
            let wins = rank(incoming.org, incoming.ts) >= rank(&agreed.org, agreed.ts);
            if !wins {
                out.stale.push(key.clone());
            }
            wins
        } else {
            let (wins, winner, resolution) = match policy {
                ConflictPolicy::Manual => (false, None, Resolution::Manual),
                ConflictPolicy::SourceWins(o) if (o == incoming.org) != (o == &agreed.org) => {
                    let w = o == incoming.org;
                    (w, Some(o.clone()), Resolution::SourceWins)
                }
                _ => {
                    let w = rank(incoming.org, incoming.ts) > rank(&agreed.org, agreed.ts);
                    let res = if incoming.ts == agreed.ts {
                        Resolution::PriorityTieBreak
                    } else {
                        Resolution::NewerWins
                    };
                    (
                        w,
                        Some(if w {
                            incoming.org.clone()
                        } else {
                            agreed.org.clone()
                        }),
                        res,
                    )
                }
            };
            out.conflicts.push(Conflict {
                field: key.clone(),
                incoming: mine.clone(),
                current: agreed.clone(),
                winner,
                resolution,
            });
            wins
        };
        if incoming_wins {
            accept(&mut out, &key, name, mine, overwritten);
        } else {
            let manual = matches!(policy, ConflictPolicy::Manual) && !based_on_agreed;
            // what the origin holds now: our later write, or its own value
            let holds = overwritten.unwrap_or(value);
            set_shadow(
                &mut out,
                incoming.org,
                &key,
                value,
                incoming.ts,
                overwritten,
            );
            if !manual && !same_value(holds, &agreed.value) {
                out.rewrite_origin
                    .insert(name.clone(), agreed.value.clone());
            }
        }
    }
    out
}

fn set_shadow(
    out: &mut MergeResult,
    org: &OrgName,
    key: &str,
    value: &FieldValue,
    ts: DateTime<Utc>,
    overwritten: Option<&FieldValue>,
) {
    // If our write landed later, the org still holds it; keep that shadow.
    if overwritten.is_none() {
        out.state.shadows.entry(org.clone()).or_default().insert(
            key.to_string(),
            ShadowValue {
                value: value.clone(),
                at: ts,
            },
        );
    }
}

fn accept(
    out: &mut MergeResult,
    key: &str,
    name: &str,
    mine: Versioned,
    overwritten: Option<&FieldValue>,
) {
    set_shadow(out, &mine.org, key, &mine.value, mine.ts, overwritten);
    if overwritten.is_some_and(|o| !same_value(o, &mine.value)) {
        out.rewrite_origin
            .insert(name.to_string(), mine.value.clone());
    }
    out.accepted.insert(name.to_string(), mine.value.clone());
    out.state.agreed.insert(key.to_string(), mine);
}
