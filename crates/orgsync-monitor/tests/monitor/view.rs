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
