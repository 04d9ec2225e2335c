//! End-to-end change-event latency through this client on loopback: for each of N sequential
//! REST updates (sfclient, one API call each), the time from sending the PATCH to receiving the
//! decoded `ChangeEvent` (Avro + bitmap decoding included) on an open subscription; beside it the
//! REST round trip alone, and the REST API calls spent (Pub/Sub costs none).
//!
//! `cargo run --release -p sfpubsub --example cdc_latency [N] [BATCH]` (defaults 1000, 100).
#![allow(clippy::unwrap_used)]

use futures::StreamExt;
use futures::future::BoxFuture;
use serde_json::json;
use sfclient::{AuthFlow, Client, OrgConfig, Secret};
use sfemu::server::{Emulator, EmulatorConfig};
use sfpubsub::{Credentials, PubSubClient, PubSubError, Received, Replay, TokenSource};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A fixed token from one password login (the run is shorter than the token's lifetime).
struct Login(Credentials);

impl TokenSource for Login {
    fn current(&self) -> BoxFuture<'_, Result<Credentials, PubSubError>> {
        let c = self.0.clone();
        Box::pin(async move { Ok(c) })
    }
    fn refresh<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Credentials, PubSubError>> {
        self.current()
    }
}

fn pct(v: &[Duration], p: f64) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let batch: i32 = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut cfg = EmulatorConfig::single_org();
    cfg.orgs[0].spec.cdc_objects = vec!["Account".into()];
    let emu = Emulator::start(cfg).await.unwrap();
    let org = &emu.orgs()[0];
    let base = org.base_url.clone();
    let http = reqwest::Client::new();
    let form = [
        ("grant_type", "password"),
        ("client_id", "sfemu-client"),
        ("client_secret", "sfemu-secret"),
        ("username", "admin@sfemu.test"),
        ("password", "sfemu"),
    ];
    let tok: serde_json::Value = http
        .post(format!("{base}/services/oauth2/token"))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let creds = Credentials {
        access_token: tok["access_token"].as_str().unwrap().into(),
        instance_url: base.clone(),
        tenant_id: org.org_id.clone(),
    };
    let ps = PubSubClient::connect(&base, Arc::new(Login(creds)))
        .await
        .unwrap();
    let auth = AuthFlow::Password {
        client_id: "sfemu-client".into(),
        client_secret: Secret::from("sfemu-secret"),
        username: "admin@sfemu.test".into(),
        password: Secret::from("sfemu"),
    };
    let mut oc = OrgConfig::new("bench", base.clone(), auth);
    oc.use_system_roots = false;
    let rest = Client::connect(oc).await.unwrap();
    let id = rest
        .create(
            "Account",
            &serde_json::from_value(json!({"Name": "latency"})).unwrap(),
        )
        .await
        .unwrap();

    let mut sub = Box::pin(ps.subscribe("/data/AccountChangeEvent", Replay::Latest, batch));
    // Live once the server sends its first keepalive (every 270 s by default: shorten it).
    http.put(format!("{base}/__sfemu/pubsub"))
        .json(&json!({"keepaliveMs": 50}))
        .send()
        .await
        .unwrap();
    while !matches!(
        sub.next().await.unwrap().unwrap(),
        Received::Keepalive { .. }
    ) {}
    let usage = |http: reqwest::Client, base: String| async move {
        let v: serde_json::Value = http
            .get(format!("{base}/__sfemu/api-usage"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["total"].as_u64().unwrap()
    };
    let calls_before = usage(http.clone(), base.clone()).await;
    let (mut e2e, mut rest_rt) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let t0 = Instant::now();
        let fields = serde_json::from_value(json!({"Description": format!("change {i}")})).unwrap();
        rest.update("Account", &id, &fields).await.unwrap();
        rest_rt.push(t0.elapsed());
        loop {
            match sub.next().await.unwrap().unwrap() {
                Received::Event(e) => {
                    assert!(e.header.changed_fields.iter().any(|f| f == "Description"));
                    break;
                }
                Received::Keepalive { .. } => {}
            }
        }
        e2e.push(t0.elapsed());
    }
    let calls = usage(http.clone(), base.clone()).await - calls_before;
    println!("changes: {n}, batch {batch}");
    println!(
        "update sent -> decoded event: p50 {:?}  p99 {:?}  max {:?}",
        pct(&e2e, 0.5),
        pct(&e2e, 0.99),
        pct(&e2e, 1.0)
    );
    let slow = e2e
        .iter()
        .filter(|d| **d >= Duration::from_millis(30))
        .count();
    println!(
        "events slower than 30 ms: {slow} (a cluster near 40 ms points at Nagle + delayed ACK)"
    );
    println!(
        "REST update round trip alone: p50 {:?}  p99 {:?}",
        pct(&rest_rt, 0.5),
        pct(&rest_rt, 0.99)
    );
    println!(
        "REST API calls spent: {calls} ({:.2} per change; Pub/Sub: 0)",
        calls as f64 / n as f64
    );
    emu.shutdown().await;
}
