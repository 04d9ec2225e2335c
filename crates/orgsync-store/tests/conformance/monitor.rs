//! What the Sync Monitor reads and writes: one record's timeline (captures, merges, echoes
//! dropped by transaction id, outcomes), newest-first listings, a record's rows across orgs,
//! the settings overlay and the cascade that removes a sync.

use orgsync_core::FieldValue;
use orgsync_core::merge::Versioned;
use orgsync_store::*;

use crate::support::*;

fn kinds(rows: &[AuditRow]) -> Vec<&str> {
    rows.iter().map(|a| a.event.kind.as_str()).collect()
}

/// Captures, merges, transaction-id echoes and outcomes of one record, newest first.
pub async fn timeline_of_one_record<S: Store>(s: &S) {
    capture(
        s,
        vec![upsert("b", 1, &[("Name", "x")], at(1)).with_txn("t1")],
        at(1),
    )
    .await;
    capture(s, vec![upsert("b", 2, &[("Name", "other")], at(1))], at(1)).await;
    capture(
        s,
        vec![upsert("b", 1, &[("Phone", "5")], at(2)).with_txn("t2")],
        at(2),
    )
    .await;
    // the same transaction delivered again: dropped by the transaction-id layer
    capture(
        s,
        vec![upsert("b", 1, &[("Phone", "5")], at(2)).with_txn("t2")],
        at(3),
    )
    .await;
    let it = claim(s, "b", at(4), "w")
        .await
        .into_iter()
        .find(|i| i.work.global_id == gid(1))
        .unwrap();
    complete_one(s, &it, "w", synced("b", 1, "001B00000000001AAA"), at(5)).await;
    let f = AuditFilter {
        global_id: Some(gid(1)),
        limit: 10,
        ..AuditFilter::default()
    };
    let rows = s.audit_recent(&f).await.unwrap();
    assert_eq!(
        kinds(&rows),
        [
            "item.synced",
            "echo.dropped",
            "item.merged",
            "item.captured"
        ]
    );
    assert_eq!(rows[1].event.detail["layer"], "txn");
    assert_eq!(rows[2].event.detail["fields"], serde_json::json!(["Phone"]));
    assert_eq!(rows[3].event.org, Some(org("a")));
    assert_eq!(
        rows[3].event.detail["source_record_id"],
        "001000000000001AAA"
    );
    // paging backwards
    let older = s
        .audit_recent(&AuditFilter {
            before: Some(rows[1].id),
            ..f.clone()
        })
        .await
        .unwrap();
    assert_eq!(kinds(&older), ["item.merged", "item.captured"]);
}

