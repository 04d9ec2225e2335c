//! Completion outcomes that do not sync: Pending children wait for their parent, Failed items
//! wait for a manual retry or a new change.

use orgsync_store::*;

use crate::support::*;

/// A child whose parent has not landed waits as Pending and is queued when the parent lands.
pub async fn pending_wakes_when_parent_lands<S: Store>(s: &S) {
    capture(s, vec![child("b", 100, 1, at(0))], at(0)).await;
    let c = claim(s, "b", at(1), "w1").await.remove(0);
    complete_one(
        s,
        &c,
        "w1",
        Outcome::Pending {
            parent: gid(1),
            error: None,
        },
        at(2),
    )
    .await;
    let parked = s.item(c.id).await.unwrap().unwrap();
    assert_eq!(parked.state, ItemState::Pending);
    assert_eq!(parked.waiting_for, Some(gid(1)));
    assert!(claim(s, "b", at(3), "w1").await.is_empty());
    // the parent lands in another org: the child in b keeps waiting
    capture(s, vec![upsert("c", 1, &[("Name", "P")], at(4))], at(4)).await;
    let p = claim(s, "c", at(5), "w1").await.remove(0);
    let rep = complete_one(s, &p, "w1", synced("c", 1, "001C00000000001AAA"), at(6)).await;
    assert_eq!(rep.woken, 0);
    // the parent lands in b
    capture(s, vec![upsert("b", 1, &[("Name", "P")], at(7))], at(7)).await;
    let p = claim(s, "b", at(8), "w1").await.remove(0);
    assert_eq!(p.work.object, "Account");
    let rep = complete_one(s, &p, "w1", synced("b", 1, "001B00000000001AAA"), at(9)).await;
    assert_eq!(rep.woken, 1);
    let woken = s.item(c.id).await.unwrap().unwrap();
    assert_eq!(woken.state, ItemState::Queued);
    assert_eq!(woken.next_attempt_at, at(9));
    assert_eq!(woken.waiting_for, None);
    // parking when the parent has already landed queues at once
    let again = claim(s, "b", at(10), "w1").await.remove(0);
    complete_one(
        s,
        &again,
        "w1",
        Outcome::Pending {
            parent: gid(1),
            error: None,
        },
        at(11),
    )
    .await;
    assert_eq!(
        s.item(c.id).await.unwrap().unwrap().state,
        ItemState::Queued
    );
    // and the explicit release
    capture(s, vec![child("b", 101, 2, at(12))], at(12)).await;
    for it in claim(s, "b", at(13), "w1").await {
        let parent = it.work.parents[0].global_id.clone();
        complete_one(
            s,
            &it,
            "w1",
            Outcome::Pending {
                parent,
                error: None,
            },
            at(14),
        )
        .await;
    }
    let pending = in_state(ItemState::Pending);
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
    capture(s, items, at(0)).await;
    for target in ["b", "c"] {
        let claimed = claim(s, target, at(1), "w").await;
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
    let failed = in_state(ItemState::Failed);
    let list = s.items(&failed, Page::first(10)).await.unwrap();
    assert_eq!(list.len(), 3);
    assert!(list.iter().all(|i| {
        i.last_error
            .as_ref()
            .is_some_and(|e| e.message == "Name must not be empty")
    }));
    let only_b = for_target("b");
    assert_eq!(s.retry_failed(&only_b, at(10)).await.unwrap(), 2);
    let due = claim(s, "b", at(10), "w").await;
    assert_eq!(due.len(), 2, "the retryable item is not due before 500 s");
    assert!(due.iter().all(|i| i.attempts == 0), "attempts restart");
    assert_eq!(
        s.items(&failed, Page::first(10)).await.unwrap().len(),
        1,
        "c's item is still failed"
    );
    // a new change to a failed record gives it a fresh try
    capture(
        s,
        vec![upsert("c", 1, &[("Name", "Fixed")], at(20))],
        at(20),
    )
    .await;
    let it = only_item(s, for_target("c")).await;
    assert_eq!(it.state, ItemState::Queued);
    assert_eq!(it.attempts, 0);
    assert_eq!(field(&it, "Name").as_deref(), Some("Fixed"));
}

/// Only failed writes count as attempts: claims, deferrals and parent waits do not.
pub async fn only_failed_writes_count_attempts<S: Store>(s: &S) {
    capture(s, vec![upsert("b", 1, &[("Name", "v1")], at(1))], at(1)).await;
    let error = || ItemError {
        code: "UNABLE_TO_LOCK_ROW".into(),
        message: "unable to obtain exclusive access to this record".into(),
        kind: "retryable".into(),
    };
    let it = claim(s, "b", at(2), "w").await.remove(0);
    assert_eq!(it.attempts, 0);
    let deferred = Outcome::Deferred {
        at: at(3),
        note: None,
    };
    complete_one(s, &it, "w", deferred, at(2)).await;
    let it = claim(s, "b", at(3), "w").await.remove(0);
    assert_eq!(it.attempts, 0, "a deferral is no attempt");
    complete_one(
        s,
        &it,
        "w",
        Outcome::Pending {
            parent: gid(9),
            error: None,
        },
        at(4),
    )
    .await;
    assert_eq!(
        s.release_pending_children(&org("b"), &gid(9), at(5))
            .await
            .unwrap(),
        1
    );
    let it = claim(s, "b", at(5), "w").await.remove(0);
    assert_eq!(it.attempts, 0, "waiting for a parent is no attempt");
    let retry = Outcome::RetryAt {
        at: at(6),
        error: error(),
    };
    complete_one(s, &it, "w", retry, at(5)).await;
    let it = claim(s, "b", at(6), "w").await.remove(0);
    assert_eq!(it.attempts, 1, "a failed write is one");
    // a claim that expires (the worker died) counts nothing either
    let again = claim(s, "b", at(100), "w2").await.remove(0);
    assert_eq!(again.id, it.id);
    assert_eq!(again.attempts, 1);
    let failed = Outcome::Failed { error: error() };
    complete_one(s, &again, "w2", failed, at(101)).await;
    let it = s.item(again.id).await.unwrap().unwrap();
    assert_eq!((it.state, it.attempts), (ItemState::Failed, 2));
}

/// Dismissing keeps a Failed item as history with the time it was dismissed; only Failed
/// items can be dismissed; a retry or a new change to the record clears the mark.
pub async fn dismiss_failed_keeps_history<S: Store>(s: &S) {
    let items = vec![
        upsert("b", 1, &[("Name", "")], at(0)),
        upsert("b", 2, &[("Name", "")], at(0)),
        upsert("b", 3, &[("Name", "fine")], at(0)),
    ];
    capture(s, items, at(0)).await;
    let claimed = claim(s, "b", at(1), "w").await;
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
    let failed = in_state(ItemState::Failed);
    let list = s.items(&failed, Page::first(10)).await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|i| i.dismissed_at.is_none()));
    let queued = s
        .items(&in_state(ItemState::Queued), Page::first(10))
        .await
        .unwrap();
    let ids = [list[0].id, list[1].id, queued[0].id];
    assert_eq!(
        s.dismiss_failed(&ids, at(5)).await.unwrap(),
        2,
        "the queued item is not dismissed"
    );
    assert_eq!(s.dismiss_failed(&ids, at(6)).await.unwrap(), 0, "once only");
    let list = s.items(&failed, Page::first(10)).await.unwrap();
    assert_eq!(list.len(), 2, "dismissed items stay in the ledger, Failed");
    assert!(list.iter().all(|i| i.dismissed_at == Some(at(5))));
    assert!(
        s.item(queued[0].id)
            .await
            .unwrap()
            .unwrap()
            .dismissed_at
            .is_none()
    );
    // a new change to record 1 merges into its failed item: a fresh try, not dismissed
    capture(
        s,
        vec![upsert("b", 1, &[("Name", "Fixed")], at(20))],
        at(20),
    )
    .await;
    let one = s.item(list[0].id).await.unwrap().unwrap();
    assert_eq!(one.state, ItemState::Queued);
    assert!(one.dismissed_at.is_none());
    // a retry clears the mark too
    let two = ItemFilter {
        global_id: Some(list[1].work.global_id.clone()),
        ..for_target("b")
    };
    assert_eq!(s.retry_failed(&two, at(30)).await.unwrap(), 1);
    let two = s.item(list[1].id).await.unwrap().unwrap();
    assert_eq!(two.state, ItemState::Queued);
    assert!(two.dismissed_at.is_none());
}

