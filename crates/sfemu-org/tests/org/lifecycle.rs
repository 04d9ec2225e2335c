//! Change log, describe, field-level security, updated/deleted, persistence, seed data.

use super::common::*;
use super::dml::count;
use chrono::{Duration, Utc};
use serde_json::json;
use sfemu_org::{DmlOp, Org};

#[test]
fn change_log_records_transactions_fields_and_origin() {
    let org = org();
    let mut c = admin(&org);
    c.client = Some("orgsync-test".into());
    let rx = org.subscribe();
    let r = org.apply(
        &c,
        vec![
            DmlOp::Create {
                object: "Account".into(),
                fields: map(json!({"Name": "A", "Phone": "1"})),
            },
            DmlOp::Create {
                object: "Account".into(),
                fields: map(json!({"Name": "B"})),
            },
        ],
        false,
    );
    let a = r[0].as_ref().unwrap().id.clone();
    let seq = rx.try_recv().expect("notified on commit");
    assert_eq!(seq, org.last_change_seq());
    let log = org.changes_after(0, 10);
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].transaction_key, log[1].transaction_key);
    assert_eq!(log[0].commit_number, log[1].commit_number);
    assert_eq!((log[0].sequence_number, log[1].sequence_number), (1, 2));
    assert_eq!(log[0].change_type, "CREATE");
    assert_eq!(
        log[0].change_origin,
        "com/salesforce/api/rest/62.0;client=orgsync-test"
    );
    assert_eq!(log[0].commit_user, c.user_id);
    assert!(log[0].changed_fields.is_empty());
    assert_eq!(log[0].values["Name"], "A");
    assert_eq!(log[0].values["Phone"], "1");
    assert!(
        log[0].values.get("Website").is_none(),
        "null fields are not in CREATE values"
    );
    assert!(log[0].values.get("SystemModstamp").is_none());

    c.client = None;
    update(
        &org,
        &c,
        &a,
        json!({"Phone": null, "Website": "w.example", "Name": "A"}),
    )
    .unwrap();
    let upd = org.changes_after(2, 10);
    assert_eq!(upd.len(), 1);
    let u = &upd[0];
    assert_eq!(u.change_type, "UPDATE");
    assert_eq!(u.change_origin, "com/salesforce/api/rest/62.0");
    assert_ne!(u.transaction_key, log[0].transaction_key);
    assert!(u.commit_number > log[0].commit_number);
    assert_eq!(
        u.changed_fields,
        vec!["Phone", "Website", "LastModifiedDate"],
        "unchanged Name is not listed"
    );
    assert_eq!(u.nulled_fields, vec!["Phone"]);
    assert_eq!(u.values["Phone"], json!(null));
    assert_eq!(u.values["Website"], "w.example");
    delete(&org, &c, &a).unwrap();
    assert_eq!(org.changes_after(3, 10)[0].change_type, "DELETE");
    assert_eq!(org.changes_after(0, 2).len(), 2, "max is honoured");
    // Direct edits bypass the log.
    let b = r[1].as_ref().unwrap().id.clone();
    let seq = org.last_change_seq();
    org.direct_edit("Account", &b, &map(json!({"Name": "drift"})))
        .unwrap();
    assert_eq!(org.last_change_seq(), seq);
    assert_eq!(get(&org, &c, "Account", &b)["Name"], "drift");
}

