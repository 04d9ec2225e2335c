//! The org's API budget as Salesforce reports it, the cap on concurrent requests, and the
//! ceiling no call may cross.
//!
//! Salesforce sends `Sforce-Limit-Info: api-usage=USED/MAX` (optionally with
//! `per-app-api-usage=U/M(appName=…)` and `api-bursts=U/M`) on every REST response. The client
//! keeps the latest figures per org, and — with a [`Ceiling`] — holds every call that would take
//! the org past `share × max`: each call reserves its slot before it is sent, so concurrent
//! calls cannot overshoot together. A small reserve below the ceiling is kept for `/limits`
//! probes ([`Client::probe_limits`](crate::Client::probe_limits)), which is how a held client
//! learns that the allocation was raised or the rolling 24 h window moved on.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{Notify, Semaphore};

/// One `used/max` pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub used: u64,
    pub max: u64,
}

impl Usage {
    /// Share of the allocation used, 0.0 ..= 1.0 (1.0 when `max` is 0).
    pub fn share(&self) -> f64 {
        if self.max == 0 {
            1.0
        } else {
            (self.used as f64 / self.max as f64).min(1.0)
        }
    }

    /// Calls left (never negative).
    pub fn remaining(&self) -> u64 {
        self.max.saturating_sub(self.used)
    }
}

/// A parsed `Sforce-Limit-Info` header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LimitInfo {
    /// The org-wide rolling 24 h allocation (`api-usage`).
    pub api_usage: Option<Usage>,
    /// This connected app's share, when the org caps it (`per-app-api-usage`), with the app name.
    pub per_app: Option<(Usage, Option<String>)>,
    /// `api-bursts`, when present.
    pub bursts: Option<Usage>,
}

fn parse_usage(s: &str) -> Option<Usage> {
    let (u, m) = s.split_once('/')?;
    Some(Usage {
        used: u.trim().parse().ok()?,
        max: m.trim().parse().ok()?,
    })
}

/// Parses a `Sforce-Limit-Info` value; unknown parts are ignored, malformed ones skipped.
pub fn parse_limit_info(header: &str) -> LimitInfo {
    let mut info = LimitInfo::default();
    for part in header.split(';') {
        let Some((name, value)) = part.trim().split_once('=') else {
            continue;
        };
        let (numbers, app) = match value.split_once('(') {
            Some((n, rest)) => {
                let inner = rest.trim_end().trim_end_matches(')');
                let app = inner.split_once('=').map(|(_, a)| a.trim().to_owned());
                (n, app)
            }
            None => (value, None),
        };
        let Some(usage) = parse_usage(numbers) else {
            continue;
        };
        match name.trim() {
            "api-usage" => info.api_usage = Some(usage),
            "per-app-api-usage" => info.per_app = Some((usage, app)),
            "api-bursts" => info.bursts = Some(usage),
            _ => {}
        }
    }
    info
}

/// What a caller reads from [`Budget::snapshot`].
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetSnapshot {
    /// Latest org-wide figures from Salesforce; `None` before the first REST response.
    pub api_usage: Option<Usage>,
    /// Latest per-app figures, when Salesforce sends them.
    pub per_app: Option<Usage>,
    /// Requests this client has sent to the REST API (auth requests excluded).
    pub requests_sent: u64,
    /// Requests currently in flight.
    pub in_flight: usize,
    /// Ordinary calls are held at the [`Ceiling`] (the org is paused for its budget).
    pub held: bool,
}

impl BudgetSnapshot {
    /// Share of the org's allocation used (the tighter of org-wide and per-app).
    pub fn share(&self) -> Option<f64> {
        let org = self.api_usage.map(|u| u.share());
        let app = self.per_app.map(|u| u.share());
        match (org, app) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

/// How much of the org's allocation the client may use: calls stop at `share × max`, and
/// ordinary calls already `reserve` calls below it, keeping those for `/limits` probes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ceiling {
    /// Share of the daily allocation (0 < share ≤ 1).
    pub share: f64,
    /// Calls below the ceiling kept for probes.
    pub reserve: u64,
}

impl Ceiling {
    /// The last call number ordinary calls (`probe` false) or probes may reach, of `max`.
    fn limit(&self, max: u64, probe: bool) -> u64 {
        let cap = (self.share.clamp(0.0, 1.0) * max as f64).floor() as u64;
        if probe {
            cap
        } else {
            cap.saturating_sub(self.reserve)
        }
    }
}

/// Why a call may not be sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Go,
    Wait,
}

