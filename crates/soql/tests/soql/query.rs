//! Filtering, ordering, paging, aggregates, parents, children and relative dates.

use crate::fixture::*;
use soql::*;

pub fn ctx() -> EvalContext {
    EvalContext {
        now: "2024-05-15T12:00:00Z".parse().unwrap(),
        ..EvalContext::default()
    }
}

pub fn org() -> Org {
    let mut o = Org::new();
    let u1 = id("005", 1);
    let u2 = id("005", 2);
    o.add(USER, &u1, &[("Name", t("Ann")), ("ManagerId", t(&u2))]);
    o.add(USER, &u2, &[("Name", t("Bob"))]);
    let a = |n| id("001", n);
    o.add(
        ACCOUNT,
        &a(1),
        &[
            ("Name", t("Acme")),
            ("Type", t("Customer")),
            ("AnnualRevenue", Value::Double(100.0)),
            ("NumberOfEmployees", Value::Int(10)),
            ("OwnerId", t(&u1)),
            ("CreatedDate", dt("2024-05-15T10:00:00Z")),
            ("Active__c", Value::Bool(true)),
            ("Tags__c", t("a;b")),
            ("Founded__c", date("2000-01-01")),
        ],
    );
    o.add(
        ACCOUNT,
        &a(2),
        &[
            ("Name", t("acme corp")),
            ("Type", t("Partner")),
            ("AnnualRevenue", Value::Double(50.0)),
            ("NumberOfEmployees", Value::Int(5)),
            ("OwnerId", t(&u2)),
            ("CreatedDate", dt("2024-05-14T10:00:00Z")),
            ("Active__c", Value::Bool(false)),
            ("Tags__c", t("b;c")),
            ("ParentId", t(&a(1))),
            ("Founded__c", date("2024-05-14")),
        ],
    );
    o.add(
        ACCOUNT,
        &a(3),
        &[
            ("Name", t("Beta")),
            ("Type", t("Customer")),
            ("NumberOfEmployees", Value::Int(20)),
            ("CreatedDate", dt("2024-04-01T00:00:00Z")),
            ("Active__c", Value::Bool(true)),
        ],
    );
    o.add(
        ACCOUNT,
        &a(4),
        &[
            ("Name", t("Gamma 100%")),
            ("AnnualRevenue", Value::Double(10.0)),
            ("CreatedDate", dt("2023-12-31T23:00:00Z")),
            ("Active__c", Value::Bool(false)),
            ("Tags__c", t("c")),
        ],
    );
    o.add(
        ACCOUNT,
        &a(5),
        &[
            ("Name", t("delta_x")),
            ("Type", t("Customer")),
            ("AnnualRevenue", Value::Double(200.0)),
            ("NumberOfEmployees", Value::Int(10)),
            ("CreatedDate", dt("2024-05-20T00:00:00Z")),
            ("Active__c", Value::Bool(true)),
            ("Tags__c", t("a")),
        ],
    );
    let z = o.add(ACCOUNT, &a(6), &[("Name", t("Zed"))]);
    o.delete(ACCOUNT, z);
    o.add(
        CONTACT,
        &id("003", 1),
        &[("LastName", t("Smith")), ("AccountId", t(&a(1)))],
    );
    o.add(
        CONTACT,
        &id("003", 2),
        &[("LastName", t("Jones")), ("AccountId", t(&a(1)))],
    );
    o.add(
        CONTACT,
        &id("003", 3),
        &[("LastName", t("Brown")), ("AccountId", t(&a(2)))],
    );
    o.add(CONTACT, &id("003", 4), &[("LastName", t("Orphan"))]);
    o
}

/// Runs a row query and returns the first selected scalar of each row, as text.
pub fn col(o: &Org, q: &str) -> Vec<String> {
    col_ctx(o, q, &ctx())
}

