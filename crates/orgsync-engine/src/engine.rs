//! Start-up, the running engine's handle, and graceful shutdown.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use futures::future::BoxFuture;
use orgsync_core::config::Capture;
use orgsync_core::push::PushRequest;
use orgsync_core::{OrgId, OrgName, Settings};
use orgsync_store::{ItemState, OrgRow, Store};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::error::EngineError;
use crate::inbound::{self, PushError, PushOutcome};
use crate::options::{EngineOptions, Progress};
use crate::shared::{Counters, PollerSlot, Shared};
use crate::{apply, capture, login, status};

/// The orgsync engine over a ledger `S`.
#[derive(Debug)]
pub struct Engine<S: Store> {
    _store: std::marker::PhantomData<S>,
}

impl<S: Store> Engine<S> {
    /// Logs in to every org (org ids learned from the token's identity), writes org and sync
    /// rows, and starts the capture pollers and apply workers as tokio tasks.
    pub async fn start(
        settings: Settings,
        store: S,
        opts: EngineOptions,
    ) -> Result<EngineHandle, EngineError> {
        let mut orgs = BTreeMap::new();
        for org in settings.orgs.values() {
            let conn = login::login(&settings, org, &opts).await?;
            let mut row = store
                .org(&org.name)
                .await?
                .unwrap_or_else(|| OrgRow::new(org.name.clone()));
            row.org_id = Some(conn.org_id.clone());
            row.status = "ok".into();
            store.put_org(&row).await?;
            orgs.insert(org.name.clone(), conn);
        }
        let mut pollers = Vec::new();
        for org in settings.topology.orgs() {
            for (idx, sync) in settings.syncs.iter().enumerate() {
                if sync.enabled {
                    pollers.push(Arc::new(PollerSlot::new(org.clone(), idx)));
                }
            }
        }
        let apply_wake = settings
            .topology
            .orgs()
            .into_iter()
            .map(|o| (o, Arc::new(Notify::new())))
            .collect();
        let (progress, progress_rx) = watch::channel(Progress::default());
        let (shutdown, _) = watch::channel(false);
        let capture_locks = settings
            .syncs
            .iter()
            .map(|_| tokio::sync::Mutex::new(()))
            .collect();
        let sh = Arc::new(Shared {
            capture_locks,
            settings,
            store,
            opts,
            orgs,
            counters: Counters::default(),
            activity: Default::default(),
            push_lock: Default::default(),
            progress,
            pollers,
            apply_wake,
            shutdown,
        });
        for p in &sh.pollers {
            if sh
                .store
                .sync(&p.org, &status::initial(&sh, &p.org, p.sync).object)
                .await?
                .is_none()
            {
                sh.store
                    .put_sync(&status::initial(&sh, &p.org, p.sync))
                    .await?;
            }
        }
        let mut tasks = Vec::new();
        for p in sh.pollers.clone() {
            if !sh.opts.poll_now_on_start {
                // first cycle waits for poll_now or the interval
                let sh2 = sh.clone();
                let p2 = p.clone();
                tasks.push(tokio::spawn(async move {
                    let interval = sh2.settings.syncs[p2.sync].interval;
                    let mut stop = sh2.shutdown.subscribe();
                    tokio::select! {
                        _ = tokio::time::sleep(interval) => {}
                        _ = p2.wake.notified() => {}
                        _ = stop.changed() => {}
                    }
                    capture::run(sh2, p2).await;
                }));
            } else {
                tasks.push(tokio::spawn(capture::run(sh.clone(), p)));
            }
        }
        for p in &sh.pollers {
            if sh.settings.syncs[p.sync].capture == Capture::Cdc {
                tasks.push(tokio::spawn(capture::cdc::run(sh.clone(), p.clone())));
            }
        }
        for org in sh.settings.topology.orgs() {
            tasks.push(tokio::spawn(apply::run(sh.clone(), org)));
        }
        tasks.push(tokio::spawn(progress_loop(sh.clone())));
        Ok(EngineHandle {
            sh,
            tasks: std::sync::Mutex::new(tasks),
            progress: progress_rx,
        })
    }
}

