//! The conformance suite: every test is a generic async fn over `S: Store`, run by `main.rs`
//! against each implementation.

use std::collections::HashSet;

use chrono::TimeDelta;
use orgsync_core::FieldValue;
use orgsync_core::merge::ShadowValue;
use orgsync_store::*;

use crate::support::*;

fn ttl() -> TimeDelta {
    TimeDelta::seconds(60)
}

fn batch(items: Vec<NewItem>) -> CaptureBatch {
    CaptureBatch {
        items,
        ..CaptureBatch::default()
    }
}

async fn only_item<S: Store>(s: &S, filter: ItemFilter) -> Item {
    let items = s.items(&filter, Page::first(100)).await.unwrap();
    assert_eq!(items.len(), 1, "expected one item, got {items:#?}");
    items.into_iter().next().unwrap()
}

fn synced(target: &str, n: u32, local: &str) -> Outcome {
    let mut record = RecordWrite::new(org(target), "Account", gid(n));
    record.local_id = Some(local.to_string());
    Outcome::Synced { record }
}

fn done(item: &Item, owner: &str, outcome: Outcome) -> Completion {
    Completion {
        id: item.id,
        lease_owner: owner.to_string(),
        outcome,
        follow_ups: vec![],
        detail: serde_json::Value::Null,
    }
}

/// A later change merges into the waiting item: newest field time wins, others are kept.
pub async fn merge_into_open_item<S: Store>(s: &S) {
    let r1 = s
        .commit_capture(
            batch(vec![upsert(
                "b",
                1,
                &[("Name", "Acme"), ("Phone", "1")],
                at(10),
            )]),
            at(11),
        )
        .await
        .unwrap();
    assert_eq!(r1.inserted.len(), 1);
    let r2 = s
        .commit_capture(
            batch(vec![upsert(
                "b",
                1,
                &[("Name", "Acme Corp"), ("Site", "HQ")],
                at(20),
            )]),
            at(21),
        )
        .await
        .unwrap();
    assert_eq!(
        r2.merged, r1.inserted,
        "second change must merge into the first item"
    );
    // an older change (a late poll) must not overwrite newer values
    let r3 = s
        .commit_capture(
            batch(vec![upsert(
                "b",
                1,
                &[("Name", "Old"), ("Phone", "2")],
                at(15),
            )]),
            at(30),
        )
        .await
        .unwrap();
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
    let r4 = s
        .commit_capture(
            batch(vec![upsert("c", 1, &[("Name", "Acme")], at(10))]),
            at(31),
        )
        .await
        .unwrap();
    assert_eq!(r4.inserted.len(), 1);
    assert_ne!(r4.inserted, r1.inserted);
    // a delete merged in wins the op
    let mut del = upsert("b", 1, &[], at(40));
    del.work.op = orgsync_core::Op::Delete;
    s.commit_capture(batch(vec![del]), at(41)).await.unwrap();
    let it = s.item(r1.inserted[0]).await.unwrap().unwrap();
    assert_eq!(it.work.op, orgsync_core::Op::Delete);
}

