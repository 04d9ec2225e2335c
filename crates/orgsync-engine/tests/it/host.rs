//! The service's engine host: a sync added in the settings overlay while the service runs
//! (the Sync Monitor's "Add object", `orgsync sync add`), then turned on, syncs without a
//! restart of the process; a new interval and a removal apply the same way — and the syncs
//! that ran before keep their checkpoints and items (nothing re-sent, nothing lost).

use orgsync_engine::{EngineHost, EngineOptions};
use orgsync_store::{NewAudit, Store, SyncOverride};
use serde_json::json;

use crate::support::*;

const ACCOUNT: &str = r#"
[topology]
kind = "peer"
orgs = ["a", "b"]

[[sync]]
object = "Account"
fields = ["Name"]
interval = "1s"
"#;

async fn put(store: &impl Store, o: &SyncOverride, kind: &str) {
    let audit = NewAudit::new(chrono::Utc::now(), kind);
    store.put_sync_override(o, audit).await.unwrap();
}

fn has(host: &EngineHost, object: &str) -> bool {
    host.current()
        .settings()
        .syncs
        .iter()
        .any(|s| s.object == object)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_added_and_turned_on_while_running_syncs_without_a_process_restart() {
    let env = start(&["a", "b"], |_| vec![]).await;
    let (a, b) = (env.user("a").await, env.user("b").await);
    let store = env.store().await;
    let opts = EngineOptions {
        lease_owner: "test".into(),
        ..EngineOptions::default()
    };
    let host = EngineHost::start(env.settings(&["a", "b"], ACCOUNT), store.clone(), opts)
        .await
        .unwrap();
    create(&a, "Account", json!({"Name": "Before"})).await;
    eventually("the Account arrives in b", || async {
        snapshot(&b, "Account", &["Name"]).await.len() == 1
    })
    .await;
    assert_eq!(host.restarts(), 0);

    // "Add object": created disabled; the host restarts its engine with the sync, paused
    let mut added = SyncOverride::new("Contact", chrono::Utc::now(), "test");
    added.fields = Some(vec!["LastName".into(), "Email".into()]);
    added.capture = Some("poll".into());
    added.enabled = Some(false);
    put(&store, &added, "admin.sync.add").await;
    eventually("the engine runs the added sync", || async {
        has(&host, "Contact")
    })
    .await;
    assert_eq!(host.restarts(), 1);

    // turned on: a switch in the running engine, no further restart
    added.enabled = Some(true);
    put(&store, &added, "admin.sync.set").await;
    create(
        &a,
        "Contact",
        json!({"LastName": "Added", "Email": "a@example.com"}),
    )
    .await;
    eventually(
        "the Contact created after it was turned on arrives in b",
        || async {
            snapshot(&b, "Contact", &["LastName", "Email"])
                .await
                .first()
                .is_some_and(|r| r["LastName"] == "Added" && r["Email"] == "a@example.com")
        },
    )
    .await;
    assert_eq!(host.restarts(), 1, "turning it on needed no restart");

    // a new interval of the file's sync restarts the engine with it; the Account synced
    // before is not written again (its shadow and id map were kept) and edits still flow
    let mut slower = SyncOverride::new("Account", chrono::Utc::now(), "test");
    slower.interval_secs = Some(2);
    put(&store, &slower, "admin.sync.set").await;
    eventually("the engine runs the new interval", || async {
        host.current()
            .settings()
            .syncs
            .iter()
            .any(|s| s.object == "Account" && s.interval.as_secs() == 2)
    })
    .await;
    create(&b, "Account", json!({"Name": "After"})).await;
    eventually("the Account created in b arrives in a", || async {
        snapshot(&a, "Account", &["Name"]).await.len() == 2
    })
    .await;
    assert_eq!(
        snapshot(&b, "Account", &["Name"]).await.len(),
        2,
        "no duplicate"
    );
    let engine = host.current();
    assert!(engine.wait_idle(IDLE).await);
    let counts = store.counts().await.unwrap();
    assert!(
        counts
            .iter()
            .all(|((_, st), n)| *n == 0 || matches!(st, orgsync_store::ItemState::Synced)),
        "nothing left queued, in flight or failed: {counts:?}"
    );

    // removed: the engine restarts without it
    let mut removed = added.clone();
    removed.removed = true;
    put(&store, &removed, "admin.sync.remove").await;
    eventually("the engine no longer runs the removed sync", || async {
        !has(&host, "Contact")
    })
    .await;
    assert!(has(&host, "Account"));
    host.shutdown().await;
}