pub fn col_ctx(o: &Org, q: &str, cx: &EvalContext) -> Vec<String> {
    let plan = plan(q, o).unwrap_or_else(|e| panic!("{q}: {}", e.message));
    let Execution::Rows(rows) = plan.execute(o, cx).unwrap() else {
        panic!("not rows: {q}")
    };
    rows.into_iter()
        .map(|r| match &plan.project(o, r, cx).fields[0].1 {
            OutValue::Scalar(Value::Text(s)) => s.to_string(),
            other => format!("{other:?}"),
        })
        .collect()
}

fn names(where_: &str) -> Vec<String> {
    col(&org(), &format!("SELECT Name FROM Account WHERE {where_}"))
}

#[test]
fn comparison_operators() {
    assert_eq!(names("Name = 'ACME'"), ["Acme"]);
    assert_eq!(
        names("Name != 'acme'"),
        ["acme corp", "Beta", "Gamma 100%", "delta_x"]
    );
    assert_eq!(names("Name <> 'acme'").len(), 4);
    assert_eq!(names("NumberOfEmployees > 10"), ["Beta"]);
    assert_eq!(
        names("NumberOfEmployees >= 10"),
        ["Acme", "Beta", "delta_x"]
    );
    assert_eq!(names("NumberOfEmployees < 10"), ["acme corp"]);
    assert_eq!(names("NumberOfEmployees <= 5.0"), ["acme corp"]);
    assert_eq!(names("AnnualRevenue > 50"), ["Acme", "delta_x"]);
    assert_eq!(names("Name > 'b'"), ["Beta", "Gamma 100%", "delta_x"]);
    assert_eq!(names("Active__c = false"), ["acme corp", "Gamma 100%"]);
    assert_eq!(names("Founded__c = 2000-01-01"), ["Acme"]);
    assert_eq!(
        names("CreatedDate < 2024-01-01T00:00:00-01:00"),
        ["Gamma 100%"]
    );
    assert_eq!(
        names("CreatedDate <= 2024-05-14T02:00:00-08:00"),
        ["acme corp", "Beta", "Gamma 100%"]
    );
    assert_eq!(names("CreatedDate > 2024-05-15T10:00:00.000Z"), ["delta_x"]);
}

#[test]
fn null_semantics() {
    assert_eq!(names("Type = null"), ["Gamma 100%"]);
    assert_eq!(names("Type = ''"), ["Gamma 100%"]);
    assert_eq!(names("ParentId != ''"), ["acme corp"]);
    assert_eq!(names("Type != null").len(), 4);
    // `<`/`>` never match nulls; `!=` a value does (UNCONFIRMED but documented choice).
    assert_eq!(names("NumberOfEmployees < 100").len(), 4);
    assert!(names("Type != 'Customer'").contains(&"Gamma 100%".to_string()));
    assert_eq!(
        names("Type NOT IN ('Customer')"),
        ["acme corp", "Gamma 100%"]
    );
}

#[test]
fn like_in_and_boolean_logic() {
    assert_eq!(names("Name LIKE 'acme%'"), ["Acme", "acme corp"]);
    assert_eq!(names("Name LIKE '%100\\%'"), ["Gamma 100%"]);
    assert_eq!(names("Name LIKE 'delta\\_%'"), ["delta_x"]);
    assert_eq!(names("Name LIKE 'b_TA'"), ["Beta"]);
    assert_eq!(names("Type IN ('partner', 'Nope')"), ["acme corp"]);
    assert_eq!(
        names("Type = 'Customer' AND NOT (NumberOfEmployees = 10)"),
        ["Beta"]
    );
    assert_eq!(
        names("(Type = 'Partner' OR Type = null) AND Active__c = false"),
        ["acme corp", "Gamma 100%"]
    );
    assert_eq!(names("NOT Name LIKE '%a%'"), Vec::<String>::new());
}

#[test]
fn multipicklists() {
    assert_eq!(
        names("Tags__c INCLUDES ('a;b', 'c')"),
        ["Acme", "acme corp", "Gamma 100%"]
    );
    assert_eq!(names("Tags__c INCLUDES ('a')"), ["Acme", "delta_x"]);
    assert_eq!(
        names("Tags__c EXCLUDES ('a')"),
        ["acme corp", "Beta", "Gamma 100%"]
    );
    assert_eq!(names("Tags__c = 'b;a'"), ["Acme"]);
    assert_eq!(names("Tags__c = 'a'"), ["delta_x"]);
    assert_eq!(names("Tags__c != 'a'").len(), 4);
}