/// A change to an in-flight record becomes a follow-up, claimed only after the in-flight item
/// completes; further changes merge into the follow-up.
pub async fn follow_up_for_in_flight<S: Store>(s: &S) {
    s.commit_capture(batch(vec![upsert("b", 1, &[("Name", "v1")], at(1))]), at(1))
        .await
        .unwrap();
    let claimed = s
        .claim_due(&org("b"), at(2), 10, "w1", ttl())
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].state, ItemState::InFlight);
    assert_eq!(claimed[0].attempts, 1);
    let r = s
        .commit_capture(batch(vec![upsert("b", 1, &[("Name", "v2")], at(3))]), at(3))
        .await
        .unwrap();
    assert_eq!(r.inserted.len(), 1, "follow-up is a new item");
    assert_ne!(r.inserted[0], claimed[0].id);
    let r2 = s
        .commit_capture(batch(vec![upsert("b", 1, &[("Phone", "9")], at(4))]), at(4))
        .await
        .unwrap();
    assert_eq!(
        r2.merged, r.inserted,
        "later changes merge into the follow-up"
    );
    assert_eq!(
        s.next_due(&org("b")).await.unwrap(),
        Some(at(62)),
        "blocked follow-up is not due; the lease end is"
    );
    assert_eq!(s.next_due(&org("c")).await.unwrap(), None);
    let in_flight = s.item(claimed[0].id).await.unwrap().unwrap();
    assert_eq!(
        field(&in_flight, "Name").as_deref(),
        Some("v1"),
        "the in-flight item is not touched"
    );
    assert!(
        s.claim_due(&org("b"), at(50), 10, "w2", ttl())
            .await
            .unwrap()
            .is_empty(),
        "follow-up waits"
    );
    let rep = s
        .complete(
            vec![done(
                &claimed[0],
                "w1",
                synced("b", 1, "001B00000000001AAA"),
            )],
            at(5),
        )
        .await
        .unwrap();
    assert_eq!(rep.applied, vec![claimed[0].id]);
    assert_eq!(
        s.next_due(&org("b")).await.unwrap(),
        Some(at(3)),
        "the follow-up is due"
    );
    let next = s
        .claim_due(&org("b"), at(6), 10, "w2", ttl())
        .await
        .unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].id, r.inserted[0]);
    assert_eq!(field(&next[0], "Name").as_deref(), Some("v2"));
    assert_eq!(field(&next[0], "Phone").as_deref(), Some("9"));
    assert_eq!(
        s.item(claimed[0].id).await.unwrap().unwrap().state,
        ItemState::Synced
    );
}

/// An in-flight item that goes back to waiting while a follow-up exists is merged into it.
pub async fn retry_merges_into_follow_up<S: Store>(s: &S) {
    s.commit_capture(
        batch(vec![upsert(
            "b",
            1,
            &[("Name", "v1"), ("Site", "S1")],
            at(1),
        )]),
        at(1),
    )
    .await
    .unwrap();
    let first = s
        .claim_due(&org("b"), at(2), 10, "w1", ttl())
        .await
        .unwrap()
        .remove(0);
    let follow = s
        .commit_capture(batch(vec![upsert("b", 1, &[("Name", "v2")], at(3))]), at(3))
        .await
        .unwrap()
        .inserted[0];
    let rep = s
        .complete(
            vec![done(
                &first,
                "w1",
                Outcome::RetryAt {
                    at: at(30),
                    error: lock_error(),
                },
            )],
            at(4),
        )
        .await
        .unwrap();
    assert_eq!(rep.applied.len(), 1);
    assert!(
        s.item(first.id).await.unwrap().is_none(),
        "the retried item was folded into the follow-up"
    );
    let it = s.item(follow).await.unwrap().unwrap();
    assert_eq!(it.state, ItemState::Queued);
    assert_eq!(
        field(&it, "Name").as_deref(),
        Some("v2"),
        "newer follow-up value wins"
    );
    assert_eq!(
        field(&it, "Site").as_deref(),
        Some("S1"),
        "fields only the retried item had are kept"
    );
    assert_eq!(it.next_attempt_at, at(30), "the retry schedule is kept");
    assert_eq!(
        it.last_error.as_ref().map(|e| e.code.as_str()),
        Some("UNABLE_TO_LOCK_ROW")
    );
    assert!(
        s.claim_due(&org("b"), at(29), 10, "w1", ttl())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.claim_due(&org("b"), at(30), 10, "w1", ttl())
            .await
            .unwrap()
            .len(),
        1
    );
}

