//! The org's API budget as Salesforce reports it, and the cap on concurrent requests.
//!
//! Salesforce sends `Sforce-Limit-Info: api-usage=USED/MAX` (optionally with
//! `per-app-api-usage=U/M(appName=…)` and `api-bursts=U/M`) on every REST response. The client
//! keeps the latest figures per org so the engine's budget governor can slow down before the
//! org runs dry, without spending a `/limits` call to find out.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::Semaphore;

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

/// Per-org budget: the latest limit info plus a semaphore capping concurrent requests
/// (Salesforce allows 25 concurrent long-running requests per production org, 5 on
/// Developer Edition).
#[derive(Debug)]
pub struct Budget {
    latest: Mutex<LimitInfo>,
    sent: AtomicU64,
    max_concurrent: usize,
    permits: Semaphore,
}

impl Budget {
    /// A budget allowing `max_concurrent` requests at once (at least 1).
    pub fn new(max_concurrent: usize) -> Self {
        let max_concurrent = max_concurrent.max(1);
        Budget {
            latest: Mutex::new(LimitInfo::default()),
            sent: AtomicU64::new(0),
            max_concurrent,
            permits: Semaphore::new(max_concurrent),
        }
    }

    /// Records the header of one response.
    pub fn observe(&self, header: &str) {
        let parsed = parse_limit_info(header);
        let mut latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        if parsed.api_usage.is_some() {
            latest.api_usage = parsed.api_usage;
        }
        if parsed.per_app.is_some() {
            latest.per_app = parsed.per_app;
        }
        if parsed.bursts.is_some() {
            latest.bursts = parsed.bursts;
        }
    }

    /// Waits for a free request slot; the slot is released when the permit drops. The
    /// semaphore is never closed, so `None` cannot happen in practice (and would just mean "no
    /// cap").
    pub(crate) async fn acquire(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.sent.fetch_add(1, Ordering::Relaxed);
        self.permits.acquire().await.ok()
    }

    /// The latest figures.
    pub fn snapshot(&self) -> BudgetSnapshot {
        let latest = self
            .latest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        BudgetSnapshot {
            api_usage: latest.api_usage,
            per_app: latest.per_app.map(|(u, _)| u),
            requests_sent: self.sent.load(Ordering::Relaxed),
            in_flight: self.max_concurrent - self.permits.available_permits(),
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
        let p1 = b.acquire().await;
        let _p2 = b.acquire().await;
        assert_eq!(b.snapshot().in_flight, 2);
        assert!(b.permits.try_acquire().is_err());
        drop(p1);
        assert_eq!(b.snapshot().in_flight, 1);
        assert_eq!(b.snapshot().requests_sent, 2);
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
