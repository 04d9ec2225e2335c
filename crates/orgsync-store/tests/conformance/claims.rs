//! Claims and leases: a lease keeps an item from other workers until it runs out; concurrent
//! claimers, in one process or in two replicas, never share an item.

use std::collections::HashSet;

use chrono::TimeDelta;
use orgsync_store::*;

use crate::support::*;

/// A worker that dies loses its items when the lease runs out; its late completion is ignored.
pub async fn lease_expiry_reclaim<S: Store>(s: &S) {
    capture(s, vec![upsert("b", 1, &[("Name", "x")], at(0))], at(0)).await;
    let mine = s
        .claim_due(&org("b"), at(1), 10, "w1", TimeDelta::seconds(30))
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].lease.as_ref().map(|l| l.until), Some(at(31)));
    assert!(
        claim(s, "b", at(20), "w2").await.is_empty(),
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
        claim(s, "b", at(35), "w2").await.is_empty(),
        "extended lease held"
    );
    let theirs = claim(s, "b", at(41), "w2").await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].id, mine[0].id);
    assert_eq!(
        theirs[0].attempts, 0,
        "a claim lost to a crash is no failed attempt"
    );
    assert_eq!(
        theirs[0].lease.as_ref().map(|l| l.owner.as_str()),
        Some("w2")
    );
    let late = complete_one(
        s,
        &mine[0],
        "w1",
        Outcome::Failed {
            error: validation_error(),
        },
        at(42),
    )
    .await;
    assert_eq!(late.lost_lease, vec![mine[0].id]);
    assert!(late.applied.is_empty());
    assert_eq!(
        s.item(mine[0].id).await.unwrap().unwrap().state,
        ItemState::InFlight
    );
    let ok = complete_one(
        s,
        &theirs[0],
        "w2",
        synced("b", 1, "001B00000000001AAA"),
        at(43),
    )
    .await;
    assert_eq!(ok.applied, vec![mine[0].id]);
    // completing twice is a lost lease, not a second write
    let again = complete_one(
        s,
        &theirs[0],
        "w2",
        synced("b", 1, "001B00000000001AAA"),
        at(44),
    )
    .await;
    assert_eq!(again.lost_lease.len(), 1);
}

/// Concurrent claimers never receive the same item, and together they receive all of them.
pub async fn concurrent_claimers_never_share<S: Store>(s: &S) {
    let items: Vec<NewItem> = (0..120)
        .map(|n| upsert("b", n, &[("Name", "x")], at(0)))
        .collect();
    capture(s, items, at(0)).await;
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

/// A claim that takes over an item whose previous claim ended without a completion says so
/// (its last write may have landed unrecorded); an ordinary claim does not.
pub async fn a_reclaim_is_flagged<S: Store>(s: &S) {
    capture(s, vec![upsert("b", 1, &[("Name", "v1")], at(1))], at(1)).await;
    let first = claim(s, "b", at(2), "w1").await.remove(0);
    assert!(!first.reclaimed);
    // w1 dies; the lease runs out and w2 takes the item over
    let again = claim(s, "b", at(2) + ttl() + chrono::TimeDelta::seconds(1), "w2")
        .await
        .remove(0);
    assert_eq!(again.id, first.id);
    assert!(again.reclaimed);
    let deferred = Outcome::Deferred {
        at: at(100),
        note: None,
    };
    complete_one(s, &again, "w2", deferred, at(99)).await;
    let next = claim(s, "b", at(101), "w3").await.remove(0);
    assert!(!next.reclaimed, "completed: the next claim is ordinary");
}
