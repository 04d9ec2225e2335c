//! The running service's engine behind a swappable host, so a sync added, removed or given a
//! new capture method or interval in the settings overlay (Sync Monitor, `orgsync sync …`)
//! takes effect without restarting the process.
//!
//! Why a restart of the engine rather than a hot add of legs: the engine resolves its syncs
//! once at start (legs, source slots, per-sync locks, switches, writers' leg lists, the
//! files component, the schema watch), and every component indexes them by position. Growing
//! all of that in place would put a second path through every component; a graceful restart
//! reuses the one path that is already proven — shutdown finishes in-flight rounds and
//! completes their items (leases released), capture stops between commits, checkpoints stay in
//! the ledger, and the new engine re-reads from them. Pause and resume stay switches inside
//! the running engine ([`crate::overlay`]): they cost no restart.
//!
//! The host re-reads the overlay every [`TICK`]; when the syncs it lays over the file differ
//! from the running engine's — another set of objects, or a sync's fields, method, interval
//! or any other key but `enabled` — it stops the engine and starts it again with the file
//! plus the overlay. HTTP routers resolve [`EngineHost::current`] per request: a push or an
//! Outbound Messaging notification that arrives meanwhile is committed to the ledger through
//! the stopped engine's ingest (it needs no running task) and written by the new one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use orgsync_core::Settings;
use orgsync_store::{Store, SyncOverride, overlay};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::engine::Engine;
use crate::error::EngineError;
use crate::handle::EngineHandle;
use crate::options::{EngineOptions, Progress};
use crate::overlay::TICK;

/// The engine of a running service, restarted in place when the overlay changes its syncs.
#[derive(Debug)]
pub struct EngineHost {
    /// The settings the host started with: orgs, topology, `[api]`, `[engine]` — the parts
    /// no overlay changes, the same in every engine it runs.
    settings: Settings,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    /// The overlay watch and the progress relay; taken by the first [`EngineHost::shutdown`].
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

/// What the host's tasks share with it.
#[derive(Debug)]
struct Shared {
    current: watch::Sender<Arc<EngineHandle>>,
    progress: watch::Sender<Progress>,
    restarts: AtomicU64,
}

/// The file's settings with the overlay laid over them (pure): what the engine should run.
/// Also returns the objects the overlay removed.
pub fn desired(file: &Settings, overrides: &[SyncOverride]) -> (Settings, Vec<String>) {
    let mut s = file.clone();
    let removed = overlay::apply(&mut s, overrides);
    (s, removed)
}

/// Whether an engine running `running` must be restarted to run `want` (pure): the syncs
/// differ in anything but their `enabled` switch, which the running engine follows itself.
pub fn needs_restart(running: &Settings, want: &Settings) -> bool {
    let shape = |s: &Settings| {
        s.syncs
            .iter()
            .map(|x| {
                let mut x = x.clone();
                x.enabled = true;
                x
            })
            .collect::<Vec<_>>()
    };
    shape(running) != shape(want)
}

impl EngineHost {
    /// Lay the ledger's overlay over `file` (the configuration file's settings), start the
    /// engine with the result, and watch the overlay for changes that need a restart.
    pub async fn start<S: Store + Clone>(
        file: Settings,
        store: S,
        opts: EngineOptions,
    ) -> Result<Arc<EngineHost>, EngineError> {
        let overrides = store.sync_overrides().await?;
        let (want, removed) = desired(&file, &overrides);
        for object in removed {
            tracing::info!(%object, "sync removed in the overlay: not started (`orgsync sync restore` brings it back)");
        }
        for o in overrides.iter().filter(|o| !o.removed) {
            tracing::info!(object = %o.object, by = %o.updated_by, "sync settings overlay applies");
        }
        let handle = Arc::new(Engine::start(want.clone(), store.clone(), opts.clone()).await?);
        let (current, current_rx) = watch::channel(handle);
        let (progress, _) = watch::channel(Progress::default());
        let shared = Arc::new(Shared {
            current,
            progress,
            restarts: AtomicU64::new(0),
        });
        let (stop, _) = watch::channel(false);
        let watcher = Watcher {
            file,
            store,
            opts,
            shared: shared.clone(),
        };
        let tasks = vec![
            tokio::spawn(watcher.run(stop.subscribe())),
            tokio::spawn(relay(current_rx, shared.clone())),
        ];
        Ok(Arc::new(EngineHost {
            settings: want,
            shared,
            stop,
            tasks: std::sync::Mutex::new(tasks),
        }))
    }

    /// The engine running now (resolve it per use: it is replaced when the syncs change).
    pub fn current(&self) -> Arc<EngineHandle> {
        self.shared.current.borrow().clone()
    }

    /// The running engine, to follow its replacements.
    pub fn subscribe(&self) -> watch::Receiver<Arc<EngineHandle>> {
        self.shared.current.subscribe()
    }

    /// The settings the host started with. Orgs, topology, `[api]` and `[engine]` are the
    /// same in every engine it runs; for the syncs running now see `current().settings()`.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The settings the running engine has now (the file with the overlay as it was at the
    /// engine's last start).
    pub fn running_settings(&self) -> Arc<Settings> {
        Arc::new(self.current().settings().clone())
    }

    /// How many times the engine was restarted for a change of the syncs.
    pub fn restarts(&self) -> u64 {
        self.shared.restarts.load(Ordering::SeqCst)
    }

    /// Counts for the CLI/demo display, continued across restarts (the counters of the
    /// engines before are added in).
    pub fn progress(&self) -> watch::Receiver<Progress> {
        self.shared.progress.subscribe()
    }

