//! Reconcile with the service running on the same ledger: started through the engine (as the
//! Sync Monitor would), its repairs are applied by the running writers.

use orgsync_core::reconcile::Mode;
use orgsync_engine::reconcile::ReconcileRequest;
use serde_json::json;

use crate::reconcile::{FIELDS, SYNCS, raw_edit};
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