/// A worker that dies loses its items when the lease runs out; its late completion is ignored.
pub async fn lease_expiry_reclaim<S: Store>(s: &S) {
    s.commit_capture(batch(vec![upsert("b", 1, &[("Name", "x")], at(0))]), at(0))
        .await
        .unwrap();
    let mine = s
        .claim_due(&org("b"), at(1), 10, "w1", TimeDelta::seconds(30))
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].lease.as_ref().map(|l| l.until), Some(at(31)));
    assert!(
        s.claim_due(&org("b"), at(20), 10, "w2", ttl())
            .await
            .unwrap()
            .is_empty(),
        "lease still held"
    );
    assert_eq!(
        s.extend_lease(&[mine[0].id], "w1", at(40)).await.unwrap(),
        1
    );
    assert_eq!(
        s.extend_lease(&[mine[0].id], "w2", at(90)).await.unwrap(),
        0,
        "only the holder extends"
    );
    assert!(
        s.claim_due(&org("b"), at(35), 10, "w2", ttl())
            .await
            .unwrap()
            .is_empty(),
        "extended lease held"
    );
    let theirs = s
        .claim_due(&org("b"), at(41), 10, "w2", ttl())
        .await
        .unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].id, mine[0].id);
    assert_eq!(theirs[0].attempts, 2);
    assert_eq!(
        theirs[0].lease.as_ref().map(|l| l.owner.as_str()),
        Some("w2")
    );
    let late = s
        .complete(
            vec![done(
                &mine[0],
                "w1",
                Outcome::Failed {
                    error: validation_error(),
                },
            )],
            at(42),
        )
        .await
        .unwrap();
    assert_eq!(late.lost_lease, vec![mine[0].id]);
    assert!(late.applied.is_empty());
    assert_eq!(
        s.item(mine[0].id).await.unwrap().unwrap().state,
        ItemState::InFlight
    );
    let ok = s
        .complete(
            vec![done(&theirs[0], "w2", synced("b", 1, "001B00000000001AAA"))],
            at(43),
        )
        .await
        .unwrap();
    assert_eq!(ok.applied, vec![mine[0].id]);
    // completing twice is a lost lease, not a second write
    let again = s
        .complete(
            vec![done(&theirs[0], "w2", synced("b", 1, "001B00000000001AAA"))],
            at(44),
        )
        .await
        .unwrap();
    assert_eq!(again.lost_lease.len(), 1);
}