#[derive(Debug, Default)]
struct State {
    latest: LimitInfo,
    /// Calls admitted and not yet answered.
    reserved: u64,
    ceiling: Option<Ceiling>,
    /// Ordinary calls are waiting at the ceiling.
    held: bool,
}

impl State {
    fn verdict(&self, probe: bool) -> Verdict {
        let Some(ceiling) = self.ceiling else {
            return Verdict::Go;
        };
        // the tighter of the org-wide and the per-app allocation
        let usages = [
            self.latest.api_usage,
            self.latest.per_app.as_ref().map(|(u, _)| *u),
        ];
        let known: Vec<Usage> = usages.into_iter().flatten().collect();
        if known.is_empty() {
            // nothing heard yet: one call at a time until a header tells the usage
            return if self.reserved == 0 {
                Verdict::Go
            } else {
                Verdict::Wait
            };
        }
        let fits = known
            .iter()
            .all(|u| u.used + self.reserved < ceiling.limit(u.max, probe));
        if fits { Verdict::Go } else { Verdict::Wait }
    }
}

/// Per-org budget: the latest limit info, the ceiling, and a semaphore capping concurrent
/// requests (Salesforce allows 25 concurrent long-running requests per production org, 5 on
/// Developer Edition).
#[derive(Debug)]
pub struct Budget {
    state: Mutex<State>,
    changed: Notify,
    sent: AtomicU64,
    max_concurrent: usize,
    permits: Semaphore,
}

/// A call's place under the ceiling, given back when it is answered.
#[derive(Debug)]
pub(crate) struct Slot<'a> {
    budget: &'a Budget,
    _permit: Option<tokio::sync::SemaphorePermit<'a>>,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut st = self.budget.lock();
        st.reserved = st.reserved.saturating_sub(1);
        drop(st);
        self.budget.changed.notify_waiters();
    }
}

