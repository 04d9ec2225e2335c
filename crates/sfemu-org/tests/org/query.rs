//! Queries: paging through cursors, relationship fields, child subqueries, aggregates, queryAll,
//! field-level security.

use super::common::*;
use serde_json::json;
use sfemu_org::{DmlOp, Org};

fn q(org: &Org, c: &sfemu_org::Caller, soql: &str) -> sfemu_org::QueryPage {
    org.query(&c.user_id, soql, false, 2000, "62.0")
        .unwrap_or_else(|e| panic!("{soql}: {e}"))
}

#[test]
fn paging_over_5000_rows_with_cursors() {
    let org = org();
    let c = admin(&org);
    for chunk in 0..25 {
        let ops = (0..200)
            .map(|i| DmlOp::Create {
                object: "Work_Item__c".into(),
                fields: map(json!({"Name": format!("w{:05}", chunk * 200 + i)})),
            })
            .collect();
        assert!(org.apply(&c, ops, true).iter().all(Result::is_ok));
    }
    let first = org
        .query(
            &c.user_id,
            "SELECT Id, Name FROM Work_Item__c ORDER BY Name",
            false,
            2000,
            "62.0",
        )
        .unwrap();
    assert_eq!(first.total_size, 5000);
    assert!(!first.done);
    assert_eq!(first.records.len(), 2000);
    let loc = first.next_locator.clone().unwrap();
    assert!(loc.starts_with("01g") && loc.ends_with("-2000"), "{loc}");
    assert_eq!(loc.len(), 3 + 15 + 5);
    let mut names: Vec<String> = first
        .records
        .iter()
        .map(|r| r["Name"].as_str().unwrap().to_string())
        .collect();
    let mut next = Some(loc);
    let mut pages = 1;
    while let Some(l) = next {
        let p = org.query_more(&c.user_id, &l, 2000, "62.0").unwrap();
        names.extend(
            p.records
                .iter()
                .map(|r| r["Name"].as_str().unwrap().to_string()),
        );
        next = p.next_locator.clone();
        assert_eq!(p.done, next.is_none());
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(names.len(), 5000);
    assert!(
        names.windows(2).all(|w| w[0] < w[1]),
        "ordered, no duplicates"
    );
    // A smaller batch size is honoured, a too-small one clamped to 200.
    let p = org
        .query(&c.user_id, "SELECT Id FROM Work_Item__c", false, 10, "62.0")
        .unwrap();
    assert_eq!(p.records.len(), 200);
    let e = org
        .query_more(&c.user_id, "01gAAAAAAAAAAAAAAA-200", 2000, "62.0")
        .unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        ("INVALID_QUERY_LOCATOR", "invalid query locator")
    );
    // Another user cannot use my cursor.
    let other = org.query_more(
        "005000000000000AAA",
        p.next_locator.as_deref().unwrap(),
        2000,
        "62.0",
    );
    assert!(other.is_err());
}

#[test]
fn record_shapes_parents_and_children() {
    let org = org();
    let c = admin(&org);
    let acc = create(
        &org,
        &c,
        "Account",
        json!({"Name": "Acme", "AnnualRevenue": 10}),
    )
    .unwrap();
    create(
        &org,
        &c,
        "Contact",
        json!({"LastName": "One", "AccountId": acc}),
    )
    .unwrap();
    create(
        &org,
        &c,
        "Contact",
        json!({"LastName": "Two", "AccountId": acc}),
    )
    .unwrap();
    let orphan = create(&org, &c, "Contact", json!({"LastName": "Orphan"})).unwrap();
    create(&org, &c, "Account", json!({"Name": "Empty"})).unwrap();

    let p = q(
        &org,
        &c,
        "SELECT Name, AnnualRevenue, Owner.Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account ORDER BY Name",
    );
    assert_eq!(p.total_size, 2);
    assert!(p.done && p.next_locator.is_none());
    let r = &p.records[0];
    let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["attributes", "Name", "AnnualRevenue", "Owner", "Contacts"]
    );
    assert_eq!(
        r["attributes"],
        json!({"type": "Account", "url": format!("/services/data/v62.0/sobjects/Account/{acc}")})
    );
    assert_eq!(r["AnnualRevenue"].to_string(), "10.0");
    assert_eq!(r["Owner"]["attributes"]["type"], "User");
    assert_eq!(r["Owner"]["Name"], "Admin User");
    assert_eq!(r["Contacts"]["totalSize"], 2);
    assert_eq!(r["Contacts"]["done"], true);
    assert_eq!(r["Contacts"]["records"][1]["LastName"], "Two");
    assert_eq!(p.records[1]["Contacts"], json!(null));

    let p = q(
        &org,
        &c,
        &format!("SELECT Id, Account.Name FROM Contact WHERE Id = '{orphan}'"),
    );
    assert_eq!(p.records.len(), 1);
    assert_eq!(p.records[0]["Account"], json!(null));
    let p = q(
        &org,
        &c,
        "SELECT LastName, CreatedBy.Name FROM Contact WHERE Account.Name = 'Acme' ORDER BY LastName DESC",
    );
    assert_eq!(p.records.len(), 2);
    assert_eq!(p.records[0]["LastName"], "Two");
    assert_eq!(p.records[0]["CreatedBy"]["Name"], "Admin User");
    let p = q(&org, &c, "SELECT Name FROM User");
    assert_eq!(p.records[0]["Name"], "Admin User");
    let e = org
        .query(&c.user_id, "SELECT Foo FROM Account", false, 2000, "62.0")
        .unwrap_err();
    assert_eq!(e.code, "INVALID_FIELD");
    assert!(
        e.message
            .contains("No such column 'Foo' on entity 'Account'"),
        "{}",
        e.message
    );
    assert_eq!(
        org.query(&c.user_id, "SELECT Id FROM Nope__c", false, 2000, "62.0")
            .unwrap_err()
            .code,
        "INVALID_TYPE"
    );
}

