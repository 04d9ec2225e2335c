//! DML: system fields, every validation error code, upsert paths, parents by external id,
//! all-or-none, recycle bin.

use super::common::*;
use serde_json::json;
use sfemu_org::{DmlFailure, DmlOp, Org, SfError};

#[test]
fn create_sets_system_fields_defaults_and_compound_name() {
    let org = org();
    let c = admin(&org);
    let id = create(
        &org,
        &c,
        "Contact",
        json!({"FirstName": "Ada", "LastName": "Lovelace"}),
    )
    .unwrap();
    assert!(id.starts_with("003") && id.len() == 18);
    let rec = get(&org, &c, "Contact", &id[..15]);
    assert_eq!(rec["attributes"]["type"], "Contact");
    assert_eq!(
        rec["attributes"]["url"],
        format!("/services/data/v62.0/sobjects/Contact/{id}")
    );
    assert_eq!(rec["Id"], id.as_str());
    assert_eq!(rec["Name"], "Ada Lovelace");
    assert_eq!(rec["OwnerId"], c.user_id.as_str());
    assert_eq!(rec["CreatedById"], c.user_id.as_str());
    assert_eq!(rec["IsDeleted"], false);
    let created = rec["CreatedDate"].as_str().unwrap();
    assert!(
        created.ends_with(".000+0000") || created.len() == 28,
        "{created}"
    );
    assert_eq!(rec["SystemModstamp"], rec["CreatedDate"]);
    let lead = create(
        &org,
        &c,
        "Lead",
        json!({"LastName": "L", "Company": "Acme"}),
    )
    .unwrap();
    assert_eq!(
        get(&org, &c, "Lead", &lead)["Status"],
        "Open - Not Contacted"
    );
    // Auto-number names.
    let wi = create(&org, &c, "Work_Item__c", json!({"Name": "W"})).unwrap();
    let cm = create(
        &org,
        &c,
        "Work_Item_Comment__c",
        json!({"Work_Item__c": wi, "Body__c": "hi"}),
    )
    .unwrap();
    assert_eq!(
        get(&org, &c, "Work_Item_Comment__c", &cm)["Name"],
        "WIC-000001"
    );
    assert!(wi.starts_with("a00"));
}

#[test]
fn update_changes_fields_and_recomputes() {
    let org = org();
    let c = admin(&org);
    let id = create(
        &org,
        &c,
        "Contact",
        json!({"FirstName": "Ada", "LastName": "L"}),
    )
    .unwrap();
    update(
        &org,
        &c,
        &id,
        json!({"LastName": "Byron", "Email": "ada@example.com", "Id": id}),
    )
    .unwrap();
    let rec = get(&org, &c, "Contact", &id);
    assert_eq!(rec["Name"], "Ada Byron");
    assert_eq!(rec["Email"], "ada@example.com");
    update(&org, &c, &id, json!({"Email": null, "FirstName": ""})).unwrap();
    let rec = get(&org, &c, "Contact", &id);
    assert_eq!(rec["Email"], json!(null));
    assert_eq!(rec["Name"], "Byron");
}

fn expect(
    org: &Org,
    object: &str,
    fields: serde_json::Value,
    code: &str,
    message: &str,
) -> SfError {
    let c = admin(org);
    let e = err1(create(org, &c, object, fields));
    assert_eq!(e.code, code, "{e:?}");
    assert_eq!(e.message, message);
    e
}

