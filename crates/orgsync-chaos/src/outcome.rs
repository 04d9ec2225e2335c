//! What a run reports: the one summary line (every count, zero when orgsync did its job) and
//! the details that explain each nonzero count.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::Value;

use crate::judge::{Check, Verdict};
use crate::plan::Mode;

/// The share of orgsync's writes that may be echo writes (writes that changed no synced
/// field) in a passing run: issue 9's bound. Every one is still listed with its record.
pub const ECHO_SHARE: f64 = 0.01;

/// The result of one seed.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The seed.
    pub seed: u64,
    /// Its capture mode.
    pub mode: Mode,
    /// User operations committed.
    pub edits: u64,
    /// SIGKILLs of orgsync.
    pub kills: u32,
    /// The judge's findings.
    pub verdict: Verdict,
    /// Items the ledger holds as Failed.
    pub failed_items: u64,
    /// Their listing from `orgsync status --json`.
    pub failed_list: Vec<Value>,
    /// The summary line.
    pub line: String,
    /// Everything else worth reading (plan, edits, settle, pushes, exits, findings, records).
    pub details: String,
    /// The run's directory, when kept.
    pub dir: Option<PathBuf>,
}

impl Outcome {
    /// Every failing count is zero, and echo writes are at most [`ECHO_SHARE`] of orgsync's
    /// writes (snapshot races are reported, not failures).
    pub fn passed(&self) -> bool {
        let failing = self
            .verdict
            .findings
            .iter()
            .any(|f| Verdict::fails(f.check) && f.check != Check::EchoWrite);
        let echoes = self.verdict.count(Check::EchoWrite) as f64;
        !failing && self.failed_items == 0 && echoes <= ECHO_SHARE * self.verdict.writes as f64
    }
}

/// `seed=7 mode=cdc edits=312 kills=4 converged=yes missing=0 … echo_writes=0 writes=1234`.
pub fn line(seed: u64, mode: Mode, edits: u64, kills: u32, v: &Verdict, failed: u64) -> String {
    let mut s = format!(
        "seed={seed} mode={mode} edits={edits} kills={kills} converged={}",
        if v.converged() { "yes" } else { "no" }
    );
    for c in Check::ALL {
        if c == Check::EchoWrite {
            let _ = write!(s, " failed_items={failed}");
        }
        let _ = write!(s, " {}={}", c.name(), v.count(c));
    }
    let _ = write!(s, " writes={}", v.writes);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::Finding;

    #[test]
    fn a_run_passes_with_races_and_at_most_one_percent_of_echo_writes() {
        let finding = |check| Finding {
            check,
            object: "Account".into(),
            gid: "g".into(),
            note: String::new(),
        };
        let outcome = |findings: Vec<Finding>, writes, failed_items| Outcome {
            seed: 1,
            mode: Mode::Cdc,
            edits: 0,
            kills: 0,
            verdict: Verdict { findings, writes },
            failed_items,
            failed_list: vec![],
            line: String::new(),
            details: String::new(),
            dir: None,
        };
        assert!(outcome(vec![], 0, 0).passed());
        assert!(outcome(vec![finding(Check::SnapshotRace)], 10, 0).passed());
        assert!(outcome(vec![finding(Check::EchoWrite)], 100, 0).passed());
        assert!(!outcome(vec![finding(Check::EchoWrite)], 99, 0).passed());
        assert!(!outcome(vec![finding(Check::LostUpdate)], 1000, 0).passed());
        assert!(!outcome(vec![], 1000, 1).passed());
    }

    #[test]
    fn the_line_names_every_count_in_order() {
        let mut v = Verdict {
            findings: vec![],
            writes: 1234,
        };
        assert_eq!(
            line(7, Mode::Cdc, 312, 4, &v, 0),
            "seed=7 mode=cdc edits=312 kills=4 converged=yes missing=0 duplicates=0 diff=0 orphans=0 resurrected=0 lost_updates=0 snapshot_races=0 failed_items=0 echo_writes=0 writes=1234"
        );
        v.findings.push(Finding {
            check: Check::Orphan,
            object: "Work_Log__c".into(),
            gid: "g".into(),
            note: String::new(),
        });
        let l = line(7, Mode::Cdc, 312, 4, &v, 2);
        assert!(
            l.contains("converged=no") && l.contains("orphans=1") && l.contains("failed_items=2"),
            "{l}"
        );
    }
}
