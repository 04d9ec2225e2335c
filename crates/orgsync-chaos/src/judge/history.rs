//! Checks on history: the orgs' change logs say what users did and when; the end state must
//! agree with it. The order of two user changes is (commit time, then the org with the lower
//! priority number, then the change-log position within one org): the total order orgsync's
//! last-writer-wins promises.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use serde_json::Value;

use super::index::{Index, Key};
pub use super::races::{RACE_WINDOW_MS, WRITE_RACE_MS};
use super::races::{
    life_snapshot_race, overwritten_unseen, repeated_unseen, set_back_unseen, snapshot_race,
};
use super::{Check, Finding};
use crate::model::{Change, ChangeKind};

/// A user's change to a record, with the org it was made in.
#[derive(Debug, Clone, Copy)]
pub struct Event<'w> {
    /// Org index.
    pub org: usize,
    /// The change.
    pub change: &'w Change,
}

pub(super) type Order = (i64, Reverse<u32>, u64);

impl Event<'_> {
    pub(super) fn order(&self, ix: &Index<'_>) -> Order {
        (
            self.change.ts_ms,
            Reverse(ix.world.orgs[self.org].priority),
            self.change.seq,
        )
    }

    fn describe(&self, ix: &Index<'_>) -> String {
        format!(
            "{} by a user on {} at {}",
            kind_name(self.change.kind),
            ix.world.orgs[self.org].name,
            time(self.change.ts_ms)
        )
    }
}

fn kind_name(k: ChangeKind) -> &'static str {
    match k {
        ChangeKind::Create => "created",
        ChangeKind::Update => "edited",
        ChangeKind::Delete => "deleted",
        ChangeKind::Undelete => "undeleted",
    }
}

/// `HH:MM:SS.mmm` of an epoch-millisecond time.
pub fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map_or_else(|| ms.to_string(), |t| t.format("%H:%M:%S%.3f").to_string())
}

/// Every user change per record, oldest first.
pub fn user_events<'w>(ix: &Index<'w>) -> BTreeMap<Key, Vec<Event<'w>>> {
    let mut out: BTreeMap<Key, Vec<Event<'w>>> = BTreeMap::new();
    for (o, org) in ix.world.orgs.iter().enumerate() {
        for c in &org.changes {
            // the platform's own changes (lookups cleared and restored) follow life events
            if ix.world.by_orgsync(c) || c.platform.is_some() {
                continue;
            }
            if let Some(gid) = ix.gid_of_change(o, c) {
                out.entry((c.object.clone(), gid.to_string()))
                    .or_default()
                    .push(Event { org: o, change: c });
            }
        }
    }
    for evs in out.values_mut() {
        evs.sort_by_key(|e| e.order(ix));
    }
    out
}

/// Records whose newest user life event (create, delete, undelete) was a delete but that are
/// live somewhere (one finding per record).
pub fn resurrected(ix: &Index<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (key, evs) in user_events(ix) {
        let Some(last) = evs.iter().rev().find(|e| e.change.kind.is_life_event()) else {
            continue;
        };
        if last.change.kind != ChangeKind::Delete {
            continue;
        }
        let live = ix.live_orgs(&key);
        if live.is_empty() {
            continue;
        }
        let note = format!(
            "last life event: {}; live in [{}]",
            last.describe(ix),
            ix.names(&live)
        );
        let check = if life_snapshot_race(ix, &key, &evs, last) {
            Check::SnapshotRace
        } else {
            Check::Resurrected
        };
        out.push(Finding::new(check, &key, note));
    }
    out
}

