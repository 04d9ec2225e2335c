//! Deletes and undeletes, parents and children, records the target rejects.

use serde_json::json;

use crate::support::*;

const PEER: &str = "[topology]\nkind = \"peer\"\norgs = [\"a\", \"b\"]\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_and_undeletes_propagate() {
    let env = start(&["a", "b"], |_| vec![]).await;
    let (a, b) = (env.user("a").await, env.user("b").await);
    let id = create(&a, "Work_Item__c", json!({"Name": "doomed"})).await;
    create(&a, "Work_Item__c", json!({"Name": "stays"})).await;
    let settings = env.settings(
        &["a", "b"],
        &format!(
            "{PEER}[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\"]\ninterval = \"30m\"\n"
        ),
    );
    let engine = env.engine(settings).await;
    assert!(engine.wait_idle(IDLE).await);
    assert_eq!(snapshot(&b, "Work_Item__c", &["Name"]).await.len(), 2);
    a.delete("Work_Item__c", &id).await.unwrap();
    assert!(engine.wait_idle(IDLE).await);
    let sb = snapshot(&b, "Work_Item__c", &["Name"]).await;
    assert_eq!(sb.len(), 1);
    assert_eq!(sb[0]["Name"], "stays");
    env.undelete("a", &id).await;
    assert!(engine.wait_idle(IDLE).await);
    let sb = snapshot(&b, "Work_Item__c", &["Name"]).await;
    assert_eq!(sb, snapshot(&a, "Work_Item__c", &["Name"]).await);
    assert_eq!(sb.len(), 2);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "KNOWN FAILURE: the child item stays InFlight and no Account item is captured; not yet diagnosed"]
async fn children_land_with_their_parent_looked_up_by_global_id() {
    let env = start(&["a", "b"], |_| vec![]).await;
    let a = env.user("a").await;
    let b = env.user("b").await;
    let acct = create(&a, "Account", json!({"Name": "Acme"})).await;
    create(
        &a,
        "Work_Item__c",
        json!({"Name": "child", "Account__c": acct}),
    )
    .await;
    let settings = env.settings(
        &["a", "b"],
        &format!(
            "{PEER}[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Account__c\"]\ninterval = \"30m\"\nparents = [{{ field = \"Account__c\", policy = \"sync\", object = \"Account\" }}]\n\n[[sync]]\nobject = \"Account\"\nfields = [\"Name\"]\ninterval = \"30m\"\n"
        ),
    );
    let engine = env.engine(settings).await;
    assert!(engine.wait_idle(IDLE).await);
    let rows = b
        .query_page("SELECT Name, Account__r.Name FROM Work_Item__c", false)
        .await
        .unwrap();
    let store = env.store().await;
    let all =
        orgsync_store::Store::items(&store, &Default::default(), orgsync_store::Page::first(10))
            .await
            .unwrap();
    let syncs = orgsync_store::Store::syncs(&store).await.unwrap();
    assert_eq!(rows.records.len(), 1, "{syncs:#?} {all:#?}");
    assert_eq!(rows.records[0]["Account__r"]["Name"], "Acme");
    // no echo writes once converged
    let before = (env.writes("a").await, env.writes("b").await);
    assert!(engine.wait_idle(IDLE).await);
    assert_eq!(before, (env.writes("a").await, env.writes("b").await));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_record_fails_with_salesforces_message_and_the_rest_flow() {
    let env = start(&["a", "b"], |n| vec![fixture(&format!("code-{n}.toml"))]).await;
    let (a, b) = (env.user("a").await, env.user("b").await);
    create(
        &a,
        "Work_Item__c",
        json!({"Name": "short", "Code__c": "ok"}),
    )
    .await;
    create(
        &a,
        "Work_Item__c",
        json!({"Name": "long", "Code__c": "far too long"}),
    )
    .await;
    let settings = env.settings(
        &["a", "b"],
        &format!("{PEER}[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Code__c\"]\ninterval = \"30m\"\n"),
    );
    let engine = env.engine(settings).await;
    assert!(engine.wait_idle(IDLE).await);
    let sb = snapshot(&b, "Work_Item__c", &["Name"]).await;
    assert_eq!(sb.len(), 1);
    assert_eq!(sb[0]["Name"], "short");
    let store = env.store().await;
    let failed = orgsync_store::Store::items(
        &store,
        &orgsync_store::ItemFilter {
            state: Some(orgsync_store::ItemState::Failed),
            ..Default::default()
        },
        orgsync_store::Page::first(10),
    )
    .await
    .unwrap();
    assert_eq!(failed.len(), 1);
    let err = failed[0].last_error.as_ref().unwrap();
    assert_eq!(err.code, "STRING_TOO_LONG", "{err:?}");
    assert!(
        err.message.contains("Code__c") || err.message.contains("too long"),
        "{err:?}"
    );
    engine.shutdown().await;
}
