//! The org's event bus: change events built from the change log, kept for the retention period.
//!
//! Events are built lazily — when a subscriber asks — from the change-log entries committed
//! since the last build, so an org nobody subscribes to spends nothing. Once built, an event never
//! changes: entries of one transaction and object with the same change (type, changed and
//! nulled fields, values) that arrive in one build become one event with several `recordIds`,
//! as Salesforce merges them.
//!
//! Building events from change-log entries (merging, gaps, overflow) lives in `build`.
//!
//! Replay ids are opaque and increasing: the change-log `seq` of the event's first entry shifted
//! left by 8 (stable across restarts with a data dir, since the log is persisted), or the
//! previous id + 1 for injected events. Retention: by commit time (72 h by default), by count
//! and by approximate memory; an id at or below the highest dropped one is "corrupted".

use super::encode::{self, Header};
use super::schema::{ALL_CHANGE_EVENTS, Catalog, EntitySchema};
use parking_lot::Mutex;
use sfemu_org::Org;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Default retention (Salesforce keeps change events 72 hours).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(72 * 3600);
/// Default idle time after which a subscriber gets a keepalive (Salesforce: within 270 s).
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(270);
/// Events kept at most, whatever their age.
pub const MAX_EVENTS: usize = 200_000;
/// Approximate memory budget of the kept events.
pub const MAX_BYTES: usize = 128 << 20;

/// One built event.
#[derive(Debug)]
pub struct StoredEvent {
    pub replay_id: u64,
    pub topic: String,
    pub schema_id: String,
    /// Random uuid-like event id (ProducerEvent.id).
    pub id: String,
    pub payload: Vec<u8>,
    /// Commit time, epoch ms (for time-based retention).
    pub commit_ms: i64,
}

/// Changes one transaction may publish before the rest become `GAP_OVERFLOW` events.
pub const DEFAULT_OVERFLOW_THRESHOLD: u64 = 100_000;

/// Tunables (per org; settable at run time through the control surface).
#[derive(Debug, Clone, Copy)]
pub struct BusSettings {
    pub retention: Duration,
    pub keepalive: Duration,
    /// Changes per transaction (create/delete/undelete = 1, update = 1 per changed field) that
    /// produce normal events; beyond it, one `GAP_OVERFLOW` per object, header only.
    pub overflow_threshold: u64,
}

