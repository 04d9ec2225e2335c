//! The standard read-only objects Organization (one row, Id = org id) and RecordType (empty).

use super::common::*;
use serde_json::{Value as Json, json};
use sfemu_org::{DmlOp, Org};

fn q(org: &Org, c: &sfemu_org::Caller, soql: &str) -> sfemu_org::QueryPage {
    org.query(&c.user_id, soql, false, 2000, "62.0")
        .unwrap_or_else(|e| panic!("{soql}: {e}"))
}

/// What simple-salesforce's `sf.is_sandbox()` sends, answered as Salesforce does.
#[test]
fn is_sandbox_query_returns_the_one_organization_row() {
    let org = org();
    let c = admin(&org);
    let p = q(&org, &c, "SELECT IsSandbox FROM Organization LIMIT 1");
    assert_eq!((p.total_size, p.done), (1, true));
    let url = format!(
        "/services/data/v62.0/sobjects/Organization/{}",
        org.org_id()
    );
    assert_eq!(
        p.records,
        vec![json!({"attributes": {"type": "Organization", "url": url}, "IsSandbox": false})]
    );
    assert_eq!(org.org_id().len(), 18);
    assert!(org.org_id().starts_with("00D"));
}

#[test]
fn organization_row_mirrors_the_spec() {
    let mut s = spec();
    s.org_id = Some("00D5e000000KQ2e".into());
    s.name = "Acme Dev".into();
    let org = Org::new(s).unwrap();
    let c = admin(&org);
    assert_eq!(org.org_id(), "00D5e000000KQ2eEAG");
    let p = q(
        &org,
        &c,
        "SELECT Id, Name, IsSandbox, OrganizationType, InstanceName, NamespacePrefix, \
         DefaultLocaleSidKey, LanguageLocaleKey, TimeZoneSidKey, PrimaryContact, Country, \
         CreatedById, CreatedBy.Username, LastModifiedById, CreatedDate, SystemModstamp \
         FROM Organization",
    );
    assert_eq!(p.total_size, 1);
    let r = &p.records[0];
    assert_eq!(r["Id"], "00D5e000000KQ2eEAG");
    assert_eq!(r["Name"], "Acme Dev");
    assert_eq!(r["IsSandbox"], false);
    assert_eq!(r["OrganizationType"], "Developer Edition");
    assert_eq!(r["InstanceName"], "SFEMU1");
    assert_eq!(r["NamespacePrefix"], Json::Null);
    assert_eq!(r["DefaultLocaleSidKey"], "en_US");
    assert_eq!(r["LanguageLocaleKey"], "en_US");
    assert_eq!(r["TimeZoneSidKey"], "GMT");
    assert_eq!(r["PrimaryContact"], "Admin User");
    assert_eq!(r["Country"], Json::Null);
    assert_eq!(r["CreatedById"], json!(c.user_id));
    assert_eq!(r["LastModifiedById"], json!(c.user_id));
    assert_eq!(r["CreatedBy"]["Username"], "admin@sfemu.test");
    assert!(r["CreatedDate"].is_string() && r["SystemModstamp"].is_string());
    // Retrieve by the org id (15 or 18 chars) finds the same row.
    let got = get(&org, &c, "Organization", "00D5e000000KQ2e");
    assert_eq!(got["Name"], "Acme Dev");
    // A filter on the Id works like any other object's.
    let p = q(
        &org,
        &c,
        "SELECT Name FROM Organization WHERE Id = '00D5e000000KQ2eEAG'",
    );
    assert_eq!(p.total_size, 1);
}

#[test]
fn organization_and_record_type_refuse_dml() {
    let org = org();
    let c = admin(&org);
    let e = err1(create(&org, &c, "Organization", json!({"Name": "Another"})));
    assert_eq!(e.code, "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY");
    assert_eq!(e.message, "entity type cannot be inserted: Organization");
    let e = err1(update(&org, &c, org.org_id(), json!({"Name": "Renamed"})));
    assert_eq!(e.code, "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY");
    let e = err1(delete(&org, &c, org.org_id()));
    assert_eq!(e.code, "DELETE_FAILED");
    let e = err1(create(
        &org,
        &c,
        "RecordType",
        json!({"Name": "Big", "DeveloperName": "Big", "SobjectType": "Account"}),
    ));
    assert_eq!(e.code, "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY");
    assert_eq!(e.message, "entity type cannot be inserted: Record Type");
    // Nothing changed: still one Organization (unrenamed), no record types.
    let p = q(&org, &c, "SELECT Name FROM Organization");
    assert_eq!(p.total_size, 1);
    assert_eq!(p.records[0]["Name"], "test");
    assert_eq!(q(&org, &c, "SELECT Id FROM RecordType").total_size, 0);
}

#[test]
fn record_type_is_queryable_and_empty() {
    let org = org();
    let c = admin(&org);
    let p = q(
        &org,
        &c,
        "SELECT Id, Name, DeveloperName, SobjectType, IsActive, Description, NamespacePrefix \
         FROM RecordType WHERE SobjectType = 'Account' AND IsActive = true",
    );
    assert_eq!((p.total_size, p.done), (0, true));
    assert!(p.records.is_empty());
}