/// The activity log (a kind prefix) and conflicts, newest first.
pub async fn newest_first_listings<S: Store>(s: &S) {
    let mut events = Vec::new();
    for (n, kind) in [
        "admin.retry",
        "item.synced",
        "admin.dismiss",
        "adminx",
        "admin.sync.pause",
    ]
    .iter()
    .enumerate()
    {
        let mut e = NewAudit::new(at(n as i64), *kind);
        e.detail = serde_json::json!({ "who": "dashboard:ann" });
        events.push(e);
    }
    s.append_audit(events).await.unwrap();
    let admin = s
        .audit_recent(&AuditFilter {
            kind_prefix: Some("admin.".into()),
            limit: 2,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(kinds(&admin), ["admin.sync.pause", "admin.dismiss"]);
    let rest = s
        .audit_recent(&AuditFilter {
            kind_prefix: Some("admin.".into()),
            before: Some(admin[1].id),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(kinds(&rest), ["admin.retry"]);
    let conflict = |field: &str| NewConflict {
        object: "Account".into(),
        global_id: gid(1),
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
    s.add_conflicts(vec![conflict("phone"), conflict("name"), conflict("site")])
        .await
        .unwrap();
    let page = s.conflicts_recent(None, 2).await.unwrap();
    let fields: Vec<&str> = page.iter().map(|c| c.conflict.field.as_str()).collect();
    assert_eq!(fields, ["site", "name"]);
    let next = s.conflicts_recent(Some(page[1].id), 2).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].conflict, conflict("phone"));
}

/// A record's rows in every org, found by global id or by a local id from any org.
pub async fn records_across_orgs<S: Store>(s: &S) {
    let mut writes = Vec::new();
    for (o, object, local) in [
        ("a", "Account", "001A00000000001AAA"),
        ("b", "Account", "001B00000000001AAA"),
        ("c", "Customer__c", "a00C00000000001AAA"),
    ] {
        let mut w = RecordWrite::new(org(o), object, gid(1));
        w.local_id = Some(local.into());
        writes.push(w);
    }
    let mut other = RecordWrite::new(org("a"), "Account", gid(2));
    other.local_id = Some("001A00000000002AAA".into());
    writes.push(other);
    s.write_records(writes, at(1)).await.unwrap();
    let rows = s.records_of(&gid(1)).await.unwrap();
    let orgs: Vec<&str> = rows.iter().map(|r| r.org.as_str()).collect();
    assert_eq!(orgs, ["a", "b", "c"]);
    assert_eq!(rows[2].object, "Customer__c");
    let found = s.records_with_local_id("a00C00000000001AAA").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].global_id, gid(1));
    assert!(s.records_with_local_id("nope").await.unwrap().is_empty());
}

/// Overrides round-trip with their audit; removing a sync deletes its ledger state (not the
/// audit, not other objects) and marks the override removed.
pub async fn overlay_round_trip_and_remove<S: Store>(s: &S) {
    assert!(s.sync_overrides().await.unwrap().is_empty());
    let mut o = SyncOverride::new("Account", at(1), "dashboard:ann");
    o.enabled = Some(false);
    o.interval_secs = Some(300);
    o.capture = Some("poll".into());
    let mut audit = NewAudit::new(at(1), "admin.sync.set");
    audit.detail = serde_json::json!({ "who": "dashboard:ann" });
    s.put_sync_override(&o, audit.clone()).await.unwrap();
    assert_eq!(s.sync_overrides().await.unwrap(), vec![o.clone()]);
    let mut again = o.clone();
    again.enabled = None;
    s.put_sync_override(&again, audit.clone()).await.unwrap();
    assert_eq!(s.sync_overrides().await.unwrap(), vec![again]);

    // the ledger state of Account in a and b, and a Contact that must stay
    let mut items = vec![
        upsert("b", 1, &[("Name", "x")], at(2)),
        upsert("a", 2, &[("Name", "y")], at(2)),
    ];
    items.push(child("b", 3, 1, at(2)));
    capture(s, items, at(2)).await;
    let mut w = RecordWrite::new(org("a"), "Account", gid(1));
    w.local_id = Some("001A00000000001AAA".into());
    s.write_records(vec![w], at(2)).await.unwrap();
    s.set_checkpoint(
        CheckpointWrite {
            org: org("a"),
            object: "Account".into(),
            source: SourceKind::Poll,
            watermark_ts: Some(at(2)),
            watermark_id: None,
            replay_id: None,
        },
        at(2),
    )
    .await
    .unwrap();
    let sides = vec![
        (org("a"), "Account".to_string()),
        (org("b"), "Account".to_string()),
    ];
    let mut audit = NewAudit::new(at(3), "admin.sync.remove");
    audit.detail = serde_json::json!({ "who": "cli:root" });
    let report = s
        .remove_sync("Account", &sides, audit, at(3))
        .await
        .unwrap();
    assert_eq!(
        report,
        RemoveReport {
            checkpoints: 1,
            items: 2,
            records: 1,
            agreed: 0
        }
    );
    let left = s
        .items(&ItemFilter::default(), Page::first(10))
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].work.object, "Contact");
    assert!(s.records_of(&gid(1)).await.unwrap().is_empty());
    let removed = s.sync_overrides().await.unwrap().remove(0);
    assert!(removed.removed);
    assert_eq!(removed.updated_by, "cli:root");
    let last = s
        .audit_recent(&AuditFilter {
            kind_prefix: Some("admin.".into()),
            limit: 1,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(last[0].event.detail["removed"]["items"], 2);
    assert!(s.delete_sync_override("Account").await.unwrap());
    assert!(!s.delete_sync_override("Account").await.unwrap());
}

/// Problem groups are counted by the database and their items paged newest first.
pub async fn problems_counted_and_paged<S: Store>(s: &S) {
    let items: Vec<NewItem> = (1..=5)
        .map(|n| upsert("b", n, &[("Name", "x")], at(1)))
        .collect();
    capture(s, items, at(1)).await;
    let claimed = claim(s, "b", at(2), "w").await;
    let mut done_list = Vec::new();
    for (i, it) in claimed.iter().enumerate() {
        let outcome = match i {
            0..=2 => Outcome::Failed {
                error: validation_error(),
            },
            3 => Outcome::Failed {
                error: ItemError {
                    code: "INVALID_FIELD".into(),
                    message: "No such column".into(),
                    kind: "permanent".into(),
                },
            },
            _ => Outcome::Pending {
                parent: gid(99),
                error: None,
            },
        };
        done_list.push(done(it, "w", outcome));
    }
    s.complete(done_list, at(3)).await.unwrap();
    s.dismiss_failed(&[claimed[0].id], at(4)).await.unwrap();
    let mut counts = s.problem_counts().await.unwrap();
    counts.sort_by_key(|c| (c.state.as_str(), c.code.clone(), c.dismissed));
    let seen: Vec<(&str, Option<&str>, bool, u64)> = counts
        .iter()
        .map(|c| (c.state.as_str(), c.code.as_deref(), c.dismissed, c.count))
        .collect();
    assert_eq!(
        seen,
        [
            (
                "failed",
                Some("FIELD_CUSTOM_VALIDATION_EXCEPTION"),
                false,
                2
            ),
            ("failed", Some("FIELD_CUSTOM_VALIDATION_EXCEPTION"), true, 1),
            ("failed", Some("INVALID_FIELD"), false, 1),
            ("pending", None, false, 1),
        ]
    );
    assert_eq!(counts[0].first_created, at(1));
    let q = ProblemQuery {
        state: Some(ItemState::Failed),
        code: Some("FIELD_CUSTOM_VALIDATION_EXCEPTION".into()),
        include_dismissed: false,
        before: None,
        limit: 1,
    };
    let p1 = s.problem_items(&q).await.unwrap();
    let p2 = s
        .problem_items(&ProblemQuery {
            before: Some(p1[0].id.0),
            ..q.clone()
        })
        .await
        .unwrap();
    let p3 = s
        .problem_items(&ProblemQuery {
            before: Some(p2[0].id.0),
            ..q.clone()
        })
        .await
        .unwrap();
    assert!(p1[0].id > p2[0].id, "newest first");
    assert!(p3.is_empty(), "the dismissed one is left out");
    let with_dismissed = ProblemQuery {
        include_dismissed: true,
        limit: 10,
        ..q
    };
    assert_eq!(s.problem_items(&with_dismissed).await.unwrap().len(), 3);
    let waiting = ProblemQuery {
        state: None,
        code: None,
        include_dismissed: false,
        before: None,
        limit: 10,
    };
    let parked = s.problem_items(&waiting).await.unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].state, ItemState::Pending);
}

