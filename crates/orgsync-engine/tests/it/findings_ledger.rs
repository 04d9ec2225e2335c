//! Issue 9, finding 10: the ledger is pruned on a schedule while the engine runs.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use orgsync_core::OrgName;
use orgsync_store::{CaptureBatch, Store};

use crate::support::*;

/// Finding 10 (`Store::prune` was never called). The ledger holds a processed transaction
/// id from eight days ago (older than `RETENTION`, seven days) and one from now. A running
/// engine prunes a minute after start: the old id is forgotten, the recent one kept. With
/// the scheduled prune gone, the old id stays for ever (the ledger grows without bound).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_engine_prunes_old_transaction_ids() {
    let env = start(&["a", "b"], |_| vec![]).await;
    let store = env.store().await;
    let b = OrgName("b".into());
    let now = Utc::now();
    assert!(orgsync_engine::RETENTION < TimeDelta::days(8));
    for (id, at) in [("old-txn", now - TimeDelta::days(8)), ("new-txn", now)] {
        let batch = CaptureBatch {
            txns: vec![(b.clone(), id.to_string())],
            ..Default::default()
        };
        store.commit_capture(batch, at).await.unwrap();
    }
    let ids = ["old-txn".to_string(), "new-txn".to_string()];
    assert_eq!(store.processed_txns(&b, &ids).await.unwrap().len(), 2);
    let engine = env
        .engine(env.settings(
            &["a", "b"],
            "[topology]\nkind = \"peer\"\norgs = [\"a\", \"b\"]\n[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\"]\ninterval = \"30m\"\n",
        ))
        .await;
    eventually_for(
        "the old transaction id is pruned",
        Duration::from_secs(120),
        || async {
            !store
                .processed_txns(&b, &ids)
                .await
                .unwrap()
                .contains("old-txn")
        },
    )
    .await;
    let kept = store.processed_txns(&b, &ids).await.unwrap();
    assert!(kept.contains("new-txn"), "{kept:?}");
    engine.shutdown().await;
}