#[test]
fn validation_error_codes_and_messages() {
    let org = org();
    let c = admin(&org);
    expect(
        &org,
        "Account",
        json!({"Name": "A", "Foo": 1}),
        "INVALID_FIELD",
        "No such column 'Foo' on sobject of type Account",
    );
    let e = expect(
        &org,
        "Account",
        json!({"Name": "A", "CreatedDate": "2024-01-01T00:00:00Z"}),
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "Unable to create/update fields: CreatedDate. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
    );
    assert_eq!(e.fields, vec!["CreatedDate"]);
    expect(
        &org,
        "Contact",
        json!({"LastName": "x", "HasOptedOutOfEmail": "abc"}),
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "Email Opt Out: value not of required type: abc",
    );
    let long = "x".repeat(81);
    expect(
        &org,
        "Work_Item__c",
        json!({"Name": long}),
        "STRING_TOO_LONG",
        &format!("Work Item Name: data value too large: {long} (max length=80)"),
    );
    expect(
        &org,
        "Opportunity",
        json!({"Name": "O", "StageName": "Foo", "CloseDate": "2024-01-01"}),
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "Stage: bad value for restricted picklist field: Foo",
    );
    let e = expect(
        &org,
        "Contact",
        json!({"FirstName": "x"}),
        "REQUIRED_FIELD_MISSING",
        "Required fields are missing: [LastName]",
    );
    assert_eq!(e.fields, vec!["LastName"]);
    expect(
        &org,
        "Opportunity",
        json!({"Name": "O"}),
        "REQUIRED_FIELD_MISSING",
        "Required fields are missing: [StageName, CloseDate]",
    );
    expect(
        &org,
        "Contact",
        json!({"LastName": "x", "AccountId": "001xx000003DGb2999"}),
        "MALFORMED_ID",
        "Account ID: id value of incorrect type: 001xx000003DGb2999",
    );
    let contact = create(&org, &c, "Contact", json!({"LastName": "c"})).unwrap();
    // Well-formed but of the wrong object, and absent.
    expect(
        &org,
        "Contact",
        json!({"LastName": "x", "AccountId": contact}),
        "INVALID_CROSS_REFERENCE_KEY",
        "invalid cross reference id",
    );
    expect(
        &org,
        "Contact",
        json!({"LastName": "x", "AccountId": "001000000000000"}),
        "INVALID_CROSS_REFERENCE_KEY",
        "invalid cross reference id",
    );
    expect(
        &org,
        "Contact",
        json!({"LastName": "x", "Email": "not-an-email"}),
        "INVALID_EMAIL_ADDRESS",
        "Email: invalid email address: not-an-email",
    );
    expect(
        &org,
        "Work_Log__c",
        json!({"Hours__c": 12345}),
        "NUMBER_OUTSIDE_VALID_RANGE",
        "Hours: value outside of valid range on numeric field: 12345",
    );
    let a = create(
        &org,
        &c,
        "Account",
        json!({"Name": "A", "OrgSync_Global_Id__c": "g1"}),
    )
    .unwrap();
    expect(
        &org,
        "Account",
        json!({"Name": "B", "OrgSync_Global_Id__c": "G1"}),
        "DUPLICATE_VALUE",
        &format!(
            "duplicate value found: OrgSync_Global_Id__c duplicates value on record with id: {}",
            &a[..15]
        ),
    );
    // Nulling a required field on update.
    let e = err1(update(&org, &c, &contact, json!({"LastName": null})));
    assert_eq!(e.code, "REQUIRED_FIELD_MISSING");
    // Updating a read-only field.
    let e = err1(update(&org, &c, &contact, json!({"Name": "x"})));
    assert_eq!(e.code, "INVALID_FIELD_FOR_INSERT_UPDATE");
    assert_eq!(e.fields, vec!["Name"]);
    // Unknown object.
    assert_eq!(
        err1(create(&org, &c, "Nope__c", json!({}))).code,
        "INVALID_TYPE"
    );
}