/// The charts' data: audit events counted per time bucket, and synced items' latencies.
pub async fn chart_data<S: Store>(s: &S) {
    capture(s, vec![upsert("b", 1, &[("Name", "x")], at(0))], at(0)).await;
    capture(s, vec![upsert("b", 2, &[("Name", "x")], at(0))], at(61)).await;
    capture(s, vec![upsert("b", 1, &[("Name", "y")], at(0))], at(62)).await;
    let claimed = claim(s, "b", at(70), "w").await;
    let outs = claimed
        .iter()
        .map(|it| done(it, "w", synced("b", 0, "001B00000000000AAA")))
        .collect();
    s.complete(outs, at(90)).await.unwrap();
    let counts = s
        .audit_counts(&["item.captured", "item.merged", "item.synced"], at(0), 60)
        .await
        .unwrap();
    let bucket0 =
        chrono::DateTime::from_timestamp_millis((at(0).timestamp_millis() / 60_000) * 60_000)
            .unwrap();
    assert!(
        counts
            .iter()
            .all(|(_, b, _)| b.timestamp_millis() % 60_000 == 0),
        "{counts:?}"
    );
    let total = |kind: &str| -> u64 { counts.iter().filter(|c| c.0 == kind).map(|c| c.2).sum() };
    assert_eq!(
        (
            total("item.captured"),
            total("item.merged"),
            total("item.synced")
        ),
        (2, 1, 2)
    );
    assert!(
        counts
            .iter()
            .any(|c| c.0 == "item.captured" && c.1 == bucket0)
    );
    let later = s
        .audit_counts(&["item.captured"], at(61), 60)
        .await
        .unwrap();
    assert_eq!(
        later.iter().map(|c| c.2).sum::<u64>(),
        1,
        "since is honoured"
    );
    // echoes dropped, counted per layer: the transaction-id layer's own row (a transaction
    // delivered again) and the capture's origin and shadow rows
    capture(
        s,
        vec![upsert("b", 3, &[("Name", "z")], at(0)).with_txn("tx")],
        at(91),
    )
    .await;
    capture(
        s,
        vec![upsert("b", 3, &[("Name", "z")], at(0)).with_txn("tx")],
        at(92),
    )
    .await;
    let mut echoes = CaptureBatch::default();
    for layer in ["origin", "shadow", "shadow"] {
        let mut a = NewAudit::new(at(93), "echo.dropped");
        a.detail = serde_json::json!({ "layer": layer, "via": "poll" });
        echoes.audit.push(a);
    }
    s.commit_capture(echoes, at(93)).await.unwrap();
    let by_layer = s.audit_counts(&["echo.dropped"], at(91), 60).await.unwrap();
    let layer = |k: &str| -> u64 { by_layer.iter().filter(|c| c.0 == k).map(|c| c.2).sum() };
    assert_eq!(
        (
            layer("echo.dropped:txn"),
            layer("echo.dropped:origin"),
            layer("echo.dropped:shadow"),
            layer("echo.dropped")
        ),
        (1, 1, 2, 0),
        "{by_layer:?}"
    );
    let lat = s.synced_latencies(at(0), 10).await.unwrap();
    assert_eq!(lat.len(), 2);
    assert!(lat.iter().all(|(t, _)| *t == at(90)));
    let mut ms: Vec<i64> = lat.iter().map(|l| l.1).collect();
    ms.sort();
    assert_eq!(ms, [29_000, 90_000], "from first capture to the write");
}
