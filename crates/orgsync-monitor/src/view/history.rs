//! History from the engine's per-minute org samples: API calls per hour per org, backlog per
//! org over time, and the budget forecast on each org card ("at the current rate, when the
//! daily API limit would be hit, or within budget"). Pure, like the other view models.
//!
//! Why calls come from each replica's own counter: Salesforce reports usage over a rolling
//! 24 h, which at a steady rate hardly moves; the counter's rise between two samples is the
//! calls made in between (a counter lower than before means that replica restarted, and its
//! new value is what it made since).

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use orgsync_store::OrgSample;

use super::charts::Range;

/// The window the forecast's rate is measured over.
pub const RATE_WINDOW: TimeDelta = TimeDelta::hours(1);

fn index(range: Range, since: DateTime<Utc>, t: DateTime<Utc>) -> Option<usize> {
    let i = (t - since).num_seconds().div_euclid(range.bucket_secs());
    usize::try_from(i).ok().filter(|i| *i < range.buckets())
}

/// Calls made between consecutive samples of one replica and org: (time of the later
/// sample, calls). `samples` ordered by replica, org and time (as the store returns them).
fn deltas<'a>(
    samples: &'a [OrgSample],
    org: &'a str,
) -> impl Iterator<Item = (DateTime<Utc>, u64)> + 'a {
    samples.windows(2).filter_map(move |w| match w {
        [a, b] if a.replica == b.replica && a.org.as_str() == org && b.org.as_str() == org => {
            let made = if b.api_calls >= a.api_calls {
                b.api_calls - a.api_calls
            } else {
                b.api_calls
            };
            Some((b.at, made))
        }
        _ => None,
    })
}

/// Per bucket, `org`'s API calls per hour (the calls in the bucket scaled to an hour).
pub fn calls_per_hour(
    range: Range,
    since: DateTime<Utc>,
    samples: &[OrgSample],
    org: &str,
) -> Vec<f64> {
    let mut v = vec![0.0; range.buckets()];
    let scale = 3600.0 / range.bucket_secs() as f64;
    for (at, n) in deltas(samples, org) {
        if let Some(i) = index(range, since, at) {
            v[i] += n as f64 * scale;
        }
    }
    v
}

/// Per bucket, `org`'s backlog (waiting items) at the bucket's last sample — the largest
/// across replicas, which all count the same ledger — carried over buckets with no sample.
pub fn backlog(range: Range, since: DateTime<Utc>, samples: &[OrgSample], org: &str) -> Vec<f64> {
    let mut last: BTreeMap<usize, (DateTime<Utc>, u64)> = BTreeMap::new();
    for s in samples.iter().filter(|s| s.org.as_str() == org) {
        if let Some(i) = index(range, since, s.at) {
            let e = last.entry(i).or_insert((s.at, s.backlog));
            if s.at > e.0 || (s.at == e.0 && s.backlog > e.1) {
                *e = (s.at, s.backlog);
            }
        }
    }
    let mut v = Vec::with_capacity(range.buckets());
    let mut carried = 0.0;
    for i in 0..range.buckets() {
        if let Some((_, n)) = last.get(&i) {
            carried = *n as f64;
        }
        v.push(carried);
    }
    v
}

/// The budget forecast of `org` at `now`: its call rate over the last [`RATE_WINDOW`] of
/// samples against the daily allocation last observed (`used` of `max` over 24 h).
pub fn forecast(
    samples: &[OrgSample],
    org: &str,
    used: Option<i64>,
    max: Option<i64>,
    now: DateTime<Utc>,
) -> String {
    let from = now - RATE_WINDOW;
    let recent: Vec<(DateTime<Utc>, u64)> =
        deltas(samples, org).filter(|(at, _)| *at > from).collect();
    let first = samples
        .iter()
        .filter(|s| s.org.as_str() == org && s.at >= from)
        .map(|s| s.at)
        .min();
    let (Some(max), Some(first)) = (max.filter(|m| *m > 0), first) else {
        return "no forecast yet (needs the daily allocation and two samples)".into();
    };
    let hours = (now - first).num_seconds() as f64 / 3600.0;
    // two samples at least, 20 s apart: a rate from less says nothing
    if recent.is_empty() || hours < 20.0 / 3600.0 {
        return "no forecast yet (needs two samples, a minute apart)".into();
    }
    let calls: u64 = recent.iter().map(|(_, n)| n).sum();
    let rate = calls as f64 / hours;
    let per_day = rate * 24.0;
    let max_f = max as f64;
    if per_day < max_f {
        return format!(
            "within budget: {rate:.0} calls/h, {:.1}% of the daily limit over 24 h",
            100.0 * per_day / max_f
        );
    }
    let left = (max - used.unwrap_or(0)).max(0) as f64;
    let secs = (3600.0 * left / rate).round() as i64;
    let at = now + TimeDelta::seconds(secs);
    format!(
        "at {rate:.0} calls/h the daily limit of {max} is reached in about {} (at {} UTC)",
        super::ago(Some(now - TimeDelta::seconds(secs)), now).trim_end_matches(" ago"),
        at.format("%H:%M")
    )
}