#[test]
fn describe_lists_organization_and_record_type_as_read_only() {
    let org = org();
    let c = admin(&org);
    let g = org.describe_global(&c.user_id, "62.0");
    let sobjects = g["sobjects"].as_array().unwrap();
    for (name, prefix) in [("Organization", "00D"), ("RecordType", "012")] {
        let o = sobjects.iter().find(|o| o["name"] == name).unwrap();
        assert_eq!(o["keyPrefix"], prefix, "{name}");
        assert_eq!(o["custom"], false, "{name}");
        assert_eq!(o["createable"], false, "{name}");
        assert_eq!(o["deletable"], false, "{name}");
        assert_eq!(o["updateable"], false, "{name}");
        assert_eq!(o["queryable"], true, "{name}");
    }
    let d = org.describe(&c.user_id, "organization", "62.0").unwrap();
    let fields = d["fields"].as_array().unwrap();
    let f = |n: &str| fields.iter().find(|f| f["name"] == n).unwrap().clone();
    assert_eq!(f("IsSandbox")["type"], "boolean");
    assert_eq!(f("IsSandbox")["createable"], false);
    assert_eq!(f("Name")["updateable"], false);
    assert_eq!(f("OrganizationType")["type"], "picklist");
    for n in [
        "Id",
        "Name",
        "IsSandbox",
        "OrganizationType",
        "InstanceName",
        "NamespacePrefix",
        "DefaultLocaleSidKey",
        "LanguageLocaleKey",
        "TimeZoneSidKey",
        "PrimaryContact",
        "Country",
        "CreatedDate",
        "CreatedById",
        "LastModifiedDate",
        "LastModifiedById",
        "SystemModstamp",
    ] {
        assert!(fields.iter().any(|f| f["name"] == n), "Organization.{n}");
    }
    let d = org.describe(&c.user_id, "RecordType", "62.0").unwrap();
    assert_eq!(d["label"], "Record Type");
    for n in [
        "Name",
        "DeveloperName",
        "SobjectType",
        "IsActive",
        "Description",
        "NamespacePrefix",
    ] {
        assert!(
            d["fields"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["name"] == n),
            "RecordType.{n}"
        );
    }
}

/// Reopening a snapshot keeps the one row (same Id, same CreatedDate); a renamed spec renames
/// it; a snapshot written before Organization existed gets its row on open.
#[test]
fn organization_row_survives_snapshots_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let org = org();
    let c = admin(&org);
    // Some ordinary data too, so ids minted after reopen are checked against the org row.
    create(&org, &c, "Account", json!({"Name": "A"})).unwrap();
    let before = q(&org, &c, "SELECT Id, Name, CreatedDate FROM Organization").records;
    org.save(dir.path()).unwrap();

    let back = Org::open(spec(), dir.path()).unwrap();
    let c2 = admin(&back);
    assert_eq!(
        q(&back, &c2, "SELECT Id, Name, CreatedDate FROM Organization").records,
        before
    );
    back.save(dir.path()).unwrap();
    drop(back);

    let mut renamed = spec();
    renamed.name = "Renamed Org".into();
    let again = Org::open(renamed, dir.path()).unwrap();
    let c3 = admin(&again);
    let p = q(
        &again,
        &c3,
        "SELECT Id, Name, CreatedDate FROM Organization",
    );
    assert_eq!(p.total_size, 1);
    assert_eq!(p.records[0]["Id"], json!(org.org_id()));
    assert_eq!(p.records[0]["Name"], "Renamed Org");
    assert_eq!(p.records[0]["CreatedDate"], before[0]["CreatedDate"]);
    drop(again);

    // An older snapshot without the Organization table: the row is created on open.
    let path = sfemu_org::persist::snapshot_path(dir.path());
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = Vec::new();
    let mut skip = 0u64;
    let mut dropped = false;
    for line in text.lines() {
        if skip > 0 {
            skip -= 1;
            continue;
        }
        let j: Json = serde_json::from_str(line).unwrap();
        if j.get("table") == Some(&json!("Organization")) {
            skip = j["rows"].as_u64().unwrap();
            dropped = true;
            continue;
        }
        out.push(line);
    }
    assert!(dropped, "the snapshot stores the Organization table");
    std::fs::write(&path, out.join("\n") + "\n").unwrap();
    let old = Org::open(spec(), dir.path()).unwrap();
    let c4 = admin(&old);
    let p = q(&old, &c4, "SELECT Id, Name FROM Organization");
    assert_eq!(p.total_size, 1);
    assert_eq!(p.records[0]["Id"], json!(org.org_id()));
    assert_eq!(p.records[0]["Name"], "test");
    // The rest of the data is intact.
    assert_eq!(q(&old, &c4, "SELECT Id FROM Account").total_size, 1);
    let ops = vec![DmlOp::Create {
        object: "Account".into(),
        fields: map(json!({"Name": "B"})),
    }];
    assert!(old.apply(&c4, ops, true).iter().all(Result::is_ok));
}
