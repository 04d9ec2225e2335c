//! Creation, delete and undelete: a record's existence and what a restored copy holds.

use super::{both, replay};
use crate::sim::Action::*;

/// A record created with every synced field empty exists all the same: it must be created
/// everywhere (pipeline: a record seen for the first time is routed to every target even
/// when no field carries a value).
#[test]
fn a_record_with_only_empty_fields_is_created_everywhere() {
    both(&[Create {
        org: 0,
        values: [0, 0, 0],
    }]);
}

/// An edit made on another org while the record was deleted is merged into the agreed fields;
/// the org that later undeletes it restores its pre-delete values and must be brought up to
/// date too (pipeline: an undelete that stands queues an item for its own org as well).
#[test]
fn the_undeleting_org_receives_edits_made_while_it_was_deleted() {
    replay(
        true,
        &[
            Create {
                org: 2,
                values: [0, 0, 0],
            },
            Capture { org: 2, max: 1 },
            Delete { org: 2, pick: 0 },
            Claim { org: 0, max: 1 },
            Capture { org: 2, max: 1 },
            Land { org: 0, locks: 0 },
            Edit {
                org: 0,
                pick: 0,
                field: 0,
                value: 1,
                also: None,
                same_instant: false,
            },
            Undelete { org: 2, pick: 0 },
        ],
    );
}

/// A user deletes and restores a record while our update to it is in flight; the update's
/// completion is recorded before the restore is captured, and the restored (older) values
/// were taken for an edit newer than the edit our update carried (pipeline: an undelete's
/// restored values are what the org holds, `RecordState::holds`, never edits; engine: a
/// change event's UNDELETE is one Undelete change carrying them).
#[test]
fn restored_values_are_not_edits() {
    replay(
        true,
        &[
            Create {
                org: 2,
                values: [0, 0, 0],
            },
            Delete { org: 2, pick: 0 },
            Create {
                org: 2,
                values: [0, 0, 0],
            },
            Create {
                org: 0,
                values: [2, 0, 0],
            },
            Capture {
                org: 0,
                max: usize::MAX,
            },
            Claim { org: 0, max: 3 },
            Land { org: 0, locks: 0 },
            Create {
                org: 0,
                values: [0, 0, 0],
            },
            Undelete { org: 2, pick: 0 },
            Edit {
                org: 1,
                pick: 1,
                field: 0,
                value: 0,
                also: None,
                same_instant: false,
            },
            Create {
                org: 0,
                values: [0, 0, 0],
            },
            Create {
                org: 0,
                values: [0, 0, 0],
            },
            Capture {
                org: 1,
                max: usize::MAX,
            },
            Delete { org: 0, pick: 2 },
            Claim { org: 0, max: 1 },
            Undelete { org: 2, pick: 0 },
        ],
    );
}

/// Polling, two peers: a record is created on org 0 and synced, deleted on org 0 and read
/// (its delete queued for org 1), then restored on org 0 before that delete is written. Found
/// by the convergence simulation (3,000 cases); kept with its shrunk script.
#[test]
fn an_undelete_after_a_queued_delete_stands() {
    let create = Create {
        org: 0,
        values: [0, 0, 0],
    };
    replay(
        false,
        &[
            create.clone(),
            Capture { org: 0, max: 1 },
            create.clone(),
            create.clone(),
            Delete { org: 2, pick: 0 },
            Claim { org: 0, max: 1 },
            create.clone(),
            Land { org: 0, locks: 0 },
            create.clone(),
            Complete { org: 0, lose: 0 },
            create.clone(),
            Capture { org: 0, max: 1 },
            create.clone(),
            create.clone(),
            Undelete { org: 2, pick: 0 },
            create.clone(),
            Claim { org: 0, max: 1 },
        ],
    );
}

/// A user deletes and restores a copy (v1) while our delete of it, decided on an older delete
/// elsewhere, is on its way; our undelete (for the hub's restore) follows. The change events
/// of the user's delete and restore are processed after both our writes were recorded: the
/// restore repeats the live flag our undelete set, and was dropped as no change — so the
/// user's delete, processed just before, stood and deleted the record everywhere (pipeline:
/// an event older than the fact the flag holds that moves the agreed life is a life event,
/// not a repeat). Found by a 5,000-case run of `cdc_converges` (peer topology).
#[test]
fn a_restore_told_after_our_later_writes_still_stands() {
    both(&[
        Create {
            org: 2,
            values: [0, 0, 0],
        },
        Create {
            org: 0,
            values: [0, 0, 0],
        },
        Create {
            org: 1,
            values: [0, 0, 0],
        },
        Capture { org: 2, max: 1 },
        Claim { org: 0, max: 1 },
        Edit {
            org: 0,
            pick: 0,
            field: 0,
            value: 0,
            also: None,
            same_instant: false,
        },
        Land { org: 0, locks: 0 },
        Capture { org: 2, max: 1 },
        Undelete { org: 0, pick: 0 },
        Delete { org: 0, pick: 2 },
        Claim { org: 0, max: 1 },
        Create {
            org: 2,
            values: [0, 0, 0],
        },
        Capture { org: 2, max: 1 },
        Undelete { org: 2, pick: 0 },
        Delete { org: 1, pick: 1 },
        Undelete { org: 1, pick: 0 },
        Complete { org: 0, lose: 0 },
        Claim { org: 0, max: 1 },
        Capture { org: 0, max: 2 },
        Land { org: 0, locks: 0 },
        Complete { org: 0, lose: 0 },
        Claim { org: 1, max: 1 },
        Capture { org: 0, max: 1 },
        Create {
            org: 0,
            values: [0, 0, 0],
        },
        Claim { org: 0, max: 1 },
    ]);
}