/// Concurrent claimers never receive the same item, and together they receive all of them.
pub async fn concurrent_claimers_never_share<S: Store>(s: &S) {
    let items: Vec<NewItem> = (0..120)
        .map(|n| upsert("b", n, &[("Name", "x")], at(0)))
        .collect();
    s.commit_capture(batch(items), at(0)).await.unwrap();
    let claimers = (0..6).map(|w| async move {
        let owner = format!("w{w}");
        let mut got = Vec::new();
        loop {
            let batch = s
                .claim_due(&org("b"), at(1), 7, &owner, ttl())
                .await
                .unwrap();
            if batch.is_empty() {
                break;
            }
            got.extend(batch.into_iter().map(|i| (i.id, i.lease.map(|l| l.owner))));
        }
        (owner, got)
    });
    let results = futures::future::join_all(claimers).await;
    let mut seen = HashSet::new();
    for (owner, got) in &results {
        for (id, lease_owner) in got {
            assert!(seen.insert(*id), "item {id} claimed twice");
            assert_eq!(lease_owner.as_deref(), Some(owner.as_str()));
        }
    }
    assert_eq!(seen.len(), 120);
    let counts = s.counts().await.unwrap();
    assert_eq!(counts.get(&(org("b"), ItemState::InFlight)), Some(&120));
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
    let rep = s.commit_capture(batch(vec![good]), at(8)).await.unwrap();
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

/// A child whose parent has not landed waits as Pending and is queued when the parent lands.
pub async fn pending_wakes_when_parent_lands<S: Store>(s: &S) {
    s.commit_capture(batch(vec![child("b", 100, 1, at(0))]), at(0))
        .await
        .unwrap();
    let c = s
        .claim_due(&org("b"), at(1), 10, "w1", ttl())
        .await
        .unwrap()
        .remove(0);
    s.complete(
        vec![done(
            &c,
            "w1",
            Outcome::Pending {
                parent: gid(1),
                error: None,
            },
        )],
        at(2),
    )
    .await
    .unwrap();
    let parked = s.item(c.id).await.unwrap().unwrap();
    assert_eq!(parked.state, ItemState::Pending);
    assert_eq!(parked.waiting_for, Some(gid(1)));
    assert!(
        s.claim_due(&org("b"), at(3), 10, "w1", ttl())
            .await
            .unwrap()
            .is_empty()
    );
    // the parent lands in another org: the child in b keeps waiting
    s.commit_capture(batch(vec![upsert("c", 1, &[("Name", "P")], at(4))]), at(4))
        .await
        .unwrap();
    let p = s
        .claim_due(&org("c"), at(5), 10, "w1", ttl())
        .await
        .unwrap()
        .remove(0);
    let rep = s
        .complete(
            vec![done(&p, "w1", synced("c", 1, "001C00000000001AAA"))],
            at(6),
        )
        .await
        .unwrap();
    assert_eq!(rep.woken, 0);
    // the parent lands in b
    s.commit_capture(batch(vec![upsert("b", 1, &[("Name", "P")], at(7))]), at(7))
        .await
        .unwrap();
    let p = s
        .claim_due(&org("b"), at(8), 10, "w1", ttl())
        .await
        .unwrap()
        .remove(0);
    assert_eq!(p.work.object, "Account");
    let rep = s
        .complete(
            vec![done(&p, "w1", synced("b", 1, "001B00000000001AAA"))],
            at(9),
        )
        .await
        .unwrap();
    assert_eq!(rep.woken, 1);
    let woken = s.item(c.id).await.unwrap().unwrap();
    assert_eq!(woken.state, ItemState::Queued);
    assert_eq!(woken.next_attempt_at, at(9));
    assert_eq!(woken.waiting_for, None);
    // parking when the parent has already landed queues at once
    let again = s
        .claim_due(&org("b"), at(10), 10, "w1", ttl())
        .await
        .unwrap()
        .remove(0);
    s.complete(
        vec![done(
            &again,
            "w1",
            Outcome::Pending {
                parent: gid(1),
                error: None,
            },
        )],
        at(11),
    )
    .await
    .unwrap();
    assert_eq!(
        s.item(c.id).await.unwrap().unwrap().state,
        ItemState::Queued
    );
    // and the explicit release
    s.commit_capture(batch(vec![child("b", 101, 2, at(12))]), at(12))
        .await
        .unwrap();
    for it in s
        .claim_due(&org("b"), at(13), 10, "w1", ttl())
        .await
        .unwrap()
    {
        let parent = it.work.parents[0].global_id.clone();
        s.complete(
            vec![done(
                &it,
                "w1",
                Outcome::Pending {
                    parent,
                    error: None,
                },
            )],
            at(14),
        )
        .await
        .unwrap();
    }
    let pending = ItemFilter {
        state: Some(ItemState::Pending),
        ..ItemFilter::default()
    };
    assert_eq!(s.items(&pending, Page::first(10)).await.unwrap().len(), 1);
    assert_eq!(
        s.release_pending_children(&org("b"), &gid(2), at(15))
            .await
            .unwrap(),
        1
    );
    assert!(s.items(&pending, Page::first(10)).await.unwrap().is_empty());
}

/// Failed items are kept for manual retry; retry_failed requeues exactly those matching.
pub async fn retry_failed_requeues<S: Store>(s: &S) {
    let items = vec![
        upsert("b", 1, &[("Name", "")], at(0)),
        upsert("b", 2, &[("Name", "")], at(0)),
        upsert("c", 1, &[("Name", "")], at(0)),
        upsert("b", 3, &[("Name", "fine")], at(0)),
    ];
    s.commit_capture(batch(items), at(0)).await.unwrap();
    for target in ["b", "c"] {
        let claimed = s
            .claim_due(&org(target), at(1), 10, "w", ttl())
            .await
            .unwrap();
        let outs = claimed
            .iter()
            .map(|it| {
                let outcome = if field(it, "Name").as_deref() == Some("fine") {
                    Outcome::RetryAt {
                        at: at(500),
                        error: lock_error(),
                    }
                } else {
                    Outcome::Failed {
                        error: validation_error(),
                    }
                };
                done(it, "w", outcome)
            })
            .collect();
        s.complete(outs, at(2)).await.unwrap();
    }
    let failed = ItemFilter {
        state: Some(ItemState::Failed),
        ..ItemFilter::default()
    };
    let list = s.items(&failed, Page::first(10)).await.unwrap();
    assert_eq!(list.len(), 3);
    assert!(list.iter().all(|i| {
        i.last_error
            .as_ref()
            .is_some_and(|e| e.message == "Name must not be empty")
    }));
    let only_b = ItemFilter {
        target: Some(org("b")),
        ..ItemFilter::default()
    };
    assert_eq!(s.retry_failed(&only_b, at(10)).await.unwrap(), 2);
    let due = s
        .claim_due(&org("b"), at(10), 10, "w", ttl())
        .await
        .unwrap();
    assert_eq!(due.len(), 2, "the retryable item is not due before 500 s");
    assert!(due.iter().all(|i| i.attempts == 1), "attempts restart");
    assert_eq!(
        s.items(&failed, Page::first(10)).await.unwrap().len(),
        1,
        "c's item is still failed"
    );
    // a new change to a failed record gives it a fresh try
    s.commit_capture(
        batch(vec![upsert("c", 1, &[("Name", "Fixed")], at(20))]),
        at(20),
    )
    .await
    .unwrap();
    let it = only_item(
        s,
        ItemFilter {
            target: Some(org("c")),
            ..ItemFilter::default()
        },
    )
    .await;
    assert_eq!(it.state, ItemState::Queued);
    assert_eq!(it.attempts, 0);
    assert_eq!(field(&it, "Name").as_deref(), Some("Fixed"));
}

fn shadow(v: &str, t: i64) -> ShadowValue {
    ShadowValue {
        value: FieldValue::Text(v.to_string()),
        at: at(t),
    }
}

/// Id map and shadow: written, merged per field by time, read singly and in batches.
pub async fn shadow_and_id_map_round_trip<S: Store>(s: &S) {
    let mut w = RecordWrite::new(org("b"), "Account", gid(1));
    w.local_id = Some("001B00000000001AAA".into());
    w.fingerprint = Some([7; 32]);
    w.shadow.insert("name".into(), shadow("Acme", 10));
    w.shadow.insert("phone".into(), shadow("1", 10));
    w.modstamp = Some(at(10));
    s.write_records(vec![w], at(11)).await.unwrap();
    // an older fact about name loses; a newer one about phone wins; modstamp never goes back
    let mut w2 = RecordWrite::new(org("b"), "Account", gid(1));
    w2.shadow.insert("name".into(), shadow("Old", 5));
    w2.shadow.insert("phone".into(), shadow("2", 12));
    w2.modstamp = Some(at(3));
    w2.deleted = Some(true);
    s.write_records(vec![w2], at(12)).await.unwrap();
    let r = s
        .record(&org("b"), "Account", &gid(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        r.local_id.as_deref(),
        Some("001B00000000001AAA"),
        "None leaves the local id"
    );
    assert_eq!(r.fingerprint, Some([7; 32]));
    assert_eq!(r.shadow["name"], shadow("Acme", 10));
    assert_eq!(r.shadow["phone"], shadow("2", 12));
    assert_eq!(r.last_modstamp, Some(at(10)));
    assert!(r.deleted);
    assert_eq!(r.updated_at, at(12));
    let by_local = s
        .record_by_local_id(&org("b"), "Account", "001B00000000001AAA")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_local, r);
    assert!(
        s.record(&org("c"), "Account", &gid(1))
            .await
            .unwrap()
            .is_none(),
        "per org"
    );
    assert!(
        s.record(&org("b"), "Contact", &gid(1))
            .await
            .unwrap()
            .is_none(),
        "per object"
    );
    // batch reads across the IN-list chunk size
    let writes: Vec<RecordWrite> = (0..700)
        .map(|n| {
            let mut w = RecordWrite::new(org("c"), "Account", gid(n));
            w.local_id = Some(format!("001C{n:011}AAA"));
            w
        })
        .collect();
    s.write_records(writes, at(20)).await.unwrap();
    let wanted: Vec<_> = (0..700).step_by(2).map(gid).chain([gid(9999)]).collect();
    let got = s.records(&org("c"), "Account", &wanted).await.unwrap();
    assert_eq!(got.len(), 350);
    let locals: Vec<String> = (0..700)
        .filter(|n| n % 3 == 0)
        .map(|n| format!("001C{n:011}AAA"))
        .collect();
    let got = s
        .records_by_local_ids(&org("c"), "Account", &locals)
        .await
        .unwrap();
    assert_eq!(got.len(), locals.len());
    assert!(
        got.iter()
            .all(|r| r.local_id.as_ref().is_some_and(|l| locals.contains(l)))
    );
}

/// Agreed versions merge per field by commit time.
pub async fn agreed_versions_merge<S: Store>(s: &S) {
    use orgsync_core::merge::Versioned;
    let v = |val: &str, t: i64, o: &str| Versioned {
        value: FieldValue::Text(val.into()),
        ts: at(t),
        org: org(o),
    };
    let write = |fields: Vec<(&str, Versioned)>| AgreedWrite {
        object: "Account".into(),
        global_id: gid(1),
        fields: fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    };
    let b1 = CaptureBatch {
        agreed: vec![write(vec![
            ("name", v("A", 10, "a")),
            ("site", v("S", 10, "a")),
        ])],
        ..CaptureBatch::default()
    };
    s.commit_capture(b1, at(11)).await.unwrap();
    let b2 = CaptureBatch {
        agreed: vec![write(vec![
            ("name", v("B", 5, "b")),
            ("site", v("T", 12, "b")),
        ])],
        ..CaptureBatch::default()
    };
    s.commit_capture(b2, at(13)).await.unwrap();
    let rows = s.agreed("Account", &[gid(1), gid(2)]).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].fields["name"], v("A", 10, "a"));
    assert_eq!(rows[0].fields["site"], v("T", 12, "b"));
}

