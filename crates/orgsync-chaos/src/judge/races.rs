//! The races no capture could have ordered: reported as snapshot races, not failures (see
//! [`super::history::lost_updates`] and `resurrected`). Each names the limit of reading whole
//! rows that excuses it; change events have none of them.

use serde_json::Value;

use super::history::Event;
use super::index::{Index, Key};
use crate::model::ChangeKind;

/// Whether orgsync learns the changes of `key`'s object in org `o` as whole-row snapshots
/// (polling, Outbound Messaging, a peer's pushes) rather than change events.
fn snapshot_captured(ix: &Index<'_>, o: usize, key: &Key) -> bool {
    ix.world.orgs[o]
        .snapshot_objects
        .iter()
        .any(|x| x.eq_ignore_ascii_case(&key.0))
}

/// A revival of the record (a create or an undelete) before `delete` was made in an org
/// whose changes of that object orgsync learns as snapshots, at most [`RACE_WINDOW_MS`]
/// before the delete, it was still that org's newest life event when the delete was made, and
/// that org's copy changed again after the delete — by a user, or by the platform (a lookup
/// cleared or restored by a parent's delete or undelete). A read only dates a revival by the
/// row's `SystemModstamp` (delete and undelete move no other date), which that later change
/// moved past the delete: no read can order the two, as with [`snapshot_race`] for field
/// values. The revival need not be the newest one of all orgs: an org cut off since its
/// restore is read only after its next edit (chaos seed 227: a spoke's restore 6.6 s before
/// the hub's delete, the spoke offline, its user's edit 1 ms after the delete).
pub(super) fn life_snapshot_race(
    ix: &Index<'_>,
    key: &Key,
    evs: &[Event<'_>],
    delete: &Event<'_>,
) -> bool {
    // each org's newest life event before the delete (events come in order)
    let mut newest: std::collections::BTreeMap<usize, &Event<'_>> = Default::default();
    for e in evs
        .iter()
        .filter(|e| e.order(ix) < delete.order(ix) && e.change.kind.is_life_event())
    {
        newest.insert(e.org, e);
    }
    newest.into_iter().any(|(o, revival)| {
        if revival.change.kind == ChangeKind::Delete {
            return false;
        }
        let org = &ix.world.orgs[o];
        let close = delete.change.ts_ms - revival.change.ts_ms <= RACE_WINDOW_MS;
        let moved_after = org.changes.iter().any(|c| {
            !ix.world.by_orgsync(c)
                && c.ts_ms > delete.change.ts_ms
                && ix.gid_of_change(o, c) == Some(key.1.as_str())
        });
        snapshot_captured(ix, o, key) && close && moved_after
    })
}

/// The newest edit set the field back, in a snapshot-captured org, to the value that org held
/// before its own previous edit of it, at most [`RACE_WINDOW_MS`] later (A → B → A): no read
/// taken before B or after the second A can tell the second A was set, so that org looks
/// unchanged and an older edit elsewhere wins (chaos seed 128: B lived 3.6 s on an org just
/// back from its outage, unread). Change events tell both edits.
pub(super) fn set_back_unseen(
    ix: &Index<'_>,
    key: &Key,
    field: &str,
    setters: &[(Event<'_>, Value)],
    newest: &Event<'_>,
) -> bool {
    let o = newest.org;
    let org = &ix.world.orgs[o];
    if !snapshot_captured(ix, o, key) {
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
pub(super) fn snapshot_race(
    ix: &Index<'_>,
    key: &Key,
    evs: &[Event<'_>],
    older: &Event<'_>,
    newest: &Event<'_>,
) -> bool {
    let snapshots = snapshot_captured(ix, older.org, key);
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
pub(super) fn overwritten_unseen(
    ix: &Index<'_>,
    key: &Key,
    field: &str,
    newest: &Event<'_>,
) -> bool {
    written_soon_after(ix, key, newest)
        .any(|c| c.changed.iter().any(|f| f.eq_ignore_ascii_case(field)))
}

/// orgsync's writes of `key` in the org of the `newest` edit, where changes are learnt from
/// snapshots, at most [`WRITE_RACE_MS`] after it: each decided on a read made before that
/// edit (none when the org sends change events for the object).
fn written_soon_after<'a>(
    ix: &'a Index<'_>,
    key: &'a Key,
    newest: &'a Event<'_>,
) -> impl Iterator<Item = &'a crate::model::Change> + 'a {
    let o = newest.org;
    let at = newest.change.ts_ms;
    let snapshots = snapshot_captured(ix, o, key);
    ix.world.orgs[o].changes.iter().filter(move |c| {
        snapshots
            && ix.world.by_orgsync(c)
            && c.platform.is_none()
            && c.ts_ms >= at
            && c.ts_ms - at <= WRITE_RACE_MS
            && ix.gid_of_change(o, c) == Some(key.1.as_str())
    })
}

/// orgsync wrote the newest edit's org, where changes are learnt from snapshots, at most
/// [`WRITE_RACE_MS`] after that edit without changing `field`, and the newest edit had set the
/// value an older edit in another org had set at most [`RACE_WINDOW_MS`] before: the value
/// that write carried, decided on a read made just before the edit. Every later read of that
/// org shows the value orgsync wrote, dated by its write — unchanged, so the newest edit is
/// invisible and an edit made between the two elsewhere wins (chaos seed 157: 2 ms apart, the
/// write landing 176 ms after the newest edit). A change event would have told it.
pub(super) fn repeated_unseen(
    ix: &Index<'_>,
    key: &Key,
    field: &str,
    setters: &[(Event<'_>, Value)],
    newest: &Event<'_>,
) -> bool {
    let Some(((_, expected), before_newest)) = setters.split_last() else {
        return false;
    };
    let carried = before_newest.iter().any(|(e, v)| {
        e.org != newest.org
            && v == expected
            && newest.change.ts_ms - e.change.ts_ms <= RACE_WINDOW_MS
    });
    carried
        && written_soon_after(ix, key, newest).any(|c| {
            c.kind == ChangeKind::Update && !c.changed.iter().any(|f| f.eq_ignore_ascii_case(field))
        })
}
