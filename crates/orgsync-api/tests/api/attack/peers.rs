//! Who may push what: tokens, signatures, timestamps, the sender's org id, and whose records a
//! peer may name.

use chrono::{TimeDelta, Utc};
use orgsync_core::push::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use serde_json::{Map, Value, json};

use super::*;

fn now() -> String {
    Utc::now().to_rfc3339()
}

/// One pushed Work_Item__c with `Name`, an `externalId` and, when given, an `Id`.
fn body(txn: &str, org_id: &str, external_id: &str, id: Option<&str>, name: &str) -> Value {
    let mut rec =
        json!({"attributes": {"type": "Work_Item__c"}, "externalId": external_id, "Name": name});
    if let Some(id) = id {
        rec["Id"] = json!(id);
    }
    json!({"transactionId": txn, "sourceOrgId": org_id, "timestamp": now(), "operation": "upsert", "records": [rec]})
}

/// A well-formed org id that no config names.
fn nobody() -> String {
    orgsync_core::model::to_id18("00D000000000001").unwrap()
}

async fn create(env: &Env, org: &str, name: &str) -> String {
    let mut rec = Map::new();
    rec.insert("Name".into(), json!(name));
    env.user(org)
        .await
        .create("Work_Item__c", &rec)
        .await
        .unwrap()
}

/// Case 1: a peer names another org's record by its global id. Only a record that originates
/// in the sender, or one the ledger already maps for the sender's org, may be pushed. Before:
/// 200, b got a record "hijacked by a" under b's global id, and b's real record, once in scope,
/// could never sync (DUPLICATE_VALUE on the global id).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_cannot_take_another_orgs_records() {
    let env = start(Opts {
        // Blocked items are out of scope until they change
        syncs: "[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Status__c\"]\ninterval = \"30m\"\nwhere = \"Status__c != 'Blocked'\"\n".into(),
        ..Opts::default()
    })
    .await;
    let (a_id, b_id) = (env.org_id("a"), env.org_id("b"));
    let b_user = env.user("b").await;
    let mut rec = Map::new();
    rec.insert("Name".into(), json!("b's hidden"));
    rec.insert("Status__c".into(), json!("Blocked"));
    let hidden = b_user.create("Work_Item__c", &rec).await.unwrap();
    let mapped = create(&env, "b", "b's shared").await;
    let cases: Vec<(&str, String, Option<String>)> = vec![
        (
            "b's record that a does not hold, with a made-up Id",
            format!("{b_id}:{hidden}"),
            Some(fake_id(1)),
        ),
        (
            "b's record that a does not hold, no Id",
            format!("{b_id}:{hidden}"),
            None,
        ),
        (
            "a record id b never had",
            format!("{b_id}:{}", fake_id(2)),
            Some(fake_id(3)),
        ),
        (
            "an org that is not configured",
            format!("{}:{}", nobody(), fake_id(4)),
            Some(fake_id(5)),
        ),
    ];
    let before = written(&env).await;
    for (i, (case, gid, id)) in cases.iter().enumerate() {
        let b = body(
            &format!("t-foreign-{i}"),
            &a_id,
            gid,
            id.as_deref(),
            "hijacked by a",
        );
        let a = push(&env, Some(TOKEN_A), &[], b.to_string()).await;
        refused(&env, &before, case, &a, 403, gid).await;
        assert_eq!(a.body["externalId"], json!(gid), "{case}: {a:?}");
    }
    // a's own record with an Id that is not its id: the payload contradicts itself (400)
    let a_rec = create(&env, "a", "a's own").await;
    let before = written(&env).await;
    let b = body(
        "t-mismatch",
        &a_id,
        &format!("{a_id}:{a_rec}"),
        Some(&fake_id(6)),
        "x",
    );
    let a = push(&env, Some(TOKEN_A), &[], b.to_string()).await;
    refused(
        &env,
        &before,
        "Id contradicts the global id",
        &a,
        400,
        &fake_id(6),
    )
    .await;
    // b's hidden record comes into scope: it syncs to a like any other, nothing failed
    let mut rec = Map::new();
    rec.insert("Status__c".into(), json!("New"));
    b_user.update("Work_Item__c", &hidden, &rec).await.unwrap();
    assert!(env.engine.wait_idle(IDLE).await);
    let on_a = env.work_items("a").await;
    assert!(
        on_a.contains(&(format!("{b_id}:{hidden}"), "b's hidden".to_string())),
        "{on_a:?}"
    );
    let all = format!("{:?}{:?}", on_a, env.work_items("b").await);
    assert!(!all.contains("hijacked"), "{all}");
    let ledger = env.ledger().await;
    assert!(!format!("{ledger:?}").contains("Failed"), "{ledger:?}");
    // a record of b's that the ledger maps for a may be pushed by a, with its copy's id
    let a_copy = env
        .user("a")
        .await
        .query_page(
            &format!("SELECT Id FROM Work_Item__c WHERE OrgSync_Global_Id__c = '{b_id}:{mapped}'"),
            false,
        )
        .await
        .unwrap()
        .records[0]["Id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = body(
        "t-mapped",
        &a_id,
        &format!("{b_id}:{mapped}"),
        Some(&a_copy),
        "renamed on a",
    );
    let a = push(&env, Some(TOKEN_A), &[], b.to_string()).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert!(env.engine.wait_idle(IDLE).await);
    assert!(
        env.work_items("b")
            .await
            .contains(&(format!("{b_id}:{mapped}"), "renamed on a".to_string()))
    );
    env.shutdown().await;
}