impl Budget {
    /// A budget allowing `max_concurrent` requests at once (at least 1), with no ceiling.
    pub fn new(max_concurrent: usize) -> Self {
        let max_concurrent = max_concurrent.max(1);
        Budget {
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            sent: AtomicU64::new(0),
            max_concurrent,
            permits: Semaphore::new(max_concurrent),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Set (or lift) the ceiling; held calls re-check at once.
    pub fn set_ceiling(&self, ceiling: Option<Ceiling>) {
        self.lock().ceiling = ceiling;
        self.changed.notify_waiters();
    }

    /// Records the header of one response.
    pub fn observe(&self, header: &str) {
        let parsed = parse_limit_info(header);
        self.update(|latest| {
            if parsed.api_usage.is_some() {
                latest.api_usage = parsed.api_usage;
            }
            if parsed.per_app.is_some() {
                latest.per_app = parsed.per_app;
            }
            if parsed.bursts.is_some() {
                latest.bursts = parsed.bursts;
            }
        });
    }

    /// Records the org-wide usage read from `/limits`.
    pub fn observe_usage(&self, usage: Usage) {
        self.update(|latest| latest.api_usage = Some(usage));
    }

    fn update(&self, f: impl FnOnce(&mut LimitInfo)) {
        f(&mut self.lock().latest);
        self.changed.notify_waiters();
    }

    /// Waits until the call fits under the ceiling (`probe`: the reserve may be used) and a
    /// request slot is free; both are given back when the slot drops.
    pub(crate) async fn acquire(&self, probe: bool) -> Slot<'_> {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut st = self.lock();
                if st.verdict(probe) == Verdict::Go {
                    st.reserved += 1;
                    if !probe {
                        st.held = false;
                    }
                    break;
                }
                if !probe {
                    st.held = true;
                }
            }
            changed.await;
        }
        self.sent.fetch_add(1, Ordering::Relaxed);
        Slot {
            budget: self,
            _permit: self.permits.acquire().await.ok(),
        }
    }

    /// Whether a probe would be admitted now (the reserve is not spent).
    pub fn probe_admitted(&self) -> bool {
        self.lock().verdict(true) == Verdict::Go
    }

    /// Whether an ordinary call would be admitted now.
    pub fn admits(&self) -> bool {
        self.lock().verdict(false) == Verdict::Go
    }

    /// Resolves when the figures or the ceiling change (for a watcher of [`Budget::admits`]).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    /// The latest figures.
    pub fn snapshot(&self) -> BudgetSnapshot {
        let st = self.lock();
        BudgetSnapshot {
            api_usage: st.latest.api_usage,
            per_app: st.latest.per_app.as_ref().map(|(u, _)| *u),
            requests_sent: self.sent.load(Ordering::Relaxed),
            in_flight: self.max_concurrent - self.permits.available_permits(),
            held: st.held || st.verdict(false) == Verdict::Wait && st.ceiling.is_some(),
        }
    }

    /// The configured concurrency cap.
    pub fn max_concurrent(&self) -> usize {
        self.max_concurrent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_all_documented_forms() {
        let i = parse_limit_info("api-usage=18/5000");
        assert_eq!(
            i.api_usage,
            Some(Usage {
                used: 18,
                max: 5000
            })
        );
        let i = parse_limit_info(
            "api-usage=25/5000; per-app-api-usage=17/250(appName=sample-connected-app); api-bursts=1/750",
        );
        assert_eq!(
            i.api_usage,
            Some(Usage {
                used: 25,
                max: 5000
            })
        );
        assert_eq!(
            i.per_app,
            Some((
                Usage { used: 17, max: 250 },
                Some("sample-connected-app".into())
            ))
        );
        assert_eq!(i.bursts, Some(Usage { used: 1, max: 750 }));
    }

    #[test]
    fn ignores_garbage() {
        assert_eq!(parse_limit_info(""), LimitInfo::default());
        assert_eq!(parse_limit_info("api-usage=x/5"), LimitInfo::default());
        assert_eq!(parse_limit_info("nonsense; other=1/2").api_usage, None);
    }

    #[test]
    fn snapshot_share_is_the_tighter_one() {
        let b = Budget::new(25);
        assert_eq!(b.snapshot().share(), None);
        b.observe("api-usage=100/1000; per-app-api-usage=90/100(appName=x)");
        let s = b.snapshot();
        assert_eq!(s.api_usage.unwrap().remaining(), 900);
        assert!((s.share().unwrap() - 0.9).abs() < 1e-9);
        // A later header without per-app keeps the last per-app figure.
        b.observe("api-usage=101/1000");
        assert_eq!(b.snapshot().api_usage.unwrap().used, 101);
        assert_eq!(b.snapshot().per_app.unwrap().used, 90);
    }

    #[tokio::test]
    async fn caps_concurrency() {
        let b = Budget::new(2);
        let p1 = b.acquire(false).await;
        let _p2 = b.acquire(false).await;
        assert_eq!(b.snapshot().in_flight, 2);
        assert!(b.permits.try_acquire().is_err());
        drop(p1);
        assert_eq!(b.snapshot().in_flight, 1);
        assert_eq!(b.snapshot().requests_sent, 2);
    }

    #[tokio::test]
    async fn calls_stop_at_the_ceiling_counting_those_in_flight_and_keep_a_reserve() {
        let b = Budget::new(25);
        b.set_ceiling(Some(Ceiling {
            share: 0.8,
            reserve: 2,
        }));
        // unknown usage: one call at a time
        let first = b.acquire(false).await;
        assert!(!b.admits());
        b.observe("api-usage=75/100");
        drop(first);
        // 80 is the ceiling, 78 the last ordinary call: 76, 77, 78 go, in flight together
        let held: Vec<_> = futures::future::join_all((0..3).map(|_| b.acquire(false))).await;
        assert!(!b.admits(), "a fourth call would reach 79");
        assert!(b.snapshot().held);
        // a probe may use the reserve
        assert!(b.probe_admitted());
        drop(held);
        b.observe("api-usage=78/100");
        assert!(!b.admits());
        // the allocation was raised: held calls go again
        b.observe_usage(Usage {
            used: 79,
            max: 1000,
        });
        assert!(b.admits());
        let _go = b.acquire(false).await;
        assert!(!b.snapshot().held);
    }

    #[tokio::test]
    async fn a_held_call_waits_until_usage_drops() {
        let b = std::sync::Arc::new(Budget::new(25));
        b.set_ceiling(Some(Ceiling {
            share: 0.5,
            reserve: 0,
        }));
        b.observe("api-usage=50/100");
        let waiter = {
            let b = b.clone();
            tokio::spawn(async move {
                let _slot = b.acquire(false).await;
            })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        b.observe("api-usage=10/100");
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("released")
            .expect("no panic");
    }

    proptest! {
        #[test]
        fn round_trips_numbers(u in 0u64..u64::MAX / 2, m in 0u64..u64::MAX / 2, a in "[a-zA-Z0-9_-]{1,20}") {
            let i = parse_limit_info(&format!("api-usage={u}/{m}; per-app-api-usage={m}/{u}(appName={a})"));
            prop_assert_eq!(i.api_usage, Some(Usage { used: u, max: m }));
            prop_assert_eq!(i.per_app, Some((Usage { used: m, max: u }, Some(a))));
        }
    }
}
