//! API cost of syncing 10,000 changed `Work_Item__c` records from one org to another:
//! API calls spent on both orgs per synced record (goal ≤ 0.01; MuleSoft's template spends
//! 1 + X + X/200 ≈ 1.005), wall time and peak memory (VmHWM).
//!
//! `cargo run --release -p orgsync-engine --example sync_cost [N]`

use std::time::{Duration, Instant};

use orgsync_core::Settings;
use orgsync_engine::{Engine, EngineOptions};
use orgsync_store::SqlStore;
use serde_json::{Value, json};

#[path = "support/mod.rs"]
mod support;

async fn usage(http: &reqwest::Client, base: &str) -> anyhow::Result<u64> {
    let v: Value = http
        .get(format!("{base}/__sfemu/api-usage"))
        .send()
        .await?
        .json()
        .await?;
    Ok(v["total"].as_u64().unwrap_or(0))
}

fn vm_hwm() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "?".into())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let emu = support::two_orgs(&[]).await?;
    let base = |o: &str| support::base(&emu, o);
    let user = support::user(&emu, "a", "loader").await?;
    let records: Vec<sfclient::Record> = (0..n)
        .map(|i| {
            json!({"Name": format!("item {i}"), "Status__c": "New", "Estimate_Hours__c": i % 40})
                .as_object()
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    for r in user.create_many("Work_Item__c", &records).await {
        r?;
    }
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("ledger.db");
    let text = support::config(
        &emu,
        "[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Status__c\", \"Estimate_Hours__c\"]\ninterval = \"30m\"\n",
        &db,
    );
    let settings = Settings::from_str(&text, "sync_cost.toml")?;
    let http = reqwest::Client::new();
    let before = usage(&http, &base("a")).await? + usage(&http, &base("b")).await?;
    let store = SqlStore::open(&format!("sqlite:{}", db.display())).await?;
    let t0 = Instant::now();
    let engine = Engine::start(settings, store, EngineOptions::default()).await?;
    let idle = engine.wait_idle(Duration::from_secs(1800)).await;
    let wall = t0.elapsed();
    let synced = engine.progress().borrow().clone();
    engine.shutdown().await;
    let after = usage(&http, &base("a")).await? + usage(&http, &base("b")).await?;
    let calls = after - before;
    let check = support::user(&emu, "b", "check").await?;
    let landed = check
        .query_page("SELECT COUNT() FROM Work_Item__c", false)
        .await?
        .total_size;
    println!("records changed on a:          {n}");
    println!("records landed on b:           {landed} (converged: {idle})");
    println!("items synced:                  {}", synced.synced);
    println!("API calls, both orgs:          {calls} (including the convergence-check polls)");
    println!(
        "API calls per synced record:   {:.4}  (MuleSoft template: 1 + X + X/200 ≈ 1.005)",
        calls as f64 / n.max(1) as f64
    );
    println!("wall time:                     {:.1} s", wall.as_secs_f64());
    println!("peak memory (VmHWM):           {}", vm_hwm());
    emu.shutdown().await;
    Ok(())
}
