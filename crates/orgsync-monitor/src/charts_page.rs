//! The charts page (`/charts`): changes captured vs applied and echoes dropped per layer per
//! minute, capture→apply latency p50/p95/p99, API calls per hour per org against each org's
//! budget line, backlog per org over 1 h / 24 h / 7 d, and the backlog by state now. Loads
//! from the ledger (audit counts, Synced items, the engine's org samples) and draws with
//! [`crate::view::charts`].

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Html;
use chrono::Utc;
use orgsync_store::Store;
use serde::Deserialize;

use crate::auth::Session;
use crate::{Monitor, MonitorError};

/// `?range=` of the charts page.
#[derive(Debug, Deserialize)]
pub struct RangeQuery {
    /// `1h` (default), `24h` or `7d`.
    #[serde(default)]
    range: Option<String>,
}

#[derive(Template)]
#[template(path = "charts.html")]
struct ChartsPage {
    csrf: String,
    logged_in: bool,
    range: &'static str,
    ranges: &'static [&'static str],
    throughput: String,
    /// Echoes dropped per minute by layer (origin tag, shadow values, transaction id).
    echoes: String,
    latency: String,
    backlog: String,
    latency_samples: usize,
    /// API calls per hour per org, and each org's daily allocation in words.
    calls: String,
    allocations: String,
    /// Waiting items per org over the range.
    backlog_history: String,
}

/// Most Synced items the latency chart reads (newest first).
const LATENCY_SAMPLES: u32 = 50_000;

/// `GET /charts[?range=1h|24h|7d]`: captured vs applied per minute, capture→apply latency
/// p50/p95/p99, backlog by state now — server-rendered SVG from the ledger.
pub async fn charts<S: Store>(
    State(m): State<Arc<Monitor<S>>>,
    Extension(session): Extension<Session>,
    Query(q): Query<RangeQuery>,
) -> Result<Html<String>, MonitorError> {
    use crate::view::charts::{self as c, Range, Series};
    let now = Utc::now();
    let range = Range::parse(q.range.as_deref());
    let since = range.since(now);
    let kinds = [
        "item.captured",
        "item.merged",
        "item.synced",
        "echo.dropped",
    ];
    let rows = m
        .store
        .audit_counts(&kinds, since, range.bucket_secs())
        .await?;
    let lat = m.store.synced_latencies(since, LATENCY_SAMPLES).await?;
    let x = c::x_labels(range, now);
    let x = (x.0.as_str(), x.1.as_str());
    let throughput = c::lines(
        "Changes per minute",
        &[
            Series {
                label: "captured",
                color: "#3b7ddd",
                values: c::per_minute(range, since, &rows, &["item.captured", "item.merged"]),
            },
            Series {
                label: "applied",
                color: "#2da44e",
                values: c::per_minute(range, since, &rows, &["item.synced"]),
            },
        ],
        "/min",
        x,
    );
    // the store counts echo drops per layer (`echo.dropped:<layer>`)
    let echoes = c::lines(
        "Echoes dropped per minute, by layer",
        &[
            Series {
                label: "origin tag",
                color: "#8250df",
                values: c::per_minute(range, since, &rows, &["echo.dropped:origin"]),
            },
            Series {
                label: "shadow values",
                color: "#8c959f",
                values: c::per_minute(range, since, &rows, &["echo.dropped:shadow"]),
            },
            Series {
                label: "transaction id",
                color: "#e16f24",
                values: c::per_minute(range, since, &rows, &["echo.dropped:txn"]),
            },
        ],
        "/min",
        x,
    );
    let [p50, p95, p99] = c::latency(range, since, &lat);
    let latency = c::lines(
        "Capture to apply latency",
        &[
            Series {
                label: "p50",
                color: "#2da44e",
                values: p50,
            },
            Series {
                label: "p95",
                color: "#d4a72c",
                values: p95,
            },
            Series {
                label: "p99",
                color: "#cf222e",
                values: p99,
            },
        ],
        "s",
        x,
    );
    let mut by_state: Vec<(String, f64)> = orgsync_store::ItemState::ALL
        .iter()
        .filter(|s| **s != orgsync_store::ItemState::Synced)
        .map(|s| (s.as_str().to_string(), 0.0))
        .collect();
    for ((_, state), n) in m.store.counts().await? {
        if let Some(slot) = by_state.iter_mut().find(|(k, _)| k == state.as_str()) {
            slot.1 += n as f64;
        }
    }
    let (calls, allocations, backlog_history) = history_charts(&m, range, since, x).await?;
    let page = ChartsPage {
        csrf: session.csrf,
        logged_in: true,
        calls,
        allocations,
        backlog_history,
        range: range.as_str(),
        ranges: &["1h", "24h", "7d"],
        throughput,
        echoes,
        latency,
        backlog: c::bars("Backlog by state now", &by_state),
        latency_samples: lat.len(),
    };
    Ok(Html(page.render()?))
}

/// Colours of per-org lines, in org order.
const ORG_COLOURS: &[&str] = &[
    "#3b7ddd", "#2da44e", "#e16f24", "#8250df", "#cf222e", "#1b2a41",
];

/// The charts from the engine's org samples: API calls per hour per org (with each org's
/// daily allocation said, as calls per hour, under it) and backlog per org.
async fn history_charts<S: Store>(
    m: &Monitor<S>,
    range: crate::view::charts::Range,
    since: chrono::DateTime<Utc>,
    x: (&str, &str),
) -> Result<(String, String, String), MonitorError> {
    use crate::view::charts::{self as c, Series};
    use crate::view::history;
    let samples = m.store.org_samples(since).await?;
    let orgs = m.store.orgs().await?;
    let names: Vec<String> = orgs.iter().map(|o| o.name.to_string()).collect();
    let colour = |i: usize| {
        ORG_COLOURS
            .get(i % ORG_COLOURS.len())
            .copied()
            .unwrap_or("#000")
    };
    let calls: Vec<Series<'_>> = names
        .iter()
        .enumerate()
        .map(|(i, n)| Series {
            label: n,
            color: colour(i),
            values: history::calls_per_hour(range, since, &samples, n),
        })
        .collect();
    let backlog: Vec<Series<'_>> = names
        .iter()
        .enumerate()
        .map(|(i, n)| Series {
            label: n,
            color: colour(i),
            values: history::backlog(range, since, &samples, n),
        })
        .collect();
    let allocations: Vec<String> = orgs
        .iter()
        .map(|o| match o.budget_max {
            Some(max) if max > 0 => {
                format!("{} {} a day ({:.0}/h)", o.name, max, max as f64 / 24.0)
            }
            _ => format!("{} not observed yet", o.name),
        })
        .collect();
    // each org's budget line: its daily allocation spread over the hours
    let labels: Vec<String> = names.iter().map(|n| format!("{n} budget")).collect();
    let limits: Vec<c::Limit<'_>> = orgs
        .iter()
        .enumerate()
        .filter_map(|(i, o)| {
            let max = o.budget_max.filter(|m| *m > 0)?;
            Some(c::Limit {
                label: labels.get(i)?,
                color: colour(i),
                value: max as f64 / 24.0,
            })
        })
        .collect();
    Ok((
        c::lines_with("API calls per hour", &calls, &limits, "/h", x),
        allocations.join(" · "),
        c::lines("Backlog (waiting items) per org", &backlog, "items", x),
    ))
}
