//! Issue 9, findings 5, 6 and 7: attempts count only failed writes; one org down at start
//! stops nothing else; a sync's status follows its org's recovery.

use std::time::Duration;

use orgsync_core::OrgName;
use orgsync_store::{ItemFilter, ItemState, Store, SyncStatus};
use serde_json::json;

use crate::support::*;

const PEER: &str = "[topology]\nkind = \"peer\"\norgs = [\"a\", \"b\"]\n";
const SYNC: &str =
    "[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Status__c\"]\ninterval = \"30m\"\n";

/// Finding 5 (a child waiting for its parent counted attempts). The child reaches b before
/// its parent can (the parent is outside the Account sync's criteria): it waits Pending
/// through several rounds and lands with its parent, its attempt count still 0 and never
/// Failed. With claims counted as attempts, the waiting child gains an attempt per round and
/// backs off (and ends Failed after the retry schedule).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_waiting_for_its_parent_spends_no_attempts() {
    let env = start(&["a", "b"], |_| vec![]).await;
    let (a, b) = (env.user("a").await, env.user("b").await);
    let acct = create(&a, "Account", json!({"Name": "Held"})).await;
    create(
        &a,
        "Work_Item__c",
        json!({"Name": "waits", "Account__c": acct}),
    )
    .await;
    let settings = env.settings(
        &["a", "b"],
        &format!(
            "{PEER}[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Account__c\"]\ninterval = \"30m\"\nparents = [{{ field = \"Account__c\", policy = \"sync\", object = \"Account\" }}]\n\n[[sync]]\nobject = \"Account\"\nfields = [\"Name\"]\ninterval = \"30m\"\nwhere = \"Name != 'Held'\"\n"
        ),
    );
    let engine = env.engine(settings).await;
    for _ in 0..3 {
        engine.poll_now().await;
        assert!(engine.wait_idle(IDLE).await);
    }
    let to_b = ItemFilter {
        target: Some(OrgName("b".into())),
        object: Some("Work_Item__c".into()),
        ..Default::default()
    };
    let items = env.items(to_b.clone()).await;
    assert_eq!(items.len(), 1, "{items:#?}");
    assert_eq!(items[0].state, ItemState::Pending);
    assert_eq!(
        items[0].attempts, 0,
        "waiting is no failed write: {items:#?}"
    );
    update(&a, "Account", &acct, json!({"Name": "Released"})).await;
    assert!(engine.wait_idle(IDLE).await);
    assert_eq!(snapshot(&b, "Work_Item__c", &["Name"]).await.len(), 1);
    let items = env.items(to_b).await;
    assert!(
        items
            .iter()
            .all(|i| i.state == ItemState::Synced && i.attempts == 0),
        "{items:#?}"
    );
    engine.shutdown().await;
}

/// Finding 5, second half (a claim lost to a kill counted an attempt). A first engine is
/// killed (its runtime dropped) while its write to b is in flight (b answers slowly). The
/// next engine takes the item over once the lease expires, reads b's copy first, and lands
/// the record exactly once — with the attempt count still 0. With claims counted as
/// attempts, the taken-over item carries an attempt (and a back-off) for a write that never
/// failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_lost_to_a_kill_spends_no_attempt() {
    let env = start(&["a", "b"], |_| vec![]).await;
    let a = env.user("a").await;
    create(&a, "Work_Item__c", json!({"Name": "in flight when killed"})).await;
    let settings = env.settings(&["a", "b"], &format!("{PEER}{SYNC}"));
    // every call to b takes two seconds: the first engine dies in the middle of its write
    env.faults("b", json!({"latencyMs": 2000})).await;
    let store_path = env.dir.path().join("ledger.db");
    let first = {
        let settings = settings.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let store =
                    orgsync_store::SqlStore::open(&format!("sqlite:{}", store_path.display()))
                        .await
                        .unwrap();
                let opts = orgsync_engine::EngineOptions {
                    lease_owner: "killed".into(),
                    ..Default::default()
                };
                let engine = orgsync_engine::Engine::start(settings, store, opts)
                    .await
                    .unwrap();
                std::mem::forget(engine);
            });
            rt
        })
        .join()
        .unwrap()
    };
    let to_b = ItemFilter {
        target: Some(OrgName("b".into())),
        ..Default::default()
    };
    eventually("the first engine's write to b is in flight", || async {
        env.items(to_b.clone())
            .await
            .iter()
            .any(|i| i.state == ItemState::InFlight)
    })
    .await;
    first.shutdown_background(); // the kill: no completion, the lease stays
    env.faults("b", json!({})).await;
    let engine = env.engine(settings).await;
    eventually_for(
        "the item is taken over and synced",
        Duration::from_secs(90),
        || async {
            let items = env.items(to_b.clone()).await;
            !items.is_empty() && items.iter().all(|i| i.state == ItemState::Synced)
        },
    )
    .await;
    let items = env.items(to_b).await;
    assert!(items.iter().all(|i| i.attempts == 0), "{items:#?}");
    let b = env.user("b").await;
    assert_eq!(
        snapshot(&b, "Work_Item__c", &["Name"]).await.len(),
        1,
        "landed once"
    );
    engine.shutdown().await;
}