/// The Failed writes of one target and object nobody dismissed: how many and the newest error
/// (a sync shows Error with it); a dismissed or retried item no longer counts.
pub async fn failed_writes_per_target_and_object<S: Store>(s: &S) {
    let none = s.failed_writes(&org("b"), "Account").await.unwrap();
    assert_eq!(none, (0, None));
    let items = (1..=3)
        .map(|n| upsert("b", n, &[("Name", "x")], at(1)))
        .collect();
    capture(s, items, at(1)).await;
    let claimed = claim(s, "b", at(2), "w").await;
    let failed = |it: &Item, code: &str| {
        let mut error = validation_error();
        error.code = code.into();
        done(it, "w", Outcome::Failed { error })
    };
    let first = vec![failed(&claimed[0], "FIRST"), failed(&claimed[1], "FIRST")];
    s.complete(first, at(3)).await.unwrap();
    s.complete(vec![failed(&claimed[2], "NEWEST")], at(4))
        .await
        .unwrap();
    let (n, error) = s.failed_writes(&org("b"), "Account").await.unwrap();
    assert_eq!(n, 3);
    assert_eq!(error.as_deref(), Some("NEWEST: Name must not be empty"));
    assert_eq!(s.failed_writes(&org("a"), "Account").await.unwrap().0, 0);
    assert_eq!(s.failed_writes(&org("b"), "Contact").await.unwrap().0, 0);
    s.dismiss_failed(&[claimed[2].id], at(5)).await.unwrap();
    let (n, error) = s.failed_writes(&org("b"), "Account").await.unwrap();
    assert_eq!(n, 2);
    assert_eq!(error.as_deref(), Some("FIRST: Name must not be empty"));
    s.retry_failed(&ItemFilter::default(), at(6)).await.unwrap();
    assert_eq!(
        s.failed_writes(&org("b"), "Account").await.unwrap(),
        (0, None)
    );
}