#[test]
fn accepted_value_forms() {
    let org = org();
    let c = admin(&org);
    let id = create(
        &org,
        &c,
        "Work_Item__c",
        json!({"Name": "W", "Estimate_Hours__c": "3.456", "Due_Date__c": "2024-02-29", "Priority__c": "high"}),
    )
    .unwrap();
    let rec = get(&org, &c, "Work_Item__c", &id);
    assert_eq!(rec["Estimate_Hours__c"], json!(3.46));
    assert_eq!(rec["Due_Date__c"], "2024-02-29");
    assert_eq!(
        rec["Priority__c"], "High",
        "picklist values are stored in their canonical case"
    );
    assert_eq!(rec["Status__c"], "New");
    let e = err1(create(
        &org,
        &c,
        "Work_Item__c",
        json!({"Name": "W", "Due_Date__c": "2023-02-29"}),
    ));
    assert_eq!(e.code, "INVALID_TYPE_ON_FIELD_IN_RECORD");
    let o = create(
        &org,
        &c,
        "Opportunity",
        json!({"Name": "O", "StageName": "Prospecting", "CloseDate": "2024-01-01T10:00:00+01:00", "Amount": 10}),
    )
    .unwrap();
    let rec = get(&org, &c, "Opportunity", &o);
    assert_eq!(rec["CloseDate"], "2024-01-01");
    assert_eq!(rec["Amount"].to_string(), "10.0");
}

#[test]
fn update_and_delete_of_missing_or_deleted_records() {
    let org = org();
    let c = admin(&org);
    let e = err1(update(&org, &c, "001000000000000", json!({"Name": "x"})));
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        ("NOT_FOUND", "The requested resource does not exist")
    );
    assert_eq!(
        err1(update(&org, &c, "bad-id", json!({}))).code,
        "MALFORMED_ID"
    );
    let id = create(&org, &c, "Account", json!({"Name": "A"})).unwrap();
    delete(&org, &c, &id).unwrap();
    let e = err1(update(&org, &c, &id, json!({"Name": "x"})));
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        ("ENTITY_IS_DELETED", "entity is deleted")
    );
    let e = err1(delete(&org, &c, &id));
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        ("ENTITY_IS_DELETED", "entity is deleted")
    );
    let e = org
        .retrieve(&c.user_id, "Account", &id, None, "62.0")
        .unwrap_err();
    assert_eq!(e.code, "ENTITY_IS_DELETED");
}

#[test]
fn upsert_creates_updates_and_reports_multiple_matches() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("extra.toml");
    std::fs::write(
        &file,
        "[[object]]\nname = \"Account\"\n[[object.field]]\nname = \"Legacy_Key__c\"\ntype = \"text\"\nlength = 40\nexternal_id = true\n",
    )
    .unwrap();
    let mut s = spec();
    s.schema_files.push(file);
    let org = Org::new(s).unwrap();
    let c = admin(&org);
    let up = |value: &str, name: &str| {
        org.apply(
            &c,
            vec![DmlOp::Upsert {
                object: "Account".into(),
                ext_field: "OrgSync_Global_Id__c".into(),
                ext_value: value.into(),
                fields: map(json!({"Name": name})),
            }],
            false,
        )
        .remove(0)
    };
    let first = up("org1:001", "A").unwrap();
    assert_eq!(first.created, Some(true));
    let second = up("ORG1:001", "B").unwrap();
    assert_eq!(
        second,
        sfemu_org::DmlOutcome {
            id: first.id.clone(),
            created: Some(false)
        }
    );
    assert_eq!(get(&org, &c, "Account", &first.id)["Name"], "B");
    assert_eq!(
        get(&org, &c, "Account", &first.id)["OrgSync_Global_Id__c"],
        "org1:001"
    );
    // A non-unique external id matching two records → 300.
    for n in ["x", "y"] {
        create(
            &org,
            &c,
            "Account",
            json!({"Name": n, "Legacy_Key__c": "dup"}),
        )
        .unwrap();
    }
    let r = org
        .apply(
            &c,
            vec![DmlOp::Upsert {
                object: "Account".into(),
                ext_field: "Legacy_Key__c".into(),
                ext_value: "dup".into(),
                fields: map(json!({"Name": "z"})),
            }],
            false,
        )
        .remove(0);
    match r {
        Err(DmlFailure::MultipleMatches(ids)) => assert_eq!(ids.len(), 2),
        other => panic!("{other:?}"),
    }
    let by_ext =
        org.retrieve_by_external_id(&c.user_id, "Account", "Legacy_Key__c", "dup", None, "62.0");
    assert!(matches!(by_ext, Err(DmlFailure::MultipleMatches(_))));
    let one = org
        .retrieve_by_external_id(
            &c.user_id,
            "Account",
            "orgsync_global_id__c",
            "org1:001",
            None,
            "62.0",
        )
        .unwrap();
    assert_eq!(one["Id"], first.id.as_str());
    // Not an external id field.
    let r = org
        .apply(
            &c,
            vec![DmlOp::Upsert {
                object: "Account".into(),
                ext_field: "Phone".into(),
                ext_value: "1".into(),
                fields: map(json!({})),
            }],
            false,
        )
        .remove(0);
    match r {
        Err(DmlFailure::Errors(e)) => assert_eq!(e[0].code, "NOT_FOUND"),
        other => panic!("{other:?}"),
    }
    // Parent by a non-unique external id with two matches.
    let e = err1(create(
        &org,
        &c,
        "Contact",
        json!({"LastName": "c", "Account": {"Legacy_Key__c": "dup"}}),
    ));
    assert_eq!(e.code, "DUPLICATE_EXTERNAL_ID");
}