/// Audit rows come back in append order, page by page, including those written by captures
/// and completions.
pub async fn audit_in_append_order<S: Store>(s: &S) {
    let mut first = NewAudit::new(at(1), "capture");
    first.detail = serde_json::json!({ "n": 1 });
    let b = CaptureBatch {
        items: vec![upsert("b", 1, &[("Name", "x")], at(1))],
        audit: vec![first],
        ..CaptureBatch::default()
    };
    s.commit_capture(b, at(1)).await.unwrap();
    let mut events = Vec::new();
    for n in 2..=6 {
        let mut e = NewAudit::new(at(n), format!("note.{n}"));
        e.org = Some(org("a"));
        e.object = Some("Account".into());
        e.global_id = Some(gid(n as u32));
        events.push(e);
    }
    s.append_audit(events).await.unwrap();
    let it = s
        .claim_due(&org("b"), at(7), 10, "w", ttl())
        .await
        .unwrap()
        .remove(0);
    let mut c = done(
        &it,
        "w",
        Outcome::Failed {
            error: validation_error(),
        },
    );
    c.detail = serde_json::json!({ "batch": 3 });
    s.complete(vec![c], at(8)).await.unwrap();
    let p1 = s.audit(Page::first(4)).await.unwrap();
    let p2 = s
        .audit(Page {
            after: p1.last().unwrap().id,
            limit: 4,
        })
        .await
        .unwrap();
    let kinds: Vec<String> = p1.iter().chain(&p2).map(|a| a.event.kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            "capture",
            "note.2",
            "note.3",
            "note.4",
            "note.5",
            "note.6",
            "item.failed"
        ]
    );
    assert!(
        p1.iter()
            .chain(&p2)
            .zip(p1.iter().chain(&p2).skip(1))
            .all(|(a, b)| a.id < b.id)
    );
    assert_eq!(p1[0].event.detail, serde_json::json!({ "n": 1 }));
    assert_eq!(p1[1].event.global_id, Some(gid(2)));
    let last = p2.last().unwrap();
    assert_eq!(last.event.item_id, Some(it.id));
    assert_eq!(last.event.org, Some(org("b")));
    assert_eq!(
        last.event.detail["detail"],
        serde_json::json!({ "batch": 3 })
    );
    assert_eq!(
        last.event.detail["error"]["code"],
        "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    );
}