#[test]
fn system_modstamp_never_goes_backwards() {
    let org = org();
    let c = admin(&org);
    let mut last = String::new();
    for i in 0..50 {
        let id = create(&org, &c, "Account", json!({"Name": format!("a{i}")})).unwrap();
        let stamp = get(&org, &c, "Account", &id)["SystemModstamp"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(stamp >= last, "{stamp} < {last}");
        last = stamp;
    }
}

#[test]
fn describe_global_and_object() {
    let org = org_with_restricted_user();
    let admin = admin(&org);
    let g = org.describe_global(&admin.user_id, "62.0");
    assert_eq!(g["encoding"], "UTF-8");
    assert_eq!(g["maxBatchSize"], 200);
    let sobjects = g["sobjects"].as_array().unwrap();
    let acc = sobjects.iter().find(|o| o["name"] == "Account").unwrap();
    assert_eq!(acc["keyPrefix"], "001");
    assert_eq!(
        acc["urls"]["rowTemplate"],
        "/services/data/v62.0/sobjects/Account/{ID}"
    );
    let wi = sobjects
        .iter()
        .find(|o| o["name"] == "Work_Item__c")
        .unwrap();
    assert_eq!(
        (wi["custom"].clone(), wi["keyPrefix"].clone()),
        (json!(true), json!("a00"))
    );

    let d = org.describe(&admin.user_id, "contact", "62.0").unwrap();
    assert_eq!(d["name"], "Contact");
    let field = |d: &serde_json::Value, n: &str| {
        d["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == n)
            .cloned()
    };
    let id = field(&d, "Id").unwrap();
    assert_eq!(
        (
            id["type"].clone(),
            id["soapType"].clone(),
            id["length"].clone()
        ),
        (json!("id"), json!("tns:ID"), json!(18))
    );
    assert_eq!(id["idLookup"], true);
    let acc_id = field(&d, "AccountId").unwrap();
    assert_eq!(acc_id["referenceTo"], json!(["Account"]));
    assert_eq!(acc_id["relationshipName"], "Account");
    let last = field(&d, "LastName").unwrap();
    assert_eq!(
        (last["nillable"].clone(), last["byteLength"].clone()),
        (json!(false), json!(240))
    );
    assert_eq!(
        d["recordTypeInfos"][0]["recordTypeId"],
        "012000000000000AAA"
    );
    let opp = org.describe(&admin.user_id, "Opportunity", "62.0").unwrap();
    let stage = field(&opp, "StageName").unwrap();
    assert_eq!(stage["restrictedPicklist"], true);
    assert_eq!(
        stage["picklistValues"][0],
        json!({"active": true, "defaultValue": false, "label": "Prospecting", "validFor": null, "value": "Prospecting"})
    );
    let a = org.describe(&admin.user_id, "Account", "62.0").unwrap();
    let rels: Vec<&str> = a["childRelationships"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["relationshipName"].as_str())
        .collect();
    assert!(
        rels.contains(&"Contacts")
            && rels.contains(&"Opportunities")
            && rels.contains(&"Work_Items__r"),
        "{rels:?}"
    );
    assert!(field(&a, "OrgSync_Global_Id__c").unwrap()["externalId"] == true);
    assert_eq!(
        org.describe(&admin.user_id, "Nope", "62.0")
            .unwrap_err()
            .code,
        "NOT_FOUND"
    );
    assert_eq!(
        org.describe_basic(&admin.user_id, "account", "62.0")
            .unwrap()["name"],
        "Account"
    );
    assert_eq!(org.object_name("work_item__C").unwrap(), "Work_Item__c");

    // Field-level security: the Sales profile cannot see Account.Phone.
    let sales = caller_for(&org, "sales@sfemu.test");
    let a = org.describe(&sales.user_id, "Account", "62.0").unwrap();
    assert!(field(&a, "Phone").is_none());
    assert!(field(&a, "Name").is_some());
    let e = err1(create(
        &org,
        &sales,
        "Account",
        json!({"Name": "x", "Phone": "1"}),
    ));
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        (
            "INVALID_FIELD",
            "No such column 'Phone' on sobject of type Account"
        )
    );
    let id = create(&org, &admin, "Account", json!({"Name": "x", "Phone": "1"})).unwrap();
    let rec = get(&org, &sales, "Account", &id);
    assert!(rec.get("Phone").is_none());
    assert_eq!(get(&org, &admin, "Account", &id)["Phone"], "1");
    let e = org
        .retrieve(
            &sales.user_id,
            "Account",
            &id,
            Some(&["Phone".to_string()]),
            "62.0",
        )
        .unwrap_err();
    assert_eq!(e.code, "INVALID_FIELD");
}

#[test]
fn updated_and_deleted_windows() {
    let org = org();
    let c = admin(&org);
    let a = create(&org, &c, "Account", json!({"Name": "A"})).unwrap();
    let b = create(&org, &c, "Account", json!({"Name": "B"})).unwrap();
    delete(&org, &c, &b).unwrap();
    let now = Utc::now();
    let up = org
        .updated(
            "Account",
            now - Duration::hours(1),
            now + Duration::minutes(2),
        )
        .unwrap();
    assert_eq!(up.ids, vec![a.clone()]);
    assert!(up.latest_date_covered <= now + Duration::minutes(2));
    let del = org
        .deleted(
            "Account",
            now - Duration::hours(1),
            now + Duration::minutes(2),
        )
        .unwrap();
    assert_eq!(del.deleted.len(), 1);
    assert_eq!(del.deleted[0].0, b);
    assert!(del.earliest_date_available <= del.deleted[0].1);
    let e = org
        .updated("Account", now, now - Duration::minutes(5))
        .unwrap_err();
    assert_eq!(e.code, "INVALID_REPLICATION_DATE");
    let e = org
        .updated("Account", now, now + Duration::seconds(10))
        .err();
    // Same minute after truncation, unless the window crosses a minute boundary.
    if let Some(e) = e {
        assert_eq!(e.code, "INVALID_REPLICATION_DATE");
    }
    let e = org
        .deleted("Account", now - Duration::days(31), now)
        .unwrap_err();
    assert_eq!(e.code, "INVALID_REPLICATION_DATE");
    let old = org
        .updated("Account", now - Duration::days(2), now - Duration::days(1))
        .unwrap();
    assert!(old.ids.is_empty());
}

#[test]
fn persistence_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let org = org();
    let c = admin(&org);
    let acc = create(
        &org,
        &c,
        "Account",
        json!({"Name": "A", "OrgSync_Global_Id__c": "p1", "AnnualRevenue": 12.5}),
    )
    .unwrap();
    let con = create(
        &org,
        &c,
        "Contact",
        json!({"LastName": "C", "AccountId": acc, "Birthdate": "1990-05-01"}),
    )
    .unwrap();
    let gone = create(&org, &c, "Account", json!({"Name": "gone"})).unwrap();
    delete(&org, &c, &gone).unwrap();
    org.save(dir.path()).unwrap();
    let seq = org.last_change_seq();

    let back = Org::open(spec(), dir.path()).unwrap();
    assert_eq!(back.org_id(), org.org_id());
    assert_eq!(
        back.user_by_username("admin@sfemu.test").unwrap().id,
        c.user_id,
        "user ids are stable"
    );
    assert_eq!(
        get(&back, &c, "Account", &acc),
        get(&org, &c, "Account", &acc)
    );
    assert_eq!(
        get(&back, &c, "Contact", &con),
        get(&org, &c, "Contact", &con)
    );
    assert_eq!(
        back.retrieve(&c.user_id, "Account", &gone, None, "62.0")
            .unwrap_err()
            .code,
        "ENTITY_IS_DELETED"
    );
    assert_eq!(back.last_change_seq(), seq);
    assert_eq!(
        back.changes_after(0, 100).len(),
        org.changes_after(0, 100).len()
    );
    assert_eq!(
        back.changes_after(0, 1)[0].values,
        org.changes_after(0, 1)[0].values
    );
    // Indexes and counters are restored: unique values conflict, new ids don't collide.
    assert_eq!(
        err1(create(
            &back,
            &c,
            "Account",
            json!({"Name": "x", "OrgSync_Global_Id__c": "P1"})
        ))
        .code,
        "DUPLICATE_VALUE"
    );
    let fresh = create(&back, &c, "Account", json!({"Name": "new"})).unwrap();
    assert!(![acc.clone(), gone.clone()].contains(&fresh));
    undelete(&back, &c, &gone).unwrap();
    assert_eq!(count(&back, "Account"), 3);
    // A corrupt snapshot is a clear error, not a panic.
    std::fs::write(sfemu_org::persist::snapshot_path(dir.path()), "garbage\n").unwrap();
    let e = Org::open(spec(), dir.path()).unwrap_err();
    assert!(e.message.contains("org-snapshot.jsonl"), "{e}");
}

