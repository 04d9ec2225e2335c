//! The reconcile schedule inside `orgsync run`: each enabled sync's object is reconciled
//! (a quick pass, escalated to full where counts disagree; repairs queued for the running
//! writers) every `reconcile` period — its own, else `[engine] reconcile`, daily by default —
//! counted from the end of the last run kept in the ledger (or from the start, when none).
//! Syncs due together share one run. A run waits until every org is logged in.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use orgsync_core::reconcile::Mode;
use orgsync_store::Store;
use tokio::sync::watch;

use super::{ReconcileRequest, run, save_report};
use crate::capture::ingest::Ingest;
use crate::leg::Legs;

/// How long a due run waits for an org that is not logged in before trying again.
const RETRY: Duration = Duration::from_secs(60);

/// Run the schedule until `stop`.
pub(crate) async fn schedule<S: Store>(
    ingest: Arc<Ingest<S>>,
    legs: Arc<Legs>,
    mut stop: watch::Receiver<bool>,
) {
    let settings = ingest.settings.clone();
    let every: Vec<(String, TimeDelta)> = settings
        .syncs
        .iter()
        .filter(|s| s.enabled)
        .filter_map(|s| {
            let d = settings.reconcile_every(s)?;
            Some((s.object.clone(), TimeDelta::from_std(d).ok()?))
        })
        .collect();
    if every.is_empty() {
        return;
    }
    let since = match ingest.store.last_reconcile_run().await {
        Ok(r) => r.map_or_else(Utc::now, |r| r.finished_at),
        Err(e) => {
            tracing::warn!(error = %e, "reconcile schedule: cannot read the last run");
            Utc::now()
        }
    };
    let mut due: Vec<DateTime<Utc>> = every.iter().map(|(_, d)| since + *d).collect();
    loop {
        let next = due.iter().min().copied().unwrap_or_else(Utc::now);
        let wait = (next - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        let now = Utc::now();
        let objects: Vec<String> = every
            .iter()
            .zip(&due)
            .filter(|(_, d)| **d <= now)
            .map(|((o, _), _)| o.clone())
            .collect();
        if objects.is_empty() {
            continue;
        }
        if ingest.orgs.all().any(|o| o.conn().is_none()) {
            let later = now + TimeDelta::from_std(RETRY).unwrap_or_default();
            due.iter_mut()
                .filter(|d| **d <= now)
                .for_each(|d| *d = later);
            continue;
        }
        let req = ReconcileRequest {
            objects,
            full: false,
            mode: Mode::Repair,
        };
        match run(&ingest, &legs, &req, &|_| {}).await {
            Ok(report) => {
                tracing::info!(
                    objects = ?req.objects,
                    drifted = report.drifts.len(),
                    queued = report.queued,
                    calls = report.total_calls(),
                    "scheduled reconcile done"
                );
                if let Err(e) = save_report(ingest.store.as_ref(), &report).await {
                    tracing::warn!(error = %e, "cannot keep the reconcile report");
                }
            }
            Err(e) => tracing::warn!(error = %e, "scheduled reconcile failed"),
        }
        let end = Utc::now();
        for ((_, d), at) in every.iter().zip(due.iter_mut()) {
            if *at <= now {
                *at = end + *d;
            }
        }
    }
}
