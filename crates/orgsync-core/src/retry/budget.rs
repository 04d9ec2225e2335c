//! The API budget governor: stop non-urgent work when an org has used a configured share of
//! its daily API allocation (default 80%, read from `Sforce-Limit-Info: api-usage=used/max`
//! or `/limits`), resume as soon as usage is below it again. Urgent work continues up to
//! [`URGENT_SHARE`] so the last headroom is kept for what must not wait.
//!
//! Urgent: deletes and undeletes (a delete that waits leaves data visible that its owner
//! removed) and retries an operator asked for. Everything else — upserts, backfills, polls —
//! is normal and waits; CDC and outbound messages cost no API calls and keep flowing.

use serde::{Deserialize, Serialize};

use crate::model::Op;

/// Urgent work stops here (or at the configured share, if higher).
pub const URGENT_SHARE: f64 = 0.95;

/// How much a piece of work may wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkClass {
    /// Runs until [`URGENT_SHARE`].
    Urgent,
    /// Stops at the configured share.
    Normal,
}

impl WorkClass {
    /// The class of a sync item's operation; `operator_retry` marks a manual retry.
    pub fn of(op: Op, operator_retry: bool) -> WorkClass {
        match op {
            _ if operator_retry => WorkClass::Urgent,
            Op::Delete | Op::Undelete => WorkClass::Urgent,
            Op::Upsert => WorkClass::Normal,
        }
    }
}

/// A change in what the governor lets through, for logs and the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Normal work stopped.
    Paused,
    /// Normal work resumed.
    Resumed,
}

/// Per-org governor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Governor {
    /// Share of the allocation at which normal work stops (0.05..=1.0).
    pub share: f64,
    used: u64,
    max: u64,
}

impl Governor {
    /// A governor for an org's configured `budget_share`.
    pub fn new(share: f64) -> Self {
        Governor {
            share: share.clamp(0.05, 1.0),
            used: 0,
            max: 0,
        }
    }

    fn ratio(&self) -> Option<f64> {
        (self.max > 0).then(|| self.used as f64 / self.max as f64)
    }

    /// Take a new usage reading; says when normal work pauses or resumes.
    pub fn observe(&mut self, used: u64, max: u64) -> Option<Transition> {
        let before = self.admits(WorkClass::Normal);
        self.used = used;
        self.max = max;
        match (before, self.admits(WorkClass::Normal)) {
            (true, false) => Some(Transition::Paused),
            (false, true) => Some(Transition::Resumed),
            _ => None,
        }
    }

    /// Whether work of this class may call the org now (unknown usage admits everything).
    pub fn admits(&self, class: WorkClass) -> bool {
        let Some(r) = self.ratio() else { return true };
        match class {
            WorkClass::Normal => r < self.share,
            WorkClass::Urgent => r < self.share.max(URGENT_SHARE),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_normal_work_at_the_share_and_resumes_below() {
        let mut g = Governor::new(0.8);
        assert!(g.admits(WorkClass::Normal));
        assert_eq!(g.observe(7_999, 10_000), None);
        assert_eq!(g.observe(8_000, 10_000), Some(Transition::Paused));
        assert!(!g.admits(WorkClass::Normal));
        assert!(g.admits(WorkClass::Urgent));
        assert_eq!(g.observe(9_500, 10_000), None);
        assert!(!g.admits(WorkClass::Urgent));
        assert_eq!(g.observe(7_000, 10_000), Some(Transition::Resumed));
        assert!(g.admits(WorkClass::Normal));
    }

    #[test]
    fn urgent_means_deletes_undeletes_and_manual_retries() {
        assert_eq!(WorkClass::of(Op::Delete, false), WorkClass::Urgent);
        assert_eq!(WorkClass::of(Op::Undelete, false), WorkClass::Urgent);
        assert_eq!(WorkClass::of(Op::Upsert, false), WorkClass::Normal);
        assert_eq!(WorkClass::of(Op::Upsert, true), WorkClass::Urgent);
    }
}