#[test]
fn aggregates_and_count() {
    let org = org();
    let c = admin(&org);
    for (n, s, h) in [("a", "New", 1.5), ("b", "New", 2.0), ("c", "Done", 4.0)] {
        create(
            &org,
            &c,
            "Work_Item__c",
            json!({"Name": n, "Status__c": s, "Estimate_Hours__c": h}),
        )
        .unwrap();
    }
    let p = q(
        &org,
        &c,
        "SELECT COUNT() FROM Work_Item__c WHERE Status__c = 'New'",
    );
    assert_eq!((p.total_size, p.done, p.records.len()), (2, true, 0));
    let p = q(
        &org,
        &c,
        "SELECT Status__c, COUNT(Id), SUM(Estimate_Hours__c) total FROM Work_Item__c GROUP BY Status__c ORDER BY Status__c",
    );
    assert_eq!(p.total_size, 2);
    assert_eq!(
        p.records[0],
        json!({"attributes": {"type": "AggregateResult"}, "Status__c": "Done", "expr0": 1, "total": 4.0})
    );
    assert_eq!(p.records[1]["total"], json!(3.5));
}

#[test]
fn query_all_sees_the_recycle_bin() {
    let org = org();
    let c = admin(&org);
    let a = create(&org, &c, "Account", json!({"Name": "A"})).unwrap();
    create(&org, &c, "Account", json!({"Name": "B"})).unwrap();
    delete(&org, &c, &a).unwrap();
    assert_eq!(q(&org, &c, "SELECT Id FROM Account").total_size, 1);
    let all = org
        .query(
            &c.user_id,
            "SELECT Id, IsDeleted FROM Account WHERE IsDeleted = true",
            true,
            2000,
            "62.0",
        )
        .unwrap();
    assert_eq!(all.total_size, 1);
    assert_eq!(all.records[0]["Id"], a.as_str());
    assert_eq!(all.records[0]["IsDeleted"], true);
    undelete(&org, &c, &a).unwrap();
    assert_eq!(q(&org, &c, "SELECT Id FROM Account").total_size, 2);
}

#[test]
fn indexed_lookups_and_field_level_security() {
    let org = org_with_restricted_user();
    let c = admin(&org);
    let mut ids = Vec::new();
    for i in 0..300 {
        ids.push(create(&org, &c, "Account", json!({"Name": format!("n{i}"), "OrgSync_Global_Id__c": format!("g{i}"), "Phone": "555"})).unwrap());
    }
    let p = q(
        &org,
        &c,
        &format!(
            "SELECT Name FROM Account WHERE Id IN ('{}', '{}')",
            ids[5],
            &ids[7][..15]
        ),
    );
    assert_eq!(p.total_size, 2);
    let p = q(
        &org,
        &c,
        "SELECT Id FROM Account WHERE OrgSync_Global_Id__c = 'G42'",
    );
    assert_eq!(p.records[0]["Id"], ids[42].as_str());
    let sales = caller_for(&org, "sales@sfemu.test");
    let e = org
        .query(
            &sales.user_id,
            "SELECT Phone FROM Account",
            false,
            2000,
            "62.0",
        )
        .unwrap_err();
    assert_eq!(e.code, "INVALID_FIELD");
    assert_eq!(q(&org, &sales, "SELECT Name FROM Account").total_size, 300);
}

#[test]
fn cursors_per_user_are_capped() {
    let org = org();
    let c = admin(&org);
    let ops = (0..250)
        .map(|i| DmlOp::Create {
            object: "Account".into(),
            fields: map(json!({"Name": format!("a{i}")})),
        })
        .collect();
    assert!(org.apply(&c, ops, true).iter().all(Result::is_ok));
    let open = |org: &Org| {
        org.query(&c.user_id, "SELECT Id FROM Account", false, 200, "62.0")
            .unwrap()
            .next_locator
            .unwrap()
    };
    let first = open(&org);
    for _ in 0..sfemu_org::CURSORS_PER_USER {
        open(&org);
    }
    assert_eq!(org.open_cursors(), sfemu_org::CURSORS_PER_USER);
    let e = org.query_more(&c.user_id, &first, 200, "62.0").unwrap_err();
    assert_eq!(e.code, "INVALID_QUERY_LOCATOR");
    // The whole nextRecordsUrl is accepted too.
    let loc = open(&org);
    let p = org
        .query_more(
            &c.user_id,
            &format!("/services/data/v62.0/query/{loc}"),
            200,
            "62.0",
        )
        .unwrap();
    assert_eq!((p.records.len(), p.done), (50, true));
}

#[test]
fn cursor_survives_a_savepoint_rollback() {
    let org = org();
    let c = admin(&org);
    let sp = org.savepoint().unwrap();
    let ops = (0..250)
        .map(|i| DmlOp::Create {
            object: "Account".into(),
            fields: map(json!({"Name": format!("a{i}")})),
        })
        .collect();
    assert!(org.apply(&c, ops, true).iter().all(Result::is_ok));
    let first = org
        .query(&c.user_id, "SELECT Id FROM Account", false, 200, "62.0")
        .unwrap();
    org.rollback_to(sp).unwrap();
    let rest = org
        .query_more(
            &c.user_id,
            first.next_locator.as_deref().unwrap(),
            200,
            "62.0",
        )
        .unwrap();
    assert!(rest.records.is_empty(), "rolled-back rows are not served");
    assert!(rest.done);
}
