//! The settings overlay at runtime: a sync paused in the ledger (the Sync Monitor's switch,
//! `orgsync sync pause`) stops capturing within a tick and shows Paused; resumed, it catches
//! up on what changed meanwhile — no restart.

use std::time::Duration;

use orgsync_store::{NewAudit, Store, SyncOverride, SyncStatus};
use serde_json::json;

use crate::support::*;

const ACCOUNT: &str = r#"
[topology]
kind = "peer"
orgs = ["a", "b"]

[[sync]]
object = "Work_Item__c"
fields = ["Name", "Status__c"]
interval = "1s"
"#;

async fn switch(env: &Env, enabled: bool) {
    let store = env.store().await;
    let mut o = SyncOverride::new("Work_Item__c", chrono::Utc::now(), "test");
    o.enabled = Some(enabled);
    let audit = NewAudit::new(chrono::Utc::now(), "admin.sync.set");
    store.put_sync_override(&o, audit).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_stops_capture_and_resume_catches_up_without_a_restart() {
    let env = start(&["a", "b"], |_| vec![]).await;
    let (a, b) = (env.user("a").await, env.user("b").await);
    let engine = env.engine(env.settings(&["a", "b"], ACCOUNT)).await;
    let id = create(&a, "Work_Item__c", json!({"Name": "before pause"})).await;
    assert!(engine.wait_idle(IDLE).await);
    assert_eq!(snapshot(&b, "Work_Item__c", &["Name"]).await.len(), 1);

    switch(&env, false).await;
    let store = env.store().await;
    eventually("both legs show Paused", || async {
        let rows = store.syncs().await.unwrap();
        rows.len() == 2 && rows.iter().all(|r| r.status == SyncStatus::Paused && !r.enabled)
    })
    .await;
    update(&a, "Work_Item__c", &id, json!({"Status__c": "Done"})).await;
    // idle checks do not wait for a paused source
    assert!(engine.wait_idle(IDLE).await);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let held = snapshot(&b, "Work_Item__c", &["Status__c"]).await;
    assert_ne!(held[0]["Status__c"], "Done", "paused: nothing captured");

    switch(&env, true).await;
    eventually("resumed: the edit made while paused arrives", || async {
        snapshot(&b, "Work_Item__c", &["Status__c"]).await[0]["Status__c"] == "Done"
    })
    .await;
    let rows = store.syncs().await.unwrap();
    assert!(rows.iter().all(|r| r.status == SyncStatus::Active && r.enabled));
    engine.shutdown().await;
}
