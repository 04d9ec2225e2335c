//! The emulator's Outbound Messaging sender against our listener: a message sent while the
//! listener is down is retried until it is acknowledged, and the Ack means the ledger has it.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::*;

async fn outbound_status(env: &Env) -> Value {
    env.http
        .get(format!("{}/__sfemu/outbound", env.base("a")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Poll the emulator's outbound status until `done` holds (the emulator offers no push
/// signal for deliveries); panics after 30 s.
async fn until(env: &Env, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let s = outbound_status(env).await;
        if done(&s) {
            return s;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: {s}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_retries_until_our_listener_acks() {
    let mut env = start(Opts {
        serve: false,
        syncs: "[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Status__c\"]\ncapture = \"outbound\"\nbackup_interval = \"30m\"\n".into(),
        ..Opts::default()
    })
    .await;
    // a port nobody listens on yet
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let base = env.base("a");
    let r = env
        .http
        .put(format!("{base}/__sfemu/outbound/retry"))
        .json(&json!({"baseDelayMs": 20, "maxDelayMs": 200}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = env
        .http
        .post(format!("{base}/__sfemu/outbound/rules"))
        .json(&json!({
            "object": "Work_Item__c",
            "fields": ["Name"],
            "endpoint": format!("http://{addr}/outbound/a"),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let a = env.user("a").await;
    let mut rec = serde_json::Map::new();
    rec.insert("Name".into(), json!("told by outbound"));
    let id = a.create("Work_Item__c", &rec).await.unwrap();

    until(&env, "a failed delivery", |s| {
        s["rules"][0]["lastError"].is_string() && s["pending"][0]["attempts"].as_u64() >= Some(1)
    })
    .await;
    assert!(env.ledger().await.is_empty());

    env.serve_on(addr).await;
    until(&env, "delivery", |s| {
        s["rules"][0]["delivered"].as_u64() >= Some(1)
            && s["pending"].as_array().is_some_and(Vec::is_empty)
    })
    .await;
    // acknowledged means committed
    let ledger = env.ledger().await;
    assert!(ledger.iter().any(|l| l.contains(&id)), "{ledger:?}");
    assert!(env.engine.wait_idle(IDLE).await);
    let a_id = env.org_id("a");
    assert_eq!(
        env.work_items("b").await,
        vec![(format!("{a_id}:{id}"), "told by outbound".to_string())]
    );
    env.shutdown().await;
}

async fn add_rule(env: &Env, org: &str, addr: std::net::SocketAddr) {
    let base = env.base(org);
    let r = env
        .http
        .put(format!("{base}/__sfemu/outbound/retry"))
        .json(&json!({"baseDelayMs": 20, "maxDelayMs": 200}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = env
        .http
        .post(format!("{base}/__sfemu/outbound/rules"))
        .json(&json!({
            "object": "Work_Item__c",
            "fields": ["Name"],
            "endpoint": format!("http://{addr}/outbound/{org}"),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

/// Wait until `org` has delivered at least `min` notifications and has none pending; returns
/// how many it delivered.
async fn settled(env: &Env, org: &str, min: u64) -> u64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let s: Value = env
            .http
            .get(format!("{}/__sfemu/outbound", env.base(org)))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let delivered = s["rules"][0]["delivered"].as_u64().unwrap_or(0);
        if s["pending"].as_array().is_some_and(Vec::is_empty) && delivered >= min {
            return delivered;
        }
        assert!(tokio::time::Instant::now() < deadline, "{org}: {s}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Both orgs notify us; our own write to b comes back as b's notification and must not be
/// written anywhere again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_both_ways_writes_no_echo() {
    let env = start(Opts {
        syncs: "[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Status__c\"]\ncapture = \"outbound\"\nbackup_interval = \"30m\"\n".into(),
        ..Opts::default()
    })
    .await;
    add_rule(&env, "a", env.addr).await;
    add_rule(&env, "b", env.addr).await;
    let a = env.user("a").await;
    let mut rec = serde_json::Map::new();
    rec.insert("Name".into(), json!("ping"));
    let id = a.create("Work_Item__c", &rec).await.unwrap();
    settled(&env, "a", 1).await;
    assert!(env.engine.wait_idle(IDLE).await);
    // our write to b made b notify us; once that is handled, nothing more is written
    settled(&env, "b", 1).await;
    assert!(env.engine.wait_idle(IDLE).await);
    let writes = env.writes().await;
    let ledger = env.ledger().await;
    assert!(env.engine.wait_idle(IDLE).await);
    assert_eq!(settled(&env, "a", 1).await, 1, "a must not notify again");
    assert_eq!(settled(&env, "b", 1).await, 1, "b must not notify again");
    assert_eq!(env.writes().await, writes);
    assert_eq!(env.ledger().await, ledger);
    let a_id = env.org_id("a");
    assert_eq!(
        env.work_items("b").await,
        vec![(format!("{a_id}:{id}"), "ping".to_string())]
    );
    env.shutdown().await;
}
