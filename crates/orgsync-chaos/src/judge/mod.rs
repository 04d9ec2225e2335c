//! The verdict on a run: pure functions over a [`World`], each returning the offending records
//! as [`Finding`]s, so every count the suite prints can be traced to records and unit-tested
//! on hand-made change logs (`tests.rs`): a bug in the instrument must not hide one in the
//! product.
//!
//! - state at the end ([`state`]): missing, duplicates, diff, orphans;
//! - history ([`history`]): resurrected, lost updates (judged on the change logs' commit times
//!   and the orgs' priorities, as orgsync's last-writer-wins promises), echo writes.

pub mod history;
pub mod index;
mod races;
pub mod state;
#[cfg(test)]
mod tests;

use std::fmt;

pub use index::{Index, Key};

use crate::model::World;

/// Which check a finding fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Check {
    /// Live in some org, absent or deleted in another.
    Missing,
    /// Two live rows with one global id in one org.
    Duplicate,
    /// Synced values differ across orgs.
    Diff,
    /// A lookup empty or dangling in one org while the parent is live there and the lookup
    /// points at it elsewhere.
    Orphan,
    /// The last user life event was a delete, yet the record is live somewhere.
    Resurrected,
    /// A field's final value is not the newest user edit of it.
    LostUpdate,
    /// A field's final value is an older user edit than the newest, made in an org whose
    /// changes orgsync learns as snapshots and changed again there after the newest edit:
    /// the snapshot dates the older value at that later change, and nothing orgsync can read
    /// says otherwise (see [`history::lost_updates`]). Reported, not a failure: the ordering
    /// promise under snapshot capture is the row's last modification.
    SnapshotRace,
    /// An orgsync write that changed no synced field.
    EchoWrite,
}

impl Check {
    /// Every check, in report order.
    pub const ALL: [Check; 8] = [
        Check::Missing,
        Check::Duplicate,
        Check::Diff,
        Check::Orphan,
        Check::Resurrected,
        Check::LostUpdate,
        Check::SnapshotRace,
        Check::EchoWrite,
    ];

    /// The name in the summary line.
    pub fn name(self) -> &'static str {
        match self {
            Check::Missing => "missing",
            Check::Duplicate => "duplicates",
            Check::Diff => "diff",
            Check::Orphan => "orphans",
            Check::Resurrected => "resurrected",
            Check::LostUpdate => "lost_updates",
            Check::SnapshotRace => "snapshot_races",
            Check::EchoWrite => "echo_writes",
        }
    }
}

/// One offending record (or write), with what is wrong in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The check.
    pub check: Check,
    /// Object API name.
    pub object: String,
    /// Global id.
    pub gid: String,
    /// What is wrong, naming orgs, fields and values.
    pub note: String,
}

impl Finding {
    /// A finding of `check` on the record `key`.
    pub fn new(check: Check, key: &Key, note: String) -> Self {
        Finding {
            check,
            object: key.0.clone(),
            gid: key.1.clone(),
            note,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}: {}",
            self.check.name(),
            self.object,
            self.gid,
            self.note
        )
    }
}

/// Every finding of a world, plus the number of orgsync writes (to judge echo writes as a
/// share).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// All findings, grouped by check in [`Check::ALL`] order.
    pub findings: Vec<Finding>,
    /// Change-log entries written by orgsync, in every org.
    pub writes: u64,
}

impl Verdict {
    /// Whether a check's findings fail a run (every one but [`Check::SnapshotRace`]).
    pub fn fails(check: Check) -> bool {
        check != Check::SnapshotRace
    }

    /// How many findings of `check`.
    pub fn count(&self, check: Check) -> usize {
        self.findings.iter().filter(|f| f.check == check).count()
    }

    /// The orgs hold the same records with the same values (missing, duplicates, diff and
    /// orphans all zero).
    pub fn converged(&self) -> bool {
        [Check::Missing, Check::Duplicate, Check::Diff, Check::Orphan]
            .iter()
            .all(|c| self.count(*c) == 0)
    }
}

/// Judge a world.
pub fn judge(world: &World) -> Verdict {
    let ix = Index::new(world);
    let mut findings = Vec::new();
    findings.extend(state::missing(&ix));
    findings.extend(state::duplicates(&ix));
    findings.extend(state::diff(&ix));
    findings.extend(state::orphans(&ix));
    findings.extend(history::resurrected(&ix));
    findings.extend(history::lost_updates(&ix));
    let (echoes, writes) = history::echo_writes(&ix);
    findings.extend(echoes);
    findings.sort_by_key(|f| f.check);
    Verdict { findings, writes }
}
