//! What reconciliation reads and keeps: every record row of an (org, object), the live count,
//! and the last run's report.

use orgsync_store::*;
use serde_json::json;

use crate::support::*;

/// Every row of one (org, object) comes back, across the internal pages, and nothing of
/// another org or object; the live count leaves out deleted rows and rows without a local id.
pub async fn records_in_and_live_count<S: Store>(s: &S) {
    let mut writes = Vec::new();
    for n in 1..=5003u32 {
        let mut w = RecordWrite::new(org("b"), "Account", gid(n));
        w.local_id = Some(format!("001B{n:014}"));
        w.deleted = Some(n % 1000 == 0);
        writes.push(w);
    }
    // a row that has not landed (no local id), another org, another object
    writes.push(RecordWrite::new(org("b"), "Account", gid(9001)));
    let mut other = RecordWrite::new(org("c"), "Account", gid(1));
    other.local_id = Some("001C00000000001AAA".into());
    writes.push(other);
    let mut contact = RecordWrite::new(org("b"), "Contact", gid(1));
    contact.local_id = Some("003B00000000001AAA".into());
    writes.push(contact);
    s.write_records(writes, at(1)).await.unwrap();
    let rows = s.records_in(&org("b"), "Account").await.unwrap();
    assert_eq!(
        rows.len(),
        5004,
        "every row of the (org, object), across pages"
    );
    let mut gids: Vec<String> = rows.iter().map(|r| r.global_id.to_string()).collect();
    gids.dedup();
    assert_eq!(gids.len(), 5004, "no row twice");
    assert!(
        rows.iter()
            .all(|r| r.org == org("b") && r.object == "Account")
    );
    // 5003 landed, 5 of them deleted
    assert_eq!(s.count_live(&org("b"), "Account").await.unwrap(), 4998);
    assert_eq!(s.count_live(&org("c"), "Account").await.unwrap(), 1);
    assert_eq!(s.count_live(&org("d"), "Account").await.unwrap(), 0);
}

/// Runs are kept; the last one comes back whole.
pub async fn reconcile_runs_keep_the_last<S: Store>(s: &S) {
    assert!(s.last_reconcile_run().await.unwrap().is_none());
    let first = ReconcileRun {
        started_at: at(10),
        finished_at: at(12),
        full: true,
        mode: "dry-run".into(),
        report: json!({"drifted": 3, "records": [{"class": "missing"}]}),
    };
    s.put_reconcile_run(&first).await.unwrap();
    assert_eq!(s.last_reconcile_run().await.unwrap(), Some(first));
    let second = ReconcileRun {
        started_at: at(20),
        finished_at: at(21),
        full: false,
        mode: "repair".into(),
        report: json!({"drifted": 0}),
    };
    s.put_reconcile_run(&second).await.unwrap();
    assert_eq!(s.last_reconcile_run().await.unwrap(), Some(second));
}
