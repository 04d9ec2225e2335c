//! Reconcile with the service running on the same ledger: started through the engine (as the
//! Sync Monitor would), its repairs are applied by the running writers.

use orgsync_core::reconcile::{DriftClass, Mode, Report};
use orgsync_engine::reconcile::ReconcileRequest;
use orgsync_store::Store;
use serde_json::json;

use crate::reconcile::{FIELDS, SYNCS, purge, raw_edit};
use crate::support::*;

/// With the service running on the same ledger: a reconcile started through the engine
/// (as the Sync Monitor would) queues its repairs for the running writers, which apply them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_while_the_engine_runs() {
    let env = start(&["hub", "v1"], |_| vec![]).await;
    let hub = env.user("hub").await;
    let acme = create(&hub, "Account", json!({"Name": "Acme"})).await;
    let w = create(
        &hub,
        "Work_Item__c",
        json!({"Name": "w", "Status__c": "New", "Account__c": acme}),
    )
    .await;
    let syncs = SYNCS.replace("spokes = [\"v1\", \"v2\"]", "spokes = [\"v1\"]");
    let settings = env.settings(&["hub", "v1"], &syncs);
    let engine = env.engine(settings).await;
    assert!(engine.wait_idle(IDLE).await);
    let v1 = env.user("v1").await;
    let w_v1 = local_id(&v1, "Work_Item__c", &w).await.unwrap();
    raw_edit(
        &env,
        "v1",
        "Work_Item__c",
        &w_v1,
        json!({"Status__c": "Behind", "Name": "x"}),
    )
    .await;
    assert!(engine.wait_idle(IDLE).await);
    let status = |c| async move { snapshot(c, "Work_Item__c", FIELDS).await };
    assert_eq!(
        status(&v1).await[0]["Status__c"],
        "Behind",
        "the poll cannot see it"
    );
    let report = engine
        .reconcile(ReconcileRequest {
            objects: vec!["Work_Item__c".into()],
            full: true,
            mode: Mode::Repair,
        })
        .await
        .unwrap();
    assert_eq!(report.drifts.len(), 1, "{:?}", report.drifts);
    assert_eq!(report.drifts[0].fields, ["name", "status__c"]);
    assert!(report.passes.iter().all(|p| p.object == "Work_Item__c"));
    assert!(engine.wait_idle(IDLE).await);
    engine.shutdown().await;
    assert_eq!(status(&v1).await, status(&hub).await);
    assert_eq!(status(&v1).await[0]["Status__c"], "New");
}

/// The schedule inside the running service (`reconcile = "24h"` in `[engine]`) runs its passes
/// by itself and keeps each run in the ledger: a record purged behind orgsync's back is found
/// and re-created without anyone asking. The period is set to a second in the settings (the
/// config accepts 1 minute at least) so the test does not wait; it waits for the outcome,
/// never for a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedule_runs_passes_and_keeps_the_last_run() {
    let env = start(&["hub", "v1"], |_| vec![]).await;
    let hub = env.user("hub").await;
    let w = create(
        &hub,
        "Work_Item__c",
        json!({"Name": "kept", "Status__c": "New"}),
    )
    .await;
    let syncs = SYNCS.replace("spokes = [\"v1\", \"v2\"]", "spokes = [\"v1\"]");
    let mut settings = env.settings(&["hub", "v1"], &syncs);
    settings.engine.reconcile = Some(std::time::Duration::from_secs(1));
    for s in &mut settings.syncs {
        s.reconcile = None;
    }
    let engine = env.engine(settings).await;
    assert!(engine.wait_idle(IDLE).await);
    let v1 = env.user("v1").await;
    let w_v1 = local_id(&v1, "Work_Item__c", &w).await.unwrap();
    let purged_at = chrono::Utc::now();
    purge(&env, "v1", "Work_Item__c", &w_v1).await;
    let store = env.store().await;
    let deadline = tokio::time::Instant::now() + IDLE;
    let run = loop {
        let last = store.last_reconcile_run().await.unwrap();
        if let Some(run) = last.filter(|r| r.started_at > purged_at) {
            let report: Report = serde_json::from_value(run.report.clone()).unwrap();
            if report.drifts.iter().any(|d| d.class == DriftClass::Missing) {
                break (run, report);
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no scheduled run found the purge"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(run.0.mode, "repair", "{:?}", run.0);
    assert!(run.1.queued >= 1, "{:?}", run.1);
    assert!(engine.wait_idle(IDLE).await);
    engine.shutdown().await;
    assert!(
        local_id(&v1, "Work_Item__c", &w).await.is_some(),
        "re-created on v1 by the scheduled repair"
    );
    let last = store.last_reconcile_run().await.unwrap().unwrap();
    assert!(
        last.finished_at >= run.0.finished_at,
        "the last run is kept"
    );
}