/// The running engine.
#[derive(Debug)]
pub struct EngineHandle {
    sh: Arc<dyn Control>,
    /// Taken by the first [`EngineHandle::shutdown`].
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
    progress: watch::Receiver<Progress>,
}

/// The store-independent part of the shared state the handle needs.
trait Control: Send + Sync + std::fmt::Debug {
    fn pollers(&self) -> &[Arc<PollerSlot>];
    fn stop(&self);
    fn busy(&self) -> BoxFuture<'_, bool>;
    fn synced(&self) -> u64;
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
}

impl<S: Store> Control for Shared<S> {
    fn pollers(&self) -> &[Arc<PollerSlot>] {
        &self.pollers
    }
    fn stop(&self) {
        let _ = self.shutdown.send(true);
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
            for org in self.apply_wake.keys() {
                match self.store.next_due(org).await {
                    Ok(Some(t)) if t <= now => return true,
                    Ok(_) => {}
                    Err(_) => return true,
                }
            }
            // a round started or ended while we looked: not a quiet moment
            self.activity.epoch.load(Ordering::SeqCst) != epoch
        })
    }
    fn synced(&self) -> u64 {
        self.counters.rounds.load(Ordering::SeqCst)
    }
    fn settings(&self) -> &Settings {
        &self.settings
    }
    fn org_id(&self, org: &OrgName) -> Option<OrgId> {
        Shared::org_id(self, org)
    }
    fn org_by_id(&self, org_id: &str) -> Option<OrgName> {
        inbound::org_by_id(self, org_id)
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
}

impl EngineHandle {
    /// Counts for the CLI/demo display, refreshed about once a second.
    pub fn progress(&self) -> watch::Receiver<Progress> {
        self.progress.clone()
    }

    /// The settings the engine runs with.
    pub fn settings(&self) -> &Settings {
        self.sh.settings()
    }

    /// The Salesforce id of a configured org (known once logged in).
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

    /// Wake every poller now (tests, demo).
    pub async fn poll_now(&self) {
        for p in self.sh.pollers() {
            p.wake.notify_one();
        }
    }

    /// True once nothing is due or in flight and every poller finished a cycle that started
    /// after the last write: the orgs have converged as far as the engine can tell. False on
    /// timeout.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let synced_before = self.sh.synced();
            let marks: Vec<u64> = self
                .sh
                .pollers()
                .iter()
                .map(|p| p.started.load(Ordering::SeqCst))
                .collect();
            self.poll_now().await;
            loop {
                let done = self
                    .sh
                    .pollers()
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
            if self.sh.synced() == synced_before {
                return true;
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

/// Publish [`Progress`] about once a second (and on shutdown).
async fn progress_loop<S: Store>(sh: Arc<Shared<S>>) {
    let mut stop = sh.shutdown.subscribe();
    loop {
        publish(&sh).await;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = stop.changed() => { publish(&sh).await; break; }
        }
    }
}

async fn publish<S: Store>(sh: &Shared<S>) {
    let c = &sh.counters;
    let mut p = Progress {
        captured: c.captured.load(Ordering::Relaxed),
        synced: c.synced.load(Ordering::Relaxed),
        failed: c.failed.load(Ordering::Relaxed),
        conflicts: c.conflicts.load(Ordering::Relaxed),
        echoes_dropped: c.echoes_dropped.load(Ordering::Relaxed),
        ..Progress::default()
    };
    if let Ok(counts) = sh.store.counts().await {
        for ((_, st), n) in counts {
            match st {
                ItemState::Queued => p.queued += n,
                ItemState::InFlight => p.in_flight += n,
                ItemState::Pending => p.pending += n,
                _ => {}
            }
        }
    }
    p.api_calls = sh
        .orgs
        .iter()
        .map(|(n, c): (&OrgName, _)| (n.to_string(), c.client.budget().requests_sent))
        .collect();
    sh.progress.send_replace(p);
}
