//! Describe (cached), composite with references, get updated/deleted, limits.

use crate::support::*;
use serde_json::json;
use sfclient::Subrequest;

#[tokio::test]
async fn describe_is_cached_per_object() {
    let emu = start_default().await;
    let client = emu.client().await;
    emu.reset_usage().await;
    let d = client.describe("Work_Item__c").await.unwrap();
    let again = client.describe("work_item__c").await.unwrap();
    assert_eq!(emu.calls().await, 1);
    assert!(std::sync::Arc::ptr_eq(&d, &again));
    let ext = d.field("OrgSync_Global_Id__c").unwrap();
    assert!(ext.external_id);
    let acct = d.field("Account__c").unwrap();
    assert_eq!(acct.reference_to, vec!["Account".to_owned()]);
    assert_eq!(acct.relationship_name.as_deref(), Some("Account__r"));
    let names = client.describe_global().await.unwrap();
    assert!(names.iter().any(|n| n == "Work_Item__c"));
}

#[tokio::test]
async fn composite_with_references_is_one_call() {
    let emu = start_default().await;
    let client = emu.client().await;
    emu.reset_usage().await;
    let subs = vec![
        Subrequest::new(
            "POST",
            "/sobjects/Account",
            "refAccount",
            Some(json!({"Name": "Composite Co"})),
        ),
        Subrequest::new(
            "POST",
            "/sobjects/Work_Item__c",
            "refItem",
            Some(json!({"Name": "Child", "Account__c": "@{refAccount.id}"})),
        ),
        Subrequest::new(
            "GET",
            "/sobjects/Work_Item__c/@{refItem.id}?fields=Account__c",
            "refGet",
            None,
        ),
    ];
    let out = client.composite(true, subs).await.unwrap();
    assert_eq!(emu.calls().await, 1);
    assert_eq!(out.len(), 3);
    let account_id = out[0].result(client.org()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        out[2].result(client.org()).unwrap()["Account__c"],
        json!(account_id)
    );

    let failing = vec![Subrequest::new(
        "POST",
        "/sobjects/Account",
        "bad",
        Some(json!({"NumberOfEmployees": 1})),
    )];
    let out = client.composite(false, failing).await.unwrap();
    let err = out[0].result(client.org()).unwrap_err();
    assert_eq!(err.code(), Some("REQUIRED_FIELD_MISSING"));
}

#[tokio::test]
async fn updated_and_deleted_windows() {
    let emu = start_default().await;
    let client = emu.client().await;
    let start = chrono::Utc::now() - chrono::Duration::minutes(5);
    let a = client
        .create("Account", &rec(json!({"Name": "U1"})))
        .await
        .unwrap();
    let b = client
        .create("Account", &rec(json!({"Name": "D1"})))
        .await
        .unwrap();
    client.delete("Account", &b).await.unwrap();
    let end = chrono::Utc::now() + chrono::Duration::minutes(2);
    let updated = client.updated("Account", start, end).await.unwrap();
    assert!(updated.ids.contains(&a), "{:?}", updated.ids);
    let deleted = client.deleted("Account", start, end).await.unwrap();
    assert!(deleted.deleted_records.iter().any(|d| d.id == b));
}
