//! Lost updates no capture could have ordered under snapshot capture: each reported as a
//! snapshot race, each with the near misses that stay lost updates.

use serde_json::json;

use super::super::Check;
use super::{counts, edit, item, set, write};

#[test]
fn an_older_value_read_by_a_later_snapshot_is_a_race_not_a_lost_update() {
    // a set Done, b set Blocked later, then a edited the Name: a snapshot of a's row read
    // after that shows Done at the Name's time
    let run = |snapshot: bool, name_at: i64| {
        let mut w = item("Done", "Done");
        if snapshot {
            w.orgs[0].snapshot_objects = vec!["Work_Item__c".into()];
        }
        edit(&mut w, (0, "wa"), 2000, json!({"Status__c": "Done"}));
        edit(&mut w, (1, "wb"), 2005, json!({"Status__c": "Blocked"}));
        edit(&mut w, (0, "wa"), name_at, json!({"Name": "y"}));
        set(&mut w, 0, "wa", "Name", json!("y"));
        set(&mut w, 1, "wb", "Name", json!("y"));
        write(
            &mut w,
            (1, "wb"),
            2100,
            json!({"Status__c": "Done", "Name": "y"}),
        );
        counts(&w)
    };
    assert_eq!(run(true, 2010), vec![(Check::SnapshotRace, 1)]);
    // change events name the changed fields: no excuse
    assert_eq!(run(false, 2010), vec![(Check::LostUpdate, 1)]);
    // a's row last changed before b's edit: its snapshot dates Done before Blocked
    assert_eq!(run(true, 2003), vec![(Check::LostUpdate, 1)]);
}

#[test]
fn a_newest_edit_overwritten_at_once_in_a_snapshot_org_is_a_race() {
    // b's user set Blocked; 300 ms later orgsync wrote a's older Done over it in b
    let run = |snapshot: bool, write_at: i64| {
        let mut w = item("Done", "Done");
        if snapshot {
            w.orgs[1].snapshot_objects = vec!["Work_Item__c".into()];
        }
        edit(&mut w, (0, "wa"), 2000, json!({"Status__c": "Done"}));
        edit(&mut w, (1, "wb"), 5000, json!({"Status__c": "Blocked"}));
        write(&mut w, (1, "wb"), write_at, json!({"Status__c": "Done"}));
        counts(&w)
    };
    assert_eq!(run(true, 5300), vec![(Check::SnapshotRace, 1)]);
    // change events would have told the edit
    assert_eq!(run(false, 5300), vec![(Check::LostUpdate, 1)]);
    // written long after the edit: a read could have seen it
    assert_eq!(run(true, 9000), vec![(Check::LostUpdate, 1)]);
}

#[test]
fn an_older_edit_dated_later_by_our_write_of_other_fields_is_a_race() {
    // a and b set Status in the same millisecond (a wins the tie); orgsync then wrote b's Name
    // (a write decided before b's edit), so every read of b shows Blocked at the write's time
    let run = |snapshot: bool, write_at: i64| {
        let mut w = item("Blocked", "Blocked");
        if snapshot {
            w.orgs[1].snapshot_objects = vec!["Work_Item__c".into()];
        }
        edit(&mut w, (0, "wa"), 2000, json!({"Status__c": "Done"}));
        edit(&mut w, (1, "wb"), 2000, json!({"Status__c": "Blocked"}));
        write(&mut w, (1, "wb"), write_at, json!({"Name": "x"}));
        write(
            &mut w,
            (0, "wa"),
            write_at + 50,
            json!({"Status__c": "Blocked"}),
        );
        counts(&w)
    };
    assert_eq!(run(true, 2433), vec![(Check::SnapshotRace, 1)]);
    // change events tell the edit's own time
    assert_eq!(run(false, 2433), vec![(Check::LostUpdate, 1)]);
    // written long after the edit: the read before that write could have dated it right
    assert_eq!(run(true, 6000), vec![(Check::LostUpdate, 1)]);
}

#[test]
fn a_value_set_away_and_back_unread_in_a_snapshot_org_is_a_race() {
    // a held New (created so); its user set Blocked at 5000 and New again at `back`; b's user
    // set Done at 6000 in between — every read of a shows New, unchanged: Done wins
    let run = |snapshot: bool, back: i64, again: &str| {
        let mut w = item("Done", "Done");
        if snapshot {
            w.orgs[0].snapshot_objects = vec!["Work_Item__c".into()];
        }
        edit(&mut w, (0, "wa"), 5000, json!({"Status__c": "Blocked"}));
        edit(&mut w, (1, "wb"), 6000, json!({"Status__c": "Done"}));
        edit(&mut w, (0, "wa"), back, json!({"Status__c": again}));
        write(&mut w, (0, "wa"), back + 1500, json!({"Status__c": "Done"}));
        counts(&w)
    };
    assert_eq!(run(true, 8000, "New"), vec![(Check::SnapshotRace, 1)]);
    // change events tell both edits
    assert_eq!(run(false, 8000, "New"), vec![(Check::LostUpdate, 1)]);
    // set to a value it never held before: a read shows the change
    assert_eq!(run(true, 8000, "Review"), vec![(Check::LostUpdate, 1)]);
    // B lived longer than any read could miss
    assert_eq!(run(true, 90_000, "New"), vec![(Check::LostUpdate, 1)]);
}

#[test]
fn a_newest_edit_repeating_the_value_orgsync_was_writing_is_a_race() {
    // a's user set Done, then Blocked; b's user set Done 2 ms after Blocked — the value
    // orgsync was carrying to b, whose write (decided before b's edit) landed 176 ms later
    // changing nothing (an echo write): every read of b shows Done unchanged, and Blocked won
    let run = |snapshot: bool, newest: &str, write_at: i64| {
        let mut w = item("Blocked", "Blocked");
        if snapshot {
            w.orgs[1].snapshot_objects = vec!["Work_Item__c".into()];
        }
        edit(&mut w, (0, "wa"), 2000, json!({"Status__c": "Done"}));
        edit(&mut w, (0, "wa"), 5000, json!({"Status__c": "Blocked"}));
        edit(&mut w, (1, "wb"), 5002, json!({"Status__c": newest}));
        write(&mut w, (1, "wb"), write_at, json!({}));
        write(&mut w, (1, "wb"), 30_000, json!({"Status__c": "Blocked"}));
        counts(&w)
    };
    assert_eq!(
        run(true, "Done", 5178),
        vec![(Check::SnapshotRace, 1), (Check::EchoWrite, 1)]
    );
    // change events tell the edit
    assert_eq!(
        run(false, "Done", 5178),
        vec![(Check::LostUpdate, 1), (Check::EchoWrite, 1)]
    );
    // a value no older edit set: a read shows it changed
    assert_eq!(
        run(true, "Review", 5178),
        vec![(Check::LostUpdate, 1), (Check::EchoWrite, 1)]
    );
    // written long after the edit: a read before the write could have dated it
    assert_eq!(
        run(true, "Done", 9000),
        vec![(Check::LostUpdate, 1), (Check::EchoWrite, 1)]
    );
}