#[test]
fn parent_by_external_id() {
    let org = org();
    let c = admin(&org);
    let acc = create(
        &org,
        &c,
        "Account",
        json!({"Name": "P", "OrgSync_Global_Id__c": "g-acc"}),
    )
    .unwrap();
    let con = create(
        &org,
        &c,
        "Contact",
        json!({"LastName": "c", "Account": {"OrgSync_Global_Id__c": "g-acc"}}),
    )
    .unwrap();
    assert_eq!(get(&org, &c, "Contact", &con)["AccountId"], acc.as_str());
    let wi = create(&org, &c, "Work_Item__c", json!({"Name": "w", "Account__r": {"attributes": {"type": "Account"}, "OrgSync_Global_Id__c": "g-acc"}}))
        .unwrap();
    assert_eq!(
        get(&org, &c, "Work_Item__c", &wi)["Account__c"],
        acc.as_str()
    );
    let e = err1(create(
        &org,
        &c,
        "Contact",
        json!({"LastName": "c", "Account": {"OrgSync_Global_Id__c": "nope"}}),
    ));
    assert_eq!(e.code, "INVALID_FIELD");
    assert_eq!(
        e.message,
        "Foreign key external ID: nope not found for field OrgSync_Global_Id__c in entity Account"
    );
}

