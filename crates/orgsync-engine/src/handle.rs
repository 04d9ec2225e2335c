//! The running engine's handle — what the CLI, the HTTP endpoints and the tests hold: wait
//! until idle, poll now, pushes and re-read requests, reconcile passes, progress, graceful
//! shutdown — over the store-independent [`Control`] part of the engine's shared state.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use futures::future::BoxFuture;
use orgsync_core::config::Capture;
use orgsync_core::push::PushRequest;
use orgsync_core::reconcile::Report;
use orgsync_core::{OrgId, OrgName, Settings};
use orgsync_store::{ItemState, Store};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::capture::SourceSlot;
use crate::engine::Core;
use crate::error::EngineError;
use crate::inbound::{self, PushError, PushOutcome};
use crate::options::Progress;
use crate::reconcile::ReconcileRequest;

/// The running engine.
#[derive(Debug)]
pub struct EngineHandle {
    pub(crate) sh: Arc<dyn Control>,
    /// Taken by the first [`EngineHandle::shutdown`].
    pub(crate) tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
    pub(crate) progress: watch::Receiver<Progress>,
}

/// The store-independent part of the shared state the handle needs.
pub(crate) trait Control: Send + Sync + std::fmt::Debug {
    fn slots(&self) -> &[Arc<SourceSlot>];
    /// Some leg captures by change events.
    fn has_streams(&self) -> bool;
    fn stop(&self);
    fn busy(&self) -> BoxFuture<'_, bool>;
    fn rounds(&self) -> u64;
    fn settings(&self) -> &Settings;
    fn org_id(&self, org: &OrgName) -> Option<OrgId>;
    fn org_by_id(&self, org_id: &str) -> Option<OrgName>;
    fn push(&self, req: PushRequest) -> BoxFuture<'_, Result<PushOutcome, PushError>>;
    fn reread<'a>(
        &'a self,
        org: &'a OrgName,
        object: &'a str,
        ids: &'a [String],
    ) -> BoxFuture<'a, Result<usize, EngineError>>;
    /// One files round now (None when no sync carries its files).
    fn files_round(&self) -> BoxFuture<'_, Option<crate::files::FileReport>>;
    fn reconcile(&self, req: ReconcileRequest) -> BoxFuture<'_, Result<Report, EngineError>>;
}

impl<S: Store> Control for Core<S> {
    fn slots(&self) -> &[Arc<SourceSlot>] {
        &self.slots
    }
    fn files_round(&self) -> BoxFuture<'_, Option<crate::files::FileReport>> {
        Box::pin(async move {
            match &self.files {
                Some(f) => Some(f.round().await),
                None => None,
            }
        })
    }
    fn has_streams(&self) -> bool {
        self.slots
            .iter()
            .any(|s| s.leg.settings(&self.settings).capture == Capture::Cdc)
    }
    fn stop(&self) {
        let _ = self.stop.send(true);
    }
    fn busy(&self) -> BoxFuture<'_, bool> {
        Box::pin(async move {
            let epoch = self.activity.epoch.load(Ordering::SeqCst);
            if self.activity.active.load(Ordering::SeqCst) > 0 {
                return true;
            }
            let Ok(counts) = self.store.counts().await else {
                return true;
            };
            if counts
                .iter()
                .any(|((_, st), n)| *st == ItemState::InFlight && *n > 0)
            {
                return true;
            }
            let now = Utc::now();
            for org in self.settings.topology.orgs() {
                match self.store.next_due(&org).await {
                    Ok(Some(t)) if t <= now => return true,
                    Ok(_) => {}
                    Err(_) => return true,
                }
            }
            // a round started or ended while we looked: not a quiet moment
            self.activity.epoch.load(Ordering::SeqCst) != epoch
        })
    }
    fn rounds(&self) -> u64 {
        self.writes.rounds.load(Ordering::SeqCst)
    }
    fn settings(&self) -> &Settings {
        &self.settings
    }
    fn org_id(&self, org: &OrgName) -> Option<OrgId> {
        self.orgs.org_id(org)
    }
    fn org_by_id(&self, org_id: &str) -> Option<OrgName> {
        self.orgs.by_id(org_id).map(|o| o.name.clone())
    }
    fn push(&self, req: PushRequest) -> BoxFuture<'_, Result<PushOutcome, PushError>> {
        Box::pin(inbound::push(self, req))
    }
    fn reread<'a>(
        &'a self,
        org: &'a OrgName,
        object: &'a str,
        ids: &'a [String],
    ) -> BoxFuture<'a, Result<usize, EngineError>> {
        Box::pin(inbound::reread(self, org, object, ids))
    }
    fn reconcile(&self, req: ReconcileRequest) -> BoxFuture<'_, Result<Report, EngineError>> {
        Box::pin(async move {
            let r = crate::reconcile::run(&self.ingest, &self.legs, &req, &|_| {}).await?;
            crate::reconcile::save_report(self.store.as_ref(), &r).await?;
            Ok(r)
        })
    }
}

