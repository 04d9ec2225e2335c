//! Checks on history: the orgs' change logs say what users did and when; the end state must
//! agree with it. The order of two user changes is (commit time, then the org with the lower
//! priority number, then the change-log position within one org): the total order orgsync's
//! last-writer-wins promises.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use serde_json::Value;

use super::index::{Index, Key};
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

type Order = (i64, Reverse<u32>, u64);

impl Event<'_> {
    fn order(&self, ix: &Index<'_>) -> Order {
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

/// The record's newest life event before `delete` (its revival: a create or an undelete) was
/// made in an org whose changes of that object orgsync learns as snapshots, at most
/// [`RACE_WINDOW_MS`] before the delete, and that org's copy changed again after the delete
/// — by a user, or by the platform (a lookup cleared or restored by a parent's delete or
/// undelete). A read only dates a revival by the row's `SystemModstamp` (delete and undelete
/// move no other date), which that later change moved past the delete: no read can order
/// the two, as with [`snapshot_race`] for field values.
fn life_snapshot_race(ix: &Index<'_>, key: &Key, evs: &[Event<'_>], delete: &Event<'_>) -> bool {
    let Some(revival) = evs
        .iter()
        .rev()
        .filter(|e| e.order(ix) < delete.order(ix))
        .find(|e| e.change.kind.is_life_event())
        .filter(|e| e.change.kind != ChangeKind::Delete)
    else {
        return false;
    };
    let org = &ix.world.orgs[revival.org];
    let snapshots = org
        .snapshot_objects
        .iter()
        .any(|o| o.eq_ignore_ascii_case(&key.0));
    let close = delete.change.ts_ms - revival.change.ts_ms <= RACE_WINDOW_MS;
    let moved_after = org.changes.iter().any(|c| {
        !ix.world.by_orgsync(c)
            && c.ts_ms > delete.change.ts_ms
            && ix.gid_of_change(revival.org, c) == Some(key.1.as_str())
    });
    snapshots && close && moved_after
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
/// later read can see a value that is gone.
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
                    || set_back_unseen(ix, &key, field, &setters, newest);
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

/// The newest edit set the field back, in a snapshot-captured org, to the value that org held
/// before its own previous edit of it, at most [`RACE_WINDOW_MS`] later (A → B → A): no read
/// taken before B or after the second A can tell the second A was set, so that org looks
/// unchanged and an older edit elsewhere wins (chaos seed 128: B lived 3.6 s on an org just
/// back from its outage, unread). Change events tell both edits.
fn set_back_unseen(
    ix: &Index<'_>,
    key: &Key,
    field: &str,
    setters: &[(Event<'_>, Value)],
    newest: &Event<'_>,
) -> bool {
    let o = newest.org;
    let org = &ix.world.orgs[o];
    if !org
        .snapshot_objects
        .iter()
        .any(|x| x.eq_ignore_ascii_case(&key.0))
    {
        return false;
    }
    let Some((expected, before_newest)) = setters.split_last() else {
        return false;
    };
    let Some((prev, _)) = before_newest.iter().rev().find(|(e, _)| e.org == o) else {
        return false;
    };
    if newest.change.ts_ms - prev.change.ts_ms > RACE_WINDOW_MS {
        return false;
    }
    // what that org held before its previous edit: the last change there setting the field
    let held = org
        .changes
        .iter()
        .filter(|c| c.seq < prev.change.seq && ix.gid_of_change(o, c) == Some(key.1.as_str()))
        .filter_map(|c| c.sets(field))
        .next_back()
        .map(|v| ix.canonical(o, &key.0, field, &v));
    held.as_ref() == Some(&expected.1)
}

/// How long before the newest edit an older one may have gone unread by orgsync in a
/// snapshot-captured org (see [`lost_updates`]).
pub const RACE_WINDOW_MS: i64 = 45_000;

/// `older` (the edit whose value won) raced `newest` under snapshot capture: see
/// [`lost_updates`].
fn snapshot_race(
    ix: &Index<'_>,
    key: &Key,
    evs: &[Event<'_>],
    older: &Event<'_>,
    newest: &Event<'_>,
) -> bool {
    let snapshots = ix.world.orgs[older.org]
        .snapshot_objects
        .iter()
        .any(|o| o.eq_ignore_ascii_case(&key.0));
    let close = newest.change.ts_ms - older.change.ts_ms <= RACE_WINDOW_MS;
    let touched_after = evs
        .iter()
        .any(|e| e.org == older.org && e.order(ix) > newest.order(ix));
    snapshots
        && close
        && older.order(ix) < newest.order(ix)
        && (touched_after || written_after(ix, key, older, newest))
}

/// orgsync wrote other fields of the record in the older edit's org after the newest edit, at
/// most [`WRITE_RACE_MS`] after the older edit: the write was decided on a read made before
/// that edit, and it moved the row's `LastModifiedDate` past the newest edit — every later
/// read shows the older value at the write's time (chaos seed 103: two edits in one
/// millisecond, one org's then read as 433 ms newer). Written later than that, a read before
/// the write could have dated the edit right: no excuse.
fn written_after(ix: &Index<'_>, key: &Key, older: &Event<'_>, newest: &Event<'_>) -> bool {
    let org = &ix.world.orgs[older.org];
    org.changes.iter().any(|c| {
        ix.world.by_orgsync(c)
            && c.platform.is_none()
            && c.ts_ms >= newest.change.ts_ms
            && c.ts_ms > older.change.ts_ms
            && c.ts_ms - older.change.ts_ms <= WRITE_RACE_MS
            && ix.gid_of_change(older.org, c) == Some(key.1.as_str())
    })
}

/// How soon after a user's edit an orgsync write of the same field in the same org is taken
/// to have been decided on a read made before that edit (see [`lost_updates`]).
pub const WRITE_RACE_MS: i64 = 1_000;

/// orgsync overwrote `field` in the org of the `newest` edit, at most [`WRITE_RACE_MS`] after
/// it, where changes are learnt from snapshots: the read before the write was older than the
/// edit, and once overwritten no read can see it (a change event would have told it).
fn overwritten_unseen(ix: &Index<'_>, key: &Key, field: &str, newest: &Event<'_>) -> bool {
    let org = &ix.world.orgs[newest.org];
    if !org
        .snapshot_objects
        .iter()
        .any(|o| o.eq_ignore_ascii_case(&key.0))
    {
        return false;
    }
    let at = newest.change.ts_ms;
    org.changes.iter().any(|c| {
        ix.world.by_orgsync(c)
            && c.platform.is_none()
            && c.ts_ms >= at
            && c.ts_ms - at <= WRITE_RACE_MS
            && c.changed.iter().any(|f| f.eq_ignore_ascii_case(field))
            && ix.gid_of_change(newest.org, c) == Some(key.1.as_str())
    })
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
