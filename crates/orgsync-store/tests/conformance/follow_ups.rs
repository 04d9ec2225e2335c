//! Follow-ups: a change to an in-flight record waits behind it, a retried item folds into
//! its follow-up, and follow-ups given with a completion are enqueued with it.

use orgsync_store::*;

use crate::support::*;

/// A change to an in-flight record becomes a follow-up, claimed only after the in-flight item
/// completes; further changes merge into the follow-up.
pub async fn follow_up_for_in_flight<S: Store>(s: &S) {
    capture(s, vec![upsert("b", 1, &[("Name", "v1")], at(1))], at(1)).await;
    let claimed = claim(s, "b", at(2), "w1").await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].state, ItemState::InFlight);
    assert_eq!(claimed[0].attempts, 0);
    let r = capture(s, vec![upsert("b", 1, &[("Name", "v2")], at(3))], at(3)).await;
    assert_eq!(r.inserted.len(), 1, "follow-up is a new item");
    assert_ne!(r.inserted[0], claimed[0].id);
    let r2 = capture(s, vec![upsert("b", 1, &[("Phone", "9")], at(4))], at(4)).await;
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
        claim(s, "b", at(50), "w2").await.is_empty(),
        "follow-up waits"
    );
    let rep = complete_one(
        s,
        &claimed[0],
        "w1",
        synced("b", 1, "001B00000000001AAA"),
        at(5),
    )
    .await;
    assert_eq!(rep.applied, vec![claimed[0].id]);
    assert_eq!(
        s.next_due(&org("b")).await.unwrap(),
        Some(at(3)),
        "the follow-up is due"
    );
    let next = claim(s, "b", at(6), "w2").await;
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
    capture(
        s,
        vec![upsert("b", 1, &[("Name", "v1"), ("Site", "S1")], at(1))],
        at(1),
    )
    .await;
    let first = claim(s, "b", at(2), "w1").await.remove(0);
    let follow = capture(s, vec![upsert("b", 1, &[("Name", "v2")], at(3))], at(3))
        .await
        .inserted[0];
    let rep = complete_one(
        s,
        &first,
        "w1",
        Outcome::RetryAt {
            at: at(30),
            error: lock_error(),
        },
        at(4),
    )
    .await;
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
    assert!(claim(s, "b", at(29), "w1").await.is_empty());
    assert_eq!(claim(s, "b", at(30), "w1").await.len(), 1);
}

/// Follow-ups given with a completion are enqueued in the same transaction.
pub async fn completion_follow_ups<S: Store>(s: &S) {
    capture(s, vec![upsert("b", 1, &[("Name", "x")], at(0))], at(0)).await;
    let it = claim(s, "b", at(1), "w").await.remove(0);
    let mut c = done(&it, "w", synced("b", 1, "001B00000000001AAA"));
    c.follow_ups
        .push(upsert("a", 1, &[("Name", "winner")], at(0)));
    s.complete(vec![c], at(2)).await.unwrap();
    let back = only_item(s, for_target("a")).await;
    assert_eq!(field(&back, "Name").as_deref(), Some("winner"));
    let rec = s
        .record(&org("b"), "Account", &gid(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.local_id.as_deref(), Some("001B00000000001AAA"));
}
