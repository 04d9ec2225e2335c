//! API cost benchmark: upserts N Work_Item__c records through sObject Collections and queries
//! them back through the query stream, against an in-process emulator, and checks the API calls
//! spent (read from the emulator's counters) against the platform minimum:
//! ⌈N/200⌉ for the upsert and ⌈N/2000⌉ for the query.
//!
//! `cargo run --release -p sfclient --example api_cost -- [N]` (default 100000).

use anyhow::{Context, bail};
use futures::TryStreamExt;
use serde_json::{Value, json};
use sfclient::{AuthFlow, Client, OrgConfig, Secret};
use sfemu::server::{Emulator, EmulatorConfig};
use std::time::Instant;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()
        .context("N must be a number")?
        .unwrap_or(100_000);
    let emu = Emulator::start(EmulatorConfig::single_org().with_daily_api_limit(1_000_000)).await?;
    let base = emu.orgs()[0].base_url.clone();
    // reqwest is built without a default crypto provider: rustls on ring only.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let control = reqwest::Client::new();
    let usage = || async {
        let v: Value = control
            .get(format!("{base}/__sfemu/api-usage"))
            .send()
            .await?
            .json()
            .await?;
        anyhow::Ok(v)
    };
    let reset = || async {
        anyhow::Ok(
            control
                .post(format!("{base}/__sfemu/api-usage/reset"))
                .send()
                .await?
                .error_for_status()?,
        )
    };

    let auth = AuthFlow::Password {
        client_id: "sfemu-client".into(),
        client_secret: Secret::from("sfemu-secret"),
        username: "admin@sfemu.test".into(),
        password: Secret::from("sfemu"),
    };
    let mut cfg = OrgConfig::new("bench", base.clone(), auth);
    cfg.use_system_roots = false;
    let client = Client::connect(cfg).await?;

    let records: Vec<sfclient::Record> = (0..n)
        .map(|i| {
            let v = json!({"Name": format!("Item {i}"), "OrgSync_Global_Id__c": format!("00D000000000001AAA:a00{i:015}"), "Status__c": "New", "Estimate_Hours__c": (i % 40) as f64 / 4.0, "Due_Date__c": "2025-06-30"});
            match v {
                Value::Object(m) => m,
                _ => unreachable!(),
            }
        })
        .collect();

    reset().await?;
    let t = Instant::now();
    let results = client
        .upsert_many("Work_Item__c", "OrgSync_Global_Id__c", &records)
        .await;
    let upsert_secs = t.elapsed().as_secs_f64();
    let failed = results.iter().filter(|r| r.is_err()).count();
    if failed > 0 {
        bail!(
            "{failed} upserts failed; first: {:?}",
            results.iter().find_map(|r| r.as_ref().err())
        );
    }
    let upsert_calls = usage().await?["total"].as_u64().unwrap_or(0);

    reset().await?;
    let t = Instant::now();
    let rows: Vec<sfclient::Record> = client.query("SELECT Id, Name, OrgSync_Global_Id__c, Status__c, Estimate_Hours__c, Due_Date__c FROM Work_Item__c").try_collect().await?;
    let query_secs = t.elapsed().as_secs_f64();
    let query_calls = usage().await?["total"].as_u64().unwrap_or(0);

    let want_upsert = n.div_ceil(200) as u64;
    let want_query = n.div_ceil(2000) as u64;
    println!("records:      {n}");
    println!(
        "upsert:       {upsert_calls} API calls (minimum {want_upsert}), {upsert_secs:.2} s, {:.0} records/s",
        n as f64 / upsert_secs
    );
    println!(
        "query:        {query_calls} API calls (minimum {want_query}), {query_secs:.2} s, {:.0} records/s",
        rows.len() as f64 / query_secs
    );
    if rows.len() != n {
        bail!("query returned {} rows, expected {n}", rows.len());
    }
    if upsert_calls != want_upsert || query_calls != want_query {
        bail!("API cost above the minimum");
    }
    emu.shutdown().await;
    Ok(())
}
