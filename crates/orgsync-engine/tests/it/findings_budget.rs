//! Issue 9, findings 11 and 12 — the two acceptance tests: (B) after a burst, an idle poll
//! round costs one call per org and object; (A) the budget governor holds an org under its
//! share, says so in the status, and drains the backlog in full batches once raised.

use std::time::{Duration, Instant};

use orgsync_core::OrgName;
use orgsync_store::{ItemFilter, Store, SyncStatus};
use serde_json::json;

use crate::support::*;

const PEER: &str = "[topology]\nkind = \"peer\"\norgs = [\"a\", \"b\"]\n";
const SYNC: &str =
    "[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Status__c\"]\ninterval = \"30m\"\n";
const LONG: Duration = Duration::from_secs(600);

async fn count(env: &Env, org: &str) -> u64 {
    env.user(org)
        .await
        .query_page("SELECT COUNT() FROM Work_Item__c", false)
        .await
        .unwrap()
        .total_size
}

/// Create `n` records on `org` in collections calls of 200.
async fn burst(env: &Env, org: &str, n: usize, tag: &str) {
    let c = env.user(org).await;
    let records: Vec<sfclient::Record> = (0..n)
        .map(|i| rec(json!({"Name": format!("{tag}{i}")})))
        .collect();
    for part in records.chunks(2000) {
        let saved = c.create_many("Work_Item__c", part).await;
        assert!(saved.iter().all(Result::is_ok));
    }
}

/// Finding 11 / acceptance test B. A burst of 10,000 records is created on a, then synced
/// to b. The look-back is set longer than the burst took, so every row of it lies within one
/// look-back of the watermark. Once synced (and one look-back after the last read), an idle
/// poll round costs exactly one query call per org and object. With the look-back counted
/// back from the watermark again, every idle poll re-reads the whole burst on a (10,000 rows,
/// five pages of 2,000: five calls).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_burst_an_idle_poll_costs_one_call_per_org_and_object() {
    let env = start(&["a", "b"], |_| vec![]).await;
    let began = Instant::now();
    burst(&env, "a", 10_000, "burst ").await;
    let lookback = began.elapsed() + Duration::from_secs(2);
    let mut settings = env.settings(&["a", "b"], &format!("{PEER}{SYNC}"));
    settings.engine.lookback = lookback;
    let engine = env.engine(settings).await;
    assert!(engine.wait_idle(LONG).await);
    assert_eq!(count(&env, "b").await, 10_000);
    // one look-back after the last read, then a round that reads up to now
    tokio::time::sleep(lookback + Duration::from_millis(500)).await;
    engine.poll_now().await;
    assert!(engine.wait_idle(LONG).await);
    let before = (env.calls("a", "query").await, env.calls("b", "query").await);
    assert!(engine.wait_idle(LONG).await); // one idle poll round
    let after = (env.calls("a", "query").await, env.calls("b", "query").await);
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (1, 1),
        "one query call per org and object (look-back {lookback:?})"
    );
    engine.shutdown().await;
}

/// Finding 12 / acceptance test A. b's daily allocation is 2,000 calls with
/// `budget_share = 0.8`: orgsync may use b up to 1,600. Other integrations already used
/// 1,560 of them today (set through the emulator), so the workload — 6,000 records to write
/// to b, thirty collections calls plus reads — needs more calls than the share leaves (the
/// same situation as a workload of ~3,000 calls against a fresh allocation, reached without
/// spending thousands of real rounds). Expected: b's usage ends at or under 1,600, nothing
/// is refused with REQUEST_LIMIT_EXCEEDED, every sync of b shows `paused` while the governor
/// holds the calls; once the allocation is raised, the backlog drains in ⌈backlog/200⌉ write
/// calls. Without the governor b runs into the hard limit (usage over 1,600, items refused
/// with REQUEST_LIMIT_EXCEEDED), without the pause in the status the syncs say `active`, and
/// with per-item retries after the pause the drain takes one call per item.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_governor_holds_b_at_its_share_and_drains_in_full_batches() {
    let env = start(&["a", "b"], |_| vec![]).await;
    burst(&env, "a", 6_000, "work ").await;
    env.limits("b", json!({"dailyApiRequests": 2000, "used": 1560}))
        .await;
    let settings = env.settings_with(
        &["a", "b"],
        &[("b", "budget_share = 0.8")],
        &format!("{PEER}{SYNC}"),
    );
    let engine = env.engine(settings).await;
    let store = env.store().await;
    let to_b = ItemFilter {
        target: Some(OrgName("b".into())),
        ..Default::default()
    };
    eventually("every sync of b is paused by the governor", || async {
        let syncs = store.syncs().await.unwrap();
        let b: Vec<_> = syncs.iter().filter(|s| s.org.0 == "b").collect();
        !b.is_empty() && b.iter().all(|s| s.status == SyncStatus::Paused)
    })
    .await;
    eventually(
        "a's 6,000 records are all queued or written for b",
        || async { env.items(to_b.clone()).await.len() == 6_000 },
    )
    .await;
    let usage = env.usage("b").await;
    let used = usage["total"].as_u64().unwrap();
    assert!(
        used <= 1_600,
        "b's usage stays within 80% of 2,000: {usage}"
    );
    let items = env.items(to_b.clone()).await;
    assert!(
        items.iter().all(|i| i
            .last_error
            .as_ref()
            .is_none_or(|e| e.code != "REQUEST_LIMIT_EXCEEDED")),
        "nothing refused for the limit"
    );
    // what has not reached b: queued, or claimed by a round whose calls the governor holds
    let backlog = 6_000 - count(&env, "b").await;
    assert!(backlog > 0, "the governor held part of the work back");
    let syncs = store.syncs().await.unwrap();
    assert!(
        syncs
            .iter()
            .filter(|s| s.org.0 == "b")
            .all(|s| s.status == SyncStatus::Paused),
        "still paused: {syncs:?}"
    );
    let writes = env.writes("b").await;
    env.limits("b", json!({"dailyApiRequests": 1_000_000}))
        .await;
    eventually_for("the backlog drains", Duration::from_secs(120), || async {
        count(&env, "b").await == 6_000
    })
    .await;
    assert!(engine.wait_idle(LONG).await);
    assert_eq!(
        env.writes("b").await - writes,
        backlog.div_ceil(200),
        "{backlog} items in full batches of 200"
    );
    let syncs = store.syncs().await.unwrap();
    assert!(
        syncs
            .iter()
            .filter(|s| s.org.0 == "b")
            .all(|s| s.status == SyncStatus::Active),
        "{syncs:?}"
    );
    engine.shutdown().await;
}
