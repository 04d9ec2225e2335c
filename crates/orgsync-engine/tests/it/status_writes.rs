//! What the operator sees of the writes: a sync whose writes an org refuses (a validation
//! rule) shows Error with Salesforce's message — not Active — and turns Active again once the
//! failed items are retried to Synced; and an echo a poll drops is in the record's timeline
//! with its layer, as a change event's is.

use orgsync_store::{AuditFilter, ItemFilter, Store, SyncStatus};
use serde_json::json;

use crate::support::*;

const PEER: &str = r#"
[topology]
kind = "peer"
orgs = ["a", "b"]

[[sync]]
object = "Work_Item__c"
fields = ["Name", "Status__c"]
interval = "1s"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_writes_show_the_sync_in_error_until_retried_to_synced() {
    let env = start(&["a", "b"], |_| vec![]).await;
    let (a, b) = (env.user("a").await, env.user("b").await);
    let engine = env.engine(env.settings(&["a", "b"], PEER)).await;
    let store = env.store().await;
    env.faults(
        "b",
        json!({"recordErrorRate": {"FIELD_CUSTOM_VALIDATION_EXCEPTION": 1.0}}),
    )
    .await;
    create(&a, "Work_Item__c", json!({"Name": "refused"})).await;
    eventually("b's sync in Error with Salesforce's message", || async {
        store
            .sync(&"b".into(), "Work_Item__c")
            .await
            .unwrap()
            .is_some_and(|r| {
                r.status == SyncStatus::Error
                    && r.last_error.as_deref().is_some_and(|e| {
                        e.starts_with("1 write failed: FIELD_CUSTOM_VALIDATION_EXCEPTION")
                    })
            })
    })
    .await;
    let a_row = store
        .sync(&"a".into(), "Work_Item__c")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a_row.status, SyncStatus::Active, "a's side is fine");
    // the next capture of b (every second) must not turn it back to Active
    engine.poll_now().await;
    assert!(engine.wait_idle(IDLE).await);
    let row = store.sync(&"b".into(), "Work_Item__c").await.unwrap();
    assert_eq!(row.map(|r| r.status), Some(SyncStatus::Error));

    // the cause fixed and the item retried: written, and Active again
    env.faults("b", json!({})).await;
    let n = store
        .retry_failed(&ItemFilter::default(), chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(n, 1);
    eventually("the retried item is written to b", || async {
        snapshot(&b, "Work_Item__c", &["Name"]).await.len() == 1
    })
    .await;
    eventually("b's sync Active again, the error gone", || async {
        store
            .sync(&"b".into(), "Work_Item__c")
            .await
            .unwrap()
            .is_some_and(|r| r.status == SyncStatus::Active && r.last_error.is_none())
    })
    .await;
    engine.shutdown().await;
}

/// A sync whose capture comes seldom (every 30 min here): dismissing its failed items from the
/// dashboard turns its row Active again within seconds, not at its next capture.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dismissed_failures_leave_error_without_waiting_for_a_capture() {
    let env = start(&["a", "b"], |_| vec![]).await;
    let a = env.user("a").await;
    let seldom = PEER.replace("interval = \"1s\"", "interval = \"30m\"");
    let engine = env.engine(env.settings(&["a", "b"], &seldom)).await;
    let store = env.store().await;
    env.faults(
        "b",
        json!({"recordErrorRate": {"FIELD_CUSTOM_VALIDATION_EXCEPTION": 1.0}}),
    )
    .await;
    create(&a, "Work_Item__c", json!({"Name": "refused"})).await;
    engine.poll_now().await;
    let failed = || async {
        let filter = ItemFilter {
            state: Some(orgsync_store::ItemState::Failed),
            ..Default::default()
        };
        store
            .items(&filter, orgsync_store::Page::first(100))
            .await
            .unwrap()
    };
    eventually("the write to b failed", || async {
        !failed().await.is_empty()
    })
    .await;
    eventually("b's sync in Error", || async {
        let row = store.sync(&"b".into(), "Work_Item__c").await.unwrap();
        row.is_some_and(|r| r.status == SyncStatus::Error)
    })
    .await;
    let ids: Vec<_> = failed().await.iter().map(|i| i.id).collect();
    assert_eq!(
        store
            .dismiss_failed(&ids, chrono::Utc::now())
            .await
            .unwrap(),
        1
    );
    eventually("b's sync Active again with no capture", || async {
        let row = store.sync(&"b".into(), "Work_Item__c").await.unwrap();
        row.is_some_and(|r| r.status == SyncStatus::Active)
    })
    .await;
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echo_a_poll_drops_is_in_the_record_timeline_with_its_layer() {
    let env = start(&["a", "b"], |_| vec![]).await;
    let a = env.user("a").await;
    let engine = env.engine(env.settings(&["a", "b"], PEER)).await;
    let store = env.store().await;
    create(&a, "Work_Item__c", json!({"Name": "polled"})).await;
    // b's poll reads our write back: the shadow layer drops it, and says so in the timeline
    eventually(
        "b's poll of our write is audited as a shadow-layer echo",
        || async {
            let filter = AuditFilter {
                kind_prefix: Some("echo.".into()),
                limit: 100,
                ..Default::default()
            };
            let echoes = store.audit_recent(&filter).await.unwrap();
            echoes.iter().any(|e| {
                e.event.org.as_ref().is_some_and(|o| o.as_str() == "b")
                    && e.event.global_id.is_some()
                    && e.event.detail["layer"] == "shadow"
                    && e.event.detail["via"] == "poll"
            })
        },
    )
    .await;
    // re-reads of the same version within the poll's lookback add nothing
    engine.poll_now().await;
    assert!(engine.wait_idle(IDLE).await);
    engine.poll_now().await;
    assert!(engine.wait_idle(IDLE).await);
    let filter = AuditFilter {
        kind_prefix: Some("echo.".into()),
        limit: 100,
        ..Default::default()
    };
    let from_b = store
        .audit_recent(&filter)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event.org.as_ref().is_some_and(|o| o.as_str() == "b"))
        .count();
    assert_eq!(
        from_b, 1,
        "one row per version of the copy, not one per re-read"
    );
    engine.shutdown().await;
}
