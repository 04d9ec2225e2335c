//! Completions recorded late or lost: what a write proves, as of when it was sent.

use super::{both, replay};
use crate::sim::Action::*;

/// A completion recorded after a newer edit in the target was captured must not take the
/// shadow back to the older written value (merge: `record_written` keeps a shadow value
/// newer than the write, as the ledger's row merge does).
#[test]
fn a_late_completion_does_not_hide_a_newer_edit_in_the_target() {
    replay(
        true,
        &[
            Create {
                org: 1,
                values: [0, 0, 2],
            },
            Edit {
                org: 1,
                pick: 0,
                field: 2,
                value: 0,
                also: None,
                same_instant: false,
            },
            Capture { org: 1, max: 1 },
            Claim { org: 0, max: 1 },
            Create {
                org: 0,
                values: [0, 0, 0],
            },
            Land { org: 2, locks: 0 },
            Edit {
                org: 2,
                pick: 1,
                field: 0,
                value: 0,
                also: Some((2, 0)),
                same_instant: false,
            },
            Capture {
                org: 2,
                max: usize::MAX,
            },
            Edit {
                org: 1,
                pick: 0,
                field: 2,
                value: 2,
                also: None,
                same_instant: false,
            },
        ],
    );
}

/// A create whose completion was lost, then a user deletes that copy while the item is
/// retried: an upsert on the global id does not see the recycle bin, so re-sending the
/// create blindly made a second copy, live, that nobody deletes. Engine requirement (modelled
/// in the simulation, no rule change): an item whose earlier write may have landed unrecorded
/// is not re-sent before the target's capture has read past that write (the copy, and its
/// delete, are then known).
#[test]
fn a_lost_create_completion_does_not_duplicate_a_copy_deleted_meanwhile() {
    both(&[
        Create {
            org: 2,
            values: [0, 0, 0],
        },
        Capture { org: 2, max: 1 },
        Claim { org: 0, max: 1 },
        Land { org: 0, locks: 0 },
        Complete { org: 0, lose: 31 },
        Claim { org: 0, max: 1 },
        Capture { org: 1, max: 1 },
        Claim { org: 0, max: 1 },
        Delete { org: 0, pick: 0 },
    ]);
}

/// A create's completion recorded after the target's delete of that new copy was captured
/// marked the copy live again, so the target never got the later undelete (merge: each
/// org's deleted flag carries the time of its fact, `set_deleted_at`; a completion asserts
/// it as of the time the write was sent and never over a newer captured fact).
#[test]
fn a_late_completion_does_not_revive_a_copy_deleted_since() {
    replay(
        false,
        &[
            Create {
                org: 2,
                values: [0, 0, 0],
            },
            Capture { org: 2, max: 1 },
            Claim { org: 1, max: 1 },
            Land { org: 1, locks: 0 },
            Delete { org: 1, pick: 0 },
            Capture { org: 1, max: 1 },
            Claim { org: 0, max: 1 },
            Land { org: 0, locks: 0 },
            Undelete { org: 2, pick: 0 },
        ],
    );
}

/// Our update, decided before a user's newer edit in the target was captured, lands over that
/// edit: the completion records what the target now holds, which is behind the agreed value,
/// and no capture will queue it (polling sees no change of ours). Engine requirement
/// (modelled in the simulation): after recording a completion, decide again, and requeue the
/// item unless the answer is `Write::Nothing`.
#[test]
fn a_completion_that_leaves_the_target_behind_requeues_it() {
    replay(
        false,
        &[
            Create {
                org: 1,
                values: [0, 0, 0],
            },
            Capture { org: 1, max: 1 },
            Claim { org: 0, max: 1 },
            Land { org: 0, locks: 0 },
            Edit {
                org: 0,
                pick: 0,
                field: 1,
                value: 2,
                also: None,
                same_instant: false,
            },
            Create {
                org: 0,
                values: [0, 0, 0],
            },
            Edit {
                org: 1,
                pick: 0,
                field: 1,
                value: 1,
                also: None,
                same_instant: false,
            },
            Capture { org: 0, max: 1 },
            Claim { org: 1, max: 2 },
            Capture { org: 1, max: 1 },
        ],
    );
}

/// A user sets a field back to the value the ledger believes the target holds, over our
/// update that landed just before; a poll reads it before that update's completion is
/// recorded, which then claimed the target held our value (merge: a field read unchanged
/// moves its shadow's time to the read, so the completion, stated as of the earlier send,
/// does not override it).
#[test]
fn a_read_newer_than_a_completion_keeps_what_it_saw() {
    replay(
        false,
        &[
            Create {
                org: 1,
                values: [0, 0, 0],
            },
            Capture { org: 1, max: 1 },
            Create {
                org: 2,
                values: [0, 0, 0],
            },
            Edit {
                org: 1,
                pick: 0,
                field: 1,
                value: 1,
                also: None,
                same_instant: false,
            },
            Claim { org: 2, max: 1 },
            Land { org: 2, locks: 0 },
            Create {
                org: 0,
                values: [0, 0, 0],
            },
            Capture { org: 1, max: 1 },
            Delete { org: 2, pick: 0 },
            Complete { org: 2, lose: 0 },
            Claim { org: 0, max: 1 },
            Land { org: 0, locks: 0 },
            Edit {
                org: 0,
                pick: 2,
                field: 1,
                value: 0,
                also: None,
                same_instant: false,
            },
            Capture { org: 2, max: 1 },
        ],
    );
}

/// Our delete lands, a user restores the record there, and a poll reads it live before the
/// delete's completion is recorded; the completion then marked the copy deleted and nothing
/// ever deleted it (merge and pipeline: a captured edit or read of a live copy is a fact of
/// liveness at its commit time, which an older completion does not override).
#[test]
fn a_late_delete_completion_does_not_hide_a_restored_copy() {
    replay(
        false,
        &[
            Create {
                org: 1,
                values: [0, 0, 0],
            },
            Capture { org: 1, max: 1 },
            Claim { org: 0, max: 1 },
            Land { org: 0, locks: 0 },
            Delete { org: 2, pick: 0 },
            Capture { org: 0, max: 1 },
            Claim { org: 0, max: 1 },
            Land { org: 0, locks: 0 },
            Undelete { org: 1, pick: 0 },
            Capture { org: 1, max: 1 },
        ],
    );
}