/// Fields whose final value, in some org where the record is live, is not the value of the
/// newest user edit of that field (one finding per record and field). A lookup whose newest
/// value points at a parent that is not live in that org may also end empty there (Salesforce
/// clears lookups to deleted records).
///
/// A finding is a [`Check::SnapshotRace`] instead when every wrong value is an older user edit
/// made in an org whose changes of that object orgsync learns as snapshots, made at most
/// [`RACE_WINDOW_MS`] before the newest edit, and followed in that org by another user change
/// of the record after the newest edit (or orgsync's write of other fields, see
/// `written_after`): a snapshot read after that change shows the older
/// value at the row's newer SystemModstamp, and no read of that org can tell when the field
/// itself changed. (The window bounds the time orgsync may not have read that org: poll
/// interval, restarts and a 20 s outage.) So is one where orgsync overwrote the newest edit in
/// its own snapshot-captured org within [`WRITE_RACE_MS`]: the write was decided on a read
/// made just before the edit (Salesforce has no conditional update for collections), and no
/// later read can see a value that is gone — or, when the edit had repeated the value that
/// write carried, a value that looks unchanged since (`repeated_unseen`).
pub fn lost_updates(ix: &Index<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (key, evs) in user_events(ix) {
        let Some(spec) = ix.world.object(&key.0) else {
            continue;
        };
        let live = ix.live_orgs(&key);
        if live.is_empty() {
            continue;
        }
        for field in &spec.fields {
            let setters: Vec<(Event<'_>, Value)> = evs
                .iter()
                .filter_map(|e| {
                    let v = e.change.sets(field)?;
                    Some((*e, ix.canonical(e.org, &key.0, field, &v)))
                })
                .collect();
            let Some((newest, expected)) = setters.last() else {
                continue;
            };
            let mut wrong = Vec::new();
            let mut races = true;
            for o in &live {
                let got = ix.canonical(*o, &key.0, field, ix.live_value(&key, *o, field));
                if &got == expected
                    || cleared_dead_parent(ix, &key.0, field, *o, expected, &got)
                    || restored_by_platform(ix, &key, field, *o, &got, newest)
                {
                    continue;
                }
                let setter = setters.iter().rev().find(|(_, v)| *v == got);
                races &= setter.is_some_and(|(e, _)| snapshot_race(ix, &key, &evs, e, newest))
                    || overwritten_unseen(ix, &key, field, newest)
                    || set_back_unseen(ix, &key, field, &setters, newest)
                    || repeated_unseen(ix, &key, field, &setters, newest);
                let from = setter.map_or_else(
                    || "never set by a user".to_string(),
                    |(e, _)| e.describe(ix),
                );
                wrong.push(format!("{} has {got} ({from})", ix.world.orgs[*o].name));
            }
            if !wrong.is_empty() {
                let note = format!(
                    "{field}: {}; newest user edit: {expected}, {}",
                    wrong.join("; "),
                    newest.describe(ix)
                );
                let check = if races {
                    Check::SnapshotRace
                } else {
                    Check::LostUpdate
                };
                out.push(Finding::new(check, &key, note));
            }
        }
    }
    out
}

/// The platform itself put `got` in `field` of org `o`'s copy after the newest user edit: an
/// undeleted parent's lookup restored where the field was empty (Salesforce restores a
/// cleared lookup when its parent comes back, even over a newer user value cleared since by
/// another parent's delete). That value is Salesforce's, not an edit orgsync lost.
fn restored_by_platform(
    ix: &Index<'_>,
    key: &Key,
    field: &str,
    o: usize,
    got: &Value,
    newest: &Event<'_>,
) -> bool {
    ix.world.orgs[o].changes.iter().any(|c| {
        c.platform.is_some()
            && c.ts_ms >= newest.change.ts_ms
            && ix.gid_of_change(o, c) == Some(key.1.as_str())
            && c.sets(field)
                .is_some_and(|v| &ix.canonical(o, &key.0, field, &v) == got)
    })
}

/// `got` is empty (or the same dead parent) where `expected` points at a parent that is not
/// live in org `o`.
fn cleared_dead_parent(
    ix: &Index<'_>,
    object: &str,
    field: &str,
    o: usize,
    expected: &Value,
    got: &Value,
) -> bool {
    let Some(lk) = ix.world.object(object).and_then(|s| s.lookup(field)) else {
        return false;
    };
    let Some(parent) = expected.as_str().and_then(|s| s.strip_prefix('@')) else {
        return false;
    };
    let dead = ix
        .live(&(lk.parent.clone(), parent.to_string()), o)
        .is_none();
    dead && (got.is_null() || got == expected)
}

/// orgsync's writes that changed no synced field (no-op updates), one finding each; and the
/// number of orgsync writes in all.
pub fn echo_writes(ix: &Index<'_>) -> (Vec<Finding>, u64) {
    let mut out = Vec::new();
    let mut writes = 0;
    for (o, org) in ix.world.orgs.iter().enumerate() {
        for c in &org.changes {
            if !ix.world.by_orgsync(c) || c.platform.is_some() {
                continue;
            }
            writes += 1;
            let Some(spec) = ix.world.object(&c.object) else {
                continue;
            };
            if c.kind != ChangeKind::Update || c.changed.iter().any(|f| spec.syncs(f)) {
                continue;
            }
            let gid = ix
                .gid_of_change(o, c)
                .map_or_else(|| format!("{}:{}", org.org_id, c.record_id), str::to_string);
            out.push(Finding {
                check: Check::EchoWrite,
                object: c.object.clone(),
                gid,
                note: format!(
                    "{} seq {} at {} (id {}) changed only [{}]",
                    org.name,
                    c.seq,
                    time(c.ts_ms),
                    c.record_id,
                    c.changed.join(", ")
                ),
            });
        }
    }
    (out, writes)
}
