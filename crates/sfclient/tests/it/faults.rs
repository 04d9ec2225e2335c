//! Quota, whole-call faults, in-client retries, the budget header.

use crate::support::*;
use serde_json::json;
use sfclient::{Client, ErrorKind};

#[tokio::test]
async fn a_spent_allocation_is_a_quota_error() {
    let emu = start_default().await;
    let client = emu.client().await;
    emu.set_limits(json!({"dailyApiRequests": 100, "used": 100}))
        .await;
    let err = client.describe("Account").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Quota, "{err}");
    assert_eq!(err.code(), Some("REQUEST_LIMIT_EXCEEDED"));
    assert_eq!(err.status(), Some(403));

    // Collections stop after the first quota failure; every item says quota.
    let results = client
        .upsert_many(
            "Work_Item__c",
            "OrgSync_Global_Id__c",
            &work_items("Q", 1000),
        )
        .await;
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().unwrap_err().kind() == ErrorKind::Quota)
    );
}

#[tokio::test]
async fn budget_follows_the_limit_info_header() {
    let emu = start_default().await;
    let client = emu.client().await;
    emu.set_limits(json!({"dailyApiRequests": 1000, "used": 250}))
        .await;
    client.describe("Account").await.unwrap();
    let b = client.budget();
    let usage = b.api_usage.unwrap();
    assert_eq!(usage.max, 1000);
    assert_eq!(usage.used, emu.calls().await);
    assert!(usage.used >= 251);
    assert!(b.share().unwrap() > 0.25);
    assert_eq!(b.in_flight, 0);

    let limits = client.limits().await.unwrap();
    let daily = limits.daily_api_requests().unwrap();
    assert_eq!(daily.max, 1000);
}

#[tokio::test]
async fn idempotent_calls_are_retried_creates_are_not() {
    let emu = start_default().await;
    let client = emu.client().await; // retries: 3
    emu.faults(json!({"errorRate": {"UNABLE_TO_LOCK_ROW": 1.0}}))
        .await;
    emu.reset_usage().await;
    let err = client
        .query_page("SELECT Id FROM Account", false)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Retryable);
    assert_eq!(err.code(), Some("UNABLE_TO_LOCK_ROW"));
    assert_eq!(emu.calls().await, 4, "first attempt + 3 retries");

    emu.reset_usage().await;
    let err = client
        .create("Account", &rec(json!({"Name": "once"})))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Retryable);
    assert_eq!(emu.calls().await, 1, "a create is sent once");
    emu.clear_faults().await;
}

#[tokio::test]
async fn transient_503s_are_absorbed_by_retries() {
    let emu = start_default().await;
    let mut cfg = emu.org_config(password_flow());
    cfg.retry.max_retries = 10;
    let client = Client::connect(cfg).await.unwrap();
    emu.faults(json!({"errorRate": {"503": 0.5}, "seed": 3}))
        .await;
    let results = client
        .upsert_many(
            "Work_Item__c",
            "OrgSync_Global_Id__c",
            &work_items("T", 600),
        )
        .await;
    emu.clear_faults().await;
    assert!(results.iter().all(|r| r.is_ok()));
    let calls = emu.usage().await["byKind"]["collections"].as_u64().unwrap();
    assert!(calls > 3, "some chunks needed a retry ({calls} calls)");
}

#[tokio::test]
async fn an_offline_org_is_retryable() {
    let emu = start_default().await;
    let mut cfg = emu.org_config(password_flow());
    cfg.retry.max_retries = 0;
    let client = Client::connect(cfg).await.unwrap();
    emu.faults(json!({"offline": true})).await;
    let err = client.describe("Account").await.unwrap_err();
    emu.clear_faults().await;
    assert_eq!(err.kind(), ErrorKind::Retryable);
}

#[tokio::test]
async fn connection_refused_is_retryable() {
    let emu = start_default().await;
    let client = emu.client().await;
    emu.emu.shutdown().await;
    let err = client.describe("Account").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Retryable, "{err:?}");
}

#[tokio::test]
async fn a_timeout_is_retryable() {
    let emu = start_default().await;
    let mut cfg = emu.org_config(password_flow());
    cfg.retry.max_retries = 0;
    cfg.timeouts.request = std::time::Duration::from_millis(200);
    let client = Client::connect(cfg).await.unwrap();
    // The server holds the request ten times longer than the client waits.
    emu.faults(json!({"latencyMs": 2000})).await;
    let err = client.describe("Account").await.unwrap_err();
    emu.clear_faults().await;
    assert_eq!(err.kind(), ErrorKind::Retryable);
    assert!(
        matches!(
            err,
            sfclient::SfError::Transport {
                kind: sfclient::error::TransportKind::Timeout,
                ..
            }
        ),
        "{err:?}"
    );
}