#[test]
fn ids_and_scan_hints() {
    let o = org();
    let a1 = id("001", 1);
    let q = format!(
        "SELECT Name FROM Account WHERE Name != null AND Id = '{}'",
        &a1[..15]
    );
    assert_eq!(col(&o, &q), ["Acme"]);
    assert_eq!(
        o.hints.borrow().last(),
        Some(&ScanHint::AnyOf {
            slot: 0,
            values: vec![t(&a1)]
        })
    );
    let q = format!("SELECT LastName FROM Contact WHERE AccountId IN ('{a1}') ORDER BY LastName");
    assert_eq!(col(&o, &q), ["Jones", "Smith"]);
    assert!(matches!(
        o.hints.borrow().last(),
        Some(ScanHint::AnyOf { slot: 2, .. })
    ));
    col(
        &o,
        &format!("SELECT Name FROM Account WHERE Id = '{a1}' OR Name = 'x'"),
    );
    assert_eq!(o.hints.borrow().last(), Some(&ScanHint::All));
}

#[test]
fn order_limit_offset() {
    let o = org();
    let q = |s: &str| col(&o, &format!("SELECT Name FROM Account {s}"));
    assert_eq!(
        q("ORDER BY Name"),
        ["Acme", "acme corp", "Beta", "delta_x", "Gamma 100%"]
    );
    assert_eq!(
        q("ORDER BY Type, Name DESC"),
        ["Gamma 100%", "delta_x", "Beta", "Acme", "acme corp"]
    );
    assert_eq!(
        q("ORDER BY Type DESC, Name"),
        ["acme corp", "Acme", "Beta", "delta_x", "Gamma 100%"]
    );
    assert_eq!(
        q("ORDER BY Type NULLS LAST, Name LIMIT 2"),
        ["Acme", "Beta"]
    );
    assert_eq!(q("ORDER BY Type DESC NULLS FIRST LIMIT 1"), ["Gamma 100%"]);
    // Stable: ties keep scan (creation) order.
    assert_eq!(
        q("ORDER BY NumberOfEmployees DESC"),
        ["Beta", "Acme", "delta_x", "acme corp", "Gamma 100%"]
    );
    assert_eq!(q("ORDER BY Name LIMIT 2 OFFSET 1"), ["acme corp", "Beta"]);
    assert_eq!(q("LIMIT 2 OFFSET 4"), ["delta_x"]);
    assert_eq!(q("LIMIT 0"), Vec::<String>::new());
    assert_eq!(
        q("ORDER BY Owner.Name DESC NULLS LAST LIMIT 2"),
        ["acme corp", "Acme"]
    );
}

#[test]
fn query_all_includes_deleted() {
    let o = org();
    let all = EvalContext {
        include_deleted: true,
        ..ctx()
    };
    assert_eq!(
        col_ctx(&o, "SELECT Name FROM Account WHERE Name = 'Zed'", &all),
        ["Zed"]
    );
    assert!(col(&o, "SELECT Name FROM Account WHERE Name = 'Zed'").is_empty());
}