    /// Graceful stop: no restart starts any more (one under way finishes), then the running
    /// engine stops as [`EngineHandle::shutdown`] does. A second call returns at once.
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        let tasks = match self.tasks.lock() {
            Ok(mut t) => std::mem::take(&mut *t),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        let mut tasks = tasks.into_iter();
        // the watcher first: after it, `current` is no longer replaced
        if let Some(w) = tasks.next() {
            let _ = w.await;
        }
        self.current().shutdown().await;
        for t in tasks {
            t.abort();
            let _ = t.await;
        }
    }
}

/// Re-reads the overlay and restarts the engine when the syncs changed.
struct Watcher<S> {
    file: Settings,
    store: S,
    opts: EngineOptions,
    shared: Arc<Shared>,
}

impl<S: Store + Clone> Watcher<S> {
    async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                return;
            }
            let overrides = match self.store.sync_overrides().await {
                Ok(o) => o,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the sync settings overlay");
                    continue;
                }
            };
            let (want, _) = desired(&self.file, &overrides);
            let old = self.shared.current.borrow().clone();
            if !needs_restart(old.settings(), &want) {
                continue;
            }
            tracing::info!(
                syncs = want.syncs.len(),
                "the sync settings overlay changed the syncs: restarting the engine (in-flight writes finish first)"
            );
            old.shutdown().await;
            match Engine::start(want, self.store.clone(), self.opts.clone()).await {
                Ok(h) => {
                    self.shared.current.send_replace(Arc::new(h));
                    self.shared.restarts.fetch_add(1, Ordering::SeqCst);
                    tracing::info!("engine restarted with the new sync settings");
                }
                // the stopped engine stays current (pushes still reach the ledger through it);
                // the next tick tries again
                Err(e) => tracing::warn!(error = %e, "cannot restart the engine; retrying"),
            }
        }
    }
}

/// Relay each running engine's progress, adding the monotonic counts of the engines before.
async fn relay(mut current: watch::Receiver<Arc<EngineHandle>>, shared: Arc<Shared>) {
    let mut before = Progress::default();
    loop {
        let handle = current.borrow_and_update().clone();
        let mut rx = handle.progress();
        let mut last = rx.borrow_and_update().clone();
        shared.progress.send_replace(add(&before, &last));
        loop {
            tokio::select! {
                changed = rx.changed() => {
                    if changed.is_err() {
                        // that engine is gone: wait for the next one
                        if current.changed().await.is_err() {
                            return;
                        }
                        break;
                    }
                    last = rx.borrow_and_update().clone();
                    shared.progress.send_replace(add(&before, &last));
                }
                next = current.changed() => {
                    if next.is_err() {
                        return;
                    }
                    // the old engine published its final counts at shutdown
                    last = rx.borrow().clone();
                    break;
                }
            }
        }
        before = add(&before, &last);
    }
}

/// `now` with the monotonic counts of `before` added (pure); the ledger's figures are now's.
fn add(before: &Progress, now: &Progress) -> Progress {
    let mut p = now.clone();
    p.captured += before.captured;
    p.synced += before.synced;
    p.failed += before.failed;
    p.conflicts += before.conflicts;
    p.echoes_dropped += before.echoes_dropped;
    for (org, n) in &before.api_calls {
        *p.api_calls.entry(org.clone()).or_default() += n;
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn settings() -> Settings {
        let text = orgsync_core::config::sample::peers(&["a", "b"], &["Account"]);
        match Settings::from_str(&text, "t.toml") {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    fn over(object: &str) -> SyncOverride {
        SyncOverride::new(object, Utc::now(), "test")
    }

    #[test]
    fn a_switch_needs_no_restart_but_the_shape_of_the_syncs_does() {
        let file = settings();
        let running = desired(&file, &[]).0;

        let mut paused = over("Account");
        paused.enabled = Some(false);
        assert!(!needs_restart(&running, &desired(&file, &[paused]).0));

        let mut method = over("Account");
        method.capture = Some("cdc".into());
        assert!(needs_restart(&running, &desired(&file, &[method]).0));

        let mut interval = over("Account");
        interval.interval_secs = Some(300);
        assert!(needs_restart(&running, &desired(&file, &[interval]).0));

        let mut removed = over("Account");
        removed.removed = true;
        let (want, gone) = desired(&file, &[removed]);
        assert_eq!(gone, ["Account"]);
        assert!(needs_restart(&running, &want));

        // added disabled: the engine gets its legs (paused), so enabling it is a switch
        let mut added = over("Contact");
        added.fields = Some(vec!["LastName".into()]);
        added.enabled = Some(false);
        let with_added = desired(&file, std::slice::from_ref(&added)).0;
        assert!(needs_restart(&running, &with_added));
        added.enabled = Some(true);
        assert!(!needs_restart(&with_added, &desired(&file, &[added]).0));
    }

    #[test]
    fn progress_counts_continue_across_restarts() {
        let mut before = Progress {
            captured: 5,
            synced: 4,
            queued: 9,
            ..Progress::default()
        };
        before.api_calls.insert("a".into(), 10);
        let mut now = Progress {
            captured: 1,
            synced: 2,
            queued: 3,
            ..Progress::default()
        };
        now.api_calls.insert("a".into(), 1);
        now.api_calls.insert("b".into(), 2);
        let p = add(&before, &now);
        assert_eq!((p.captured, p.synced, p.queued), (6, 6, 3));
        assert_eq!(p.api_calls["a"], 11);
        assert_eq!(p.api_calls["b"], 2);
    }
}
