//! The view models' rules on hand-made rows.

use chrono::{TimeDelta, Utc};
use orgsync_monitor::view::overview::{Dot, build, dot};
use orgsync_store::*;

use crate::support::*;

fn sync(status: SyncStatus, last_secs_ago: Option<i64>) -> SyncRow {
    SyncRow {
        org: org("a"),
        object: "Account".into(),
        capture: "cdc".into(),
        interval_secs: 60,
        enabled: true,
        status,
        last_sync_at: last_secs_ago.map(ago),
        error_count: 0,
        last_error: None,
    }
}

#[test]
fn an_overdue_active_sync_is_late_and_errors_are_red() {
    let now = Utc::now();
    assert_eq!(dot(&sync(SyncStatus::Active, Some(30)), now), Dot::Active);
    assert_eq!(dot(&sync(SyncStatus::Active, None), now), Dot::Active);
    assert_eq!(dot(&sync(SyncStatus::Active, Some(121)), now), Dot::Late);
    assert_eq!(dot(&sync(SyncStatus::Paused, Some(9999)), now), Dot::Paused);
    assert!(dot(&sync(SyncStatus::Error, None), now).red());
    assert!(dot(&sync(SyncStatus::CircuitOpen, None), now).red());
    assert!(!Dot::Late.red());
}

#[test]
fn cards_show_budget_circuit_and_streams() {
    let now = Utc::now();
    let mut o = OrgRow::new(org("a"));
    o.budget_used = Some(200);
    o.budget_max = Some(1000);
    o.circuit = CircuitState::Open;
    o.circuit_until = Some(now + TimeDelta::seconds(90));
    let mut s = sync(SyncStatus::CircuitOpen, Some(10));
    s.last_error = Some("5 failed calls".into());
    s.last_sync_at = Some(now - TimeDelta::seconds(10));
    let cp = Checkpoint {
        org: org("a"),
        object: "Account".into(),
        source: SourceKind::Cdc,
        watermark_ts: None,
        watermark_id: None,
        replay_id: Some(vec![1, 2]),
        updated_at: now - TimeDelta::seconds(4),
    };
    let mut counts = Counts::new();
    counts.insert((org("a"), ItemState::Queued), 3);
    counts.insert((org("a"), ItemState::Failed), 2);
    let v = build(&[o], &[s], &counts, &[cp], now);
    let c = &v.orgs[0];
    assert_eq!(c.budget, "200 / 1000 (20%)");
    assert_eq!(c.budget_pct, 20);
    assert!(c.circuit_open);
    assert_eq!(c.circuit_reason, "5 failed calls");
    assert_eq!(c.retry_at, "in 1 min");
    assert_eq!(c.streams[0].state, "replay id stored, moved 4 s ago");
    assert_eq!((c.waiting, c.failed), (3, 2));
    assert_eq!(c.last_sync, "10 s ago");
    assert_eq!(v.syncs[0].dot, Dot::CircuitOpen);
}

#[test]
fn a_records_timeline_names_layers_outcomes_and_operators_newest_first() {
    use orgsync_monitor::view::record::{Loaded, build};
    let now = Utc::now();
    let event =
        |id: i64, secs: i64, kind: &str, org_name: &str, detail: serde_json::Value| AuditRow {
            id,
            event: NewAudit {
                at: now - TimeDelta::seconds(secs),
                kind: kind.into(),
                org: Some(org(org_name)),
                object: Some("Account".into()),
                global_id: Some(gid(1)),
                item_id: None,
                detail,
            },
        };
    let audit = vec![
        event(
            5,
            1,
            "admin.retry",
            "b",
            serde_json::json!({ "who": "cli:root", "item": 3, "object": "Account", "target": "b", "queued": 1 }),
        ),
        event(
            4,
            2,
            "item.failed",
            "b",
            serde_json::json!({ "op": "upsert", "error": { "code": "INVALID_FIELD", "message": "No such column" } }),
        ),
        event(
            3,
            3,
            "echo.dropped",
            "b",
            serde_json::json!({ "target": "a", "layer": "txn", "source_record_id": "001B" }),
        ),
        event(
            2,
            4,
            "item.queued",
            "b",
            serde_json::json!({ "error": { "code": "UNABLE_TO_LOCK_ROW", "message": "busy" }, "outcome": { "retry_at": "2026-01-01T00:00:00Z" } }),
        ),
        event(
            1,
            5,
            "item.captured",
            "a",
            serde_json::json!({ "target": "b", "op": "upsert", "source_record_id": "001A", "fields": ["Name", "Phone"] }),
        ),
    ];
    let record = RecordRow {
        org: org("b"),
        object: "Account".into(),
        global_id: gid(1),
        local_id: None,
        fingerprint: None,
        shadow: Default::default(),
        deleted: false,
        deleted_at: None,
        last_modstamp: None,
        updated_at: now,
    };
    let loaded = Loaded {
        records: &[record],
        agreed: &[],
        audit: &audit,
        conflicts: &[],
        items: &[],
    };
    let v = build("g", None, loaded, now);
    assert_eq!(v.copies[0].local_id, "not created there yet");
    assert_eq!(v.life, "live");
    let labels: Vec<&str> = v.timeline.iter().map(|e| e.label.as_str()).collect();
    assert_eq!(
        labels,
        ["operator", "failed", "echo dropped", "retried", "captured"]
    );
    assert_eq!(
        v.timeline[0].text,
        "retried item 3 (Account in b; 1 queued) by cli:root"
    );
    assert!(v.timeline[1].bad);
    assert_eq!(
        v.timeline[1].text,
        "write to b failed: INVALID_FIELD: No such column"
    );
    assert_eq!(
        v.timeline[2].text,
        "from b (001B): dropped for a by the txn layer (already processed)"
    );
    assert!(v.timeline[3].text.contains("UNABLE_TO_LOCK_ROW: busy"));
    assert_eq!(
        v.timeline[4].text,
        "captured from a (001A): upsert of [Name, Phone] queued for b"
    );
}

#[test]
fn echo_drops_of_change_events_name_the_origin_or_shadow_layer() {
    use orgsync_monitor::view::record::audit_event;
    let now = Utc::now();
    let row = |layer: &str| AuditRow {
        id: 1,
        event: NewAudit {
            at: now,
            kind: "echo.dropped".into(),
            org: Some(org("b")),
            object: Some("Account".into()),
            global_id: Some(gid(1)),
            item_id: None,
            detail: serde_json::json!({ "layer": layer, "source_record_id": "001B", "fields": ["Name"] }),
        },
    };
    assert_eq!(
        audit_event(&row("origin"), now).text,
        "from b (001B): our own write coming back, dropped by the origin layer (the change carries orgsync's client tag)"
    );
    assert_eq!(
        audit_event(&row("shadow"), now).text,
        "from b (001B): [Name] already agreed, dropped by the shadow layer (nothing new)"
    );
    // every capture path's drop is listed, saying which path saw it
    let mut polled = row("shadow");
    polled.event.detail["via"] = "poll".into();
    assert_eq!(
        audit_event(&polled, now).text,
        "from b (001B): [Name] already agreed, dropped by the shadow layer (nothing new); seen by a poll"
    );
}
