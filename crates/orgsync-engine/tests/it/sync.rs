//! Records flow between orgs in every topology, edits merge, nothing echoes.

use serde_json::json;

use crate::support::*;

const WORK_ITEM: &str = r#"
[[sync]]
object = "Work_Item__c"
fields = ["Name", "Status__c", "Assignee__c", "Estimate_Hours__c"]
interval = "30m"
"#;

const FIELDS: &[&str] = &["Name", "Status__c", "Assignee__c", "Estimate_Hours__c"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_orgs_both_ways_and_no_echo_writes() {
    let env = start(&["a", "b"], |_| vec![]).await;
    let (a, b) = (env.user("a").await, env.user("b").await);
    let from_a = create(
        &a,
        "Work_Item__c",
        json!({"Name": "from a", "Status__c": "New"}),
    )
    .await;
    create(
        &b,
        "Work_Item__c",
        json!({"Name": "from b", "Assignee__c": "bo"}),
    )
    .await;
    let settings = env.settings(
        &["a", "b"],
        &format!("[topology]\nkind = \"peer\"\norgs = [\"a\", \"b\"]\n{WORK_ITEM}"),
    );
    let engine = env.engine(settings).await;
    assert!(engine.wait_idle(IDLE).await);
    let sa = snapshot(&a, "Work_Item__c", FIELDS).await;
    assert_eq!(sa.len(), 2, "{sa:?}");
    assert_eq!(sa, snapshot(&b, "Work_Item__c", FIELDS).await);
    // the audit trail says what was written where
    let audit = orgsync_store::Store::audit(&env.store().await, orgsync_store::Page::first(50))
        .await
        .unwrap();
    let synced: Vec<_> = audit
        .iter()
        .filter(|r| r.event.kind == "item.synced")
        .collect();
    assert!(!synced.is_empty());
    for r in &synced {
        let d = &r.event.detail["detail"];
        assert!(d["id"].as_str().is_some_and(|id| id.len() == 18), "{d}");
        assert!(
            d["fields"]
                .as_array()
                .is_some_and(|f| f.iter().any(|n| n == "Name")),
            "{d}"
        );
    }

    // an edit on b flows back to a
    let rows = b
        .query_page(
            &format!("SELECT Id FROM Work_Item__c WHERE OrgSync_Global_Id__c LIKE '%{from_a}'"),
            false,
        )
        .await
        .unwrap();
    let b_id = rows.records[0]["Id"].as_str().unwrap().to_string();
    update(&b, "Work_Item__c", &b_id, json!({"Status__c": "Done"})).await;
    assert!(engine.wait_idle(IDLE).await);
    let sa = snapshot(&a, "Work_Item__c", FIELDS).await;
    assert_eq!(sa, snapshot(&b, "Work_Item__c", FIELDS).await);
    assert!(
        sa.iter()
            .any(|r| r["Status__c"] == "Done" && r["Name"] == "from a")
    );

    // converged: more poll cycles write nothing anywhere
    let before = (env.writes("a").await, env.writes("b").await);
    engine.poll_now().await;
    assert!(engine.wait_idle(IDLE).await);
    assert!(engine.wait_idle(IDLE).await);
    assert_eq!(before, (env.writes("a").await, env.writes("b").await));
    engine.shutdown().await;
}

async fn gid_on(c: &sfclient::Client, local: &str) -> String {
    // the local id of the record whose global id ends with `local` (its origin id)
    let rows = c
        .query_page(
            &format!("SELECT Id FROM Work_Item__c WHERE OrgSync_Global_Id__c LIKE '%{local}'"),
            false,
        )
        .await
        .unwrap();
    rows.records[0]["Id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_and_spoke_three_orgs() {
    let names = ["hub", "v1", "v2"];
    let env = start(&names, |_| vec![]).await;
    let (hub, v1, v2) = (
        env.user("hub").await,
        env.user("v1").await,
        env.user("v2").await,
    );
    create(&hub, "Work_Item__c", json!({"Name": "h"})).await;
    let from_v1 = create(&v1, "Work_Item__c", json!({"Name": "one"})).await;
    let settings = env.settings(
        &names,
        &format!("[topology]\nkind = \"hub_and_spoke\"\nhub = \"hub\"\nspokes = [\"v1\", \"v2\"]\n{WORK_ITEM}"),
    );
    let engine = env.engine(settings).await;
    assert!(engine.wait_idle(IDLE).await);
    let s = snapshot(&hub, "Work_Item__c", FIELDS).await;
    assert_eq!(s.len(), 2);
    assert_eq!(s, snapshot(&v1, "Work_Item__c", FIELDS).await);
    assert_eq!(s, snapshot(&v2, "Work_Item__c", FIELDS).await);
    // a spoke's edit reaches the other spoke through the hub
    let on_v2 = gid_on(&v2, &from_v1).await;
    update(&v2, "Work_Item__c", &on_v2, json!({"Assignee__c": "vee"})).await;
    assert!(engine.wait_idle(IDLE).await);
    let s = snapshot(&v1, "Work_Item__c", FIELDS).await;
    assert!(s.iter().any(|r| r["Assignee__c"] == "vee"));
    assert_eq!(s, snapshot(&hub, "Work_Item__c", FIELDS).await);
    assert_eq!(s, snapshot(&v2, "Work_Item__c", FIELDS).await);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_keeps_the_first_origins_global_id() {
    let names = ["a", "b", "c"];
    let env = start(&names, |_| vec![]).await;
    let a = env.user("a").await;
    let id = create(&a, "Work_Item__c", json!({"Name": "chained"})).await;
    let settings = env.settings(
        &names,
        &format!("[topology]\nkind = \"chain\"\norgs = [\"a\", \"b\", \"c\"]\nbidirectional = true\n{WORK_ITEM}"),
    );
    let engine = env.engine(settings).await;
    assert!(engine.wait_idle(IDLE).await);
    let c = env.user("c").await;
    let sa = snapshot(&a, "Work_Item__c", FIELDS).await;
    let sc = snapshot(&c, "Work_Item__c", FIELDS).await;
    assert_eq!(sa, sc);
    assert!(sc[0]["gid"].as_str().unwrap().ends_with(&id));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_edits_merge_and_conflicts_resolve_the_same_everywhere() {
    let env = start(&["a", "b"], |_| vec![]).await;
    let (a, b) = (env.user("a").await, env.user("b").await);
    let id = create(&a, "Work_Item__c", json!({"Name": "shared"})).await;
    let settings = env.settings(
        &["a", "b"],
        &format!("[topology]\nkind = \"peer\"\norgs = [\"a\", \"b\"]\n{WORK_ITEM}"),
    );
    let engine = env.engine(settings).await;
    assert!(engine.wait_idle(IDLE).await);
    let on_b = gid_on(&b, &id).await;
    engine.shutdown().await;
    // while the engine is down: different fields on both orgs, and the same field on both
    // (b edits later and wins)
    update(
        &a,
        "Work_Item__c",
        &id,
        json!({"Status__c": "Done", "Assignee__c": "from a"}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    update(
        &b,
        "Work_Item__c",
        &on_b,
        json!({"Estimate_Hours__c": 3, "Assignee__c": "from b"}),
    )
    .await;
    let engine = env
        .engine(env.settings(
            &["a", "b"],
            &format!("[topology]\nkind = \"peer\"\norgs = [\"a\", \"b\"]\n{WORK_ITEM}"),
        ))
        .await;
    assert!(engine.wait_idle(IDLE).await);
    let sa = snapshot(&a, "Work_Item__c", FIELDS).await;
    assert_eq!(sa, snapshot(&b, "Work_Item__c", FIELDS).await);
    assert_eq!(sa[0]["Status__c"], "Done");
    assert_eq!(sa[0]["Estimate_Hours__c"], 3.0);
    assert_eq!(sa[0]["Assignee__c"], "from b");
    let store = env.store().await;
    let conflicts = orgsync_store::Store::conflicts(&store, None, orgsync_store::Page::first(10))
        .await
        .unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].conflict.field, "assignee__c");
    engine.shutdown().await;
}