/// Orgs, syncs and conflicts round-trip; the failure counter is atomic per call.
pub async fn orgs_syncs_conflicts<S: Store>(s: &S) {
    assert_eq!(s.note_org_call(&org("b"), false).await.unwrap(), 1);
    let b = org("b");
    let counts = futures::future::join_all((0..5).map(|_| s.note_org_call(&b, false))).await;
    assert!(counts.iter().all(|c| c.is_ok()));
    assert_eq!(
        s.org(&org("b"))
            .await
            .unwrap()
            .unwrap()
            .consecutive_failures,
        6
    );
    assert_eq!(s.note_org_call(&org("b"), true).await.unwrap(), 0);
    let mut row = OrgRow::new(org("a"));
    row.org_id = Some("00D000000000001".parse().unwrap());
    row.circuit = CircuitState::Open;
    row.circuit_until = Some(at(3600));
    row.budget_used = Some(12_000);
    row.budget_max = Some(15_000);
    row.budget_observed_at = Some(at(5));
    s.put_org(&row).await.unwrap();
    assert_eq!(s.org(&org("a")).await.unwrap(), Some(row.clone()));
    assert_eq!(
        s.orgs()
            .await
            .unwrap()
            .iter()
            .map(|o| o.name.0.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    let sync = SyncRow {
        org: org("a"),
        object: "Account".into(),
        capture: "poll".into(),
        interval_secs: 60,
        enabled: true,
        status: SyncStatus::CircuitOpen,
        last_sync_at: Some(at(9)),
        error_count: 2,
        last_error: Some("timeout".into()),
    };
    s.put_sync(&sync).await.unwrap();
    let mut paused = sync.clone();
    paused.object = "Contact".into();
    paused.status = SyncStatus::Paused;
    paused.enabled = false;
    s.put_sync(&paused).await.unwrap();
    assert_eq!(
        s.sync(&org("a"), "Account").await.unwrap(),
        Some(sync.clone())
    );
    assert_eq!(s.syncs().await.unwrap(), vec![sync, paused]);
    use orgsync_core::merge::Versioned;
    let conflict = |n: u32, field: &str| NewConflict {
        object: "Account".into(),
        global_id: gid(n),
        field: field.into(),
        incoming: Versioned {
            value: FieldValue::Int(5),
            ts: at(10),
            org: org("b"),
        },
        current: Versioned {
            value: FieldValue::Null,
            ts: at(9),
            org: org("a"),
        },
        winner: Some(org("b")),
        reason: "newer_wins".into(),
        at: at(11),
    };
    s.add_conflicts(vec![conflict(1, "phone"), conflict(2, "name")])
        .await
        .unwrap();
    let b = CaptureBatch {
        conflicts: vec![conflict(1, "site")],
        ..CaptureBatch::default()
    };
    s.commit_capture(b, at(12)).await.unwrap();
    let all = s.conflicts(None, Page::first(10)).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].conflict, conflict(1, "phone"));
    let one = s.conflicts(Some(&gid(1)), Page::first(10)).await.unwrap();
    assert_eq!(
        one.iter()
            .map(|c| c.conflict.field.as_str())
            .collect::<Vec<_>>(),
        ["phone", "site"]
    );
}