#[test]
fn relative_dates() {
    assert_eq!(names("CreatedDate = TODAY"), ["Acme"]);
    assert_eq!(names("CreatedDate = YESTERDAY"), ["acme corp"]);
    assert_eq!(names("CreatedDate = LAST_N_DAYS:1"), ["Acme", "acme corp"]);
    assert_eq!(names("CreatedDate > TODAY"), ["delta_x"]);
    assert_eq!(names("CreatedDate < LAST_MONTH"), ["Gamma 100%"]);
    assert_eq!(names("CreatedDate = LAST_MONTH"), ["Beta"]);
    assert_eq!(
        names("CreatedDate >= THIS_MONTH"),
        ["Acme", "acme corp", "delta_x"]
    );
    assert_eq!(names("CreatedDate <= LAST_YEAR"), ["Gamma 100%"]);
    assert_eq!(names("CreatedDate = NEXT_N_DAYS:5"), ["delta_x"]);
    assert_eq!(names("CreatedDate = THIS_WEEK"), ["Acme", "acme corp"]);
    assert_eq!(names("CreatedDate = NEXT_WEEK"), ["delta_x"]);
    assert_eq!(names("CreatedDate = N_DAYS_AGO:1"), ["acme corp"]);
    assert_eq!(
        names("CreatedDate IN (TODAY, LAST_YEAR)"),
        ["Acme", "Gamma 100%"]
    );
    assert_eq!(names("Founded__c = YESTERDAY"), ["acme corp"]);
    assert_eq!(
        names("Founded__c != YESTERDAY"),
        ["Acme", "Beta", "Gamma 100%", "delta_x"]
    );
    // In UTC-8 "now" is still May 15 04:00; a record at 2024-05-15T06:00Z is 'today' there,
    // one at 2024-05-15T10:00Z too, but 2024-05-14T10:00Z (May 14 02:00 local) is yesterday.
    let pst = EvalContext {
        tz: chrono::FixedOffset::west_opt(8 * 3600).unwrap(),
        ..ctx()
    };
    let o = org();
    assert_eq!(
        col_ctx(
            &o,
            "SELECT Name FROM Account WHERE CreatedDate = TODAY",
            &pst
        ),
        ["Acme"]
    );
    assert_eq!(
        col_ctx(
            &o,
            "SELECT Name FROM Account WHERE CreatedDate = YESTERDAY",
            &pst
        ),
        ["acme corp"]
    );
}

fn one(o: &Org, q: &str) -> OutRecord {
    let plan = plan(q, o).unwrap_or_else(|e| panic!("{}", e.message));
    let Execution::Rows(rows) = plan.execute(o, &ctx()).unwrap() else {
        panic!()
    };
    plan.project(o, rows[0], &ctx())
}

#[test]
fn parent_paths_nest_per_relationship() {
    let o = org();
    let r = one(
        &o,
        "SELECT Id, account.owner.NAME, LastName, Account.Name FROM Contact WHERE LastName = 'Smith'",
    );
    assert_eq!(r.object, "Contact");
    assert_eq!(r.id.as_deref(), Some(id("003", 1).as_str()));
    let keys: Vec<&str> = r.fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["Id", "Account", "LastName"]);
    let p = plan(
        "SELECT Id, account.owner.NAME, (SELECT Id FROM Contacts) FROM Account",
        &o,
    )
    .unwrap();
    assert_eq!(
        p.selected_fields(),
        [
            ("Id".to_string(), FieldKind::Id),
            ("Owner.Name".to_string(), FieldKind::String)
        ]
    );
    let OutValue::Parent(Some(acc)) = &r.fields[1].1 else {
        panic!("{r:?}")
    };
    assert_eq!(acc.object, "Account");
    assert_eq!(acc.id.as_deref(), Some(id("001", 1).as_str()));
    assert_eq!(
        acc.fields[1],
        ("Name".to_string(), OutValue::Scalar(t("Acme")))
    );
    let OutValue::Parent(Some(owner)) = &acc.fields[0].1 else {
        panic!()
    };
    assert_eq!(owner.object, "User");
    assert_eq!(
        owner.fields,
        vec![("Name".to_string(), OutValue::Scalar(t("Ann")))]
    );
    let r = one(
        &o,
        "SELECT Account.Name FROM Contact WHERE LastName = 'Orphan'",
    );
    assert_eq!(
        r.fields,
        vec![("Account".to_string(), OutValue::Parent(None))]
    );
    // Filtering through a path; four levels.
    let o2 = col(
        &o,
        "SELECT LastName FROM Contact WHERE Account.Owner.Manager.Name = 'bob' ORDER BY LastName",
    );
    assert_eq!(o2, ["Jones", "Smith"]);
    let r = one(
        &o,
        "SELECT Account.Parent.Owner.Manager.Name FROM Contact WHERE LastName = 'Brown'",
    );
    let OutValue::Parent(Some(a)) = &r.fields[0].1 else {
        panic!()
    };
    let OutValue::Parent(Some(p)) = &a.fields[0].1 else {
        panic!()
    };
    let OutValue::Parent(Some(ow)) = &p.fields[0].1 else {
        panic!()
    };
    let OutValue::Parent(Some(m)) = &ow.fields[0].1 else {
        panic!()
    };
    assert_eq!(m.fields[0].1, OutValue::Scalar(t("Bob")));
    // A leading object name is accepted.
    assert_eq!(
        col(
            &o,
            "SELECT Account.Name FROM Account WHERE Account.Name = 'Beta'"
        ),
        ["Beta"]
    );
}

