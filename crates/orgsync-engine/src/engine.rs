//! Start-up (each component built with only what it uses, as a tokio task), the background
//! loops (login, progress, prune); the handle it returns is [`crate::handle`].
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
use orgsync_core::Settings;
use orgsync_store::{ItemState, Store};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::activity::Activity;
use crate::apply::{WriteCounters, Writer};
use crate::capture::SourceSlot;
use crate::capture::ingest::{CaptureCounters, Ingest, SyncLocks};
use crate::error::EngineError;
use crate::handle::EngineHandle;
use crate::leg::Legs;
use crate::login;
use crate::options::{EngineOptions, Progress};
use crate::orgs::{Org, Orgs, login_backoff};
use crate::overlay::{Captures, Switches};
use crate::status::StatusWriter;

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