impl Default for BusSettings {
    fn default() -> Self {
        BusSettings {
            retention: DEFAULT_RETENTION,
            keepalive: DEFAULT_KEEPALIVE,
            overflow_threshold: DEFAULT_OVERFLOW_THRESHOLD,
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Store {
    pub(super) events: VecDeque<Arc<StoredEvent>>,
    pub(super) bytes: usize,
    /// Change-log seq consumed so far.
    pub(super) ingested: u64,
    /// Highest replay id dropped by retention (ids ≤ it are out of retention).
    pub(super) trimmed_upto: u64,
    pub(super) latest_id: u64,
    /// The next this many changes become GAP_* events.
    pub(super) gaps: u64,
    /// The transaction being counted for overflow: key, changes so far, objects whose
    /// GAP_OVERFLOW was published.
    pub(super) txn: (String, u64, Vec<String>),
}

/// One org's event bus. Shared as `Arc<EventBus>`.
#[derive(Debug)]
pub struct EventBus {
    org: Arc<Org>,
    pub catalog: Catalog,
    store: Mutex<Store>,
    settings: Mutex<BusSettings>,
    /// Bumped after every commit (the last change-log seq) and every injection.
    wake: watch::Sender<u64>,
    /// Turns true when the emulator shuts down: open streams end.
    closed: watch::Sender<bool>,
}

impl EventBus {
    /// A bus over `org`'s change log; registers a commit hook that wakes subscribers.
    pub fn new(org: Arc<Org>) -> Arc<Self> {
        let catalog = Catalog::new(org.schema(), org.cdc_objects());
        let ingested = org.first_change_seq().saturating_sub(1);
        let (wake, _) = watch::channel(0);
        let bus = Arc::new(EventBus {
            org: org.clone(),
            catalog,
            store: Mutex::new(Store {
                ingested,
                trimmed_upto: ingested << 8 | 0xFF,
                latest_id: ingested << 8,
                ..Store::default()
            }),
            settings: Mutex::new(BusSettings::default()),
            wake,
            closed: watch::channel(false).0,
        });
        let weak = Arc::downgrade(&bus);
        org.on_commit(Box::new(move |seq| {
            if let Some(b) = weak.upgrade() {
                b.wake.send_replace(seq);
            }
        }));
        bus
    }

    pub fn settings(&self) -> BusSettings {
        *self.settings.lock()
    }

    pub fn set_settings(&self, s: BusSettings) {
        *self.settings.lock() = s;
        self.wake.send_modify(|_| {});
    }

    /// A receiver that changes after every commit or injection.
    pub fn wake(&self) -> watch::Receiver<u64> {
        self.wake.subscribe()
    }

    /// A receiver that turns true at shutdown.
    pub fn closed(&self) -> watch::Receiver<bool> {
        self.closed.subscribe()
    }

    /// Ends every open stream (at shutdown).
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// The org served.
    pub fn org(&self) -> &Org {
        &self.org
    }

    /// Builds events for the change-log entries committed since the last call, and applies
    /// retention.
    pub fn sync(&self) {
        let mut st = self.store.lock();
        let first = self.org.first_change_seq();
        if first > st.ingested + 1 {
            // The change log dropped entries nobody turned into events: ids up to there are
            // lost history.
            st.trimmed_upto = st.trimmed_upto.max((first - 1) << 8 | 0xFF);
            st.ingested = first - 1;
        }
        loop {
            let batch = self.org.changes_after(st.ingested, 10_000);
            let Some(last) = batch.last() else { break };
            st.ingested = last.seq;
            // Changes the platform made on its own (lookups cleared by a parent's delete) are
            // not published (see sfemu_org::changelog::Cause).
            let published: Vec<_> = batch.into_iter().filter(|c| c.published).collect();
            self.build(&mut st, &published);
        }
        self.retain(&mut st);
    }

    pub(super) fn push(
        &self,
        st: &mut Store,
        replay_id: u64,
        schema: &EntitySchema,
        h: &Header,
        values: &serde_json::Map<String, serde_json::Value>,
    ) {
        let payload = match encode::encode(schema, h, values) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, entity = %schema.entity, "cannot encode a change event");
                return;
            }
        };
        let replay_id = replay_id.max(st.latest_id + 1);
        st.latest_id = replay_id;
        let ev = StoredEvent {
            replay_id,
            topic: schema.topic.clone(),
            schema_id: schema.schema_id.clone(),
            id: sfemu_org::changelog::new_transaction_key(),
            payload,
            commit_ms: h.commit_timestamp,
        };
        st.bytes += ev.payload.len() + ev.topic.len() + 128;
        st.events.push_back(Arc::new(ev));
    }

    fn retain(&self, st: &mut Store) {
        let cutoff = chrono::Utc::now().timestamp_millis()
            - i64::try_from(self.settings().retention.as_millis()).unwrap_or(i64::MAX);
        while let Some(e) = st.events.front() {
            let over = st.events.len() > MAX_EVENTS || st.bytes > MAX_BYTES;
            if !over && e.commit_ms >= cutoff {
                break;
            }
            st.trimmed_upto = st.trimmed_upto.max(e.replay_id);
            st.bytes = st
                .bytes
                .saturating_sub(e.payload.len() + e.topic.len() + 128);
            st.events.pop_front();
        }
    }

    /// Up to `max` events of `topic` after `after`, and the latest id of the bus.
    pub fn read_after(&self, topic: &str, after: u64, max: usize) -> Vec<Arc<StoredEvent>> {
        let st = self.store.lock();
        let start = st.events.partition_point(|e| e.replay_id <= after);
        st.events
            .range(start..)
            .filter(|e| topic == ALL_CHANGE_EVENTS || e.topic == topic)
            .take(max)
            .cloned()
            .collect()
    }

