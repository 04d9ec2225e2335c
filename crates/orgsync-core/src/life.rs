//! A record's life — live or deleted — as part of its agreed state, versioned like a field.
//!
//! Why: deletes race edits and undeletes across orgs. Without one rule for "is this record
//! alive?", an edit made on one org just after a delete on another was written as an upsert to
//! the org where the record was already gone, re-creating a copy there, which the next read took
//! for an undelete and spread everywhere. The rule here is the same on every org and in every
//! processing order:
//!
//! - Life is a last-writer-wins register over creates, deletes and undeletes, ordered by commit
//!   time; on equal times a delete beats an undelete (and then the lower priority number wins).
//! - Field edits never change life. So a delete stands against older *and* concurrent edits (an
//!   edit made on an org that had not yet received the delete is merged into the agreed fields
//!   but not written anywhere while the record is deleted); only a later undelete revives it.
//! - An event that loses (a delete older than the last undelete, an undelete older than the last
//!   delete) sends its own org back to the agreed life.

use std::cmp::Reverse;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::OrgName;

/// The agreed life of a record: the create, delete or undelete that set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Life {
    /// Deleted (in the recycle bin, or gone) rather than live.
    pub deleted: bool,
    /// Commit time of the event.
    pub ts: DateTime<Utc>,
    /// The org where it happened.
    pub org: OrgName,
}

/// What became of one life event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifeOutcome {
    /// It set the agreed life (which changed from live to deleted or back): tell the others.
    Changed,
    /// It agrees with the agreed life (a repeat, or the same verdict reached elsewhere).
    Agrees,
    /// A newer event decided the other way: its org must be brought back to the agreed life.
    Lost,
}

fn rank(l: &Life, priority: &dyn Fn(&OrgName) -> u32) -> (DateTime<Utc>, bool, Reverse<u32>) {
    (l.ts, l.deleted, Reverse(priority(&l.org)))
}

/// Merge the event `incoming` into the agreed life `current` (None: never recorded, which
/// counts as live since forever). Returns the new agreed life and what the event did.
pub fn merge_life(
    current: Option<&Life>,
    incoming: Life,
    priority: &dyn Fn(&OrgName) -> u32,
) -> (Life, LifeOutcome) {
    let Some(cur) = current else {
        let outcome = if incoming.deleted {
            LifeOutcome::Changed
        } else {
            LifeOutcome::Agrees
        };
        return (incoming, outcome);
    };
    if rank(&incoming, priority) > rank(cur, priority) {
        let outcome = if incoming.deleted == cur.deleted {
            LifeOutcome::Agrees
        } else {
            LifeOutcome::Changed
        };
        (incoming, outcome)
    } else if incoming.deleted == cur.deleted {
        (cur.clone(), LifeOutcome::Agrees)
    } else {
        (cur.clone(), LifeOutcome::Lost)
    }
}

/// Whether a record with this agreed life is deleted (never recorded: live).
pub fn is_deleted(life: Option<&Life>) -> bool {
    life.is_some_and(|l| l.deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp_millis(1_700_000_000_000 + ms).unwrap_or_default()
    }
    fn ev(org: &str, deleted: bool, ms: i64) -> Life {
        Life {
            deleted,
            ts: at(ms),
            org: OrgName::from(org),
        }
    }
    fn prio(o: &OrgName) -> u32 {
        u32::from(o.as_str() != "hub")
    }

    #[test]
    fn a_delete_stands_until_a_later_undelete() {
        let (l, o) = merge_life(None, ev("v1", true, 10), &prio);
        assert!(l.deleted && o == LifeOutcome::Changed);
        // an undelete older than the delete loses, its org is deleted again
        let (l, o) = merge_life(Some(&l), ev("v2", false, 5), &prio);
        assert!(l.deleted && o == LifeOutcome::Lost);
        // a later undelete revives
        let (l, o) = merge_life(Some(&l), ev("v2", false, 11), &prio);
        assert!(!l.deleted && o == LifeOutcome::Changed);
        // and an older delete processed late loses to it
        let (l, o) = merge_life(Some(&l), ev("hub", true, 9), &prio);
        assert!(!l.deleted && o == LifeOutcome::Lost);
    }

    #[test]
    fn on_equal_times_the_delete_wins() {
        let live = ev("hub", false, 10);
        let (l, o) = merge_life(Some(&live), ev("v1", true, 10), &prio);
        assert!(l.deleted && o == LifeOutcome::Changed);
        let (l, o) = merge_life(Some(&l), ev("hub", false, 10), &prio);
        assert!(l.deleted && o == LifeOutcome::Lost);
    }

    #[test]
    fn the_outcome_is_the_same_in_every_processing_order() {
        let events = [
            ev("hub", true, 3),
            ev("v1", false, 7),
            ev("v2", true, 7),
            ev("v1", true, 2),
            ev("hub", false, 9),
        ];
        let mut orders = vec![
            vec![0, 1, 2, 3, 4],
            vec![4, 3, 2, 1, 0],
            vec![2, 0, 4, 1, 3],
        ];
        orders.push(vec![1, 4, 0, 3, 2]);
        let results: Vec<Life> = orders
            .iter()
            .map(|o| {
                o.iter().fold(None::<Life>, |cur, i| {
                    Some(merge_life(cur.as_ref(), events[*i].clone(), &prio).0)
                })
            })
            .map(|l| l.unwrap_or_else(|| ev("x", false, 0)))
            .collect();
        assert!(results.iter().all(|l| *l == results[0]));
        assert!(!results[0].deleted);
    }
}
