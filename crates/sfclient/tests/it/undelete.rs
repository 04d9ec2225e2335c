//! `undelete_many` through the SOAP partner API: ids restored in calls of 200, per-id results,
//! the session, the budget, the client tag, faults.

use crate::support::*;
use serde_json::json;
use sfclient::{Client, ErrorKind};

/// Creates `n` work items and deletes them; their ids.
async fn deleted_items(client: &Client, prefix: &str, n: usize) -> Vec<String> {
    let ids: Vec<String> = client
        .upsert_many(
            "Work_Item__c",
            "OrgSync_Global_Id__c",
            &work_items(prefix, n),
        )
        .await
        .into_iter()
        .map(|r| r.unwrap().id)
        .collect();
    assert!(client.delete_many(&ids).await.iter().all(Result::is_ok));
    ids
}

async fn live_items(client: &Client) -> u64 {
    client
        .query_page("SELECT COUNT() FROM Work_Item__c", false)
        .await
        .unwrap()
        .total_size
}

#[tokio::test]
async fn undelete_many_restores_ids_in_calls_of_200_with_one_result_each() {
    let emu = start_default().await;
    let client = emu.client().await;
    let mut ids = deleted_items(&client, "U", 450).await;
    let live = client
        .create("Work_Item__c", &rec(json!({"Name": "live"})))
        .await
        .unwrap();
    let unknown = format!("{}AAAAAAAAAAAA", &ids[0][..3]);
    ids.push(live.clone());
    ids.push(unknown);
    emu.reset_usage().await;
    let sent = client.budget().requests_sent;

    let results = client.undelete_many(&ids).await;
    let usage = emu.usage().await;
    assert_eq!(usage["total"], 3, "452 ids: 3 calls ({usage})");
    assert_eq!(usage["byKind"]["soap"], 3);
    assert_eq!(client.budget().requests_sent - sent, 3);
    assert_eq!(
        client.budget().api_usage.unwrap().used,
        3,
        "the LimitInfoHeader feeds the budget"
    );

    assert_eq!(results.len(), 452);
    for (id, r) in ids.iter().zip(&results).take(450) {
        let saved = r.as_ref().unwrap();
        assert_eq!((&saved.id, saved.created), (id, None));
    }
    for r in &results[450..] {
        let e = r.as_ref().unwrap_err();
        assert!(e.not_in_recycle_bin(), "{e}");
        assert_eq!(e.kind(), ErrorKind::Permanent);
    }
    assert_eq!(
        results[450].as_ref().unwrap_err().code(),
        Some("UNDELETE_FAILED")
    );
    assert_eq!(live_items(&client).await, 451);

    // Our undeletes carry the client tag into changeOrigin, so their events are echoes.
    let undeletes: Vec<String> = emu
        .changes()
        .await
        .into_iter()
        .filter(|c| c["changeType"] == "UNDELETE")
        .map(|c| c["changeOrigin"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(undeletes.len(), 450);
    assert!(
        undeletes
            .iter()
            .all(|o| o == "com/salesforce/api/soap/62.0;client=orgsync"),
        "{:?}",
        undeletes.first()
    );

    // Nothing to undelete: no call.
    emu.reset_usage().await;
    assert!(client.undelete_many(&[]).await.is_empty());
    assert_eq!(emu.calls().await, 0);
}

#[tokio::test]
async fn an_expired_session_is_refreshed_once_and_the_call_resent() {
    let emu = start_default().await;
    let client = emu.client().await;
    let ids = deleted_items(&client, "S", 3).await;
    emu.expire_tokens().await;
    let results = client.undelete_many(&ids).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(client.token_fetches(), 2);
}

#[tokio::test]
async fn faults_are_classified_per_id() {
    let emu = start_default().await;
    let client = emu.client().await; // 3 retries
    let ids = deleted_items(&client, "F", 450).await;

    // Per-record faults fail those ids only, as retryable record errors.
    emu.faults(json!({"recordErrorRate": {"UNABLE_TO_LOCK_ROW": 1.0}}))
        .await;
    let r = client.undelete_many(&ids[..2]).await;
    let e = r[0].as_ref().unwrap_err();
    assert_eq!(
        (e.kind(), e.code()),
        (ErrorKind::Retryable, Some("UNABLE_TO_LOCK_ROW"))
    );
    assert!(!e.not_in_recycle_bin());

    // A whole-call outage is retried in the client, then reported for each id.
    emu.faults(json!({"errorRate": {"503": 1.0}})).await;
    emu.reset_usage().await;
    let r = client.undelete_many(&ids[..2]).await;
    assert!(
        r.iter()
            .all(|r| r.as_ref().unwrap_err().kind() == ErrorKind::Retryable)
    );
    assert_eq!(emu.calls().await, 4, "one call and 3 retries");
    emu.clear_faults().await;

    // A spent allocation: quota for every id.
    emu.set_limits(json!({"dailyApiRequests": 10, "used": 10}))
        .await;
    let r = client.undelete_many(&ids).await;
    assert_eq!(r.len(), 450);
    assert!(
        r.iter()
            .all(|r| r.as_ref().unwrap_err().kind() == ErrorKind::Quota)
    );
    emu.set_limits(json!({"dailyApiRequests": 100000, "used": 0}))
        .await;

    // Offline (a non-SOAP 503): retryable.
    emu.faults(json!({"offline": true})).await;
    let r = client.undelete_many(&ids[..1]).await;
    assert_eq!(r[0].as_ref().unwrap_err().kind(), ErrorKind::Retryable);
    emu.clear_faults().await;
    assert_eq!(
        live_items(&client).await,
        0,
        "nothing was restored by the failures"
    );
    assert!(client.undelete_many(&ids).await.iter().all(Result::is_ok));
    assert_eq!(live_items(&client).await, 450);
}
