//! End-to-end latency of real-time sync through Change Data Capture: from the commit of a
//! change in org `a` to the commit of our write in org `b` (both measured by commit hooks of
//! the in-process emulator, so HTTP client time is not counted on either side), over N
//! sequential changes (half creates, half updates); the API calls spent per change in steady
//! state; and the idle cost (API calls in a quiet minute).
//!
//! `cargo run --release -p orgsync-engine --example cdc_sync_latency [N]` (default 1,000)

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use orgsync_core::Settings;
use orgsync_engine::{Engine, EngineOptions};
use orgsync_store::SqlStore;
use serde_json::{Value, json};

#[path = "support/mod.rs"]
mod support;

async fn usage(http: &reqwest::Client, base: &str) -> anyhow::Result<(u64, Value)> {
    let v: Value = http
        .get(format!("{base}/__sfemu/api-usage"))
        .send()
        .await?
        .json()
        .await?;
    Ok((v["total"].as_u64().unwrap_or(0), v["byKind"].clone()))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

type Commits = Arc<Mutex<Vec<Instant>>>;

fn hook(org: &sfemu::server::RunningOrg) -> Commits {
    let commits: Commits = Arc::default();
    let c = commits.clone();
    org.state.org.on_commit(Box::new(move |_| {
        if let Ok(mut v) = c.lock() {
            v.push(Instant::now());
        }
    }));
    commits
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000);
    let emu = support::two_orgs(&["Work_Item__c"]).await?;
    let base = |o: &str| support::base(&emu, o);
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("ledger.db");
    let text = support::config(
        &emu,
        "[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Status__c\"]\ncapture = \"cdc\"\nbackup_interval = \"15m\"\n",
        &db,
    );
    let settings = Settings::from_str(&text, "cdc_sync_latency.toml")?;
    let store = SqlStore::open(&format!("sqlite:{}", db.display())).await?;
    let engine = Engine::start(settings, store, EngineOptions::default()).await?;
    anyhow::ensure!(engine.wait_idle(Duration::from_secs(60)).await, "no start");
    let user = support::user(&emu, "a", "user").await?;
    // let the subscriptions settle (the start-up backfill poll)
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (a_org, b_org) = (
        emu.org("a").ok_or_else(|| anyhow::anyhow!("org a"))?,
        emu.org("b").ok_or_else(|| anyhow::anyhow!("org b"))?,
    );
    let (a_commits, b_commits) = (hook(a_org), hook(b_org));
    let http = reqwest::Client::new();
    let before = usage(&http, &base("a")).await?.0 + usage(&http, &base("b")).await?.0;
    let mut latencies = Vec::with_capacity(n);
    let mut last_id = String::new();
    let t0 = Instant::now();
    for i in 0..n {
        let seen_b = b_commits.lock().map(|v| v.len()).unwrap_or(0);
        if i % 2 == 0 || last_id.is_empty() {
            let rec = json!({"Name": format!("lat {i}"), "Status__c": "New"});
            last_id = user
                .create(
                    "Work_Item__c",
                    rec.as_object().unwrap_or(&Default::default()),
                )
                .await?;
        } else {
            let rec = json!({"Status__c": format!("Step {i}")});
            user.update(
                "Work_Item__c",
                &last_id,
                rec.as_object().unwrap_or(&Default::default()),
            )
            .await?;
        }
        let committed_a = a_commits
            .lock()
            .ok()
            .and_then(|v| v.last().copied())
            .unwrap_or_else(Instant::now);
        let deadline = Instant::now() + Duration::from_secs(10);
        let landed = loop {
            if let Some(t) = b_commits.lock().ok().and_then(|v| v.get(seen_b).copied()) {
                break t;
            }
            anyhow::ensure!(Instant::now() < deadline, "change {i} never reached b");
            tokio::time::sleep(Duration::from_micros(200)).await;
        };
        latencies.push(landed.saturating_duration_since(committed_a));
    }
    let wall = t0.elapsed();
    // let in-flight echoes arrive before counting
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (ua, ka) = usage(&http, &base("a")).await?;
    let (ub, kb) = usage(&http, &base("b")).await?;
    let calls = ua + ub - before;
    latencies.sort();
    println!(
        "changes (sequential, half creates, half updates): {n} in {:.1} s",
        wall.as_secs_f64()
    );
    println!(
        "commit in a → commit in b: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        percentile(&latencies, 1.0).as_secs_f64() * 1e3,
    );
    // the user's own n writes to a are not orgsync's
    let ours = calls.saturating_sub(n as u64);
    println!("API calls, both orgs, during the run: {calls} (a: {ka}, b: {kb})");
    println!(
        "orgsync's API calls per change: {:.3} (the user's {n} writes left out; one change at a time is one collections call, bursts share calls)",
        ours as f64 / n.max(1) as f64
    );
    let echo_writes = a_commits
        .lock()
        .map(|v| v.len())
        .unwrap_or(0)
        .saturating_sub(n);
    println!("writes to a caused by orgsync (echoes): {echo_writes}");
    // A burst: 1,000 records created in a by 5 collections calls of 200. Change events merge
    // a transaction's records, so orgsync reads them in a handful of events and writes them
    // in batches of up to 200.
    let burst: Vec<sfclient::Record> = (0..1000)
        .map(|i| {
            json!({"Name": format!("burst {i}"), "Status__c": "New"})
                .as_object()
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let collections = |kinds: &Value| kinds["collections"].as_u64().unwrap_or(0);
    let b_writes_before = collections(&usage(&http, &base("b")).await?.1);
    let t_burst = Instant::now();
    for r in user.create_many("Work_Item__c", &burst).await {
        r?;
    }
    let landed_before = b_commits.lock().map(|v| v.len()).unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(120);
    let check = support::user(&emu, "b", "check").await?;
    loop {
        let n_b = check
            .query_page(
                "SELECT COUNT() FROM Work_Item__c WHERE Name LIKE 'burst %'",
                false,
            )
            .await?
            .total_size;
        if n_b >= 1000 {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "the burst never fully reached b");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let burst_wall = t_burst.elapsed();
    let b_commits_burst = b_commits
        .lock()
        .map(|v| v.len())
        .unwrap_or(0)
        .saturating_sub(landed_before);
    let orgsync_calls = collections(&usage(&http, &base("b")).await?.1) - b_writes_before;
    println!(
        "burst of 1,000 creates in a (5 collections calls of 200): all in b after {:.2} s; orgsync wrote them with {orgsync_calls} collections calls ({:.3} per record, {b_commits_burst} commits in b)",
        burst_wall.as_secs_f64(),
        orgsync_calls as f64 / 1000.0,
    );
    let idle_before = usage(&http, &base("a")).await?.0 + usage(&http, &base("b")).await?.0;
    tokio::time::sleep(Duration::from_secs(60)).await;
    let idle_after = usage(&http, &base("a")).await?.0 + usage(&http, &base("b")).await?.0;
    println!(
        "idle: {} API calls in 60 s; the backup poll adds 4 calls per hour per org and object (every 15 min); Pub/Sub keepalives are not API calls",
        idle_after - idle_before
    );
    engine.shutdown().await;
    emu.shutdown().await;
    Ok(())
}
