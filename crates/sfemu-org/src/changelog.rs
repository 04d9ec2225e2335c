//! The org's change log: every committed change to a record, as Change Data Capture reports it.
//!
//! Entries are kept compactly (field slots instead of names, values as one JSON text, shared
//! origin/transaction strings) with a cap on their number *and* on their approximate memory
//! (whichever is hit first drops the oldest entries), and turned into [`ChangeRecord`]s on read.
//! A consumer that falls further behind than the log reaches sees the oldest kept `seq` jump
//! past the one it wanted ([`ChangeLog::first_seq`]) — the CDC layer reports that as a gap. Commit notification: [`crate::Org::on_commit`] registers a callback run after every
//! commit with the last sequence number (no polling needed); [`crate::Org::subscribe`] wraps it
//! in a channel.

use crate::ChangeRecord;
use crate::schema::Schema;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value as Json};
use std::collections::VecDeque;
use std::sync::Arc;

/// Default number of entries kept (older ones are dropped first).
pub const DEFAULT_CAP: usize = 1_000_000;
/// Default memory budget of the kept entries, in bytes (approximate).
pub const DEFAULT_MAX_BYTES: usize = 256 << 20;

/// Kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ChangeType {
    Create,
    Update,
    Delete,
    Undelete,
}

impl ChangeType {
    /// CDC's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Create => "CREATE",
            ChangeType::Update => "UPDATE",
            ChangeType::Delete => "DELETE",
            ChangeType::Undelete => "UNDELETE",
        }
    }
}

/// Why the platform made a change on its own, inside the transaction of another change. Such
/// changes are recorded (the control surface shows them) but Change Data Capture does not
/// publish them: whether Salesforce does is not documented (UNCONFIRMED), and an emulator that
/// stays silent cannot let a subscriber depend on events real orgs may never send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Cause {
    /// A lookup set to null because the record it pointed to was deleted.
    LookupCleared,
    /// A cleared lookup put back because that record was undeleted.
    LookupRestored,
}

impl Cause {
    /// The name the control surface shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::LookupCleared => "LOOKUP_CLEARED",
            Cause::LookupRestored => "LOOKUP_RESTORED",
        }
    }
}

/// One entry as stored.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    pub seq: u64,
    pub table: u32,
    pub record_id: Box<str>,
    pub change_type: ChangeType,
    pub origin: Arc<str>,
    pub txn: Arc<str>,
    pub sequence_number: u32,
    pub ts: DateTime<Utc>,
    pub commit_number: u64,
    pub user: Arc<str>,
    pub changed: Vec<u16>,
    pub nulled: Vec<u16>,
    /// The values as a JSON object text (field name → value).
    pub values: Box<str>,
    /// Set for changes the platform made on its own (not published as change events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
}

impl Entry {
    /// Approximate heap + inline size, for the log's memory budget.
    pub fn approx_size(&self) -> usize {
        std::mem::size_of::<Entry>()
            + self.record_id.len()
            + self.values.len()
            + 2 * (self.changed.len() + self.nulled.len())
            + 32
    }
}

fn default_max_bytes() -> usize {
    DEFAULT_MAX_BYTES
}

/// A change made inside a transaction, not committed yet.
#[derive(Debug, Clone)]
pub struct PendingChange {
    pub table: usize,
    pub record_id: String,
    pub change_type: ChangeType,
    pub changed: Vec<u16>,
    pub nulled: Vec<u16>,
    pub values: Map<String, Json>,
    pub cause: Option<Cause>,
}

/// The log.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ChangeLog {
    entries: VecDeque<Entry>,
    pub cap: usize,
    /// Memory budget (approximate bytes of the kept entries).
    #[serde(default = "default_max_bytes")]
    pub max_bytes: usize,
    #[serde(default)]
    bytes: usize,
    /// While set, commits join this transaction (composite allOrNone spans several calls).
    #[serde(skip)]
    group: Option<Group>,
    /// Last sequence number handed out.
    pub last_seq: u64,
    /// Last commit number handed out.
    pub last_commit: u64,
}

impl Default for ChangeLog {
    fn default() -> Self {
        ChangeLog {
            entries: VecDeque::new(),
            cap: DEFAULT_CAP,
            max_bytes: DEFAULT_MAX_BYTES,
            bytes: 0,
            group: None,
            last_seq: 0,
            last_commit: 0,
        }
    }
}

/// One transaction spanning several commits.
#[derive(Debug, Clone)]
struct Group {
    key: Arc<str>,
    commit: u64,
    next: u32,
}

/// Identity of a committing transaction.
#[derive(Debug)]
pub struct CommitInfo<'a> {
    pub origin: &'a str,
    pub user: &'a str,
    pub ts: DateTime<Utc>,
}