#[test]
fn seed_data_and_users() {
    let org = org();
    let c = admin(&org);
    let n = org
        .load_seed(
            &c,
            &json!({
                "Account": [{"Name": "Acme", "OrgSync_Global_Id__c": "s-acme"}],
                "Contact": [{"LastName": "Doe", "Account": {"OrgSync_Global_Id__c": "s-acme"}}]
            }),
        )
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(count(&org, "Contact"), 1);
    let e = org
        .load_seed(
            &c,
            &json!({"Contact": [{"LastName": "ok"}, {"FirstName": "no last"}]}),
        )
        .unwrap_err();
    assert_eq!(e.code, "REQUIRED_FIELD_MISSING");
    assert!(e.message.starts_with("seed Contact[1]: "), "{e}");
    assert_eq!(count(&org, "Contact"), 1, "seed is all-or-none");
    let u = org.user_by_username("ADMIN@sfemu.test").unwrap();
    assert_eq!(u.profile_name, "System Administrator");
    assert_eq!(
        org.user_by_id(&u.id[..15]).unwrap().username,
        "admin@sfemu.test"
    );
    assert_eq!(count(&org, "User"), 1);
    assert!(org.org_id().starts_with("00D") && org.org_id().len() == 18);
}

#[test]
fn bad_specs_are_clear_errors() {
    let mut s = spec();
    s.profiles.push(sfemu_org::ProfileSpec {
        name: "P".into(),
        hidden_fields: vec!["Account.Nope".into()],
    });
    let e = Org::new(s).unwrap_err();
    assert!(e.message.contains("Account.Nope"), "{e}");
    let mut s = spec();
    s.schema_files.push("/nonexistent/schema.toml".into());
    let e = Org::new(s).unwrap_err();
    assert!(e.message.contains("/nonexistent/schema.toml"), "{e}");
}

