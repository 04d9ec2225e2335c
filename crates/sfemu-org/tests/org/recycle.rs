//! The recycle bin and referential integrity: lookups cleared by a parent's delete and put
//! back by its undelete, cascade deletes, undelete errors.

use crate::common::*;
use crate::dml::count;
use serde_json::{Value as Json, json};
use sfemu_org::{ChangeRecord, DmlOp, Org};

/// A moment later than anything the org stamped so far (its clock has millisecond precision).
fn next_ms() {
    std::thread::sleep(std::time::Duration::from_millis(3));
}

fn entries_for<'a>(log: &'a [ChangeRecord], id: &str) -> Vec<&'a ChangeRecord> {
    log.iter().filter(|r| r.record_id == id).collect()
}

struct Tree {
    account: String,
    item: String,
    comment: String,
    contact: String,
}

/// Account ← Work_Item__c.Account__c (lookup) ← Work_Item_Comment__c.Work_Item__c (lookup);
/// Account ← Contact.AccountId (cascade delete).
fn tree(org: &Org) -> Tree {
    let c = admin(org);
    let account = create(org, &c, "Account", json!({"Name": "A"})).unwrap();
    let item = create(
        org,
        &c,
        "Work_Item__c",
        json!({"Name": "W", "Account__c": account}),
    )
    .unwrap();
    let comment = create(
        org,
        &c,
        "Work_Item_Comment__c",
        json!({"Body__c": "b", "Work_Item__c": item}),
    )
    .unwrap();
    let contact = create(
        org,
        &c,
        "Contact",
        json!({"LastName": "K", "AccountId": account}),
    )
    .unwrap();
    Tree {
        account,
        item,
        comment,
        contact,
    }
}

#[test]
fn deleting_a_parent_clears_lookups_and_undelete_restores_them() {
    let org = org();
    let c = admin(&org);
    let t = tree(&org);
    let before = get(&org, &c, "Work_Item__c", &t.item);
    next_ms();
    let seq = org.last_change_seq();
    delete(&org, &c, &t.account).unwrap();

    let item = get(&org, &c, "Work_Item__c", &t.item);
    assert_eq!(item["Account__c"], Json::Null, "the lookup is cleared");
    assert_ne!(item["SystemModstamp"], before["SystemModstamp"]);
    assert_eq!(item["LastModifiedDate"], before["LastModifiedDate"]);
    assert_eq!(item["LastModifiedById"], before["LastModifiedById"]);
    assert_eq!(
        count(&org, "Contact"),
        0,
        "contacts cascade with their account"
    );
    assert_eq!(
        get(&org, &c, "Work_Item_Comment__c", &t.comment)["Work_Item__c"],
        json!(t.item),
        "grandchildren are untouched"
    );

    let log = org.changes_after(seq, 100);
    let cleared = entries_for(&log, &t.item);
    assert_eq!(cleared.len(), 1, "{log:?}");
    let e = cleared[0];
    assert_eq!(
        (e.change_type.as_str(), e.cause.as_deref(), e.published),
        ("UPDATE", Some("LOOKUP_CLEARED"), false)
    );
    assert_eq!(e.changed_fields, vec!["Account__c"]);
    assert_eq!(e.nulled_fields, vec!["Account__c"]);
    assert_eq!(e.values["Account__c"], Json::Null);
    let del = entries_for(&log, &t.account)[0];
    assert!(del.published && del.cause.is_none());
    assert_eq!(e.transaction_key, del.transaction_key, "one transaction");

    next_ms();
    let seq = org.last_change_seq();
    undelete(&org, &c, &t.account).unwrap();
    let item = get(&org, &c, "Work_Item__c", &t.item);
    assert_eq!(item["Account__c"], json!(t.account), "the lookup is back");
    assert_eq!(item["LastModifiedDate"], before["LastModifiedDate"]);
    assert_eq!(get(&org, &c, "Contact", &t.contact)["IsDeleted"], false);
    let log = org.changes_after(seq, 100);
    let restored = entries_for(&log, &t.item);
    assert_eq!(
        (restored[0].cause.as_deref(), restored[0].published),
        (Some("LOOKUP_RESTORED"), false)
    );
    assert_eq!(restored[0].values["Account__c"], json!(t.account));
    let kinds: Vec<&str> = log.iter().map(|r| r.change_type.as_str()).collect();
    assert_eq!(kinds, vec!["UNDELETE", "UNDELETE", "UPDATE"]);
}

#[test]
fn a_record_in_the_bin_loses_its_lookup_to_a_deleted_parent_silently() {
    // the item is in the bin when its account is deleted: undeleted alone, it points at no
    // deleted record
    let org = org();
    let c = admin(&org);
    let t = tree(&org);
    delete(&org, &c, &t.item).unwrap();
    next_ms();
    let seq = org.last_change_seq();
    delete(&org, &c, &t.account).unwrap();
    let log = org.changes_after(seq, 100);
    assert!(entries_for(&log, &t.item).is_empty(), "{log:?}");
    undelete(&org, &c, &t.item).unwrap();
    let item = get(&org, &c, "Work_Item__c", &t.item);
    assert_eq!(item["Account__c"], Json::Null);

    // the account back first: the binned item gets its lookup back, and has it when undeleted
    let t = tree(&org);
    delete(&org, &c, &t.item).unwrap();
    delete(&org, &c, &t.account).unwrap();
    next_ms();
    let seq = org.last_change_seq();
    undelete(&org, &c, &t.account).unwrap();
    let log = org.changes_after(seq, 100);
    assert!(entries_for(&log, &t.item).is_empty(), "{log:?}");
    undelete(&org, &c, &t.item).unwrap();
    let item = get(&org, &c, "Work_Item__c", &t.item);
    assert_eq!(item["Account__c"], json!(t.account));
}

