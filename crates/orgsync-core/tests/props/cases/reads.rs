//! What a read (poll, re-read) of a copy may and may not say.

use super::replay;
use crate::sim::Action::*;

/// A user edits a field, then our delete lands before any poll: the poll reads the row in
/// the recycle bin, and ignoring its values lost that edit (and made the later undelete write
/// back a value it already held). Engine requirement (modelled): a deleted row read by a
/// query is ingested as its values (a snapshot) and then the delete.
#[test]
fn a_deleted_rows_values_are_read_too() {
    replay(
        false,
        &[
            Create {
                org: 0,
                values: [0, 0, 0],
            },
            Create {
                org: 2,
                values: [0, 0, 0],
            },
            Delete { org: 0, pick: 0 },
            Create {
                org: 1,
                values: [0, 1, 0],
            },
            Capture { org: 1, max: 1 },
            Delete { org: 0, pick: 0 },
            Claim { org: 2, max: 1 },
            Land { org: 0, locks: 0 },
            Edit {
                org: 0,
                pick: 0,
                field: 1,
                value: 0,
                also: None,
                same_instant: false,
            },
            Delete { org: 2, pick: 0 },
            Capture { org: 2, max: 1 },
            Edit {
                org: 1,
                pick: 0,
                field: 1,
                value: 0,
                also: None,
                same_instant: false,
            },
            Claim { org: 1, max: 1 },
            Undelete { org: 2, pick: 2 },
        ],
    );
}

/// Change events: our update is refused (the copy was deleted meanwhile) and the copy is
/// re-read; the re-read stamped the values in the recycle bin with the delete's time, making
/// an older edit there beat a newer one elsewhere. Engine requirement (modelled): under CDC a
/// refused write is retried once the stream has passed the refusal, which tells the delete
/// and the edits with their own times; a re-read is for polling.
#[test]
fn a_reread_under_cdc_does_not_restamp_edits() {
    replay(
        true,
        &[
            Create {
                org: 0,
                values: [0, 0, 0],
            },
            Capture { org: 0, max: 1 },
            Edit {
                org: 2,
                pick: 0,
                field: 1,
                value: 1,
                also: None,
                same_instant: false,
            },
            Create {
                org: 0,
                values: [0, 0, 0],
            },
            Capture { org: 2, max: 1 },
            Claim { org: 0, max: 1 },
            Land { org: 0, locks: 0 },
            Edit {
                org: 2,
                pick: 2,
                field: 1,
                value: 2,
                also: None,
                same_instant: false,
            },
            Edit {
                org: 1,
                pick: 0,
                field: 1,
                value: 0,
                also: None,
                same_instant: false,
            },
            Delete { org: 2, pick: 0 },
            Capture { org: 1, max: 2 },
            Claim { org: 0, max: 1 },
            Land { org: 0, locks: 0 },
            Undelete { org: 0, pick: 0 },
        ],
    );
}

/// Change events: our undelete is refused (a user had restored the copy, then edited it), and
/// a re-read stamped that undelete with the row's SystemModstamp, after the edit: it then beat
/// a user's delete made elsewhere in between, resurrecting the record (same requirement).
#[test]
fn a_refused_write_under_cdc_waits_for_the_stream() {
    replay(
        true,
        &[
            Create {
                org: 2,
                values: [0, 0, 0],
            },
            Capture { org: 2, max: 1 },
            Edit {
                org: 0,
                pick: 0,
                field: 0,
                value: 0,
                also: None,
                same_instant: false,
            },
            Create {
                org: 0,
                values: [0, 0, 0],
            },
            Claim { org: 0, max: 1 },
            Delete { org: 2, pick: 0 },
            Create {
                org: 1,
                values: [0, 0, 0],
            },
            Capture { org: 2, max: 1 },
            Land { org: 0, locks: 0 },
            Complete { org: 0, lose: 0 },
            Undelete { org: 2, pick: 0 },
            Claim { org: 0, max: 1 },
            Land { org: 0, locks: 0 },
            Undelete { org: 0, pick: 0 },
            Capture {
                org: 0,
                max: usize::MAX,
            },
            Delete { org: 0, pick: 1 },
            Create {
                org: 0,
                values: [0, 0, 0],
            },
            Edit {
                org: 2,
                pick: 0,
                field: 2,
                value: 1,
                also: None,
                same_instant: false,
            },
            Claim { org: 2, max: 2 },
        ],
    );
}

/// Polling: a user sets a field on org 1 to the value the others agreed but org 1 had not
/// received yet, 1 ms after a user on org 0 set it to a third value; org 1 is read first.
/// Taking the read for "org 1 merely holds the agreed value" left the agreed version at its
/// older time, so org 0's older edit, read next, won and was written everywhere (a lost
/// update, chaos seed 20). Rule: a read showing the agreed value where the org was known to
/// hold another value before is an edit, dated by the row's last edit.
#[test]
fn a_read_setting_the_agreed_value_again_is_an_edit() {
    let edit = |org, value| Edit {
        org,
        pick: 0,
        field: 0,
        value,
        also: None,
        same_instant: false,
    };
    replay(
        false,
        &[
            Create {
                org: 0,
                values: [1, 1, 1],
            },
            Capture { org: 0, max: 1 },
            Claim { org: 0, max: 9 },
            Land { org: 0, locks: 0 },
            Complete { org: 0, lose: 0 },
            Claim { org: 0, max: 9 },
            Land { org: 0, locks: 0 },
            Complete { org: 0, lose: 0 },
            edit(0, 2),
            Capture { org: 0, max: 1 },
            edit(0, 3),
            edit(1, 2),
            Capture { org: 1, max: 1 },
            Capture { org: 0, max: 1 },
        ],
    );
}