impl ChangeLog {
    /// Appends a transaction's changes under one transaction key and commit number; returns
    /// the last sequence number, or None when there was nothing to commit.
    pub fn commit(&mut self, info: CommitInfo<'_>, changes: Vec<PendingChange>) -> Option<u64> {
        if changes.is_empty() {
            return None;
        }
        let (txn, commit, first) = match &self.group {
            Some(g) if g.commit != 0 => (g.key.clone(), g.commit, g.next),
            _ => {
                self.last_commit += 1;
                let key = match &self.group {
                    Some(g) => g.key.clone(),
                    None => Arc::from(new_transaction_key()),
                };
                (key, self.last_commit, 1)
            }
        };
        let n = changes.len() as u32;
        if let Some(g) = &mut self.group {
            g.commit = commit;
            g.next = first + n;
        }
        let origin: Arc<str> = Arc::from(info.origin);
        let user: Arc<str> = Arc::from(info.user);
        for (i, c) in changes.into_iter().enumerate() {
            self.last_seq += 1;
            self.push_entry(Entry {
                seq: self.last_seq,
                table: c.table as u32,
                record_id: c.record_id.into(),
                change_type: c.change_type,
                origin: origin.clone(),
                txn: txn.clone(),
                sequence_number: first + i as u32,
                ts: info.ts,
                commit_number: commit,
                user: user.clone(),
                changed: c.changed,
                nulled: c.nulled,
                values: Json::Object(c.values).to_string().into(),
                cause: c.cause,
            });
        }
        self.trim();
        Some(self.last_seq)
    }

    /// Starts grouping commits into one transaction (one key, one commit number).
    pub fn begin_group(&mut self) {
        if self.group.is_none() {
            self.group = Some(Group {
                key: Arc::from(new_transaction_key()),
                commit: 0,
                next: 1,
            });
        }
    }

    /// Stops grouping commits.
    pub fn end_group(&mut self) {
        self.group = None;
    }

    /// Forgets entries after `seq` and resets the counters (savepoint rollback).
    pub fn truncate_after(&mut self, seq: u64, last_commit: u64) {
        while self.entries.back().is_some_and(|e| e.seq > seq) {
            if let Some(e) = self.entries.pop_back() {
                self.bytes = self.bytes.saturating_sub(e.approx_size());
            }
        }
        self.last_seq = seq.min(self.last_seq);
        self.last_commit = last_commit.min(self.last_commit);
        if let Some(g) = &mut self.group {
            let kept = self
                .entries
                .iter()
                .rev()
                .take_while(|e| e.txn == g.key)
                .count() as u32;
            g.next = kept + 1;
            if kept == 0 {
                g.commit = 0;
            }
        }
    }

    fn push_entry(&mut self, e: Entry) {
        self.bytes += e.approx_size();
        self.entries.push_back(e);
    }

    /// Entries with `seq > after`, at most `max`, rendered with field names.
    pub fn after(&self, schema: &Schema, after: u64, upto: u64, max: usize) -> Vec<ChangeRecord> {
        let first = self.entries.front().map_or(0, |e| e.seq);
        let skip = after.saturating_sub(first.saturating_sub(1)) as usize;
        self.entries
            .iter()
            .skip(skip)
            .filter(|e| e.seq > after)
            .take_while(|e| e.seq <= upto)
            .take(max)
            .map(|e| render(schema, e))
            .collect()
    }

    /// The entries kept, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }

    /// Appends an entry read back from a snapshot.
    pub fn push_restored(&mut self, e: Entry) {
        self.bytes += e.approx_size();
        self.entries.push_back(e);
        self.trim();
    }

    /// Drops the oldest entries beyond the caps.
    pub fn trim(&mut self) {
        while self.entries.len() > self.cap
            || (self.bytes > self.max_bytes && self.entries.len() > 1)
        {
            match self.entries.pop_front() {
                Some(e) => self.bytes = self.bytes.saturating_sub(e.approx_size()),
                None => break,
            }
        }
    }

    /// The oldest `seq` still kept (`last_seq + 1` when empty).
    pub fn first_seq(&self) -> u64 {
        self.entries.front().map_or(self.last_seq + 1, |e| e.seq)
    }

    /// Number of entries kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn render(schema: &Schema, e: &Entry) -> ChangeRecord {
    let obj = schema.objects.get(e.table as usize);
    let names = |slots: &[u16]| -> Vec<String> {
        slots
            .iter()
            .filter_map(|&s| {
                obj.and_then(|o| o.fields.get(s as usize))
                    .map(|f| f.name.clone())
            })
            .collect()
    };
    let values = match serde_json::from_str::<Json>(&e.values) {
        Ok(Json::Object(m)) => m,
        _ => Map::new(),
    };
    ChangeRecord {
        seq: e.seq,
        entity: obj.map(|o| o.name.clone()).unwrap_or_default(),
        record_id: e.record_id.to_string(),
        change_type: e.change_type.as_str().to_string(),
        change_origin: e.origin.to_string(),
        transaction_key: e.txn.to_string(),
        sequence_number: e.sequence_number,
        commit_timestamp: e.ts,
        commit_number: e.commit_number,
        commit_user: e.user.to_string(),
        changed_fields: names(&e.changed),
        nulled_fields: names(&e.nulled),
        values,
        published: e.cause.is_none(),
        cause: e.cause.map(|c| c.as_str().to_string()),
    }
}

/// A uuid-like random hex key (`8-4-4-4-12`).
pub fn new_transaction_key() -> String {
    let a: u128 = rand::random();
    let h = format!("{a:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// `com/salesforce/api/<api>/<version>[;client=<client>]`.
pub fn change_origin(api: &str, version: &str, client: Option<&str>) -> String {
    match client {
        Some(c) if !c.is_empty() => format!("com/salesforce/api/{api}/{version};client={c}"),
        _ => format!("com/salesforce/api/{api}/{version}"),
    }
}
