//! sfemu at scale: an org holding 1,000,000 records.
//!
//! Reports resident memory, the time to serve a 2,000-row query page (the first page, which
//! runs the query over every row, and a following page served from the cursor), an indexed
//! lookup, and a 200-record sObject Collections upsert — all over real HTTP on loopback.
//!
//! Run: `cargo bench -p sfemu --bench million` (add `-- 200000` for a smaller org).
//! The figures go in the README; nothing here is asserted on time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use sfemu::server::{Emulator, EmulatorConfig};
use sfemu_org::{Caller, DmlOp};
use std::time::{Duration, Instant};

const VERSION: &str = "62.0";
const STATUS: [&str; 4] = ["New", "In Progress", "Blocked", "Done"];
const PRIORITY: [&str; 3] = ["High", "Medium", "Low"];

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn work_item(n: usize) -> serde_json::Map<String, Value> {
    let v = json!({
        "Name": format!("Work item {n}"),
        "Status__c": STATUS[n % 4],
        "Priority__c": PRIORITY[n % 3],
        "Description__c": "A typical description of a work item in the delivery hub.",
        "Assignee__c": format!("dev{}@example.com", n % 50),
        "Estimate_Hours__c": (n % 40) as f64 / 2.0,
        "Due_Date__c": "2026-01-31",
        "OrgSync_Global_Id__c": format!("00D000000000001AAA:a00000000{n:09}"),
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

/// Median and worst of `n` runs of `f`, and what each run returned.
async fn time_runs<T, F, Fut>(n: usize, mut f: F) -> (Duration, Duration, Vec<T>)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let mut times = Vec::with_capacity(n);
    let mut outputs = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        outputs.push(f(i).await);
        times.push(t.elapsed());
    }
    times.sort();
    (times[n / 2], times[n - 1], outputs)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let total: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    sfemu::tls::install_ring_provider();
    let rss_start = rss_mib();
    let emu = Emulator::start(EmulatorConfig::single_org().with_daily_api_limit(10_000_000))
        .await
        .unwrap();
    let org = &emu.orgs()[0];
    let data = org.state.org.clone();
    let admin = data.user_by_username("admin@sfemu.test").unwrap();
    let caller = Caller {
        user_id: admin.id.clone(),
        api: "rest".into(),
        api_version: VERSION.into(),
        client: None,
    };

    // Load in transactions of 200, exactly as sObject Collections would.
    let t = Instant::now();
    for start in (0..total).step_by(200) {
        let ops = (start..(start + 200).min(total))
            .map(|n| DmlOp::Create {
                object: "Work_Item__c".into(),
                fields: work_item(n),
            })
            .collect();
        let results = data.apply(&caller, ops, true);
        assert!(results.iter().all(Result::is_ok));
    }
    let load = t.elapsed();
    let rss_loaded = rss_mib();

    let http = reqwest::Client::new();
    let base = org.base_url.clone();
    let token: Value = http
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
    let token = token["access_token"].as_str().unwrap().to_string();
    let data_url = |p: &str| format!("{base}/services/data/v{VERSION}{p}");

    let soql = "SELECT Id, Name, Status__c, Priority__c, Assignee__c, Estimate_Hours__c, \
                SystemModstamp FROM Work_Item__c ORDER BY SystemModstamp, Id";
    let (first_med, first_max, next_urls) = time_runs(5, |_| {
        let req = http
            .get(data_url("/query"))
            .query(&[("q", soql)])
            .bearer_auth(&token)
            .send();
        async move {
            let page: Value = req.await.unwrap().json().await.unwrap();
            assert_eq!(page["records"].as_array().unwrap().len(), 2000.min(total));
            page["nextRecordsUrl"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        }
    })
    .await;
    let (next_med, next_max, _) = time_runs(next_urls.len(), |i| {
        let req = http
            .get(format!("{base}{}", next_urls[i]))
            .bearer_auth(&token)
            .send();
        async move {
            let page: Value = req.await.unwrap().json().await.unwrap();
            assert_eq!(
                page["records"].as_array().unwrap().len(),
                2000.min(total - 2000)
            );
        }
    })
    .await;
    let (lookup_med, lookup_max, _) = time_runs(20, |i| {
        let q = format!(
            "SELECT Id, Name FROM Work_Item__c WHERE OrgSync_Global_Id__c = '00D000000000001AAA:a00000000{:09}'",
            (i * 7919) % total
        );
        let req = http.get(data_url("/query")).query(&[("q", q)]).bearer_auth(&token).send();
        async move {
            let page: Value = req.await.unwrap().json().await.unwrap();
            assert_eq!(page["totalSize"], 1);
        }
    })
    .await;
    // Upserts: half updates of existing rows, half new rows, on the external id.
    let (upsert_med, upsert_max, _) = time_runs(20, |round| {
        let records: Vec<Value> = (0..200)
            .map(|i| {
                let n = if i % 2 == 0 {
                    (round * 1000 + i) % total
                } else {
                    total + round * 200 + i
                };
                let mut m = work_item(n);
                m.insert("attributes".into(), json!({"type": "Work_Item__c"}));
                m.insert("Status__c".into(), json!("Done"));
                Value::Object(m)
            })
            .collect();
        let req = http
            .patch(data_url(
                "/composite/sobjects/Work_Item__c/OrgSync_Global_Id__c",
            ))
            .bearer_auth(&token)
            .json(&json!({"allOrNone": false, "records": records}))
            .send();
        async move {
            let results: Vec<Value> = req.await.unwrap().json().await.unwrap();
            assert_eq!(results.len(), 200);
            assert!(results.iter().all(|r| r["success"] == true), "{results:?}");
        }
    })
    .await;
    let rss_end = rss_mib();

    println!("sfemu, one org holding {total} Work_Item__c records (8 fields set each)");
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| load through Org::apply, 200 per transaction | {:.1} s ({:.0} records/s) |",
        load.as_secs_f64(),
        total as f64 / load.as_secs_f64()
    );
    println!("| resident memory before load | {rss_start:.0} MiB |");
    println!("| resident memory with {total} records | {rss_loaded:.0} MiB |");
    println!("| resident memory at the end (5 open cursors) | {rss_end:.0} MiB |");
    println!(
        "| first 2,000-row page (query runs over all rows, ORDER BY SystemModstamp, Id) | median {} / max {} |",
        ms(first_med),
        ms(first_max)
    );
    println!(
        "| next 2,000-row page (from the cursor) | median {} / max {} |",
        ms(next_med),
        ms(next_max)
    );
    println!(
        "| indexed lookup on OrgSync_Global_Id__c | median {} / max {} |",
        ms(lookup_med),
        ms(lookup_max)
    );
    println!(
        "| 200-record collections upsert (100 updates + 100 inserts) | median {} / max {} |",
        ms(upsert_med),
        ms(upsert_max)
    );
    emu.shutdown().await;
}
