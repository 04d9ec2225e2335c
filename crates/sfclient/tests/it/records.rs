//! Single-record calls, call options, and values read and written without loss.

use crate::support::*;
use futures::TryStreamExt;
use serde_json::{Value, json};
use sfclient::values::{format_datetime, get_datetime, parse_datetime};
use sfclient::{ErrorKind, Record};

#[tokio::test]
async fn create_get_update_delete() {
    let emu = start_default().await;
    let client = emu.client().await;
    let id = client
        .create(
            "Account",
            &rec(json!({"Name": "Acme", "NumberOfEmployees": 12})),
        )
        .await
        .unwrap();
    assert_eq!(id.len(), 18);
    assert!(id.starts_with("001"));

    let got = client
        .get_record("Account", &id, Some(&["Name", "NumberOfEmployees"]))
        .await
        .unwrap();
    assert_eq!(got["Name"], "Acme");
    assert_eq!(got["NumberOfEmployees"], 12);

    client
        .update("Account", &id, &rec(json!({"Name": "Acme 2"})))
        .await
        .unwrap();
    let got = client.get_record("Account", &id, None).await.unwrap();
    assert_eq!(got["Name"], "Acme 2");

    client.delete("Account", &id).await.unwrap();
    let err = client.get_record("Account", &id, None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent);
    assert_eq!(err.status(), Some(404));
}

#[tokio::test]
async fn upsert_by_external_id_creates_then_updates() {
    let emu = start_default().await;
    let client = emu.client().await;
    let first = client
        .upsert(
            "Account",
            "OrgSync_Global_Id__c",
            "G-1",
            &rec(json!({"Name": "One"})),
        )
        .await
        .unwrap();
    assert_eq!(first.created, Some(true));
    let second = client
        .upsert(
            "Account",
            "OrgSync_Global_Id__c",
            "G-1",
            &rec(json!({"Name": "Uno"})),
        )
        .await
        .unwrap();
    assert_eq!(second.created, Some(false));
    assert_eq!(first.id, second.id);
    let got = client
        .get_by_external_id("Account", "OrgSync_Global_Id__c", "G-1", None)
        .await
        .unwrap();
    assert_eq!(got["Name"], "Uno");
    assert_eq!(got["Id"], Value::String(first.id));
}

#[tokio::test]
async fn validation_errors_keep_code_message_and_fields() {
    let emu = start_default().await;
    let client = emu.client().await;
    let err = client
        .create("Account", &rec(json!({"NumberOfEmployees": 3})))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent);
    assert_eq!(err.code(), Some("REQUIRED_FIELD_MISSING"));
    assert_eq!(err.api_errors()[0].fields, vec!["Name".to_owned()]);

    let err = client
        .create("Account", &rec(json!({"Name": "x", "No_Such__c": 1})))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent);
    assert_eq!(err.code(), Some("INVALID_FIELD"));
}

#[tokio::test]
async fn writes_carry_the_client_tag() {
    let emu = start_default().await;
    let mut cfg = emu.org_config(password_flow());
    cfg.client_tag = "orgsync-test-tag".into();
    let client = sfclient::Client::connect(cfg).await.unwrap();
    let id = client
        .create("Account", &rec(json!({"Name": "Tagged"})))
        .await
        .unwrap();
    let changes = emu.changes().await;
    let ours = changes
        .iter()
        .find(|c| c["recordId"] == Value::String(id.clone()))
        .expect("change for our record");
    let origin = ours["changeOrigin"].as_str().unwrap();
    assert!(origin.contains("client=orgsync-test-tag"), "{origin}");
}

#[tokio::test]
async fn values_round_trip_without_loss() {
    let emu = start_default().await;
    let client = emu.client().await;
    client
        .upsert(
            "Account",
            "OrgSync_Global_Id__c",
            "PARENT-1",
            &rec(json!({"Name": "Parent"})),
        )
        .await
        .unwrap();
    let input = rec(json!({
        "Name": "values",
        "When__c": "2024-01-01T12:34:56.789+0000",
        "Day__c": "2024-02-29",
        "Flag__c": true,
        "Amount__c": 1234.5,
        "Ratio__c": 0.125,
        "Count__c": 42,
        "Short__c": null,
        "Account__r": {"OrgSync_Global_Id__c": "PARENT-1"}
    }));
    let saved = client
        .upsert("Sync_Test__c", "OrgSync_Global_Id__c", "V-1", &input)
        .await
        .unwrap();
    let rows: Vec<Record> = client
        .query("SELECT Id, When__c, Day__c, Flag__c, Amount__c, Ratio__c, Count__c, Short__c, Account__r.Name, Account__r.OrgSync_Global_Id__c FROM Sync_Test__c")
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r["Id"], Value::String(saved.id.clone()));
    assert_eq!(
        get_datetime(r, "When__c").unwrap(),
        Some(parse_datetime("2024-01-01T12:34:56.789Z").unwrap())
    );
    assert_eq!(r["When__c"], "2024-01-01T12:34:56.789+0000");
    assert_eq!(r["Day__c"], "2024-02-29");
    assert_eq!(r["Flag__c"], true);
    assert_eq!(r["Amount__c"].as_f64(), Some(1234.5));
    assert_eq!(r["Ratio__c"].as_f64(), Some(0.125));
    assert_eq!(r["Count__c"].as_f64(), Some(42.0));
    assert_eq!(r["Short__c"], Value::Null);
    assert_eq!(r["Account__r"]["Name"], "Parent");
    assert_eq!(r["Account__r"]["attributes"]["type"], "Account");

    // Write back exactly what was read (minus read-only parts): nothing changes.
    let mut back = r.clone();
    for k in ["attributes", "Id", "Account__r"] {
        back.remove(k);
    }
    back.insert(
        "When__c".into(),
        Value::String(format_datetime(
            &parse_datetime("2024-01-01T12:34:56.789Z").unwrap(),
        )),
    );
    client
        .update("Sync_Test__c", &saved.id, &back)
        .await
        .unwrap();
    let again = client
        .get_record(
            "Sync_Test__c",
            &saved.id,
            Some(&[
                "When__c",
                "Day__c",
                "Flag__c",
                "Amount__c",
                "Ratio__c",
                "Count__c",
                "Short__c",
            ]),
        )
        .await
        .unwrap();
    for k in [
        "When__c",
        "Day__c",
        "Flag__c",
        "Amount__c",
        "Ratio__c",
        "Count__c",
        "Short__c",
    ] {
        assert_eq!(again[k], r[k], "{k}");
    }
}

#[tokio::test]
async fn a_missing_parent_on_a_single_upsert_is_its_own_kind() {
    let emu = start_default().await;
    let client = emu.client().await;
    let body = rec(json!({"Name": "orphan", "Account__r": {"OrgSync_Global_Id__c": "NOT-YET"}}));
    let err = client
        .upsert("Work_Item__c", "OrgSync_Global_Id__c", "O-1", &body)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MissingParent, "{err}");
    assert_eq!(err.missing_parent().unwrap().value, "NOT-YET");
    // Once the parent lands, the same write succeeds.
    client
        .upsert(
            "Account",
            "OrgSync_Global_Id__c",
            "NOT-YET",
            &rec(json!({"Name": "Parent"})),
        )
        .await
        .unwrap();
    let saved = client
        .upsert("Work_Item__c", "OrgSync_Global_Id__c", "O-1", &body)
        .await
        .unwrap();
    assert_eq!(saved.created, Some(true));
}
