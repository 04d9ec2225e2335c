//! The engine killed with SIGKILL in the middle of a batch and restarted converges with no
//! duplicate and no lost change.

use std::collections::BTreeMap;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use sfemu_org::{Caller, DmlOp, Org};

use crate::support::{bin, emulator, org_table};

const N: usize = 5000;

fn caller(org: &Org) -> Caller {
    Caller {
        user_id: org.default_user().id.clone(),
        api: "rest".into(),
        api_version: "62.0".into(),
        client: Some("test".into()),
    }
}

fn count(org: &Org) -> usize {
    org.record_counts()
        .into_iter()
        .find(|(o, _)| o == "Work_Item__c")
        .map_or(0, |(_, n)| n)
}

fn rows(org: &Org) -> Vec<Value> {
    let user = org.default_user().id.clone();
    let soql =
        "SELECT Id, OrgSync_Global_Id__c, Name, Status__c, Estimate_Hours__c FROM Work_Item__c";
    let mut page = org.query(&user, soql, false, 2000, "62.0").unwrap();
    let mut out = std::mem::take(&mut page.records);
    while let Some(l) = page.next_locator.clone() {
        page = org.query_more(&user, &l, 2000, "62.0").unwrap();
        out.append(&mut page.records);
    }
    out
}

/// global id → (Name, Status__c, Estimate_Hours__c); panics on a duplicate global id.
fn by_gid(org: &Org) -> BTreeMap<String, Vec<Value>> {
    let mut m = BTreeMap::new();
    for r in rows(org) {
        let gid = match r["OrgSync_Global_Id__c"].as_str() {
            Some(g) if !g.is_empty() => g.to_string(),
            _ => format!("{}:{}", org.org_id(), r["Id"].as_str().unwrap()),
        };
        let vals = vec![
            r["Name"].clone(),
            r["Status__c"].clone(),
            r["Estimate_Hours__c"].clone(),
        ];
        assert!(
            m.insert(gid.clone(), vals).is_none(),
            "duplicate global id {gid}"
        );
    }
    m
}

fn spawn(dir: &std::path::Path) -> Child {
    bin()
        .current_dir(dir)
        .args(["run", "--config", "orgsync.toml"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_for(what: &str, limit: Duration, f: impl FnMut() -> bool) {
    assert!(wait_until(limit, f).await, "gave up waiting for {what}");
}

/// Poll `f` until it holds (true) or `limit` passes (false).
async fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !f() {
        if start.elapsed() >= limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_batch_then_restart_converges() {
    kill_and_restart("interval = \"1s\"\n").await;
}

/// The same with change events as the capture (the replay id is committed with the items it
/// produced, so the restarted subscriber resumes after it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_with_change_events_then_restart_converges() {
    kill_and_restart("capture = \"cdc\"\nbackup_interval = \"10m\"\n").await;
}

async fn kill_and_restart(capture: &str) {
    let emu = emulator(&["a", "b"]).await;
    let (a, b) = (
        emu.org("a").unwrap().state.org.clone(),
        emu.org("b").unwrap().state.org.clone(),
    );
    let ops: Vec<DmlOp> = (0..N)
        .map(|i| {
            let f: Map<String, Value> = json!({"Name": format!("Item {i}"), "Status__c": "New", "Estimate_Hours__c": (i % 40) as f64})
                .as_object().unwrap().clone();
            DmlOp::Create { object: "Work_Item__c".into(), fields: f }
        })
        .collect();
    assert!(a.apply(&caller(&a), ops, true).iter().all(Result::is_ok));

    let mut cfg = org_table("a", &emu.org("a").unwrap().base_url)
        + &org_table("b", &emu.org("b").unwrap().base_url);
    cfg += "[topology]\nkind = \"peer\"\norgs = [\"a\", \"b\"]\n\n[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Status__c\", \"Estimate_Hours__c\"]\n";
    cfg += capture;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orgsync.toml"), cfg).unwrap();

    let mut first = spawn(dir.path());
    wait_for(
        "the first records to land in b",
        Duration::from_secs(120),
        || count(&b) > 0,
    )
    .await;
    let landed = count(&b);
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    assert!(
        landed < N,
        "the whole load landed before the kill ({landed}); the test needs a batch in flight"
    );

    // changes made while the engine is down must not be lost
    let ids: Vec<String> = rows(&a)
        .iter()
        .take(50)
        .map(|r| r["Id"].as_str().unwrap().to_string())
        .collect();
    let upd = ids
        .iter()
        .map(|id| DmlOp::Update {
            object: Some("Work_Item__c".into()),
            id: id.clone(),
            fields: json!({"Status__c": "Done"}).as_object().unwrap().clone(),
        })
        .collect();
    assert!(a.apply(&caller(&a), upd, true).iter().all(Result::is_ok));

    // The killed process's claimed items come back when its leases expire (30 s without
    // renewal); the bound is generous for a loaded machine, the wait ends as soon as b matches.
    let mut second = spawn(dir.path());
    let (a2, b2) = (a.clone(), b.clone());
    let matched = wait_until(Duration::from_secs(240), move || {
        count(&b2) >= N && by_gid(&a2) == by_gid(&b2)
    })
    .await;
    std::process::Command::new("kill")
        .args(["-TERM", &second.id().to_string()])
        .status()
        .unwrap();
    let status = second.wait().unwrap();
    if !matched {
        let (ma, mb) = (by_gid(&a), by_gid(&b));
        let missing = ma.keys().filter(|k| !mb.contains_key(*k)).count();
        let extra = mb.keys().filter(|k| !ma.contains_key(*k)).count();
        let differ = ma
            .iter()
            .filter(|(k, v)| mb.get(*k).is_some_and(|w| w != *v))
            .count();
        let st = bin()
            .current_dir(dir.path())
            .args(["status", "--config", "orgsync.toml"])
            .output()
            .unwrap();
        panic!(
            "b never matched a: a {} b {} records; missing in b {missing}, extra in b {extra}, differing {differ}\n{}",
            ma.len(),
            mb.len(),
            String::from_utf8_lossy(&st.stdout)
        );
    }
    assert!(status.success(), "graceful stop on SIGTERM: {status:?}");

    let (ma, mb) = (by_gid(&a), by_gid(&b));
    assert_eq!(ma.len(), N);
    assert_eq!(mb.len(), N, "no duplicate, none missing");
    assert_eq!(ma, mb, "same values field by field");
    assert_eq!(
        ma.values().filter(|v| v[1] == json!("Done")).count(),
        50,
        "edits made while down arrived"
    );
    emu.shutdown().await;
}
