//! What operators read and tidy: orgs, syncs, conflicts, the audit trail, item listings and
//! counts, and pruning.

use orgsync_core::FieldValue;
use orgsync_store::*;

use crate::support::*;

/// Audit rows come back in append order, page by page, including those written by captures
/// (one per captured item, before the batch's own) and completions.
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
    let it = claim(s, "b", at(7), "w").await.remove(0);
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
            "item.captured",
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
    assert_eq!(p1[0].event.org, Some(org("a")), "captured from a");
    assert_eq!(p1[0].event.detail["target"], "b");
    assert_eq!(p1[1].event.detail, serde_json::json!({ "n": 1 }));
    assert_eq!(p1[2].event.global_id, Some(gid(2)));
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
    capture(s, items, at(0)).await;
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
    let page1 = s.items(&for_target("b"), Page::first(5)).await.unwrap();
    let page2 = s
        .items(
            &for_target("b"),
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
