//! The settings overlay at runtime: a sync paused in the ledger (the Sync Monitor's switch,
//! `orgsync sync pause`) stops capturing within a tick and shows Paused; resumed, it catches
//! up on what changed meanwhile — no restart. And nothing breaks silently: a mapped field an
//! org will not write puts that org's sync in Error naming it.

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
        rows.len() == 2
            && rows
                .iter()
                .all(|r| r.status == SyncStatus::Paused && !r.enabled)
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
    assert!(
        rows.iter()
            .all(|r| r.status == SyncStatus::Active && r.enabled),
        "{rows:?}"
    );
    assert!(
        rows.iter().all(|r| r.last_error.is_none()),
        "resumed: the pause's reason is not left as the latest error: {rows:?}"
    );
    engine.shutdown().await;
}

/// A mapped field the integration user cannot write in b: the first write refused for it
/// puts b's sync in Error naming the field and the org (not Active with failing records).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_that_cannot_be_written_puts_the_sync_in_error_naming_it() {
    let env = start(&["a", "b"], |n| vec![fixture(&format!("legacy-{n}.toml"))]).await;
    let a = env.user("a").await;
    create(&a, "Work_Item__c", json!({"Name": "x", "Legacy__c": "old"})).await;
    let config = ACCOUNT.replace("[\"Name\", \"Status__c\"]", "[\"Name\", \"Legacy__c\"]");
    let opts = orgsync_engine::EngineOptions {
        lease_owner: "test".into(),
        schema_tick: Duration::from_millis(300),
        ..orgsync_engine::EngineOptions::default()
    };
    let engine =
        orgsync_engine::Engine::start(env.settings(&["a", "b"], &config), env.store().await, opts)
            .await
            .unwrap();
    let store = env.store().await;
    eventually("b's sync in Error naming the field", || async {
        store
            .sync(&"b".into(), "Work_Item__c")
            .await
            .unwrap()
            .is_some_and(|r| {
                r.status == SyncStatus::Error
                    && r.last_error.as_deref().is_some_and(|e| {
                        e.contains("Work_Item__c.Legacy__c in b is no longer writable")
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
    engine.shutdown().await;
}

/// An org nothing has told its API usage yet (no REST call made: the first poll is half an
/// hour away) has its `/limits` read once, so its card shows the budget; once only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_with_no_usage_observed_has_its_limits_read_once() {
    let env = start(&["a", "b"], |_| vec![]).await;
    let config = ACCOUNT.replace("interval = \"1s\"", "interval = \"30m\"");
    let opts = orgsync_engine::EngineOptions {
        lease_owner: "test".into(),
        poll_now_on_start: false,
        ..orgsync_engine::EngineOptions::default()
    };
    let engine =
        orgsync_engine::Engine::start(env.settings(&["a", "b"], &config), env.store().await, opts)
            .await
            .unwrap();
    let store = env.store().await;
    eventually("both orgs' budgets are known", || async {
        let orgs = store.orgs().await.unwrap();
        orgs.len() == 2 && orgs.iter().all(|o| o.budget_max.is_some())
    })
    .await;
    engine.shutdown().await;
    for org in ["a", "b"] {
        assert_eq!(
            env.calls(org, "limits").await,
            1,
            "{org}: /limits read once"
        );
    }
}
