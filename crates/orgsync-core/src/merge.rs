//! Three-way field merge of an incoming change against the record's state.
//!
//! Per record (global id) the ledger keeps, by *source-side field name*:
//! - the **agreed** value of each field, with the commit time and org of the write that set it
//!   (a per-field last-writer-wins register);
//! - per org, the **shadow**: the value that org holds as far as we know, and as of when (the
//!   commit time of its own edit, or the time our write to it was *sent* — a lower bound of its
//!   commit time, so the echo of that write, committed later, is recognised as unchanged, while
//!   an edit committed before the write is known to have been overwritten by it — moved
//!   forward by later reads and by our own change events). A fact never replaces a newer one
//!   ([`RecordState::record_written`], [`RecordState::holds`]): completions are recorded after
//!   captures that may have seen what happened next.
//!
//! In a snapshot (a poll, a re-read) a field whose value equals the org's shadow did not
//! change there and is ignored; a change event's field did change, whatever the shadow says. A
//! changed field made on top of the agreed value passes (unless older than it); a changed field
//! made without having seen the agreed value is a **conflict** and goes to the policy. Under
//! last-writer-wins the order is (commit time, then lower priority number), a total order, so
//! every org ends on the same value whatever order the engine processes concurrent changes
//! in, and an older value never overwrites a newer one.
//!
//! The origin of a change sometimes has to be written too: when its value lost, or when our
//! write of another value landed after its edit and so overwrote it. Those fields come back in
//! [`MergeResult::rewrite_origin`].

mod state;

use std::cmp::Reverse;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use state::{RecordState, ShadowValue, Versioned};

use crate::config::{ConflictPolicy, OrgName};
use crate::echo::same_value;
use crate::model::{FieldValue, Fields};

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
        if incoming.snapshot && shadow.is_some_and(|s| s.shows_before(value, incoming.ts)) {
            // a read from before the org's current value replaced this one: no news
            continue;
        }
        if incoming.snapshot && shadow.is_some_and(|s| same_value(&s.value, value)) {
            // unchanged in that org since we last knew it (or our own echo); it still held it
            // then, which a completion recorded later, as of an earlier send, must not undo.
            // A read dated before the shadow (a read's values are dated by their last edit,
            // which may precede what we learnt since, e.g. a restore) says the same: no edit.
            // (Not so for a change event's field: it says the field changed then, so our write
            // of that value had not landed yet, whatever its completion said.)
            if let Some(s) = out
                .state
                .shadows
                .get_mut(incoming.org)
                .and_then(|s| s.get_mut(&key))
                .filter(|s| s.at <= incoming.ts)
            {
                s.at = incoming.ts;
            }
            continue;
        }
        // the origin holds another value instead of `value`: a newer fact, or our write sent
        // in the same millisecond as the edit, assumed to have landed after it (the safe side:
        // at worst one extra write back to the origin; see `ShadowValue::overwrote`)
        let overwritten = shadow
            .filter(|s| s.overwrote(incoming.ts))
            .map(|s| &s.value);
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
            // value is an edit only where that org was known to hold another value before it
            // (a user set it to what the others were about to receive — an older concurrent
            // edit captured later must lose to it); with no such knowledge the org merely
            // holds it (a value it always had, a first read).
            let changed_there = !incoming.snapshot
                || shadow.is_some_and(|s| !same_value(&s.value, value) && s.at < incoming.ts);
            if changed_there && rank(incoming.org, incoming.ts) > rank(&agreed.org, agreed.ts) {
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
        let shadows = out.state.shadows.entry(org.clone()).or_default();
        let next = ShadowValue::new(value.clone(), ts).replacing(shadows.get(key));
        shadows.insert(key.to_string(), next);
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