#[test]
fn a_lookup_replaced_meanwhile_stays_replaced() {
    let org = org();
    let c = admin(&org);
    let a1 = create(&org, &c, "Account", json!({"Name": "A1"})).unwrap();
    let a2 = create(&org, &c, "Account", json!({"Name": "A2"})).unwrap();
    let item = |name: &str| {
        create(
            &org,
            &c,
            "Work_Item__c",
            json!({"Name": name, "Account__c": a1}),
        )
        .unwrap()
    };
    let (moved, kept) = (item("moved"), item("kept"));
    delete(&org, &c, &a1).unwrap();
    update(&org, &c, &moved, json!({"Account__c": a2})).unwrap();
    undelete(&org, &c, &a1).unwrap();
    assert_eq!(
        get(&org, &c, "Work_Item__c", &moved)["Account__c"],
        json!(a2)
    );
    assert_eq!(
        get(&org, &c, "Work_Item__c", &kept)["Account__c"],
        json!(a1)
    );
    // Nothing is left to restore: a second delete/undelete cycle starts afresh.
    delete(&org, &c, &a1).unwrap();
    undelete(&org, &c, &a1).unwrap();
    assert_eq!(
        get(&org, &c, "Work_Item__c", &kept)["Account__c"],
        json!(a1)
    );
    assert_eq!(
        get(&org, &c, "Work_Item__c", &moved)["Account__c"],
        json!(a2)
    );
}

/// A lookup set again after a parent's delete cleared it was replaced: when the new parent is
/// deleted too, the old parent's undelete must not bring the old value back over the empty
/// field (chaos seed 35: the replacement's delete left the field empty, which is what the
/// "still null" test alone took for never replaced).
#[test]
fn a_replaced_lookup_cleared_again_stays_empty_when_the_old_parent_returns() {
    let org = org();
    let c = admin(&org);
    let a1 = create(&org, &c, "Account", json!({"Name": "A1"})).unwrap();
    let a2 = create(&org, &c, "Account", json!({"Name": "A2"})).unwrap();
    let item = create(
        &org,
        &c,
        "Work_Item__c",
        json!({"Name": "W", "Account__c": a1}),
    )
    .unwrap();
    delete(&org, &c, &a1).unwrap();
    update(&org, &c, &item, json!({"Account__c": a2})).unwrap();
    delete(&org, &c, &a2).unwrap();
    next_ms();
    let seq = org.last_change_seq();
    undelete(&org, &c, &a1).unwrap();
    assert_eq!(
        get(&org, &c, "Work_Item__c", &item)["Account__c"],
        Json::Null,
        "a1 was replaced while in the bin"
    );
    assert!(
        entries_for(&org.changes_after(seq, 100), &item).is_empty(),
        "no LOOKUP_RESTORED for a replaced lookup"
    );
    undelete(&org, &c, &a2).unwrap();
    assert_eq!(
        get(&org, &c, "Work_Item__c", &item)["Account__c"],
        json!(a2),
        "the replacement's undelete brings it back"
    );
}

#[test]
fn a_rolled_back_delete_leaves_lookups_alone() {
    let org = org();
    let c = admin(&org);
    let t = tree(&org);
    let seq = org.last_change_seq();
    let bad = DmlOp::Create {
        object: "Account".into(),
        fields: map(json!({"Nope": 1})),
    };
    let r = org.apply(
        &c,
        vec![
            DmlOp::Delete {
                id: t.account.clone(),
            },
            bad,
        ],
        true,
    );
    assert!(r.iter().all(Result::is_err));
    assert_eq!(
        get(&org, &c, "Work_Item__c", &t.item)["Account__c"],
        json!(t.account)
    );
    assert_eq!(org.last_change_seq(), seq, "nothing logged");
    // A later real delete/undelete restores exactly once.
    delete(&org, &c, &t.account).unwrap();
    undelete(&org, &c, &t.account).unwrap();
    assert_eq!(
        get(&org, &c, "Work_Item__c", &t.item)["Account__c"],
        json!(t.account)
    );
}

#[test]
fn cleared_lookups_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let org = org();
    let c = admin(&org);
    let t = tree(&org);
    delete(&org, &c, &t.item).unwrap();
    assert_eq!(
        get(&org, &c, "Work_Item_Comment__c", &t.comment)["Work_Item__c"],
        Json::Null
    );
    org.save(dir.path()).unwrap();
    let back = Org::open(spec(), dir.path()).unwrap();
    undelete(&back, &c, &t.item).unwrap();
    assert_eq!(
        get(&back, &c, "Work_Item_Comment__c", &t.comment)["Work_Item__c"],
        json!(t.item)
    );
}

#[test]
fn undelete_errors() {
    let org = org();
    let c = admin(&org);
    let t = tree(&org);
    let e = err1(undelete(&org, &c, &t.account));
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        ("UNDELETE_FAILED", "Entity is not in the recycle bin"),
        "a live record"
    );
    delete(&org, &c, &t.account).unwrap();
    assert_eq!(
        err1(undelete(&org, &c, &t.contact)).code,
        "UNDELETE_FAILED",
        "a record deleted by its parent's cascade comes back only with the parent"
    );
    let unknown = format!("{}AAAAAAAAAAAA", &t.account[..3]);
    assert_eq!(
        err1(undelete(&org, &c, &unknown)).code,
        "ENTITY_IS_DELETED",
        "an id of no record"
    );
    assert_eq!(err1(undelete(&org, &c, "garbage")).code, "MALFORMED_ID");
    assert_eq!(
        err1(undelete(&org, &c, &c.user_id)).code,
        "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
        "an object that cannot be undeleted"
    );
    undelete(&org, &c, &t.account).unwrap();
}
