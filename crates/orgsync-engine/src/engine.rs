//! Start-up (each component built with only what it uses, as a tokio task), the running
//! engine's handle, and graceful shutdown.
//!
//! Components: per org a login task ([`crate::orgs`], retried in the background until it
//! succeeds) and a writer ([`crate::apply::Writer`]); per enabled leg a poller
//! ([`crate::capture::poll::Poller`]) and, for change events, a subscriber
//! ([`crate::capture::cdc::Subscriber`]); one ingest shared by every capture path; the status
//! writer; the progress publisher; the daily prune.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use futures::future::BoxFuture;
use orgsync_core::config::Capture;
use orgsync_core::push::PushRequest;
use orgsync_core::{OrgId, OrgName, Settings};
use orgsync_store::{ItemState, Store};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::activity::Activity;
use crate::apply::{WriteCounters, Writer};
use crate::capture::SourceSlot;
use crate::capture::ingest::{CaptureCounters, Ingest, SyncLocks};
use crate::error::EngineError;
use crate::inbound::{self, PushError, PushOutcome};
use crate::leg::Legs;
use crate::login;
use crate::options::{EngineOptions, Progress};
use crate::orgs::{Org, Orgs, login_backoff};
use crate::overlay::{Captures, Switches};
use crate::reconcile::ReconcileRequest;
use crate::status::StatusWriter;
use orgsync_core::reconcile::Report;

/// How long processed transaction ids and Synced items are kept (the audit stays): well past
/// Pub/Sub's 72 h event retention, so a replayed event is always recognised.
pub const RETENTION: TimeDelta = TimeDelta::days(7);
/// How long `Engine::start` waits for the first login of every org.
const FIRST_LOGIN_WAIT: Duration = Duration::from_secs(10);
/// How often the ledger is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(86_400);

/// The orgsync engine over a ledger `S`.
#[derive(Debug)]
pub struct Engine<S: Store> {
    _store: std::marker::PhantomData<S>,
}

/// What the handle and the inbound paths share.
pub(crate) struct Core<S> {
    pub settings: Arc<Settings>,
    pub store: Arc<S>,
    pub orgs: Arc<Orgs>,
    pub legs: Arc<Legs>,
    pub ingest: Arc<Ingest<S>>,
    pub slots: Vec<Arc<SourceSlot>>,
    pub captures: Arc<CaptureCounters>,
    pub writes: Arc<WriteCounters>,
    pub activity: Arc<Activity>,
    /// Pushes are applied one at a time, so "transaction id seen?" and the commit that marks
    /// it seen are one step: two identical requests at once apply once.
    pub push_lock: tokio::sync::Mutex<()>,
    pub stop: watch::Sender<bool>,
    pub progress: watch::Sender<Progress>,
    /// The files component, when a sync carries its files.
    pub files: Option<Arc<crate::files::FileSync<S>>>,
}

impl<S> std::fmt::Debug for Core<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("legs", &self.legs.all().len())
            .finish_non_exhaustive()
    }
}

impl<S: Store> Engine<S> {
    /// Checks every org's client configuration, then starts every component. Orgs are logged
    /// in by background tasks: one that cannot be reached (or refuses the credentials) is
    /// retried while the others sync, and its status says why.
    pub async fn start(
        settings: Settings,
        store: S,
        opts: EngineOptions,
    ) -> Result<EngineHandle, EngineError> {
        for org in settings.orgs.values() {
            login::org_config(&settings, org, &opts)?;
        }
        let settings = Arc::new(settings);
        let store = Arc::new(store);
        let mut list = Vec::new();
        for name in settings.orgs.keys() {
            let known = store.org(name).await?.and_then(|r| r.org_id);
            list.push(Org::new(name.clone(), known));
        }
        let orgs = Arc::new(Orgs::new(list));
        let legs = Arc::new(Legs::new(&settings));
        let locks = Arc::new(SyncLocks::new(settings.syncs.len()));
        let captures = Arc::new(CaptureCounters::default());
        let ingest = Arc::new(Ingest {
            settings: settings.clone(),
            store: store.clone(),
            orgs: orgs.clone(),
            locks: locks.clone(),
            counters: captures.clone(),
        });
        let switches = Arc::new(Switches::new(&settings));
        let status = Arc::new(StatusWriter::new(
            settings.clone(),
            store.clone(),
            legs.clone(),
            orgs.clone(),
            switches.clone(),
        ));
        status.init().await;
        // a slot for every leg: a paused sync's capture can be resumed without a restart
        // (crate::overlay starts and stops capture tasks)
        let slots: Vec<Arc<SourceSlot>> = legs
            .all()
            .iter()
            .map(|l| Arc::new(SourceSlot::new(l.clone())))
            .collect();
        let (stop, _) = watch::channel(false);
        let (progress, progress_rx) = watch::channel(Progress::default());
        let core = Arc::new(Core {
            settings: settings.clone(),
            store: store.clone(),
            orgs: orgs.clone(),
            legs: legs.clone(),
            ingest: ingest.clone(),
            slots: slots.clone(),
            captures,
            writes: Arc::new(WriteCounters::default()),
            activity: Arc::new(Activity::default()),
            push_lock: Default::default(),
            stop,
            progress,
            files: crate::files::FileSync::<S>::wanted(&settings).then(|| {
                Arc::new(crate::files::FileSync {
                    settings: settings.clone(),
                    store: store.clone(),
                    orgs: orgs.clone(),
                    legs: legs.clone(),
                    one_at_a_time: Default::default(),
                })
            }),
        });
        let mut tasks: Vec<JoinHandle<()>> = Vec::new();
        for org in orgs.all() {
            tasks.push(tokio::spawn(keep_logged_in(
                org.clone(),
                settings.clone(),
                opts.clone(),
                status.clone(),
                core.stop.subscribe(),
            )));
        }
        // the first login of every org, at most a few seconds: then the ids of reachable orgs
        // are known when `start` returns (pushes can be placed at once); an org that cannot be
        // reached keeps being tried in the background
        let first = futures::future::join_all(orgs.all().map(|o| o.first_attempt()));
        let _ = tokio::time::timeout(FIRST_LOGIN_WAIT, first).await;
        let captures = Captures {
            settings: settings.clone(),
            store: store.clone(),
            ingest: ingest.clone(),
            orgs: orgs.clone(),
            status: status.clone(),
            switches,
            slots: slots.clone(),
            at_once: opts.poll_now_on_start,
        };
        tasks.push(tokio::spawn(captures.supervise(core.stop.subscribe())));
        let watch = crate::schema::SchemaWatch {
            store: store.clone(),
            legs: legs.clone(),
            orgs: orgs.clone(),
            status: status.clone(),
            tick: opts.schema_tick,
        };
        tasks.push(tokio::spawn(watch.run(core.stop.subscribe())));
        for name in settings.topology.orgs() {
            let Some(org) = orgs.get(&name).cloned() else {
                continue;
            };
            let writer = Writer {
                owner: format!("{}/{}", opts.lease_owner, name),
                org,
                orgs: orgs.clone(),
                settings: settings.clone(),
                store: store.clone(),
                legs: legs.clone(),
                locks: locks.clone(),
                ingest: ingest.clone(),
                status: status.clone(),
                sources: slots.clone(),
                counters: core.writes.clone(),
                activity: core.activity.clone(),
            };
            tasks.push(tokio::spawn(writer.run(core.stop.subscribe())));
        }
        if let Some(files) = &core.files {
            tasks.push(tokio::spawn(files.clone().run(core.stop.subscribe())));
        }
        tasks.push(tokio::spawn(progress_loop(core.clone())));
        tasks.push(tokio::spawn(prune_loop(core.clone())));
        tasks.push(tokio::spawn(crate::samples::sample_loop(
            core.clone(),
            opts.lease_owner.clone(),
            opts.sample_every,
        )));
        tasks.push(tokio::spawn(crate::reconcile::schedule(
            ingest.clone(),
            legs.clone(),
            core.stop.subscribe(),
        )));
        Ok(EngineHandle {
            sh: core,
            tasks: std::sync::Mutex::new(tasks),
            progress: progress_rx,
        })
    }
}