/// Finding 6 (one org's outage at start stopped everything). v2's login answers 503 when the
/// engine starts: the engine starts anyway, syncs the hub and v1 meanwhile, and v2 catches
/// up once it answers again. With the old start-up (every org logged in first, or writers
/// waiting for every org's first read) the engine either fails to start or writes nothing
/// to v1 while v2 is down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_org_down_at_start_does_not_stop_the_others() {
    let names = ["hub", "v1", "v2"];
    let env = start(&names, |_| vec![]).await;
    let hub = env.user("hub").await;
    create(&hub, "Work_Item__c", json!({"Name": "before start"})).await;
    env.faults("v2", json!({"offline": true})).await;
    let settings = env.settings(
        &names,
        &format!(
            "[topology]\nkind = \"hub_and_spoke\"\nhub = \"hub\"\nspokes = [\"v1\", \"v2\"]\n{SYNC}"
        ),
    );
    let engine = env.engine(settings).await;
    let v1 = env.user("v1").await;
    eventually("v1 is synced while v2 is down", || async {
        snapshot(&v1, "Work_Item__c", &["Name"]).await.len() == 1
    })
    .await;
    create(&hub, "Work_Item__c", json!({"Name": "while v2 is down"})).await;
    engine.poll_now().await;
    eventually("v1 keeps syncing", || async {
        snapshot(&v1, "Work_Item__c", &["Name"]).await.len() == 2
    })
    .await;
    let org = env
        .store()
        .await
        .org(&OrgName("v2".into()))
        .await
        .unwrap()
        .unwrap();
    assert!(org.status.starts_with("unreachable"), "{org:?}");
    env.faults("v2", json!({})).await;
    eventually_for("v2 catches up", Duration::from_secs(90), || async {
        let v2 = env.user("v2").await;
        snapshot(&v2, "Work_Item__c", &["Name"]).await.len() == 2
    })
    .await;
    assert!(engine.wait_idle(IDLE).await);
    let v2 = env.user("v2").await;
    assert_eq!(
        snapshot(&v2, "Work_Item__c", &["Name"]).await,
        snapshot(&hub, "Work_Item__c", &["Name"]).await
    );
    engine.shutdown().await;
}

/// Finding 7 (the status stayed "circuit open" after the org recovered). Every call to b
/// fails with 503 while a backlog of more than five batches is written: five consecutive
/// failures open b's circuit and every sync of b says circuit_open. b answers again: once
/// the open period is over the writes land and no sync of b says circuit_open any more (nor
/// does the org row). With the status written only when a capture finishes or left to the
/// breaker's last failure, it keeps saying circuit_open after the recovery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_follows_the_orgs_recovery_after_the_circuit_opened() {
    let env = start(&["a", "b"], |_| vec![]).await;
    let a = env.user("a").await;
    let engine = env
        .engine(env.settings(&["a", "b"], &format!("{PEER}{SYNC}")))
        .await;
    assert!(engine.wait_idle(IDLE).await);
    env.faults("b", json!({"errorRate": {"503": 1.0}})).await;
    let records: Vec<sfclient::Record> = (0..1200)
        .map(|i| rec(json!({"Name": format!("r{i}")})))
        .collect();
    assert!(
        a.create_many("Work_Item__c", &records)
            .await
            .iter()
            .all(Result::is_ok)
    );
    engine.poll_now().await;
    let b_syncs = || async {
        env.store()
            .await
            .syncs()
            .await
            .unwrap()
            .into_iter()
            .filter(|s| s.org.0 == "b")
            .map(|s| s.status)
            .collect::<Vec<_>>()
    };
    eventually("b's circuit opens", || async {
        let s = b_syncs().await;
        !s.is_empty() && s.iter().all(|s| *s == SyncStatus::CircuitOpen)
    })
    .await;
    env.faults("b", json!({})).await;
    eventually_for(
        "the backlog lands on b",
        Duration::from_secs(150),
        || async {
            let b = env.user("b").await;
            b.query_page("SELECT COUNT() FROM Work_Item__c", false)
                .await
                .unwrap()
                .total_size
                == 1200
        },
    )
    .await;
    assert!(engine.wait_idle(IDLE).await);
    let s = b_syncs().await;
    assert!(s.iter().all(|s| *s == SyncStatus::Active), "{s:?}");
    let org = env
        .store()
        .await
        .org(&OrgName("b".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(org.circuit, orgsync_store::CircuitState::Closed, "{org:?}");
    engine.shutdown().await;
}