/// Listings filter and page; counts group by target and state; prune forgets old rows.
pub async fn listing_counts_prune<S: Store>(s: &S) {
    let items: Vec<NewItem> = (0..10)
        .map(|n| {
            upsert(if n < 7 { "b" } else { "c" }, n, &[("Name", "x")], at(0))
                .with_txn(format!("t{n}"))
        })
        .collect();
    s.commit_capture(batch(items), at(0)).await.unwrap();
    let claimed = s.claim_due(&org("b"), at(1), 3, "w", ttl()).await.unwrap();
    assert_eq!(claimed.len(), 3);
    let outs = claimed
        .iter()
        .map(|it| done(it, "w", synced("b", 0, "001B00000000000AAA")))
        .collect();
    s.complete(outs, at(2)).await.unwrap();
    let counts = s.counts().await.unwrap();
    assert_eq!(counts.get(&(org("b"), ItemState::Synced)), Some(&3));
    assert_eq!(counts.get(&(org("b"), ItemState::Queued)), Some(&4));
    assert_eq!(counts.get(&(org("c"), ItemState::Queued)), Some(&3));
    let page1 = s
        .items(
            &ItemFilter {
                target: Some(org("b")),
                ..ItemFilter::default()
            },
            Page::first(5),
        )
        .await
        .unwrap();
    let page2 = s
        .items(
            &ItemFilter {
                target: Some(org("b")),
                ..ItemFilter::default()
            },
            Page {
                after: page1[4].id.0,
                limit: 5,
            },
        )
        .await
        .unwrap();
    assert_eq!((page1.len(), page2.len()), (5, 2));
    let by_gid = ItemFilter {
        global_id: Some(gid(8)),
        object: Some("Account".into()),
        ..ItemFilter::default()
    };
    assert_eq!(only_item(s, by_gid).await.work.target, org("c"));
    let pruned = s.prune(at(1), at(3)).await.unwrap();
    assert_eq!(pruned, PruneReport { txns: 10, items: 3 });
    assert!(
        s.processed_txns(&org("b"), &["t1".into()])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.counts()
            .await
            .unwrap()
            .get(&(org("b"), ItemState::Synced)),
        None
    );
}

