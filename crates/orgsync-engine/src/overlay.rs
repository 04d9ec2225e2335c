//! Runtime sync switches from the settings overlay (`orgsync_store::overlay`): pausing a sync
//! from the Sync Monitor or `orgsync sync pause` stops its capture within a tick, resuming
//! starts it again — without a restart. Changes of the syncs themselves (added, removed, a new
//! capture method or interval) are the [`crate::host::EngineHost`]'s: it restarts the engine
//! with them.
//!
//! Why a supervisor that starts and stops capture tasks rather than a flag the capture loops
//! check: the capture sources stay as they are (one stop signal each, as at shutdown), and a
//! paused sync costs no API call at all. Items already queued for a paused sync are still
//! written, as with a sync disabled in the file.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use orgsync_core::Settings;
use orgsync_core::config::Capture;
use orgsync_store::{Store, SyncOverride, overlay};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::capture::SourceSlot;
use crate::capture::cdc::Subscriber;
use crate::capture::ingest::Ingest;
use crate::capture::poll::Poller;
use crate::orgs::Orgs;
use crate::status::StatusWriter;

/// How often the overlay is read again.
pub(crate) const TICK: Duration = Duration::from_secs(2);

/// Whether a sync captures now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Switch {
    /// Capturing.
    On,
    /// Paused (disabled).
    Off,
    /// Removed from the dashboard while running: paused, and no status rows any more.
    Removed,
}

impl Switch {
    fn code(self) -> u8 {
        match self {
            Switch::On => 0,
            Switch::Off => 1,
            Switch::Removed => 2,
        }
    }
    fn from_code(c: u8) -> Switch {
        match c {
            0 => Switch::On,
            1 => Switch::Off,
            _ => Switch::Removed,
        }
    }
}

/// Each sync's switch, by index in `Settings::syncs`.
#[derive(Debug)]
pub(crate) struct Switches(Vec<AtomicU8>);

impl Switches {
    /// As the settings start (the overlay already laid over the file).
    pub fn new(settings: &Settings) -> Switches {
        Switches(
            settings
                .syncs
                .iter()
                .map(|s| AtomicU8::new(if s.enabled { 0 } else { 1 }))
                .collect(),
        )
    }

    /// Sync `i`'s switch (On for an index out of range: never stop what is not known).
    pub fn get(&self, i: usize) -> Switch {
        self.0
            .get(i)
            .map_or(Switch::On, |a| Switch::from_code(a.load(Ordering::SeqCst)))
    }

    /// Set the switches from `overrides`; returns whether any changed.
    fn update(&self, settings: &Settings, overrides: &[SyncOverride]) -> bool {
        let mut changed = false;
        for (i, want) in wanted(settings, overrides).into_iter().enumerate() {
            if let Some(a) = self.0.get(i) {
                changed |= a.swap(want.code(), Ordering::SeqCst) != want.code();
            }
        }
        changed
    }
}

/// Each sync's switch under `overrides` (pure): removed, or the override's enabled flag, or
/// the setting the engine started with.
///
/// A sync turned on together with a new method or interval stays as the engine started it:
/// the host restarts the engine with the new settings within a tick, and until then the
/// sync would run — and be shown Active — with the settings the operator just replaced.
/// Turning off is never held back: disabling pauses at once.
pub(crate) fn wanted(settings: &Settings, overrides: &[SyncOverride]) -> Vec<Switch> {
    settings
        .syncs
        .iter()
        .map(|s| match overlay::find(overrides, &s.object) {
            Some(o) if o.removed => Switch::Removed,
            Some(o) if o.enabled == Some(false) => Switch::Off,
            Some(o) if o.enabled == Some(true) && !overlay::reshapes(s, o) => Switch::On,
            _ if s.enabled => Switch::On,
            _ => Switch::Off,
        })
        .collect()
}

