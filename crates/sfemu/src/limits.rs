//! The org's rolling-24-hour API request counter (`DailyApiRequests`, `Sforce-Limit-Info`).
//!
//! Salesforce counts every REST call against a daily allocation over a *rolling* 24 hours. We
//! keep one bucket per minute in a fixed ring of 1440 buckets, so memory stays constant however
//! many calls arrive, and a call leaves the window exactly 24 hours (to the minute) after it was
//! made. The pure window ([`Window`]) takes the minute explicitly so it is testable without a
//! clock; [`Limits`] feeds it the wall clock.

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// Minutes in the rolling window.
const WINDOW_MINUTES: u64 = 24 * 60;

/// Default daily allocation. Salesforce's Enterprise base is 100,000 (+ per-licence extras,
/// Developer Edition 15,000); we pick the Enterprise base so ordinary test runs never hit it.
pub const DEFAULT_DAILY_API_REQUESTS: u64 = 100_000;

/// Per-minute buckets over the last 24 hours. `minute` = minutes since the Unix epoch.
#[derive(Debug, Clone)]
pub struct Window {
    /// `(minute, count)` for slot `minute % 1440`; stale slots are ignored and overwritten.
    buckets: Vec<(u64, u64)>,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            buckets: vec![(0, 0); WINDOW_MINUTES as usize],
        }
    }
}

impl Window {
    /// Calls made in the 24 hours ending at `now` (inclusive of the current minute).
    pub fn used(&self, now: u64) -> u64 {
        let oldest = now.saturating_sub(WINDOW_MINUTES - 1);
        self.buckets
            .iter()
            .filter(|(m, _)| *m >= oldest && *m <= now)
            .map(|(_, c)| *c)
            .sum()
    }

    /// Adds `n` calls at minute `now`.
    pub fn add(&mut self, now: u64, n: u64) {
        let slot = &mut self.buckets[(now % WINDOW_MINUTES) as usize];
        if slot.0 != now {
            *slot = (now, 0);
        }
        slot.1 = slot.1.saturating_add(n);
    }

    /// Forgets every call.
    pub fn clear(&mut self) {
        self.buckets.iter_mut().for_each(|b| *b = (0, 0));
    }
}

/// What kind of call a request was, for `/__sfemu/api-usage`'s `byKind`.
pub fn kind_of_path(rest_path: &str) -> &'static str {
    let mut segs = rest_path.trim_matches('/').split('/');
    match (segs.next().unwrap_or(""), segs.next().unwrap_or("")) {
        ("query" | "queryAll", _) => "query",
        ("composite", "sobjects") => "collections",
        ("composite", _) => "composite",
        ("sobjects", "") => "describe",
        ("sobjects", _) => {
            if rest_path.contains("/describe") {
                "describe"
            } else {
                "sobject"
            }
        }
        ("limits", _) => "limits",
        ("search" | "parameterizedSearch", _) => "search",
        ("jobs", _) => "bulk",
        _ => "other",
    }
}

/// Usage snapshot, as `/__sfemu/api-usage` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// Calls in the rolling 24 hours.
    pub used: u64,
    pub max: u64,
    /// Calls per kind since start or the last reset (not rolling).
    pub by_kind: BTreeMap<String, u64>,
}

#[derive(Debug)]
struct Inner {
    window: Window,
    max: u64,
    by_kind: BTreeMap<String, u64>,
}

/// API usage of one org. Thread-safe; one lock per call, held for microseconds.
#[derive(Debug)]
pub struct Limits {
    inner: Mutex<Inner>,
}

impl Default for Limits {
    fn default() -> Self {
        Self::new(DEFAULT_DAILY_API_REQUESTS)
    }
}

fn now_minute() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() / 60)
        .unwrap_or(0)
}

impl Limits {
    /// A counter with a daily allocation of `max` calls.
    pub fn new(max: u64) -> Self {
        Limits {
            inner: Mutex::new(Inner {
                window: Window::default(),
                max,
                by_kind: BTreeMap::new(),
            }),
        }
    }