impl EngineHandle {
    /// Runs one files round now (beside the periodic ones), for tests, the demo and the
    /// benchmark: None when no sync has `files = true`. [`EngineHandle::wait_idle`] runs
    /// rounds like this one until one finds nothing to do.
    pub async fn sync_files_now(&self) -> Option<crate::files::FileReport> {
        self.sh.files_round().await
    }

    /// Counts for the CLI/demo display, refreshed about once a second.
    pub fn progress(&self) -> watch::Receiver<Progress> {
        self.progress.clone()
    }

    /// The settings the engine runs with.
    pub fn settings(&self) -> &Settings {
        self.sh.settings()
    }

    /// The Salesforce id of a configured org (known once logged in, or from a previous run).
    pub fn org_id(&self, org: &OrgName) -> Option<OrgId> {
        self.sh.org_id(org)
    }

    /// The configured org whose Salesforce id is `org_id` (15 or 18 characters).
    pub fn org_name_by_id(&self, org_id: &str) -> Option<OrgName> {
        self.sh.org_by_id(org_id)
    }

    /// Apply records pushed by a connected peer (the push API) as changes made in the peer's
    /// org. Committed to the ledger before this returns; a transaction id seen before is
    /// acknowledged without doing anything again.
    pub async fn push(&self, req: PushRequest) -> Result<PushOutcome, PushError> {
        self.sh.push(req).await
    }

    /// Re-read records of `object` (as named on `org`) and ingest their current state
    /// (outbound messages): one query per 300 ids, committed before this returns. Returns how
    /// many rows were new to the ledger.
    pub async fn reread(
        &self,
        org: &OrgName,
        object: &str,
        ids: &[String],
    ) -> Result<usize, EngineError> {
        self.sh.reread(org, object, ids).await
    }

    /// Reconcile now with this engine's logins and ledger (the Sync Monitor's button, tests):
    /// repairs queued in [`Mode::Repair`](orgsync_core::reconcile::Mode) are written by the
    /// running writers. The report is kept in the ledger.
    pub async fn reconcile(&self, req: ReconcileRequest) -> Result<Report, EngineError> {
        self.sh.reconcile(req).await
    }

    /// Wake every poller now (tests, demo).
    pub async fn poll_now(&self) {
        for s in self.sh.slots() {
            s.wake.notify_one();
        }
    }

    /// True once nothing is due or in flight, every poller finished a cycle that started after
    /// the last write, every change-event stream has been quiet for a second (a backup
    /// poll leaves the latest changes to the events), and — when a sync carries its files — a
    /// files round run after all that wrote nothing and failed nowhere (the periodic rounds
    /// may be far apart; files wait for their records, so they are checked last): the orgs
    /// have converged as far as the engine can tell. False on timeout.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let rounds_before = self.sh.rounds();
            let events = |sh: &dyn Control| -> u64 {
                sh.slots()
                    .iter()
                    .map(|s| s.events.load(Ordering::SeqCst))
                    .sum()
            };
            let events_before = events(self.sh.as_ref());
            let marks: Vec<u64> = self
                .sh
                .slots()
                .iter()
                .map(|p| p.started.load(Ordering::SeqCst))
                .collect();
            // read up to now, even where change events would bring it: the check must see
            // everything committed before it, whatever the events' latency
            for s in self.sh.slots() {
                s.poll_everything();
            }
            loop {
                let done = self
                    .sh
                    .slots()
                    .iter()
                    .zip(&marks)
                    .all(|(p, m)| p.finished.load(Ordering::SeqCst) > *m);
                if done && !self.sh.busy().await {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    return false;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if self.sh.has_streams() {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if self.sh.busy().await {
                    continue;
                }
            }
            let files_quiet = match self.sh.files_round().await {
                Some(report) => report.quiet(),
                None => true,
            };
            if files_quiet
                && self.sh.rounds() == rounds_before
                && events(self.sh.as_ref()) == events_before
            {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
        }
    }

    /// Graceful stop: capture stops, a batch being written finishes and is completed, and no
    /// new work is claimed. Anything not finished is still in the ledger (a lease that was not
    /// released expires and the item is claimed again on the next start).
    ///
    /// Takes `&self` so that a handle shared with an HTTP server (`Arc<EngineHandle>`) can be
    /// stopped even while a finishing connection still holds a reference. A second call
    /// returns at once.
    pub async fn shutdown(&self) {
        self.sh.stop();
        let tasks = match self.tasks.lock() {
            Ok(mut t) => std::mem::take(&mut *t),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        for t in tasks {
            let _ = t.await;
        }
    }
}