    /// The replay id a keepalive may report to a subscriber at `cursor`: the bus's latest id
    /// when no event of the topic is waiting after `cursor`, else `cursor` (so a client that
    /// stores it skips nothing).
    pub fn keepalive_id(&self, topic: &str, cursor: u64) -> u64 {
        self.sync();
        if self.read_after(topic, cursor, 1).is_empty() {
            cursor.max(self.store.lock().latest_id)
        } else {
            cursor
        }
    }

    /// The newest replay id (LATEST starts after it).
    pub fn latest_id(&self) -> u64 {
        self.store.lock().latest_id
    }

    /// The position EARLIEST starts after.
    pub fn earliest_cursor(&self) -> u64 {
        self.store.lock().trimmed_upto
    }

    /// Whether a CUSTOM replay id can be resumed after: neither dropped nor in the future.
    pub fn replay_id_valid(&self, id: u64) -> bool {
        let st = self.store.lock();
        id > st.trimmed_upto && id <= st.latest_id
    }

    /// Kept events and the first kept id (for the control surface).
    pub fn stats(&self) -> (usize, Option<u64>, u64, u64) {
        let st = self.store.lock();
        (
            st.events.len(),
            st.events.front().map(|e| e.replay_id),
            st.latest_id,
            st.gaps,
        )
    }

    /// Turns the next `n` changes into GAP_* events (header and record ids only).
    pub fn inject_gaps(&self, n: u64) {
        self.sync();
        self.store.lock().gaps += n;
    }

    /// Publishes a GAP_OVERFLOW event (header only, no record ids) for `entity`.
    pub fn inject_overflow(&self, entity: &str) -> Option<u64> {
        let schema = self.catalog.by_entity(entity)?.clone();
        self.sync();
        let h = Header {
            entity: schema.entity.clone(),
            change_type: "GAP_OVERFLOW".into(),
            change_origin: String::new(),
            transaction_key: sfemu_org::changelog::new_transaction_key(),
            sequence_number: 1,
            commit_timestamp: chrono::Utc::now().timestamp_millis(),
            commit_user: self.org.default_user().id.clone(),
            ..Header::default()
        };
        let id = {
            let mut st = self.store.lock();
            self.push(&mut st, 0, &schema, &h, &Default::default());
            st.latest_id
        };
        self.wake.send_modify(|_| {});
        Some(id)
    }

    /// Stores a published platform event as is; returns its replay id.
    pub fn publish(&self, schema: &EntitySchema, id: String, payload: Vec<u8>) -> u64 {
        self.sync();
        let replay_id = {
            let mut st = self.store.lock();
            let replay_id = st.latest_id + 1;
            st.latest_id = replay_id;
            st.bytes += payload.len() + schema.topic.len() + 128;
            st.events.push_back(Arc::new(StoredEvent {
                replay_id,
                topic: schema.topic.clone(),
                schema_id: schema.schema_id.clone(),
                id,
                payload,
                commit_ms: chrono::Utc::now().timestamp_millis(),
            }));
            replay_id
        };
        self.wake.send_modify(|_| {});
        replay_id
    }

    /// Drops every kept event: replay ids handed out so far become out of retention.
    pub fn expire_all(&self) {
        self.sync();
        let mut st = self.store.lock();
        st.trimmed_upto = st.trimmed_upto.max(st.latest_id);
        st.events.clear();
        st.bytes = 0;
    }
}

/// A replay id on the wire: 8 bytes, big-endian.
pub fn replay_bytes(id: u64) -> Vec<u8> {
    id.to_be_bytes().to_vec()
}

/// A replay id from the wire; None unless exactly 8 bytes.
pub fn parse_replay(b: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(b.try_into().ok()?))
}
