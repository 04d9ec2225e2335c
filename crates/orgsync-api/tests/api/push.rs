//! `POST /api/v1/sync` end to end: what lands, what is refused, and that refusals write
//! nothing (emulator write counters and the ledger unchanged).

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use orgsync_core::push::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

async fn post(env: &Env, token: Option<&str>, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let mut req = env
        .http
        .post(env.url("/api/v1/sync"))
        .header("content-type", "application/json")
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    (status, v)
}

fn now() -> String {
    Utc::now().to_rfc3339()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_lands_in_the_other_org_once() {
    let env = start(Opts::default()).await;
    let a_id = env.org_id("a");
    let (x1, x2) = (fake_id(1), fake_id(2));
    let body = push_body(
        "txn-1",
        &a_id,
        &now(),
        &[(&x1, "pushed one"), (&x2, "pushed two")],
    );
    let (status, v) = post(&env, Some(TOKEN_A), body.to_string()).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v,
        json!({"status": "ok", "transactionId": "txn-1", "records": 2, "duplicate": false})
    );
    assert!(env.engine.wait_idle(IDLE).await);
    assert_eq!(
        env.work_items("b").await,
        vec![
            (format!("{a_id}:{x1}"), "pushed one".to_string()),
            (format!("{a_id}:{x2}"), "pushed two".to_string())
        ]
    );
    // the same transaction again: acknowledged, nothing done
    let writes = env.writes().await;
    let ledger = env.ledger().await;
    let (status, v) = post(&env, Some(TOKEN_A), body.to_string()).await;
    assert_eq!((status, &v["duplicate"]), (200, &json!(true)), "{v}");
    assert!(env.engine.wait_idle(IDLE).await);
    assert_eq!(env.writes().await, writes);
    assert_eq!(env.ledger().await, ledger);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_the_problem_and_write_nothing() {
    let env = start(Opts::default()).await;
    let a_id = env.org_id("a");
    let b_id = env.org_id("b");
    let valid = push_body("txn-r", &a_id, &now(), &[(&fake_id(7), "never")]);
    let writes = env.writes().await;
    let ledger = env.ledger().await;

    let (s, v) = post(&env, Some(TOKEN_A), "{\"transactionId\": ").await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("not valid JSON"),
        "{v}"
    );
    for field in [
        "transactionId",
        "sourceOrgId",
        "timestamp",
        "operation",
        "records",
    ] {
        let mut b = valid.clone();
        b.as_object_mut().unwrap().remove(field);
        let (s, v) = post(&env, Some(TOKEN_A), b.to_string()).await;
        assert_eq!((s, v["field"].as_str()), (400, Some(field)), "{v}");
        assert_eq!(v["error"], format!("`{field}` is missing"));
    }
    let mut b = valid.clone();
    b["records"][0]
        .as_object_mut()
        .unwrap()
        .remove("externalId");
    let (s, v) = post(&env, Some(TOKEN_A), b.to_string()).await;
    assert_eq!(
        (s, v["field"].as_str()),
        (400, Some("records[0].externalId"))
    );
    let mut b = valid.clone();
    b["operation"] = json!("merge");
    let (s, v) = post(&env, Some(TOKEN_A), b.to_string()).await;
    assert_eq!((s, v["field"].as_str()), (400, Some("operation")), "{v}");
    assert!(v["error"].as_str().unwrap().contains("`merge`"));
    let mut b = valid.clone();
    b["object"] = json!("Account");
    let (s, v) = post(&env, Some(TOKEN_A), b.to_string()).await;
    assert_eq!(s, 400, "{v}");

    let mut b = valid.clone();
    b["timestamp"] = json!((Utc::now() + TimeDelta::hours(1)).to_rfc3339());
    let (s, v) = post(&env, Some(TOKEN_A), b.to_string()).await;
    assert_eq!((s, v["field"].as_str()), (400, Some("timestamp")), "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("in the future"),
        "{v}"
    );

    // identity
    let (s, v) = post(&env, Some("not-a-token-0123456789"), valid.to_string()).await;
    assert_eq!(s, 401, "{v}");
    assert!(v["error"].is_string());
    let (s, _) = post(&env, None, valid.to_string()).await;
    assert_eq!(s, 401);
    // b's token cannot speak for a
    let (s, v) = post(&env, Some(TOKEN_B), valid.to_string()).await;
    assert_eq!((s, v["field"].as_str()), (403, Some("sourceOrgId")), "{v}");
    // a's token with b's id
    let mut b = valid.clone();
    b["sourceOrgId"] = json!(b_id);
    let (s, _) = post(&env, Some(TOKEN_A), b.to_string()).await;
    assert_eq!(s, 403);
    // an object that is not synced
    let mut b = valid.clone();
    b["object"] = json!("Contact");
    for r in b["records"].as_array_mut().unwrap() {
        r["attributes"]["type"] = json!("Contact");
    }
    let (s, v) = post(&env, Some(TOKEN_A), b.to_string()).await;
    assert_eq!((s, v["field"].as_str()), (400, Some("object")), "{v}");

    assert!(env.engine.wait_idle(IDLE).await);
    assert_eq!(env.writes().await, writes);
    assert_eq!(env.ledger().await, ledger);
    assert!(env.work_items("b").await.is_empty());
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_10_mb_body_is_refused_with_413_unread() {
    let env = start(Opts::default()).await;
    let ledger = env.ledger().await;
    let writes = env.writes().await;
    // declared length: answered before a byte of the body is sent
    let mut sock = tokio::net::TcpStream::connect(env.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/sync HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {TOKEN_A}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        10 * 1024 * 1024
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(30), sock.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains("\"error\":\"the body is larger than the 1048576-byte limit"),
        "{answer}"
    );
    // chunked, no length: read up to the cap, then refused while the sender is still sending
    let sock = tokio::net::TcpStream::connect(env.addr).await.unwrap();
    let (mut rd, mut wr) = sock.into_split();
    let head = format!(
        "POST /api/v1/sync HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {TOKEN_A}\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    wr.write_all(head.as_bytes()).await.unwrap();
    let writer = tokio::spawn(async move {
        let chunk = format!("10000\r\n{}\r\n", " ".repeat(0x10000));
        let mut sent = 0usize;
        while sent < 10 * 1024 * 1024 {
            if wr.write_all(chunk.as_bytes()).await.is_err() {
                return sent; // the server closed: it stopped reading
            }
            sent += 0x10000;
        }
        sent
    });
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(30), rd.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    drop(rd);
    let _ = writer.await;
    assert!(env.engine.wait_idle(IDLE).await);
    assert_eq!(env.ledger().await, ledger);
    assert_eq!(env.writes().await, writes);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_are_required_when_the_org_has_a_secret() {
    let env = start(Opts {
        org_a: format!("push_token = \"{TOKEN_A}\"\npush_secret = \"{SECRET_A}\"\n"),
        ..Opts::default()
    })
    .await;
    let a_id = env.org_id("a");
    let body = push_body("txn-s", &a_id, &now(), &[(&fake_id(3), "signed")]).to_string();
    let send = |ts: String, sig: Option<String>, body: String| {
        let mut req = env
            .http
            .post(env.url("/api/v1/sync"))
            .bearer_auth(TOKEN_A)
            .header(TIMESTAMP_HEADER, ts)
            .body(body);
        if let Some(s) = sig {
            req = req.header(SIGNATURE_HEADER, s);
        }
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let writes = env.writes().await;
    let ledger = env.ledger().await;
    let t = Utc::now().timestamp().to_string();
    // unsigned, wrongly signed, signed with another key, signed for another body, stale
    let (s, v) = send(t.clone(), None, body.clone()).await;
    assert_eq!(s, 401, "{v}");
    assert!(v["error"].as_str().unwrap().contains("X-OrgSync-Signature"));
    let (s, _) = send(t.clone(), Some("sha256=00".into()), body.clone()).await;
    assert_eq!(s, 401);
    let (s, v) = send(
        t.clone(),
        Some(sign(b"another-key-0123456789", &t, body.as_bytes())),
        body.clone(),
    )
    .await;
    assert_eq!(s, 401);
    assert!(
        v["error"].as_str().unwrap().contains("does not match"),
        "{v}"
    );
    let (s, _) = send(
        t.clone(),
        Some(sign(SECRET_A.as_bytes(), &t, b"{}")),
        body.clone(),
    )
    .await;
    assert_eq!(s, 401);
    let old = (Utc::now() - TimeDelta::seconds(900))
        .timestamp()
        .to_string();
    let (s, v) = send(
        old.clone(),
        Some(sign(SECRET_A.as_bytes(), &old, body.as_bytes())),
        body.clone(),
    )
    .await;
    assert_eq!(s, 401);
    assert!(
        v["error"].as_str().unwrap().contains("away from now"),
        "{v}"
    );
    // stale: refused before the body is read (none is sent here)
    let mut sock = tokio::net::TcpStream::connect(env.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/sync HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {TOKEN_A}\r\n{TIMESTAMP_HEADER}: {old}\r\ncontent-length: 1000\r\n\r\n"
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(30), sock.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(env.engine.wait_idle(IDLE).await);
    assert_eq!(env.writes().await, writes);
    assert_eq!(env.ledger().await, ledger);
    // correctly signed: accepted
    let (s, v) = send(
        t.clone(),
        Some(sign(SECRET_A.as_bytes(), &t, body.as_bytes())),
        body.clone(),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert!(env.engine.wait_idle(IDLE).await);
    assert_eq!(env.work_items("b").await.len(), 1);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_version_is_a_409_naming_the_record() {
    let env = start(Opts::default()).await;
    let a_id = env.org_id("a");
    let x = fake_id(9);
    let t1 = Utc::now();
    let (s, v) = post(
        &env,
        Some(TOKEN_A),
        push_body("txn-new", &a_id, &t1.to_rfc3339(), &[(&x, "newer")]).to_string(),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert!(env.engine.wait_idle(IDLE).await);
    let writes = env.writes().await;
    let ledger = env.ledger().await;
    let t0 = (t1 - TimeDelta::hours(1)).to_rfc3339();
    let (s, v) = post(
        &env,
        Some(TOKEN_A),
        push_body("txn-old", &a_id, &t0, &[(&x, "older")]).to_string(),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["externalId"], json!(x));
    assert!(env.engine.wait_idle(IDLE).await);
    assert_eq!(env.writes().await, writes);
    assert_eq!(env.ledger().await, ledger);
    assert_eq!(env.work_items("b").await[0].1, "newer");
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_delete_removes_the_record() {
    let env = start(Opts::default()).await;
    let a_id = env.org_id("a");
    let x = fake_id(11);
    let t1 = Utc::now() - TimeDelta::seconds(10);
    let body = push_body("txn-up", &a_id, &t1.to_rfc3339(), &[(&x, "doomed")]);
    let (s, v) = post(&env, Some(TOKEN_A), body.to_string()).await;
    assert_eq!(s, 200, "{v}");
    assert!(env.engine.wait_idle(IDLE).await);
    assert_eq!(env.work_items("b").await.len(), 1);
    let mut del = push_body("txn-del", &a_id, &now(), &[(&x, "doomed")]);
    del["operation"] = json!("delete");
    let (s, v) = post(&env, Some(TOKEN_A), del.to_string()).await;
    assert_eq!(s, 200, "{v}");
    assert!(env.engine.wait_idle(IDLE).await);
    assert!(env.work_items("b").await.is_empty());
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_transaction_sent_twice_at_once_is_applied_once() {
    let env = start(Opts::default()).await;
    let a_id = env.org_id("a");
    let body = push_body("txn-twice", &a_id, &now(), &[(&fake_id(21), "once")]).to_string();
    let (r1, r2) = tokio::join!(
        post(&env, Some(TOKEN_A), body.clone()),
        post(&env, Some(TOKEN_A), body.clone())
    );
    assert_eq!((r1.0, r2.0), (200, 200), "{r1:?} {r2:?}");
    let dups = [&r1.1, &r2.1]
        .iter()
        .filter(|v| v["duplicate"] == json!(true))
        .count();
    assert_eq!(dups, 1, "{r1:?} {r2:?}");
    assert!(env.engine.wait_idle(IDLE).await);
    assert_eq!(env.work_items("b").await.len(), 1);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_other_peer_pushes_with_its_own_token_and_id() {
    let env = start(Opts::default()).await;
    let b_id = env.org_id("b");
    let x = fake_id(31);
    let body = push_body("txn-b", &b_id, &now(), &[(&x, "from b")]);
    let (s, v) = post(&env, Some(TOKEN_B), body.to_string()).await;
    assert_eq!(s, 200, "{v}");
    assert!(env.engine.wait_idle(IDLE).await);
    assert_eq!(
        env.work_items("a").await,
        vec![(format!("{b_id}:{x}"), "from b".to_string())]
    );
    assert!(env.work_items("b").await.is_empty());
    env.shutdown().await;
}