#[test]
fn child_subqueries() {
    let o = org();
    let q = "SELECT Name, (SELECT LastName FROM Contacts WHERE LastName != 'x' ORDER BY LastName LIMIT 5) FROM Account ORDER BY Name LIMIT 3";
    let plan = plan(q, &o).unwrap();
    let Execution::Rows(rows) = plan.execute(&o, &ctx()).unwrap() else {
        panic!()
    };
    let recs: Vec<OutRecord> = rows.iter().map(|&r| plan.project(&o, r, &ctx())).collect();
    let OutValue::Children(Some(kids)) = &recs[0].fields[1].1 else {
        panic!("{:?}", recs[0])
    };
    assert_eq!(recs[0].fields[1].0, "Contacts");
    let last: Vec<_> = kids.iter().map(|k| k.fields[0].1.clone()).collect();
    assert_eq!(
        last,
        [OutValue::Scalar(t("Jones")), OutValue::Scalar(t("Smith"))]
    );
    assert_eq!(kids[0].object, "Contact");
    assert_eq!(recs[2].fields[1].1, OutValue::Children(None));
}

#[test]
fn fields_function_and_content_document_link() {
    let o = org();
    let r = one(
        &o,
        "SELECT FIELDS(STANDARD) FROM Contact WHERE LastName = 'Smith'",
    );
    let keys: Vec<&str> = r.fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["Id", "LastName", "AccountId", "Email"]);
    let r = one(&o, "SELECT Name, FIELDS(CUSTOM) FROM Account LIMIT 1");
    let keys: Vec<&str> = r.fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["Name", "Active__c", "Tags__c", "Founded__c"]);
    let d = id("069", 1);
    assert!(
        plan(
            &format!("SELECT Id FROM ContentDocumentLink WHERE ContentDocumentId = '{d}'"),
            &o
        )
        .is_ok()
    );
    assert!(
        plan(
            &format!(
                "SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId IN ('{d}') AND Id != null"
            ),
            &o
        )
        .is_ok()
    );
    assert!(
        plan(
            "SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId IN (SELECT Id FROM Account)",
            &o
        )
        .is_ok(),
        "a semi-join on LinkedEntityId is a filter by Ids"
    );
}

#[test]
fn semi_and_anti_joins() {
    assert_eq!(
        names("Id IN (SELECT AccountId FROM Contact WHERE LastName = 'Brown')"),
        ["acme corp"]
    );
    assert_eq!(
        names("Id NOT IN (SELECT AccountId FROM Contact)"),
        ["Beta", "Gamma 100%", "delta_x"]
    );
    assert_eq!(
        names("Type = 'Customer' AND Id IN (SELECT AccountId FROM Contact)"),
        ["Acme"]
    );
    // Inside a child subquery's WHERE as well.
    let o = org();
    let q = "SELECT Name, (SELECT LastName FROM Contacts WHERE Id IN (SELECT Id FROM Contact WHERE LastName LIKE 'S%')) FROM Account WHERE Name = 'Acme'";
    let r = one(&o, q);
    let OutValue::Children(Some(kids)) = &r.fields[1].1 else {
        panic!("{r:?}")
    };
    assert_eq!(kids.len(), 1);
}