/// Holds already: no token, a wrong token, another org's token, a foreign `sourceOrgId`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_the_senders_org_are_checked() {
    let env = start(Opts::default()).await;
    let (a_id, b_id) = (env.org_id("a"), env.org_id("b"));
    let valid = body("t-id", &a_id, &fake_id(10), None, "never");
    let mut foreign = valid.clone();
    foreign["sourceOrgId"] = json!(b_id);
    let mut unknown = valid.clone();
    unknown["sourceOrgId"] = json!(nobody());
    let cases: Vec<(&str, Option<&str>, Value, u16, &str)> = vec![
        (
            "no token",
            None,
            valid.clone(),
            401,
            "Authorization: Bearer",
        ),
        (
            "a wrong token",
            Some("not-a-token-0123456789"),
            valid.clone(),
            401,
            "not a connected org's push_token",
        ),
        (
            "a token prefix",
            Some(&TOKEN_A[..10]),
            valid.clone(),
            401,
            "not a connected org's push_token",
        ),
        (
            "b's token for a's org",
            Some(TOKEN_B),
            valid.clone(),
            403,
            "is not the org of this token",
        ),
        (
            "a's token with b's id",
            Some(TOKEN_A),
            foreign,
            403,
            "is not the org of this token",
        ),
        (
            "an org nobody configured",
            Some(TOKEN_A),
            unknown,
            403,
            "is not the org of this token",
        ),
    ];
    let before = written(&env).await;
    for (case, token, b, status, reason) in cases {
        let a = push(&env, token, &[], b.to_string()).await;
        refused(&env, &before, case, &a, status, reason).await;
    }
    env.shutdown().await;
}

/// Holds already: with a `push_secret`, every signature and timestamp fault is a 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_and_timestamps_are_checked() {
    let env = start(Opts {
        org_a: format!("push_token = \"{TOKEN_A}\"\npush_secret = \"{SECRET_A}\"\n"),
        ..Opts::default()
    })
    .await;
    let a_id = env.org_id("a");
    let b = body("t-sig", &a_id, &fake_id(11), None, "never").to_string();
    let t = Utc::now().timestamp().to_string();
    let stale = (Utc::now() - TimeDelta::seconds(900))
        .timestamp()
        .to_string();
    let future = (Utc::now() + TimeDelta::seconds(900))
        .timestamp()
        .to_string();
    let good = |ts: &str| sign(SECRET_A.as_bytes(), ts, b.as_bytes());
    type Headers<'a> = Vec<(&'a str, String)>;
    let cases: Vec<(&str, Headers, &str)> = vec![
        (
            "unsigned",
            vec![(TIMESTAMP_HEADER, t.clone())],
            "X-OrgSync-Signature header is missing",
        ),
        (
            "no timestamp",
            vec![(SIGNATURE_HEADER, good(&t))],
            "X-OrgSync-Timestamp header is missing",
        ),
        (
            "timestamp not seconds",
            vec![
                (TIMESTAMP_HEADER, "yesterday".into()),
                (SIGNATURE_HEADER, good("yesterday")),
            ],
            "not Unix seconds",
        ),
        (
            "stale",
            vec![
                (TIMESTAMP_HEADER, stale.clone()),
                (SIGNATURE_HEADER, good(&stale)),
            ],
            "away from now",
        ),
        (
            "from the future",
            vec![
                (TIMESTAMP_HEADER, future.clone()),
                (SIGNATURE_HEADER, good(&future)),
            ],
            "away from now",
        ),
        (
            "not hex",
            vec![
                (TIMESTAMP_HEADER, t.clone()),
                (SIGNATURE_HEADER, "sha256=zz".into()),
            ],
            "must be sha256=<hex",
        ),
        (
            "another key",
            vec![
                (TIMESTAMP_HEADER, t.clone()),
                (
                    SIGNATURE_HEADER,
                    sign(b"another-key-0123456789", &t, b.as_bytes()),
                ),
            ],
            "does not match",
        ),
        (
            "another body",
            vec![
                (TIMESTAMP_HEADER, t.clone()),
                (SIGNATURE_HEADER, sign(SECRET_A.as_bytes(), &t, b"{}")),
            ],
            "does not match",
        ),
        (
            "another timestamp",
            vec![
                (TIMESTAMP_HEADER, t.clone()),
                (SIGNATURE_HEADER, good(&stale)),
            ],
            "does not match",
        ),
    ];
    let before = written(&env).await;
    for (case, headers, reason) in cases {
        let a = push(&env, Some(TOKEN_A), &headers, b.clone()).await;
        refused(&env, &before, case, &a, 401, reason).await;
    }
    // a timestamp in the payload far ahead would win every conflict: 400
    let mut ahead = body("t-ahead", &a_id, &fake_id(12), None, "never");
    ahead["timestamp"] = json!((Utc::now() + TimeDelta::hours(1)).to_rfc3339());
    let ahead = ahead.to_string();
    let sig = sign(SECRET_A.as_bytes(), &t, ahead.as_bytes());
    let a = push(
        &env,
        Some(TOKEN_A),
        &[(TIMESTAMP_HEADER, t.clone()), (SIGNATURE_HEADER, sig)],
        ahead,
    )
    .await;
    refused(
        &env,
        &before,
        "payload timestamp ahead",
        &a,
        400,
        "in the future",
    )
    .await;
    env.shutdown().await;
}