/// Log `org` in, retrying until it works (see [`login_backoff`]); its health and status say
/// why it is not logged in meanwhile.
async fn keep_logged_in<S: Store>(
    org: Arc<Org>,
    settings: Arc<Settings>,
    opts: EngineOptions,
    status: Arc<StatusWriter<S>>,
    mut stop: watch::Receiver<bool>,
) {
    let Some(config) = settings.orgs.get(&org.name) else {
        return;
    };
    let mut attempt = 0;
    while !*stop.borrow() {
        attempt += 1;
        let result = login::login(&settings, config, &opts).await;
        match result {
            Ok(conn) => {
                if attempt > 1 {
                    tracing::info!(org = %org.name, "logged in");
                }
                org.set_conn(conn);
                org.tried();
                status.refresh_org(&org.name).await;
                return;
            }
            Err(e) => {
                let refused = e.is_auth_refusal();
                tracing::warn!(org = %org.name, error = %e, attempt, "login failed; retrying in the background");
                org.update_health(|h| {
                    h.login_error = Some(e.to_string());
                    h.auth_refused = refused;
                });
                org.tried();
                status.refresh_org(&org.name).await;
                tokio::select! {
                    _ = tokio::time::sleep(login_backoff(attempt, refused)) => {}
                    _ = stop.changed() => {}
                }
            }
        }
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

/// Publish [`Progress`] about once a second (and on shutdown).
async fn progress_loop<S: Store>(core: Arc<Core<S>>) {
    let mut stop = core.stop.subscribe();
    loop {
        publish(&core).await;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = stop.changed() => { publish(&core).await; break; }
        }
    }
}

async fn publish<S: Store>(core: &Core<S>) {
    let (c, w) = (&core.captures, &core.writes);
    let mut p = Progress {
        captured: c.captured.load(Ordering::Relaxed),
        synced: w.synced.load(Ordering::Relaxed),
        failed: w.failed.load(Ordering::Relaxed),
        conflicts: c.conflicts.load(Ordering::Relaxed),
        echoes_dropped: c.echoes_dropped.load(Ordering::Relaxed),
        ..Progress::default()
    };
    if let Ok(counts) = core.store.counts().await {
        for ((_, st), n) in counts {
            match st {
                ItemState::Queued => p.queued += n,
                ItemState::InFlight => p.in_flight += n,
                ItemState::Pending => p.pending += n,
                _ => {}
            }
        }
    }
    p.api_calls = core
        .orgs
        .all()
        .filter_map(|o| {
            o.conn()
                .map(|c| (o.name.to_string(), c.client.budget().requests_sent))
        })
        .collect();
    crate::metrics::api_calls(&p.api_calls);
    core.progress.send_replace(p);
}

/// Forget processed transaction ids and Synced items older than [`RETENTION`], a minute after
/// start and then daily.
async fn prune_loop<S: Store>(core: Arc<Core<S>>) {
    let mut stop = core.stop.subscribe();
    let mut wait = Duration::from_secs(60);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        let before = Utc::now() - RETENTION;
        match core.store.prune(before, before).await {
            Ok(r) => tracing::info!(txns = r.txns, items = r.items, "ledger pruned"),
            Err(e) => tracing::warn!(error = %e, "cannot prune the ledger"),
        }
        wait = PRUNE_EVERY;
    }
}
