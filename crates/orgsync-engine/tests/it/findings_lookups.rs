//! Empty lookups read while their parent is live again in the capturing org: the row itself,
//! read again, tells an edit from Salesforce's clearing (chaos seeds 67 and 73).

use std::time::Duration;

use orgsync_core::OrgName;
use orgsync_store::Store;
use serde_json::json;

use crate::support::*;

const SYNCS: &str = "[topology]\nkind = \"peer\"\norgs = [\"a\", \"b\"]\n\n[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Account__c\"]\ninterval = \"1s\"\nparents = [{ field = \"Account__c\", policy = \"sync\", object = \"Account\" }]\n\n[[sync]]\nobject = \"Account\"\nfields = [\"Name\"]\ninterval = \"1s\"\n";

/// The account is deleted in a (its work item's lookup cleared there and in b), then — with
/// the Account sync paused, so the ledger still believes it deleted in a — restored in a
/// (the lookup comes back), a user empties the work item's lookup, and the account is edited
/// afterwards (its stamp now later than the work item's edit). The empty lookup is a user's
/// edit: read again, the row still shows it empty with its parent live. Dated by the
/// parent's stamp alone it was taken for Salesforce's clearing and the edit was lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_emptied_after_its_parent_came_back_is_an_edit() {
    let env = start(&["a", "b"], |_| vec![]).await;
    let a = env.user("a").await;
    let acct = create(&a, "Account", json!({"Name": "Acme"})).await;
    let item = create(
        &a,
        "Work_Item__c",
        json!({"Name": "child", "Account__c": acct}),
    )
    .await;
    let engine = env.engine(env.settings(&["a", "b"], SYNCS)).await;
    assert!(engine.wait_idle(IDLE).await);
    env.delete_direct("a", &acct).await;
    assert!(engine.wait_idle(IDLE).await);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(engine.wait_idle(IDLE).await);

    env.switch_sync("Account", false).await;
    env.undelete("a", &acct).await;
    let back = a
        .query_page(
            &format!("SELECT Account__c FROM Work_Item__c WHERE Id = '{item}'"),
            false,
        )
        .await
        .unwrap();
    assert_eq!(
        back.records[0]["Account__c"],
        acct.as_str(),
        "restored with it"
    );
    update(&a, "Work_Item__c", &item, json!({"Account__c": null})).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    update(&a, "Account", &acct, json!({"Name": "Acme 2"})).await;

    // the ledger takes the empty lookup for what it is
    let store = env.store().await;
    let a_org = OrgName::from("a");
    let row = store
        .record_by_local_id(&a_org, "Work_Item__c", &item)
        .await
        .unwrap()
        .expect("the work item is known");
    eventually("the emptied lookup is agreed", || async {
        let agreed = store
            .agreed("Work_Item__c", std::slice::from_ref(&row.global_id))
            .await
            .unwrap();
        agreed[0]
            .fields
            .get("account__c")
            .is_some_and(|v| v.value == orgsync_core::FieldValue::Null)
    })
    .await;

    // the account's restore reaches b, where Salesforce gives the work item its lookup back:
    // that is nobody's edit, the emptied lookup stands everywhere
    env.switch_sync("Account", true).await;
    let b = env.user("b").await;
    eventually("the account is back in b", || async {
        snapshot(&b, "Account", &["Name"]).await.len() == 1
    })
    .await;
    assert!(engine.wait_idle(IDLE).await);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(engine.wait_idle(IDLE).await);
    for (org, c) in [("a", &a), ("b", &b)] {
        let rows = snapshot(c, "Work_Item__c", &["Name", "Account__c"]).await;
        assert_eq!(
            rows[0]["Account__c"],
            serde_json::Value::Null,
            "{org}: {rows:?}"
        );
    }
    engine.shutdown().await;
}
