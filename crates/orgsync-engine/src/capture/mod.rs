//! Capture: the sources that read what changed in the orgs — a poller per leg ([`poll`]), a
//! change-event subscriber per CDC leg ([`cdc`]), re-reads asked for by outbound messages,
//! change-event gaps and failed writes ([`poll::reread`]) — all committed through one
//! [`ingest::Ingest`].

pub(crate) mod cdc;
mod dormant;
pub(crate) mod ingest;
mod names;
pub(crate) mod plan;
pub(crate) mod poll;
mod wake;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use orgsync_core::model::Fields;
use orgsync_core::{FieldValue, GlobalId};
use tokio::sync::Notify;

use crate::leg::Leg;

/// One captured record state (or delete) of the capturing org.
#[derive(Debug, Clone)]
pub(crate) struct Captured {
    /// The record's id in the capturing org.
    pub id: String,
    /// When the change was committed there (SystemModstamp, event commit time, push time).
    pub commit_ts: DateTime<Utc>,
    /// The SystemModstamp when read by a query (polls and re-reads): rows the ledger already
    /// saw at this stamp are skipped. None for events and pushes.
    pub modstamp: Option<DateTime<Utc>>,
    /// LastModifiedDate when read by a query: the last edit by a user or an API call. The
    /// platform's own changes (a lookup cleared by a parent's delete, restored by its
    /// undelete) move only SystemModstamp, so a read's field values are dated by this, and its
    /// deletes and undeletes by `commit_ts`. None for events and pushes.
    pub edited_ts: Option<DateTime<Utc>>,
    pub deleted: bool,
    /// The global-id field's value as read, if any.
    pub gid_field: Option<GlobalId>,
    /// The synced fields read (all of them for a query; the changed ones for an event).
    pub fields: Fields,
    /// `client=` tag of the writer, when the source tells (change events): our own tag is an
    /// echo and is dropped.
    pub client_tag: Option<String>,
    /// A transaction id unique to this change, stable if the same change is captured again.
    pub txn_id: String,
    /// `fields` are the record's state as read (query rows, created or restored records)
    /// rather than the edits of one change (see `orgsync_core::merge::Incoming::snapshot`).
    pub snapshot: bool,
    /// `fields` are only those one change touched (a change-event UPDATE): for a record the
    /// ledger has never seen, too little to create it elsewhere, so it is read whole instead.
    pub partial: bool,
    /// A change event's UNDELETE: one undelete carrying the restored values (what the copy
    /// holds again, not edits).
    pub restored: bool,
}

impl Captured {
    /// A field's value (names are case-insensitive).
    pub fn field(&self, name: &str) -> Option<&FieldValue> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

/// One capture source's progress, for `EngineHandle::wait_idle` and for the writer's start
/// gate: a source that has not read once yet may hold edits made while the engine was down.
#[derive(Debug)]
pub(crate) struct SourceSlot {
    pub leg: Arc<Leg>,
    /// Poll cycles started and finished.
    pub started: AtomicU64,
    pub finished: AtomicU64,
    /// Chunks of change events received (for `wait_idle`: a stream is quiet when this stops
    /// moving).
    pub events: AtomicU64,
    /// Wakes the poller (a cycle now).
    pub wake: Notify,
    /// The change-event subscription has delivered what was waiting for it (CDC legs): the
    /// first poll waits for it, so polled rows never race the replay of precise events.
    pub caught_up: AtomicBool,
    pub caught_up_signal: Notify,
    /// Changes committed before this instant are not delivered by the change-event
    /// subscription (it started at LATEST then): the backup poll reads them however recent.
    pub uncovered_before: std::sync::Mutex<Option<DateTime<Utc>>>,
    /// The next poll reads up to now: the events will not bring what happened (an overflow,
    /// an undecodable event).
    pub read_all: AtomicBool,
}

impl SourceSlot {
    pub fn new(leg: Arc<Leg>) -> SourceSlot {
        SourceSlot {
            leg,
            started: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            events: AtomicU64::new(0),
            wake: Notify::new(),
            caught_up: AtomicBool::new(false),
            caught_up_signal: Notify::new(),
            uncovered_before: std::sync::Mutex::new(None),
            read_all: AtomicBool::new(false),
        }
    }

    /// Poll now, up to now: change events will not describe what just happened.
    pub fn poll_everything(&self) {
        self.read_all.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// See [`SourceSlot::uncovered_before`].
    pub fn set_uncovered_before(&self, at: DateTime<Utc>) {
        let mut u = self
            .uncovered_before
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *u = Some(u.map_or(at, |old| old.max(at)));
    }

    fn uncovered(&self) -> Option<DateTime<Utc>> {
        *self
            .uncovered_before
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The upper bound of a backup poll of a change-event leg read at `read_at`: changes the
    /// subscription delivers are left to it for `settle`; older ones, and everything it never
    /// covered, are read.
    /// None: read everything (see [`SourceSlot::poll_everything`]); taking it resets it.
    pub fn poll_until(
        &self,
        read_at: DateTime<Utc>,
        settle: chrono::TimeDelta,
    ) -> Option<DateTime<Utc>> {
        if self.read_all.swap(false, Ordering::SeqCst) {
            return None;
        }
        let recent = read_at - settle;
        Some(self.uncovered().map_or(recent, |u| u.max(recent)))
    }

    /// Whether the source has read once since start.
    pub fn has_read(&self) -> bool {
        self.finished.load(Ordering::SeqCst) > 0
    }

    /// The subscription ended (or failed): until the next one has caught up, the backup poll
    /// waits, so its rows do not race the replay of the precise events.
    pub fn set_behind(&self) {
        self.caught_up.store(false, Ordering::SeqCst);
    }

    /// Mark the change-event stream caught up.
    pub fn set_caught_up(&self) {
        if !self.caught_up.swap(true, Ordering::SeqCst) {
            self.caught_up_signal.notify_waiters();
        }
    }

    /// Wait until the stream is caught up, at most `limit`.
    pub async fn wait_caught_up(&self, limit: std::time::Duration) {
        let signal = self.caught_up_signal.notified();
        if self.caught_up.load(Ordering::SeqCst) {
            return;
        }
        let _ = tokio::time::timeout(limit, signal).await;
    }
}