    /// Counts one call of `kind` if the allocation allows it: `Ok((used, max))` after counting,
    /// or `Err((used, max))` when the allocation is spent (the refused call is not counted).
    pub fn try_count(&self, kind: &str) -> Result<(u64, u64), (u64, u64)> {
        let now = now_minute();
        let mut g = self.inner.lock();
        let used = g.window.used(now);
        if used >= g.max {
            return Err((used, g.max));
        }
        g.window.add(now, 1);
        *g.by_kind.entry(kind.to_string()).or_insert(0) += 1;
        Ok((used + 1, g.max))
    }

    /// Counts one call of `kind` in the per-kind counters only: for calls that do not consume
    /// the REST daily allocation (Pub/Sub RPCs).
    pub fn count_uncharged(&self, kind: &str) {
        *self
            .inner
            .lock()
            .by_kind
            .entry(kind.to_string())
            .or_insert(0) += 1;
    }

    /// `(used, max)` now.
    pub fn current(&self) -> (u64, u64) {
        let g = self.inner.lock();
        (g.window.used(now_minute()), g.max)
    }

    /// Full snapshot.
    pub fn usage(&self) -> Usage {
        let g = self.inner.lock();
        Usage {
            used: g.window.used(now_minute()),
            max: g.max,
            by_kind: g.by_kind.clone(),
        }
    }

    /// Sets the daily allocation.
    pub fn set_max(&self, max: u64) {
        self.inner.lock().max = max;
    }

    /// Pretends `used` calls were made in the current minute (replacing the window), to put an
    /// org near or past its limit in tests.
    pub fn set_used(&self, used: u64) {
        let mut g = self.inner.lock();
        g.window.clear();
        g.window.add(now_minute(), used);
    }

    /// Zeroes the window and the per-kind counts.
    pub fn reset(&self) {
        let mut g = self.inner.lock();
        g.window.clear();
        g.by_kind.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn calls_leave_the_window_after_24_hours() {
        let mut w = Window::default();
        w.add(1000, 3);
        w.add(1001, 2);
        assert_eq!(w.used(1001), 5);
        assert_eq!(w.used(1000 + WINDOW_MINUTES - 1), 5);
        assert_eq!(w.used(1000 + WINDOW_MINUTES), 2);
        assert_eq!(w.used(1001 + WINDOW_MINUTES), 0);
        // the slot of minute 1000 is reused a day later without mixing counts
        w.add(1000 + WINDOW_MINUTES, 7);
        assert_eq!(w.used(1000 + WINDOW_MINUTES), 9);
    }

    #[test]
    fn kinds_from_paths() {
        assert_eq!(kind_of_path("/query"), "query");
        assert_eq!(kind_of_path("/queryAll/"), "query");
        assert_eq!(kind_of_path("/composite/sobjects"), "collections");
        assert_eq!(kind_of_path("/composite"), "composite");
        assert_eq!(kind_of_path("/composite/batch"), "composite");
        assert_eq!(kind_of_path("/sobjects/"), "describe");
        assert_eq!(kind_of_path("/sobjects/Account/describe"), "describe");
        assert_eq!(
            kind_of_path("/sobjects/Account/001000000000001AAA"),
            "sobject"
        );
        assert_eq!(kind_of_path("/limits"), "limits");
        assert_eq!(kind_of_path("/"), "other");
    }

    #[test]
    fn refused_calls_are_not_counted() {
        let l = Limits::new(2);
        assert_eq!(l.try_count("query"), Ok((1, 2)));
        assert_eq!(l.try_count("query"), Ok((2, 2)));
        assert_eq!(l.try_count("query"), Err((2, 2)));
        assert_eq!(l.usage().by_kind.get("query"), Some(&2));
        l.set_max(3);
        assert_eq!(l.try_count("sobject"), Ok((3, 3)));
        l.reset();
        assert_eq!(l.current(), (0, 3));
    }

    proptest! {
        /// The window total equals a brute-force count of the calls in the last 1440 minutes.
        #[test]
        fn window_matches_brute_force(calls in proptest::collection::vec((0u64..5000, 1u64..4), 0..200), probe in 0u64..7000) {
            let mut sorted = calls.clone();
            sorted.sort();
            let mut w = Window::default();
            let mut expected = 0;
            for (m, n) in &sorted {
                if *m <= probe {
                    w.add(*m, *n);
                    if *m + WINDOW_MINUTES > probe { expected += n; }
                }
            }
            prop_assert_eq!(w.used(probe), expected);
        }
    }
}
