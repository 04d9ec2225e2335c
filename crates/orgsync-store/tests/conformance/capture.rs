//! Capture: changes merge into the waiting item, and a batch's checkpoint, items, audit and
//! transaction ids are written together or not at all.

use std::collections::HashSet;

use orgsync_store::*;

use crate::support::*;

/// A later change merges into the waiting item: newest field time wins, others are kept.
pub async fn merge_into_open_item<S: Store>(s: &S) {
    let r1 = capture(
        s,
        vec![upsert("b", 1, &[("Name", "Acme"), ("Phone", "1")], at(10))],
        at(11),
    )
    .await;
    assert_eq!(r1.inserted.len(), 1);
    let r2 = capture(
        s,
        vec![upsert(
            "b",
            1,
            &[("Name", "Acme Corp"), ("Site", "HQ")],
            at(20),
        )],
        at(21),
    )
    .await;
    assert_eq!(
        r2.merged, r1.inserted,
        "second change must merge into the first item"
    );
    // an older change (a late poll) must not overwrite newer values
    let r3 = capture(
        s,
        vec![upsert("b", 1, &[("Name", "Old"), ("Phone", "2")], at(15))],
        at(30),
    )
    .await;
    assert_eq!(r3.merged, r1.inserted);
    let it = only_item(s, ItemFilter::default()).await;
    assert_eq!(field(&it, "Name").as_deref(), Some("Acme Corp"));
    assert_eq!(field(&it, "Site").as_deref(), Some("HQ"));
    assert_eq!(
        field(&it, "Phone").as_deref(),
        Some("2"),
        "Phone at 15 is newer than Phone at 10"
    );
    assert_eq!(it.field_ts["Name"], at(20));
    assert_eq!(it.state, ItemState::Queued);
    assert_eq!(
        it.next_attempt_at,
        at(11),
        "a merge does not move a queued item's schedule"
    );
    // another target is another item
    let r4 = capture(s, vec![upsert("c", 1, &[("Name", "Acme")], at(10))], at(31)).await;
    assert_eq!(r4.inserted.len(), 1);
    assert_ne!(r4.inserted, r1.inserted);
    // a delete merged in wins the op
    let mut del = upsert("b", 1, &[], at(40));
    del.work.op = orgsync_core::Op::Delete;
    capture(s, vec![del], at(41)).await;
    let it = s.item(r1.inserted[0]).await.unwrap().unwrap();
    assert_eq!(it.work.op, orgsync_core::Op::Delete);
}

