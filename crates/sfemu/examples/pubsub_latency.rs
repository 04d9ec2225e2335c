//! Measures change-event delivery latency over the Pub/Sub API on loopback: for each of N
//! sequential REST creates, the time from sending the POST to receiving its change event on an
//! open Subscribe stream (so it includes the REST call itself), beside the REST round trip alone.
//!
//! `cargo run --release -p sfemu --example pubsub_latency [N]` (default 1000).
#![allow(clippy::unwrap_used)]

use sfemu::pubsub::proto::pub_sub_client::PubSubClient;
use sfemu::pubsub::proto::{FetchRequest, ReplayPreset};
use sfemu::server::{Emulator, EmulatorConfig};
use std::time::{Duration, Instant};

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    sfemu::tls::install_ring_provider();
    let mut cfg = EmulatorConfig::single_org();
    cfg.orgs[0].spec.cdc_objects = vec!["Account".into()];
    let emu = Emulator::start(cfg).await.unwrap();
    let org = &emu.orgs()[0];
    let base = org.base_url.clone();
    let http = reqwest::Client::new();
    let tok: serde_json::Value = http
        .post(format!("{base}/services/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "sfemu-client"),
            ("client_secret", "sfemu-secret"),
            ("username", "admin@sfemu.test"),
            ("password", "sfemu"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = tok["access_token"].as_str().unwrap().to_string();
    let ch = tonic::transport::Endpoint::from_shared(base.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let (t2, b2, o2) = (token.clone(), base.clone(), org.org_id.clone());
    let mut c = PubSubClient::with_interceptor(ch, move |mut r: tonic::Request<()>| {
        let md = r.metadata_mut();
        md.insert("accesstoken", t2.parse().unwrap());
        md.insert("instanceurl", b2.parse().unwrap());
        md.insert("tenantid", o2.parse().unwrap());
        Ok(r)
    });
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let req = |k| FetchRequest {
        topic_name: "/data/AccountChangeEvent".into(),
        replay_preset: ReplayPreset::Earliest as i32,
        num_requested: k,
        ..Default::default()
    };
    tx.send(req(100)).unwrap();
    let input =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|r| (r, rx)) });
    let mut stream = c.subscribe(input).await.unwrap().into_inner();
    let url = format!("{base}/services/data/v66.0/sobjects/Account");
    let (mut e2e, mut rest) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut credit = 100;
    let started = Instant::now();
    for i in 0..n {
        if credit == 0 {
            tx.send(req(100)).unwrap();
            credit = 100;
        }
        let t0 = Instant::now();
        let r = http
            .post(&url)
            .bearer_auth(&token)
            .json(&serde_json::json!({"Name": format!("Latency {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        rest.push(t0.elapsed());
        loop {
            let m = stream.message().await.unwrap().unwrap();
            if !m.events.is_empty() {
                assert_eq!(m.events.len(), 1);
                break;
            }
        }
        credit -= 1;
        e2e.push(t0.elapsed());
    }
    let wall = started.elapsed();
    println!("{n} creates, one at a time, wall {wall:.2?}");
    println!(
        "POST → change event received: p50 {:.2?}  p99 {:.2?}  max {:.2?}",
        pct(&mut e2e, 0.5),
        pct(&mut e2e, 0.99),
        pct(&mut e2e, 1.0)
    );
    println!(
        "POST round trip alone:        p50 {:.2?}  p99 {:.2?}",
        pct(&mut rest, 0.5),
        pct(&mut rest, 0.99)
    );
    emu.shutdown().await;
}