/// Loads 1,000,000 Work_Item__c rows through `apply` (batches of 200, as collections would)
/// and prints resident memory. Run with `cargo test --release -p sfemu-org -- --ignored million`.
#[test]
#[ignore = "slow: memory benchmark"]
fn million_work_items_memory() {
    let org = org();
    let c = admin(&org);
    let rss = || {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .map(|l| l.to_string())
            })
            .unwrap_or_default()
    };
    println!("before: {}", rss());
    for batch in 0..5000 {
        let ops = (0..200)
            .map(|i| {
                let n = batch * 200 + i;
                DmlOp::Create {
                    object: "Work_Item__c".into(),
                    fields: map(json!({
                        "Name": format!("Work item {n}"),
                        "Status__c": "In Progress",
                        "Priority__c": "Medium",
                        "Description__c": "A typical description of a work item in the delivery hub.",
                        "Assignee__c": "someone@example.com",
                        "Estimate_Hours__c": 3.5,
                        "Due_Date__c": "2025-01-31",
                        "OrgSync_Global_Id__c": format!("00D000000000001AAA:a00000000{n:09}"),
                    })),
                }
            })
            .collect();
        let r = org.apply(&c, ops, true);
        assert!(r.iter().all(Result::is_ok));
    }
    assert_eq!(count(&org, "Work_Item__c"), 1_000_000);
    println!("after 1,000,000 Work_Item__c: {}", rss());
    let p = org.query(&c.user_id, "SELECT Id, Name FROM Work_Item__c WHERE OrgSync_Global_Id__c = '00D000000000001AAA:a00000000000123456'", false, 2000, "62.0").unwrap();
    assert_eq!(p.total_size, 1);
    let dir = tempfile::tempdir().unwrap();
    org.save(dir.path()).unwrap();
    drop(org);
    let back = Org::open(spec(), dir.path()).unwrap();
    assert_eq!(count(&back, "Work_Item__c"), 1_000_000);
    println!("after save + reopen (old org dropped): {}", rss());
}

