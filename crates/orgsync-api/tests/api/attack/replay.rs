//! Case 4: a transactionId is bound to what it carried. The same id with the same content is
//! an idempotent 200 `duplicate: true`; the same id with other content is a 409 naming the
//! transaction. Before: `200 {"duplicate": true}` and the new content dropped without a word.

use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_transaction_id_with_other_content_is_a_409() {
    let env = start(Opts::default()).await;
    let a_id = env.org_id("a");
    let (x, y) = (fake_id(40), fake_id(41));
    let ts = (Utc::now() - TimeDelta::seconds(5)).to_rfc3339();
    let first = push_body("t-replay", &a_id, &ts, &[(&x, "first")]);
    let a = push(&env, Some(TOKEN_A), &[], first.to_string()).await;
    assert_eq!(
        (a.status, &a.body["duplicate"]),
        (200, &json!(false)),
        "{a:?}"
    );
    let before = written(&env).await;

    // the same content, re-serialised by a retrying sender: keys reordered, spaces, a later
    // timestamp, the 15-character form of the org id
    let same = format!(
        "{{ \"records\": [ {{ \"Status__c\": \"New\", \"Name\": \"first\", \"externalId\": \"{x}\", \"attributes\": {{\"type\": \"Work_Item__c\"}} }} ],\n  \"operation\": \"upsert\", \"timestamp\": \"{}\", \"sourceOrgId\": \"{}\", \"transactionId\": \"t-replay\" }}",
        Utc::now().to_rfc3339(),
        &a_id[..15]
    );
    let a = push(&env, Some(TOKEN_A), &[], same).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.body["duplicate"], json!(true), "{a:?}");
    assert_eq!(written(&env).await, before, "a duplicate wrote something");

    let mut renamed = first.clone();
    renamed["records"][0]["Name"] = json!("second");
    let mut deleted = first.clone();
    deleted["operation"] = json!("delete");
    let mut more = first.clone();
    more["records"]
        .as_array_mut()
        .unwrap()
        .push(json!({"attributes": {"type": "Work_Item__c"}, "externalId": y, "Name": "more"}));
    let mut other_field = first.clone();
    other_field["records"][0]["Status__c"] = json!("Done");
    let cases: Vec<(&str, Value)> = vec![
        ("another value", renamed),
        ("another operation", deleted),
        ("another record", more),
        ("another field", other_field),
    ];
    for (case, body) in cases {
        let a = push(&env, Some(TOKEN_A), &[], body.to_string()).await;
        refused(&env, &before, case, &a, 409, "transactionId t-replay").await;
        assert_eq!(a.body["field"], json!("transactionId"), "{case}: {a:?}");
    }
    assert_eq!(
        env.work_items("b").await,
        vec![(format!("{a_id}:{x}"), "first".to_string())]
    );
    env.shutdown().await;
}

/// A transaction recorded before its content was hashed (an older ledger) stays a duplicate,
/// whatever is sent again under its id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_recorded_without_a_hash_stays_a_duplicate() {
    let env = start(Opts::default()).await;
    let a_id = env.org_id("a");
    let db = env.dir.path().join("ledger.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", db.display()))
        .await
        .unwrap();
    sqlx::query("INSERT INTO transactions (target_org, txn_id, at) VALUES ('a', 'push:t-old', 0)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let before = written(&env).await;
    let body = push_body(
        "t-old",
        &a_id,
        &Utc::now().to_rfc3339(),
        &[(&fake_id(42), "any")],
    );
    let a = push(&env, Some(TOKEN_A), &[], body.to_string()).await;
    assert_eq!(
        (a.status, &a.body["duplicate"]),
        (200, &json!(true)),
        "{a:?}"
    );
    assert_eq!(written(&env).await, before);
    env.shutdown().await;
}
