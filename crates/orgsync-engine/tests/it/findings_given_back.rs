//! A lookup Salesforce gives back with its parent's undelete over our write of an empty value
//! (chaos seed 140): the copy holds the restored value, it is no one's edit, and the agreed
//! empty value is written to it again — whichever of the parent's undelete and the child's
//! next read is captured first.

use orgsync_core::{FieldValue, OrgName};
use orgsync_store::Store;
use serde_json::json;

use crate::support::*;

const SYNCS: &str = "[topology]\nkind = \"peer\"\norgs = [\"a\", \"b\"]\n\n[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Account__c\"]\ninterval = \"1s\"\nparents = [{ field = \"Account__c\", policy = \"sync\", object = \"Account\" }]\n\n[[sync]]\nobject = \"Account\"\nfields = [\"Name\"]\ninterval = \"1s\"\n";

/// The work item's lookup in b: (the ledger's shadow of it, the agreed value).
async fn ledger_view(
    env: &Env,
    w_b: &str,
) -> (Option<orgsync_core::merge::ShadowValue>, FieldValue) {
    let store = env.store().await;
    let row = store
        .record_by_local_id(&OrgName::from("b"), "Work_Item__c", w_b)
        .await
        .unwrap()
        .expect("the work item is known in b");
    let agreed = store
        .agreed("Work_Item__c", std::slice::from_ref(&row.global_id))
        .await
        .unwrap();
    let value = agreed[0]
        .fields
        .get("account__c")
        .map_or(FieldValue::Null, |v| v.value.clone());
    (row.shadow.get("account__c").cloned(), value)
}

/// Account P and work item W (pointing at P) synced to a and b. A user empties W's lookup in
/// a (captured later); P is deleted in b (Salesforce clears W's lookup there; the delete is
/// captured late, and a refuses writes, so P stays live in a); W's capture resumes: the empty
/// lookup is agreed and orgsync writes it to b — over the cleared lookup, which Salesforce
/// does not count as replacing it.
/// P is restored in b: Salesforce gives W its lookup back there, moving its SystemModstamp but
/// not its LastModifiedDate (our write's). Read back, that lookup was taken for an edit newer
/// than the user's and written everywhere; it is the platform's, and b is written the empty
/// value again.
async fn given_back(child_read_first: bool) {
    let env = start(&["a", "b"], |_| vec![]).await;
    let a = env.user("a").await;
    let b = env.user("b").await;
    let p = create(&a, "Account", json!({"Name": "Acme"})).await;
    let w = create(
        &a,
        "Work_Item__c",
        json!({"Name": "child", "Account__c": p}),
    )
    .await;
    let engine = env.engine(env.settings(&["a", "b"], SYNCS)).await;
    assert!(engine.wait_idle(IDLE).await);
    let p_b = local_id(&b, "Account", &p).await.expect("P reached b");
    let w_b = local_id(&b, "Work_Item__c", &w).await.expect("W reached b");

    env.switch_sync("Work_Item__c", false).await;
    update(&a, "Work_Item__c", &w, json!({"Account__c": null})).await;
    env.faults("a", json!({"recordErrorRate": {"UNABLE_TO_LOCK_ROW": 1.0}}))
        .await;
    // the ledger learns of P's delete in b only after our write there was decided
    env.switch_sync("Account", false).await;
    env.delete_direct("b", &p_b).await;
    env.switch_sync("Work_Item__c", true).await;
    eventually("the empty lookup is agreed and written to b", || async {
        let (shadow, agreed) = ledger_view(&env, &w_b).await;
        agreed == FieldValue::Null && shadow.is_some_and(|s| s.ours && s.value == FieldValue::Null)
    })
    .await;
    env.switch_sync("Account", true).await;
    let store = env.store().await;
    eventually("P's delete in b is in the ledger", || async {
        store
            .record_by_local_id(&OrgName::from("b"), "Account", &p_b)
            .await
            .unwrap()
            .is_some_and(|r| r.deleted)
    })
    .await;

    // P comes back in b; one of the two captures waits until the other is in the ledger
    let first_paused = if child_read_first {
        "Account"
    } else {
        "Work_Item__c"
    };
    env.switch_sync(first_paused, false).await;
    env.undelete("b", &p_b).await;
    let back = b
        .query_page(
            &format!("SELECT Account__c FROM Work_Item__c WHERE Id = '{w_b}'"),
            false,
        )
        .await
        .unwrap();
    assert_eq!(back.records[0]["Account__c"], p_b.as_str(), "given back");
    eventually("the first capture saw it", || async {
        if child_read_first {
            let (shadow, _) = ledger_view(&env, &w_b).await;
            shadow.is_some_and(|s| s.value != FieldValue::Null)
        } else {
            store
                .record_by_local_id(&OrgName::from("b"), "Account", &p_b)
                .await
                .unwrap()
                .is_some_and(|r| !r.deleted)
        }
    })
    .await;
    env.switch_sync(first_paused, true).await;
    env.faults("a", json!({})).await;
    assert!(engine.wait_idle(IDLE).await);
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert!(engine.wait_idle(IDLE).await);

    let (_, agreed) = ledger_view(&env, &w_b).await;
    assert_eq!(
        agreed,
        FieldValue::Null,
        "the user's empty lookup stays agreed"
    );
    for (org, c) in [("a", &a), ("b", &b)] {
        let rows = snapshot(c, "Work_Item__c", &["Name", "Account__c"]).await;
        assert_eq!(
            rows[0]["Account__c"],
            serde_json::Value::Null,
            "{org}: {rows:?}"
        );
        assert_eq!(
            snapshot(c, "Account", &["Name"]).await.len(),
            1,
            "{org}: P live"
        );
    }
    engine.shutdown().await;
}

/// W's read in b comes before P's undelete there is captured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_given_back_read_before_its_parent_is_no_edit() {
    given_back(true).await;
}

/// P's undelete in b is captured before W is read there again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_given_back_read_after_its_parent_is_no_edit() {
    given_back(false).await;
}