#[test]
fn all_or_none_rolls_back_everything_or_commits_successes() {
    let org = org();
    let c = admin(&org);
    let ops = || {
        vec![
            DmlOp::Create {
                object: "Account".into(),
                fields: map(json!({"Name": "ok1"})),
            },
            DmlOp::Create {
                object: "Account".into(),
                fields: map(json!({"Bad": 1})),
            },
            DmlOp::Create {
                object: "Account".into(),
                fields: map(json!({"Name": "ok2"})),
            },
        ]
    };
    let before = org.last_change_seq();
    let r = org.apply(&c, ops(), true);
    assert_eq!(r.len(), 3);
    for i in [0, 2] {
        match &r[i] {
            Err(DmlFailure::Errors(e)) => {
                assert_eq!(e[0].code, "ALL_OR_NONE_OPERATION_ROLLED_BACK");
                assert_eq!(
                    e[0].message,
                    "Record rolled back because not all records were valid and the request was using AllOrNone header"
                );
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(&r[1], Err(DmlFailure::Errors(e)) if e[0].code == "INVALID_FIELD"));
    assert_eq!(count(&org, "Account"), 0);
    assert_eq!(
        org.last_change_seq(),
        before,
        "nothing logged after a rollback"
    );
    let r = org.apply(&c, ops(), false);
    assert!(r[0].is_ok() && r[1].is_err() && r[2].is_ok());
    assert_eq!(count(&org, "Account"), 2);
    // A rolled-back update leaves the old values and indexes.
    let id = r[0].as_ref().unwrap().id.clone();
    let r = org.apply(
        &c,
        vec![
            DmlOp::Update {
                object: None,
                id: id.clone(),
                fields: map(json!({"Name": "changed", "OrgSync_Global_Id__c": "k"})),
            },
            DmlOp::Delete {
                id: "001000000000000".into(),
            },
        ],
        true,
    );
    assert!(r.iter().all(Result::is_err));
    assert_eq!(get(&org, &c, "Account", &id)["Name"], "ok1");
    create(
        &org,
        &c,
        "Account",
        json!({"Name": "n", "OrgSync_Global_Id__c": "k"}),
    )
    .expect("k is free again");
}

pub fn count(org: &Org, object: &str) -> usize {
    org.record_counts()
        .into_iter()
        .find(|(o, _)| o == object)
        .unwrap()
        .1
}

#[test]
fn recycle_bin_cascade_and_undelete() {
    let org = org();
    let c = admin(&org);
    let acc = create(
        &org,
        &c,
        "Account",
        json!({"Name": "A", "OrgSync_Global_Id__c": "u1"}),
    )
    .unwrap();
    let con = create(
        &org,
        &c,
        "Contact",
        json!({"LastName": "c", "AccountId": acc}),
    )
    .unwrap();
    let e = err1(undelete(&org, &c, &acc));
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        ("UNDELETE_FAILED", "Entity is not in the recycle bin")
    );
    delete(&org, &c, &acc).unwrap();
    assert_eq!(count(&org, "Account"), 0);
    assert_eq!(
        count(&org, "Contact"),
        0,
        "contacts are deleted with their account"
    );
    // The unique value is free while the record is in the bin; undelete then conflicts.
    let other = create(
        &org,
        &c,
        "Account",
        json!({"Name": "B", "OrgSync_Global_Id__c": "u1"}),
    )
    .unwrap();
    assert_eq!(err1(undelete(&org, &c, &acc)).code, "DUPLICATE_VALUE");
    delete(&org, &c, &other).unwrap();
    undelete(&org, &c, &acc).unwrap();
    assert_eq!(count(&org, "Contact"), 1);
    assert_eq!(get(&org, &c, "Contact", &con)["IsDeleted"], false);
    let log = org.changes_after(0, 100);
    let kinds: Vec<(&str, &str)> = log
        .iter()
        .map(|r| (r.entity.as_str(), r.change_type.as_str()))
        .collect();
    assert!(
        kinds.contains(&("Contact", "DELETE")) && kinds.contains(&("Contact", "UNDELETE")),
        "{kinds:?}"
    );
}

#[test]
fn content_version_creates_document_and_link() {
    let org = org();
    let c = admin(&org);
    let acc = create(&org, &c, "Account", json!({"Name": "A"})).unwrap();
    let v1 = create(
        &org,
        &c,
        "ContentVersion",
        json!({"Title": "Q1", "PathOnClient": "q1.PDF", "VersionData": "aGVsbG8=", "FirstPublishLocationId": acc}),
    )
    .unwrap();
    assert!(v1.starts_with("068"));
    let rec = get(&org, &c, "ContentVersion", &v1);
    assert_eq!(rec["ContentSize"], 5);
    assert_eq!(rec["FileExtension"], "pdf");
    assert_eq!(rec["VersionNumber"], "1");
    assert_eq!(
        rec["VersionData"],
        format!("/services/data/v62.0/sobjects/ContentVersion/{v1}/VersionData")
    );
    assert_eq!(
        org.blob(&c.user_id, "ContentVersion", &v1, "VersionData")
            .unwrap(),
        b"hello"
    );
    let doc = rec["ContentDocumentId"].as_str().unwrap().to_string();
    assert!(doc.starts_with("069"));
    assert_eq!(
        get(&org, &c, "ContentDocument", &doc)["LatestPublishedVersionId"],
        v1.as_str()
    );
    assert_eq!(count(&org, "ContentDocumentLink"), 1);
    let v2 = create(
        &org,
        &c,
        "ContentVersion",
        json!({"PathOnClient": "q1-v2.pdf", "VersionData": "aGk=", "ContentDocumentId": doc}),
    )
    .unwrap();
    assert_eq!(get(&org, &c, "ContentVersion", &v2)["VersionNumber"], "2");
    assert_eq!(get(&org, &c, "ContentVersion", &v1)["IsLatest"], false);
    assert_eq!(
        get(&org, &c, "ContentDocument", &doc)["LatestPublishedVersionId"],
        v2.as_str()
    );
    assert_eq!(count(&org, "ContentDocument"), 1);
    let e = err1(create(&org, &c, "ContentVersion", json!({"Title": "x"})));
    assert_eq!(e.code, "REQUIRED_FIELD_MISSING");
}

/// File bodies live on disk beside a persisted org's snapshot, never in it: a reopened org
/// still serves them, with the Checksum (MD5 hex) set when they were stored.
#[test]
fn file_bodies_survive_a_reopen_outside_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let org = Org::open(spec(), dir.path()).unwrap();
    let c = admin(&org);
    let v = create(
        &org,
        &c,
        "ContentVersion",
        json!({"PathOnClient": "h.txt", "VersionData": "aGVsbG8="}),
    )
    .unwrap();
    assert_eq!(
        get(&org, &c, "ContentVersion", &v)["Checksum"],
        "5d41402abc4b2a76b9719d911017c592"
    );
    org.save(dir.path()).unwrap();
    let snapshot = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect::<String>();
    assert!(
        !snapshot.contains("aGVsbG8="),
        "the body is not in the snapshot"
    );
    drop(org);
    let again = Org::open(spec(), dir.path()).unwrap();
    assert_eq!(
        again
            .blob(&c.user_id, "ContentVersion", &v, "VersionData")
            .unwrap(),
        b"hello"
    );
}