/// The checkpoint moves only with the items it produced: a failing batch writes nothing.
pub async fn checkpoint_atomic_with_items<S: Store>(s: &S) {
    let cp = |ts: i64, id: &str| CheckpointWrite {
        org: org("a"),
        object: "Account".into(),
        source: SourceKind::Poll,
        watermark_ts: Some(at(ts)),
        watermark_id: Some(id.to_string()),
        replay_id: None,
    };
    let mut bad = upsert("b", 2, &[("Name", "broken")], at(5));
    bad.work.object = String::new(); // the schema refuses an empty object name
    let good = upsert("b", 1, &[("Name", "ok")], at(5)).with_txn("t1");
    let mut audit = NewAudit::new(at(5), "capture");
    audit.org = Some(org("a"));
    let failing = CaptureBatch {
        items: vec![good.clone(), bad],
        audit: vec![audit.clone()],
        checkpoint: Some(cp(5, "001000000000005AAA")),
        ..CaptureBatch::default()
    };
    assert!(s.commit_capture(failing, at(6)).await.is_err());
    assert_eq!(
        s.checkpoint(&org("a"), "Account", SourceKind::Poll)
            .await
            .unwrap(),
        None
    );
    assert!(
        s.counts().await.unwrap().is_empty(),
        "no item survived the failed batch"
    );
    assert!(s.audit(Page::first(10)).await.unwrap().is_empty());
    assert!(
        s.processed_txns(&org("b"), &["t1".into()])
            .await
            .unwrap()
            .is_empty()
    );
    // the re-read commits the same change: not a duplicate, since nothing was recorded
    let ok = CaptureBatch {
        items: vec![good.clone()],
        audit: vec![audit],
        checkpoint: Some(cp(5, "001000000000005AAA")),
        ..CaptureBatch::default()
    };
    let rep = s.commit_capture(ok, at(7)).await.unwrap();
    assert_eq!(rep.inserted.len(), 1);
    let got = s
        .checkpoint(&org("a"), "Account", SourceKind::Poll)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.watermark_ts, Some(at(5)));
    assert_eq!(got.watermark_id.as_deref(), Some("001000000000005AAA"));
    assert_eq!(got.updated_at, at(7));
    // a replay of the same transaction is dropped
    let rep = capture(s, vec![good], at(8)).await;
    assert_eq!(rep.duplicates, 1);
    assert_eq!(
        s.processed_txns(&org("b"), &["t1".into(), "t2".into()])
            .await
            .unwrap(),
        HashSet::from(["t1".to_string()])
    );
    // CDC checkpoints are separate and carry bytes
    s.set_checkpoint(
        CheckpointWrite {
            org: org("a"),
            object: "Account".into(),
            source: SourceKind::Cdc,
            watermark_ts: None,
            watermark_id: None,
            replay_id: Some(vec![0, 1, 2, 255]),
        },
        at(9),
    )
    .await
    .unwrap();
    let cdc = s
        .checkpoint(&org("a"), "Account", SourceKind::Cdc)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cdc.replay_id, Some(vec![0, 1, 2, 255]));
    assert_eq!(
        s.checkpoint(&org("a"), "Account", SourceKind::Poll)
            .await
            .unwrap()
            .unwrap()
            .updated_at,
        at(7)
    );
}

/// A transaction id can carry the hash of its content (a push): read back with it, never
/// replaced by a later commit of the same id, and ids recorded without one read as `None`.
pub async fn transaction_hashes<S: Store>(s: &S) {
    let b = CaptureBatch {
        txns: vec![
            (org("a"), txn_with_hash("push:t1", "h1")),
            (org("a"), "push:t2".into()),
            (org("b"), txn_with_hash("push:t1", "other org")),
        ],
        ..CaptureBatch::default()
    };
    s.commit_capture(b, at(1)).await.unwrap();
    let ids: Vec<String> = ["push:t1", "push:t2", "push:t3"].map(String::from).into();
    let want = std::collections::HashMap::from([
        ("push:t1".to_string(), Some("h1".to_string())),
        ("push:t2".to_string(), None),
    ]);
    assert_eq!(s.txn_hashes(&org("a"), &ids).await.unwrap(), want);
    assert_eq!(
        s.processed_txns(&org("a"), &ids).await.unwrap(),
        HashSet::from(["push:t1".to_string(), "push:t2".to_string()])
    );
    // the first content recorded stays: a second commit of the id does not replace it
    let again = CaptureBatch {
        txns: vec![(org("a"), txn_with_hash("push:t1", "h2"))],
        ..CaptureBatch::default()
    };
    s.commit_capture(again, at(2)).await.unwrap();
    assert_eq!(s.txn_hashes(&org("a"), &ids).await.unwrap(), want);
    // many ids at once (several IN chunks)
    let many: Vec<String> = (0..700).map(|i| format!("push:m{i}")).collect();
    let b = CaptureBatch {
        txns: many
            .iter()
            .map(|t| (org("a"), txn_with_hash(t, &format!("h-{t}"))))
            .collect(),
        ..CaptureBatch::default()
    };
    s.commit_capture(b, at(3)).await.unwrap();
    let got = s.txn_hashes(&org("a"), &many).await.unwrap();
    assert_eq!(got.len(), 700);
    assert_eq!(got["push:m699"].as_deref(), Some("h-push:m699"));
}