/// What starting a leg's capture needs.
pub(crate) struct Captures<S> {
    pub settings: Arc<Settings>,
    pub store: Arc<S>,
    pub ingest: Arc<Ingest<S>>,
    pub orgs: Arc<Orgs>,
    pub status: Arc<StatusWriter<S>>,
    pub switches: Arc<Switches>,
    /// Every leg's source slot.
    pub slots: Vec<Arc<SourceSlot>>,
    /// The first cycle at once (engine option); a resumed leg always reads at once.
    pub at_once: bool,
}

/// A running leg: its own stop signal and its tasks.
type Running = (watch::Sender<bool>, Vec<JoinHandle<()>>);

impl<S: Store> Captures<S> {
    /// Start and stop each leg's capture to match the switches, re-reading the overlay every
    /// [`TICK`], until `stop`; then stop every leg and wait for its tasks.
    pub async fn supervise(self, mut stop: watch::Receiver<bool>) {
        let mut running: HashMap<usize, Running> = HashMap::new();
        let mut first = true;
        loop {
            for (i, slot) in self.slots.iter().enumerate() {
                let on = self.switches.get(slot.leg.sync) == Switch::On;
                match (on, running.contains_key(&i)) {
                    (true, false) => {
                        running.insert(i, self.start(slot, first));
                    }
                    (false, true) => {
                        if let Some(r) = running.remove(&i) {
                            tracing::info!(leg = %slot.leg, "sync paused: capture stopped");
                            end(r).await;
                        }
                    }
                    _ => {}
                }
                if !on {
                    // a paused source has read all it will: idle checks and the writer's
                    // start gate do not wait for it
                    let started = slot.started.load(Ordering::SeqCst);
                    slot.finished.fetch_max(started + 1, Ordering::SeqCst);
                }
            }
            first = false;
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                break;
            }
            match self.store.sync_overrides().await {
                Ok(o) if self.switches.update(&self.settings, &o) => {
                    for org in self.settings.topology.orgs() {
                        self.status.refresh_org(&org).await;
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot read the sync settings overlay"),
            }
            // rows in Error whose cause an operator removed (dismissed or retried items)
            self.status.refresh_errors().await;
        }
        for (_, r) in running.drain() {
            end(r).await;
        }
    }

    /// Start the capture of one leg (poller, and the subscriber for change events).
    fn start(&self, slot: &Arc<SourceSlot>, at_engine_start: bool) -> Running {
        let (tx, rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let Some(org) = self.orgs.get(&slot.leg.org).cloned() else {
            return (tx, tasks);
        };
        let poller = Poller {
            slot: slot.clone(),
            ingest: self.ingest.clone(),
            org: org.clone(),
            status: self.status.clone(),
            // at start as the engine was asked; a resume reads at once
            at_once: !at_engine_start || self.at_once,
        };
        tasks.push(tokio::spawn(poller.run(rx.clone())));
        if slot.leg.settings(&self.settings).capture == Capture::Cdc {
            let sub = Subscriber {
                slot: slot.clone(),
                ingest: self.ingest.clone(),
                org,
                status: self.status.clone(),
            };
            tasks.push(tokio::spawn(sub.run(rx)));
        }
        (tx, tasks)
    }
}

async fn end((tx, tasks): Running) {
    let _ = tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sync_turned_on_with_new_settings_waits_for_the_restart() {
        let text = orgsync_core::config::sample::peers(&["a", "b"], &["Account", "Contact"]);
        let mut settings = Settings::from_str(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
        settings.syncs[1].enabled = false;
        let at = chrono::Utc::now();
        let mut contact = SyncOverride::new("Contact", at, "dashboard:ann");
        contact.enabled = Some(true);
        assert_eq!(
            wanted(&settings, std::slice::from_ref(&contact))[1],
            Switch::On
        );
        contact.interval_secs = Some(5);
        assert_eq!(
            wanted(&settings, std::slice::from_ref(&contact))[1],
            Switch::Off,
            "on with a new interval: as started, until the engine restarts with it"
        );
        let mut account = SyncOverride::new("Account", at, "dashboard:ann");
        account.enabled = Some(false);
        account.capture = Some("cdc".into());
        assert_eq!(wanted(&settings, &[account])[0], Switch::Off, "off at once");
    }
}
