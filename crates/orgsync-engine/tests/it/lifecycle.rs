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

/// The child reaches the target before its parent (the parent is outside the Account sync's
/// row criteria at first): it waits Pending, without spending calls, and lands as soon as the
/// parent does. Edits to both sides afterwards converge with no lookup rewrites.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_that_arrives_before_its_parent_waits_and_lands_with_it() {
    let env = start(&["a", "b"], |_| vec![]).await;
    let (a, b) = (env.user("a").await, env.user("b").await);
    let acct = create(&a, "Account", json!({"Name": "Held"})).await;
    create(
        &a,
        "Work_Item__c",
        json!({"Name": "early child", "Account__c": acct}),
    )
    .await;
    let settings = env.settings(
        &["a", "b"],
        &format!(
            "{PEER}[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Account__c\"]\ninterval = \"30m\"\nparents = [{{ field = \"Account__c\", policy = \"sync\", object = \"Account\" }}]\n\n[[sync]]\nobject = \"Account\"\nfields = [\"Name\"]\ninterval = \"30m\"\nwhere = \"Name != 'Held'\"\n"
        ),
    );
    let engine = env.engine(settings).await;
    assert!(engine.wait_idle(IDLE).await);
    assert!(snapshot(&b, "Work_Item__c", &["Name"]).await.is_empty());
    let store = env.store().await;
    let counts = orgsync_store::Store::counts(&store).await.unwrap();
    let pending: u64 = counts
        .iter()
        .filter(|((_, st), _)| *st == orgsync_store::ItemState::Pending)
        .map(|(_, n)| *n)
        .sum();
    assert_eq!(pending, 1, "{counts:?}");
    // waiting costs nothing
    let calls = env.writes("b").await;
    assert!(engine.wait_idle(IDLE).await);
    assert_eq!(calls, env.writes("b").await);
    // the parent enters the sync: it lands, and the child right behind it
    update(&a, "Account", &acct, json!({"Name": "Released"})).await;
    assert!(engine.wait_idle(IDLE).await);
    let rows = b
        .query_page("SELECT Name, Account__r.Name FROM Work_Item__c", false)
        .await
        .unwrap();
    assert_eq!(rows.records.len(), 1);
    assert_eq!(rows.records[0]["Account__r"]["Name"], "Released");
    // an edit of the child on b travels back without touching the lookup on a
    let child_b = rows.records[0]["attributes"]["url"]
        .as_str()
        .and_then(|u| u.rsplit('/').next())
        .unwrap()
        .to_string();
    update(
        &b,
        "Work_Item__c",
        &child_b,
        json!({"Name": "renamed on b"}),
    )
    .await;
    assert!(engine.wait_idle(IDLE).await);
    let on_a = a
        .query_page("SELECT Name, Account__c FROM Work_Item__c", false)
        .await
        .unwrap();
    assert_eq!(on_a.records[0]["Name"], "renamed on b");
    assert_eq!(on_a.records[0]["Account__c"], acct.as_str());
    let before = (env.writes("a").await, env.writes("b").await);
    assert!(engine.wait_idle(IDLE).await);
    assert_eq!(before, (env.writes("a").await, env.writes("b").await));
    let conflicts = orgsync_store::Store::conflicts(&store, None, orgsync_store::Page::first(10))
        .await
        .unwrap();
    assert!(conflicts.is_empty(), "{conflicts:?}");
    engine.shutdown().await;
}

/// `match_by_name`: the child links to the target's parent with the same Name, which is
/// created there when missing; lookups then compare by Name, so nothing echoes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn match_by_name_links_or_creates_the_parent_by_name() {
    let env = start(&["a", "b"], |_| vec![]).await;
    let (a, b) = (env.user("a").await, env.user("b").await);
    let acme_a = create(&a, "Account", json!({"Name": "Acme"})).await;
    let newco_a = create(&a, "Account", json!({"Name": "Newco"})).await;
    let acme_b = create(&b, "Account", json!({"Name": "Acme"})).await;
    create(
        &a,
        "Work_Item__c",
        json!({"Name": "one", "Account__c": acme_a}),
    )
    .await;
    create(
        &a,
        "Work_Item__c",
        json!({"Name": "two", "Account__c": newco_a}),
    )
    .await;
    let settings = env.settings(
        &["a", "b"],
        &format!(
            "{PEER}[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Account__c\"]\ninterval = \"30m\"\nparents = [{{ field = \"Account__c\", policy = \"match_by_name\", object = \"Account\" }}]\n"
        ),
    );
    let engine = env.engine(settings).await;
    assert!(engine.wait_idle(IDLE).await);
    let rows = b
        .query_page(
            "SELECT Name, Account__c, Account__r.Name FROM Work_Item__c ORDER BY Name",
            false,
        )
        .await
        .unwrap();
    assert_eq!(rows.records.len(), 2);
    assert_eq!(
        rows.records[0]["Account__c"],
        acme_b.as_str(),
        "linked to b's own Acme"
    );
    assert_eq!(
        rows.records[1]["Account__r"]["Name"], "Newco",
        "Newco created in b"
    );
    let accounts = b
        .query_page(
            "SELECT Name FROM Account WHERE Name IN ('Acme', 'Newco')",
            false,
        )
        .await
        .unwrap();
    assert_eq!(accounts.records.len(), 2, "one Acme, one new Newco");
    // an edit on b travels back; the lookup on a is untouched and nothing echoes
    let one_b = b
        .query_page("SELECT Id FROM Work_Item__c WHERE Name = 'one'", false)
        .await
        .unwrap()
        .records[0]["Id"]
        .as_str()
        .unwrap()
        .to_string();
    update(&b, "Work_Item__c", &one_b, json!({"Name": "one (b)"})).await;
    assert!(engine.wait_idle(IDLE).await);
    let on_a = a
        .query_page(
            "SELECT Account__c FROM Work_Item__c WHERE Name = 'one (b)'",
            false,
        )
        .await
        .unwrap();
    assert_eq!(on_a.records[0]["Account__c"], acme_a.as_str());
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
