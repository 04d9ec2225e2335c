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
    let from_a = create(&a, "Work_Item__c", json!({"Name": "from a", "Status__c": "New"})).await;
    create(&b, "Work_Item__c", json!({"Name": "from b", "Assignee__c": "bo"})).await;
    let settings = env.settings(
        &["a", "b"],
        &format!("[topology]\nkind = \"peer\"\norgs = [\"a\", \"b\"]\n{WORK_ITEM}"),
    );
    let engine = env.engine(settings).await;
    assert!(engine.wait_idle(IDLE).await);
    let sa = snapshot(&a, "Work_Item__c", FIELDS).await;
    assert_eq!(sa.len(), 2, "{sa:?}");
    assert_eq!(sa, snapshot(&b, "Work_Item__c", FIELDS).await);

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
    assert!(sa.iter().any(|r| r["Status__c"] == "Done" && r["Name"] == "from a"));

    // converged: more poll cycles write nothing anywhere
    let before = (env.writes("a").await, env.writes("b").await);
    engine.poll_now().await;
    assert!(engine.wait_idle(IDLE).await);
    assert!(engine.wait_idle(IDLE).await);
    assert_eq!(before, (env.writes("a").await, env.writes("b").await));
    engine.shutdown().await;
}