#[test]
fn org_savepoints_roll_back_or_publish_several_calls_as_one_transaction() {
    let org = org();
    let c = admin(&org);
    let keep = create(
        &org,
        &c,
        "Account",
        json!({"Name": "keep", "OrgSync_Global_Id__c": "k1"}),
    )
    .unwrap();
    let notified = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let n2 = notified.clone();
    org.on_commit(Box::new(move |s| n2.lock().unwrap().push(s)));
    let base = org.last_change_seq();

    // Rollback: inserts, updates and deletes of several calls vanish without a trace.
    let sp = org.savepoint().unwrap();
    let a = create(&org, &c, "Account", json!({"Name": "a"})).unwrap();
    update(
        &org,
        &c,
        &keep,
        json!({"Name": "changed", "OrgSync_Global_Id__c": "k2"}),
    )
    .unwrap();
    create(
        &org,
        &c,
        "Contact",
        json!({"LastName": "c", "AccountId": a}),
    )
    .unwrap();
    delete(&org, &c, &keep).unwrap();
    assert_eq!(
        org.last_change_seq(),
        base,
        "unpublished while the savepoint is open"
    );
    org.rollback_to(sp).unwrap();
    assert_eq!(count(&org, "Account"), 1);
    assert_eq!(count(&org, "Contact"), 0);
    assert_eq!(get(&org, &c, "Account", &keep)["Name"], "keep");
    assert_eq!(org.last_change_seq(), base);
    assert!(notified.lock().unwrap().is_empty());
    assert_eq!(
        err1(create(
            &org,
            &c,
            "Account",
            json!({"Name": "x", "OrgSync_Global_Id__c": "k1"})
        ))
        .code,
        "DUPLICATE_VALUE"
    );
    let base = org.last_change_seq();
    notified.lock().unwrap().clear();

    // Release (drop): everything stays and is published as one transaction.
    let sp = org.savepoint().unwrap();
    let b = create(&org, &c, "Account", json!({"Name": "b"})).unwrap();
    let inner = org.savepoint().unwrap();
    create(&org, &c, "Account", json!({"Name": "gone"})).unwrap();
    org.rollback_to(inner).unwrap();
    update(&org, &c, &b, json!({"Name": "b2"})).unwrap();
    drop(sp);
    assert_eq!(count(&org, "Account"), 2);
    let log = org.changes_after(base, 10);
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0].transaction_key, log[1].transaction_key);
    assert_eq!(log[0].commit_number, log[1].commit_number);
    assert_eq!((log[0].sequence_number, log[1].sequence_number), (1, 2));
    assert_eq!(*notified.lock().unwrap(), vec![org.last_change_seq()]);
    // Afterwards transactions are independent again.
    create(&org, &c, "Account", json!({"Name": "after"})).unwrap();
    let last = org.changes_after(base + 2, 10);
    assert_ne!(last[0].transaction_key, log[0].transaction_key);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Step {
        Create {
            gid: Option<u8>,
        },
        Update {
            pick: usize,
            gid: Option<u8>,
            name: u8,
        },
        Delete {
            pick: usize,
        },
        Undelete {
            pick: usize,
        },
    }

    fn step() -> impl Strategy<Value = Step> {
        let g = || proptest::option::of(0u8..3);
        prop_oneof![
            g().prop_map(|gid| Step::Create { gid }),
            (0usize..8, g(), 0u8..3).prop_map(|(pick, gid, name)| Step::Update { pick, gid, name }),
            (0usize..8).prop_map(|pick| Step::Delete { pick }),
            (0usize..8).prop_map(|pick| Step::Undelete { pick }),
        ]
    }

    fn to_op(s: &Step, ids: &[String]) -> DmlOp {
        let pick = |i: usize| {
            ids.get(i % ids.len().max(1))
                .cloned()
                .unwrap_or_else(|| "001000000000000".into())
        };
        let gid = |g: &Option<u8>| g.map_or(json!(null), |g| json!(format!("g{g}")));
        match s {
            Step::Create { gid: g } => DmlOp::Create {
                object: "Account".into(),
                fields: map(json!({"Name": "n", "OrgSync_Global_Id__c": gid(g)})),
            },
            Step::Update {
                pick: p,
                gid: g,
                name,
            } => DmlOp::Update {
                object: None,
                id: pick(*p),
                fields: map(json!({"Name": format!("m{name}"), "OrgSync_Global_Id__c": gid(g)})),
            },
            Step::Delete { pick: p } => DmlOp::Delete { id: pick(*p) },
            Step::Undelete { pick: p } => DmlOp::Undelete { id: pick(*p) },
        }
    }

    fn dump(org: &Org) -> (Vec<serde_json::Value>, u64) {
        let c = admin(org);
        let p = org
            .query(&c.user_id, "SELECT Id, Name, OrgSync_Global_Id__c, IsDeleted, SystemModstamp FROM Account ORDER BY Id", true, 2000, "62.0")
            .unwrap();
        (p.records, org.last_change_seq())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// An all-or-none batch containing a failing operation leaves no trace, whatever ran
        /// before it in the batch; without all-or-none, exactly the successes are kept.
        #[test]
        fn all_or_none_batches_leave_no_trace(setup in proptest::collection::vec(step(), 0..8),
                                              batch in proptest::collection::vec(step(), 0..8)) {
            let org = org();
            let c = admin(&org);
            let mut ids = Vec::new();
            for s in &setup {
                let op = to_op(s, &ids);
                if let Ok(o) = org.apply(&c, vec![op], false).remove(0) && !ids.contains(&o.id) {
                    ids.push(o.id);
                }
            }
            let before = dump(&org);
            let mut ops: Vec<DmlOp> = batch.iter().map(|s| to_op(s, &ids)).collect();
            ops.push(DmlOp::Create { object: "Account".into(), fields: map(json!({"Nope": 1})) });
            let r = org.apply(&c, ops, true);
            prop_assert!(r.iter().all(Result::is_err));
            prop_assert_eq!(dump(&org), before);
        }
    }
}