/// Follow-ups given with a completion are enqueued in the same transaction.
pub async fn completion_follow_ups<S: Store>(s: &S) {
    s.commit_capture(batch(vec![upsert("b", 1, &[("Name", "x")], at(0))]), at(0))
        .await
        .unwrap();
    let it = s
        .claim_due(&org("b"), at(1), 10, "w", ttl())
        .await
        .unwrap()
        .remove(0);
    let mut c = done(&it, "w", synced("b", 1, "001B00000000001AAA"));
    c.follow_ups
        .push(upsert("a", 1, &[("Name", "winner")], at(0)));
    s.complete(vec![c], at(2)).await.unwrap();
    let back = only_item(
        s,
        ItemFilter {
            target: Some(org("a")),
            ..ItemFilter::default()
        },
    )
    .await;
    assert_eq!(field(&back, "Name").as_deref(), Some("winner"));
    let rec = s
        .record(&org("b"), "Account", &gid(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.local_id.as_deref(), Some("001B00000000001AAA"));
}

/// Two replicas (separate pools on one database) capture the same records at once and claim
/// concurrently: every key ends with one waiting item holding both changes, and no item is
/// claimed twice.
pub async fn two_replicas_share_work<S: Store>(a: &S, b: &S) {
    let from = |store: &'static str, ts: i64| {
        (0..40)
            .map(|n| upsert("b", n, &[(store, "set")], at(ts)))
            .collect::<Vec<_>>()
    };
    let (ra, rb) = futures::join!(
        a.commit_capture(batch(from("FieldA", 1)), at(1)),
        b.commit_capture(batch(from("FieldB", 2)), at(2)),
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(
        ra.inserted.len() + rb.inserted.len(),
        40,
        "one item per key"
    );
    assert_eq!(
        ra.merged.len() + rb.merged.len(),
        40,
        "the other change merged"
    );
    let all = a
        .items(&ItemFilter::default(), Page::first(100))
        .await
        .unwrap();
    assert_eq!(all.len(), 40);
    assert!(
        all.iter()
            .all(|i| field(i, "FieldA").is_some() && field(i, "FieldB").is_some())
    );
    let (ga, gb, ga2, gb2) = futures::join!(
        drain(a, "ra1"),
        drain(b, "rb1"),
        drain(a, "ra2"),
        drain(b, "rb2")
    );
    let mut seen = HashSet::new();
    for id in ga.iter().chain(&gb).chain(&ga2).chain(&gb2) {
        assert!(seen.insert(*id), "item {id} claimed twice");
    }
    assert_eq!(seen.len(), 40);
}

/// Claim batches of 3 for target b until none is left.
async fn drain<S: Store>(s: &S, owner: &str) -> Vec<ItemId> {
    let mut got = Vec::new();
    loop {
        let batch = s
            .claim_due(&org("b"), at(5), 3, owner, ttl())
            .await
            .unwrap();
        if batch.is_empty() {
            return got;
        }
        got.extend(batch.into_iter().map(|i| i.id));
    }
}