#[test]
fn change_log_caps_and_commit_hooks() {
    let org = org();
    let c = admin(&org);
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    org.on_commit(Box::new(move |seq| s2.lock().unwrap().push(seq)));
    org.set_change_log_cap(3);
    for i in 0..5 {
        create(&org, &c, "Account", json!({"Name": format!("a{i}")})).unwrap();
    }
    assert_eq!(*seen.lock().unwrap(), vec![1, 2, 3, 4, 5]);
    assert_eq!(org.last_change_seq(), 5);
    assert_eq!(org.first_change_seq(), 3);
    let kept: Vec<u64> = org.changes_after(0, 100).iter().map(|r| r.seq).collect();
    assert_eq!(kept, vec![3, 4, 5]);
    assert_eq!(org.changes_after(4, 100).len(), 1);
    // A failed transaction commits nothing and notifies nobody.
    assert!(create(&org, &c, "Account", json!({"Nope": 1})).is_err());
    assert_eq!(seen.lock().unwrap().len(), 5);
    org.set_change_log_max_bytes(1);
    assert_eq!(
        org.changes_after(0, 100).len(),
        1,
        "the newest entry is always kept"
    );
}

const INVOICE_SCHEMA: &str = r#"
[[object]]
name = "Invoice__c"
label = "Invoice"
[[object.field]]
name = "Account__c"
type = "lookup"
reference_to = ["Account"]
child_relationship = "Invoices__r"
[[object.field]]
name = "Channels__c"
type = "multipicklist"
values = ["Email", "Phone", "Web"]
restricted = true
[[object.field]]
name = "Due_At__c"
type = "time"
[[object.field]]
name = "Lines__c"
type = "int"
digits = 3
[[object.field]]
name = "Paid__c"
type = "checkbox"

[[object]]
name = "Account"
[[object.field]]
name = "Tier__c"
type = "picklist"
values = ["Gold", "Silver"]
"#;

#[test]
fn schema_files_add_objects_and_fields_and_survive_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("invoice.toml");
    std::fs::write(&file, INVOICE_SCHEMA).unwrap();
    let mut s = spec();
    s.schema_files.push(file.clone());
    let org = Org::new(s.clone()).unwrap();
    let c = admin(&org);
    let d = org.describe(&c.user_id, "Invoice__c", "62.0").unwrap();
    assert_eq!(d["keyPrefix"], "a04");
    let acc = create(&org, &c, "Account", json!({"Name": "A", "Tier__c": "Gold"})).unwrap();
    let inv = create(
        &org,
        &c,
        "Invoice__c",
        json!({"Name": "I-1", "Account__c": acc, "Channels__c": "web;email", "Due_At__c": "08:30:00.000Z", "Lines__c": 12}),
    )
    .unwrap();
    let rec = get(&org, &c, "Invoice__c", &inv);
    assert_eq!(rec["Channels__c"], "Web;Email");
    assert_eq!(rec["Due_At__c"], "08:30:00.000Z");
    assert_eq!(rec["Paid__c"], false);
    assert_eq!(
        err1(create(
            &org,
            &c,
            "Invoice__c",
            json!({"Channels__c": "Fax"})
        ))
        .code,
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );
    assert_eq!(
        err1(create(&org, &c, "Invoice__c", json!({"Lines__c": 1000}))).code,
        "NUMBER_OUTSIDE_VALID_RANGE"
    );
    let p = org
        .query(
            &c.user_id,
            "SELECT Name, (SELECT Name FROM Invoices__r) FROM Account",
            false,
            2000,
            "62.0",
        )
        .unwrap();
    assert_eq!(p.records[0]["Invoices__r"]["records"][0]["Name"], "I-1");
    org.save(dir.path()).unwrap();

    // Restart with the Tier__c extension gone and a new field added: data follows by name.
    std::fs::write(
        &file,
        INVOICE_SCHEMA.replace("name = \"Tier__c\"", "name = \"Region__c\""),
    )
    .unwrap();
    let back = Org::open(s, dir.path()).unwrap();
    let rec = get(&back, &c, "Account", &acc);
    assert!(rec.get("Tier__c").is_none());
    assert_eq!(rec["Region__c"], json!(null));
    assert_eq!(
        get(&back, &c, "Invoice__c", &inv)["Channels__c"],
        "Web;Email"
    );
}
