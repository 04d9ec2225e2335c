//! Waiting for the end: after the edits stop and the faults are lifted, the last orgsync runs
//! until it is idle — nothing queued or in flight in its ledger (`orgsync status --json`), no
//! outbound notification queued in any org, no push in the peer's outbox — and no org's change
//! log has moved for a quiet period of two capture intervals (so the backup polls ran and found
//! nothing left to do). Bounded: after `limit` the run is judged as it stands.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::faults::Faults;
use crate::orgs::ChaosOrg;
use crate::push::PushStats;
use crate::service::{Service, item_counts};

/// How the wait ended.
#[derive(Debug, Clone, Default)]
pub struct Settled {
    /// Idle and quiet (false: the limit came first).
    pub idle: bool,
    /// How long it took.
    pub waited: Duration,
    /// The ledger's items by state at the end.
    pub items: BTreeMap<String, u64>,
    /// What was still busy when the limit came.
    pub busy: String,
}

/// What to watch.
#[derive(Debug)]
pub struct Watch<'a> {
    /// The orgs (their change logs).
    pub orgs: &'a [ChaosOrg],
    /// The service (its status).
    pub service: &'a mut Service,
    /// Outbound queues.
    pub faults: &'a Faults,
    /// The peer's outbox, if any.
    pub pushes: Option<&'a PushStats>,
    /// Quiet period required.
    pub quiet: Duration,
    /// Upper bound of the wait.
    pub limit: Duration,
}

/// Wait as described in the module docs.
pub async fn settle(w: Watch<'_>) -> Settled {
    let start = Instant::now();
    let mut last_fp = None;
    let mut quiet_since: Option<Instant> = None;
    let mut out = Settled::default();
    loop {
        if w.service.exited() {
            // it must keep running to settle; an exit is reported with the run
            let _ = w.service.start();
        }
        out.items = match w.service.status().await {
            Ok(s) => item_counts(&s),
            Err(e) => BTreeMap::from([(format!("status failed: {e}"), 1)]),
        };
        let n = |k: &str| out.items.get(k).copied().unwrap_or(0);
        let outbound = w.faults.outbound_pending().await;
        let pushes = w.pushes.map_or(0, PushStats::pending);
        let fp: u64 = w.orgs.iter().map(ChaosOrg::last_seq).sum();
        let busy = n("queued") + n("in_flight") > 0 || outbound > 0 || pushes > 0;
        out.busy = format!(
            "queued {} in_flight {} outbound {outbound} pushes {pushes}",
            n("queued"),
            n("in_flight")
        );
        if !busy && last_fp == Some(fp) {
            let since = *quiet_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= w.quiet {
                out.idle = true;
                break;
            }
        } else {
            quiet_since = None;
        }
        last_fp = Some(fp);
        if start.elapsed() >= w.limit {
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    out.waited = start.elapsed();
    out
}
