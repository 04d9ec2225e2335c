//! `capture = "cdc"`: changes travel as Pub/Sub change events, with no poll in between; the
//! subscriber resumes after its stored replay id, backfills when that id has expired, re-reads
//! gap events and polls on an overflow.

use serde_json::{Value, json};

use crate::support::*;

const HUB: &str =
    "[topology]\nkind = \"hub_and_spoke\"\nhub = \"hub\"\nspokes = [\"v1\", \"v2\"]\n";
const SYNC: &str = "[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Status__c\"]\ninterval = \"30m\"\ncapture = \"cdc\"\n";
const NAMES: [&str; 3] = ["hub", "v1", "v2"];

async fn names_on(env: &Env, org: &str) -> Vec<Value> {
    let c = env.user(org).await;
    snapshot(&c, "Work_Item__c", &["Name", "Status__c"]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_reaches_the_spokes_through_change_events_with_no_poll() {
    let env = start(&NAMES, |_| vec![]).await;
    let engine = env
        .engine(env.settings(&NAMES, &format!("{HUB}{SYNC}")))
        .await;
    assert!(engine.wait_idle(IDLE).await); // the start-up poll (nothing to sync yet)
    let polls = env.calls("hub", "query").await;
    let last_sync = || async {
        let store = env.store().await;
        orgsync_store::Store::sync(&store, &orgsync_core::OrgName("hub".into()), "Work_Item__c")
            .await
            .unwrap()
            .and_then(|r| r.last_sync_at)
    };
    let synced_before = last_sync().await;
    let hub = env.user("hub").await;
    let id = create(
        &hub,
        "Work_Item__c",
        json!({"Name": "live", "Status__c": "New"}),
    )
    .await;
    eventually("the new record reaches both spokes", || async {
        names_on(&env, "v1").await.len() == 1 && names_on(&env, "v2").await.len() == 1
    })
    .await;
    update(&hub, "Work_Item__c", &id, json!({"Status__c": "Done"})).await;
    eventually("the update reaches both spokes", || async {
        names_on(&env, "v1")
            .await
            .first()
            .is_some_and(|r| r["Status__c"] == "Done")
            && names_on(&env, "v2")
                .await
                .first()
                .is_some_and(|r| r["Status__c"] == "Done")
    })
    .await;
    assert_eq!(
        polls,
        env.calls("hub", "query").await,
        "no poll of the hub in between"
    );
    assert!(
        last_sync().await > synced_before,
        "the sync's last sync time follows the events"
    );
    // a spoke's edit comes back as an event and fans out; our own writes are echoes
    let v1 = env.user("v1").await;
    let on_v1 = v1
        .query_page("SELECT Id FROM Work_Item__c", false)
        .await
        .unwrap()
        .records[0]["Id"]
        .as_str()
        .unwrap()
        .to_string();
    update(
        &v1,
        "Work_Item__c",
        &on_v1,
        json!({"Name": "renamed on v1"}),
    )
    .await;
    eventually("v1's edit reaches the hub and v2", || async {
        names_on(&env, "hub").await[0]["Name"] == "renamed on v1"
            && names_on(&env, "v2").await[0]["Name"] == "renamed on v1"
    })
    .await;
    let writes = (
        env.writes("hub").await,
        env.writes("v1").await,
        env.writes("v2").await,
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let after = (
        env.writes("hub").await,
        env.writes("v1").await,
        env.writes("v2").await,
    );
    let items = orgsync_store::Store::items(
        &env.store().await,
        &Default::default(),
        orgsync_store::Page::first(200),
    )
    .await
    .unwrap();
    let items: Vec<String> = items
        .iter()
        .map(|i| {
            format!(
                "{} {:?} from {:?} txn {:?} {:?}",
                i.work.target, i.state, i.source_org, i.txn_id, i.work.payload
            )
        })
        .collect();
    assert_eq!(writes, after, "no echo writes: {items:#?}");
    // and each echo dropped is in the record's timeline, with the layer that dropped it
    let store = env.store().await;
    eventually(
        "our writes' events are audited as origin-layer echoes",
        || async {
            let filter = orgsync_store::AuditFilter {
                kind_prefix: Some("echo.".into()),
                limit: 200,
                ..Default::default()
            };
            let echoes = orgsync_store::Store::audit_recent(&store, &filter)
                .await
                .unwrap();
            ["v1", "v2"].iter().all(|spoke| {
                echoes.iter().any(|a| {
                    a.event.org.as_ref().is_some_and(|o| o.as_str() == *spoke)
                        && a.event.global_id.is_some()
                        && a.event.detail["layer"] == "origin"
                })
            })
        },
    )
    .await;
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_subscriber_resumes_after_its_replay_id_losing_and_duplicating_nothing() {
    let env = start(&NAMES, |_| vec![]).await;
    let settings = env.settings(&NAMES, &format!("{HUB}{SYNC}"));
    let engine = env.engine(settings.clone()).await;
    assert!(engine.wait_idle(IDLE).await);
    let hub = env.user("hub").await;
    for i in 0..10 {
        create(&hub, "Work_Item__c", json!({"Name": format!("r{i}")})).await;
    }
    eventually("the first ten arrive", || async {
        names_on(&env, "v1").await.len() == 10
    })
    .await;
    engine.shutdown().await;
    let store = env.store().await;
    let cp = orgsync_store::Store::checkpoint(
        &store,
        &orgsync_core::OrgName("hub".into()),
        "Work_Item__c",
        orgsync_store::SourceKind::Cdc,
    )
    .await
    .unwrap()
    .and_then(|c| c.replay_id);
    assert!(
        cp.is_some_and(|r| !r.is_empty()),
        "the replay id is in the ledger"
    );
    for i in 10..20 {
        create(&hub, "Work_Item__c", json!({"Name": format!("r{i}")})).await;
    }
    let engine = env.engine(settings).await;
    eventually("all twenty arrive", || async {
        names_on(&env, "v1").await.len() == 20 && names_on(&env, "v2").await.len() == 20
    })
    .await;
    assert!(engine.wait_idle(IDLE).await);
    let hub_rows = names_on(&env, "hub").await;
    assert_eq!(hub_rows.len(), 20);
    assert_eq!(
        hub_rows,
        names_on(&env, "v1").await,
        "no duplicate, none missing"
    );
    assert_eq!(hub_rows, names_on(&env, "v2").await);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_replay_id_leads_to_a_backfill_then_live_events() {
    let env = start(&NAMES, |_| vec![]).await;
    let settings = env.settings(&NAMES, &format!("{HUB}{SYNC}"));
    let engine = env.engine(settings.clone()).await;
    assert!(engine.wait_idle(IDLE).await);
    let hub = env.user("hub").await;
    create(&hub, "Work_Item__c", json!({"Name": "before"})).await;
    eventually("first record", || async {
        names_on(&env, "v1").await.len() == 1
    })
    .await;
    engine.shutdown().await;
    create(&hub, "Work_Item__c", json!({"Name": "while down"})).await;
    env.control("hub", "pubsub/expire", json!({})).await;
    let before = env.calls("hub", "query").await;
    let engine = env.engine(settings).await;
    // the stored replay id is refused: the subscription starts at LATEST, and the start-up
    // poll, run once it stands, is the backfill (one read of the source, not two)
    eventually("the backfill brings the record made while down", || async {
        names_on(&env, "v1").await.len() == 2 && env.calls("hub", "query").await > before
    })
    .await;
    let polls = env.calls("hub", "query").await;
    assert_eq!(polls, before + 1, "one read covers the start and the gap");
    create(&hub, "Work_Item__c", json!({"Name": "live again"})).await;
    eventually("then live events flow", || async {
        names_on(&env, "v2").await.len() == 3
    })
    .await;
    assert_eq!(polls, env.calls("hub", "query").await, "live, not polled");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gap_events_are_re_read_and_an_overflow_polls() {
    let env = start(&NAMES, |_| vec![]).await;
    let engine = env
        .engine(env.settings(&NAMES, &format!("{HUB}{SYNC}")))
        .await;
    let hub = env.user("hub").await;
    let id = create(&hub, "Work_Item__c", json!({"Name": "g"})).await;
    assert!(engine.wait_idle(IDLE).await);
    // the next change is published as GAP_UPDATE (record ids only): re-read in one query
    env.control("hub", "pubsub/gap", json!({"count": 1})).await;
    let polls = env.calls("hub", "query").await;
    update(&hub, "Work_Item__c", &id, json!({"Status__c": "Blocked"})).await;
    eventually("the gap's record is re-read and synced", || async {
        names_on(&env, "v1").await[0]["Status__c"] == "Blocked"
    })
    .await;
    assert_eq!(
        env.calls("hub", "query").await,
        polls + 1,
        "one re-read query"
    );
    // a transaction larger than the overflow threshold: the first change is an event, the
    // rest one GAP_OVERFLOW, and the object is polled
    let more = [
        create(&hub, "Work_Item__c", json!({"Name": "o1"})).await,
        create(&hub, "Work_Item__c", json!({"Name": "o2"})).await,
    ];
    eventually("the new records arrive", || async {
        names_on(&env, "v2").await.len() == 3
    })
    .await;
    let r = env
        .http
        .put(format!("{}/__sfemu/pubsub", env.base("hub")))
        .json(&json!({"overflowThreshold": 1}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let polls = env.calls("hub", "query").await;
    let batch: Vec<sfclient::Record> = [id.clone(), more[0].clone(), more[1].clone()]
        .iter()
        .map(|i| rec(json!({"Id": i, "Status__c": "Overflowed"})))
        .collect();
    let saved = hub.update_many("Work_Item__c", &batch).await;
    assert!(saved.iter().all(Result::is_ok));
    eventually("the overflow's poll brings all three", || async {
        names_on(&env, "v2")
            .await
            .iter()
            .all(|r| r["Status__c"] == "Overflowed")
    })
    .await;
    assert!(
        env.calls("hub", "query").await > polls,
        "the object was polled"
    );
    engine.shutdown().await;
}

/// Change events carry only the fields that changed, so edits of different fields of one
/// record on two orgs at the same moment both survive (the field-level merge sees exactly what
/// each side changed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_edits_of_different_fields_through_change_events_both_survive() {
    let names = ["a", "b"];
    let env = start(&names, |_| vec![]).await;
    let a = env.user("a").await;
    let id_a = create(
        &a,
        "Work_Item__c",
        json!({"Name": "shared", "Status__c": "New"}),
    )
    .await;
    let engine = env
        .engine(env.settings(
            &names,
            &format!("[topology]\nkind = \"peer\"\norgs = [\"a\", \"b\"]\n{SYNC}"),
        ))
        .await;
    assert!(engine.wait_idle(IDLE).await);
    let b = env.user("b").await;
    let id_b = b
        .query_page("SELECT Id FROM Work_Item__c", false)
        .await
        .unwrap()
        .records[0]["Id"]
        .as_str()
        .unwrap()
        .to_string();
    let (on_a, on_b) = (
        rec(json!({"Status__c": "Done"})),
        rec(json!({"Name": "renamed"})),
    );
    let (ra, rb) = tokio::join!(
        a.update("Work_Item__c", &id_a, &on_a),
        b.update("Work_Item__c", &id_b, &on_b),
    );
    ra.unwrap();
    rb.unwrap();
    let both = |org: &'static str| {
        let env = &env;
        async move {
            names_on(env, org)
                .await
                .first()
                .is_some_and(|r| r["Name"] == "renamed" && r["Status__c"] == "Done")
        }
    };
    eventually("both edits on both orgs", || async {
        both("a").await && both("b").await
    })
    .await;
    let conflicts =
        orgsync_store::Store::conflicts(&env.store().await, None, orgsync_store::Page::first(10))
            .await
            .unwrap();
    assert!(
        conflicts.is_empty(),
        "different fields do not conflict: {conflicts:?}"
    );
    engine.shutdown().await;
}
