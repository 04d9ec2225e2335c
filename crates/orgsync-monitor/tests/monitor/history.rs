//! History from org samples: calls per hour from each replica's counter (restarts and other
//! replicas not mixed in), backlog carried between samples, the budget forecast.

use chrono::{DateTime, TimeDelta, Utc};
use orgsync_monitor::view::charts::Range;
use orgsync_monitor::view::history::{backlog, calls_per_hour, forecast};
use orgsync_store::OrgSample;

use crate::support::*;

fn s(replica: &str, o: &str, at: DateTime<Utc>, calls: u64, waiting: u64) -> OrgSample {
    OrgSample {
        replica: replica.into(),
        org: org(o),
        at,
        api_calls: calls,
        budget_used: None,
        budget_max: None,
        backlog: waiting,
        failed: 0,
    }
}

#[test]
fn calls_per_hour_come_from_each_replicas_counter() {
    let now = Utc::now();
    let r = Range::Hour;
    let since = r.since(now);
    let t = |m: i64| since + TimeDelta::minutes(m) + TimeDelta::seconds(1);
    // ordered by replica, org, time (as the store returns them)
    let samples = vec![
        s("r1", "a", t(0), 10, 0),
        s("r1", "a", t(1), 16, 3),
        s("r1", "a", t(2), 4, 1), // r1 restarted: 4 calls since
        s("r1", "b", t(2), 100, 0),
        s("r2", "a", t(1), 500, 9),
        s("r2", "a", t(2), 501, 9),
    ];
    let a = calls_per_hour(r, since, &samples, "a");
    assert_eq!((a[0], a[1], a[2]), (0.0, 6.0 * 60.0, (4.0 + 1.0) * 60.0));
    assert_eq!(
        a.iter().sum::<f64>(),
        (6.0 + 5.0) * 60.0,
        "r1 to b and r2 never mixed"
    );
    assert!(
        calls_per_hour(r, since, &samples, "b")
            .iter()
            .all(|v| *v == 0.0)
    );
    let w = backlog(r, since, &samples, "a");
    assert_eq!(
        (w[0], w[1], w[2], w[3], w[59]),
        (0.0, 9.0, 9.0, 9.0, 9.0),
        "the largest per bucket, carried"
    );
}

#[test]
fn the_forecast_says_within_budget_or_when_the_limit_is_hit() {
    let now = Utc::now();
    let t = |m: i64| now - TimeDelta::minutes(m);
    // 30 min of samples, 10 calls a minute: 600/h, 14,400 a day
    let samples: Vec<OrgSample> = (0..=30)
        .rev()
        .map(|m| s("r1", "a", t(m), (30 - m as u64) * 10, 0))
        .collect();
    let ok = forecast(&samples, "a", Some(1_000), Some(100_000), now);
    assert_eq!(
        ok,
        "within budget: 600 calls/h, 14.4% of the daily limit over 24 h"
    );
    let hit = forecast(&samples, "a", Some(9_400), Some(10_000), now);
    assert!(
        hit.starts_with("at 600 calls/h the daily limit of 10000 is reached in about 1 h (at "),
        "{hit}"
    );
    assert!(forecast(&samples, "a", None, None, now).starts_with("no forecast yet"));
    assert!(forecast(&[], "a", Some(1), Some(10), now).starts_with("no forecast yet"));
}
