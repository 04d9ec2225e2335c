//! The read-only pages beside the overview: the record explorer (`/records`), conflicts
//! (`/conflicts`) and the activity log (`/activity`). Each loads from the ledger, builds its
//! pure view model ([`crate::view`]) and renders; listings page backwards with `?before=`.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Html;
use chrono::Utc;
use orgsync_core::GlobalId;
use orgsync_store::{AuditFilter, ItemFilter, Page, Store};
use serde::Deserialize;

use crate::auth::Session;
use crate::view::activity::{self, ADMIN_PREFIX, ActivityLine, ConflictLine, Listing};
use crate::view::record::{self, Loaded, RecordView};
use crate::{Monitor, MonitorError};

/// Rows per page of the conflicts and activity listings.
const LISTING_PAGE: u32 = 100;
/// Most timeline events, conflicts and items the explorer loads for one record.
const RECORD_LIMIT: u32 = 500;

/// `/records` query.
#[derive(Debug, Deserialize)]
pub struct RecordQuery {
    /// A global id, or a local id in any org.
    #[serde(default)]
    id: String,
}

/// What a search found.
#[derive(Debug)]
enum Found {
    /// Nothing searched yet.
    Nothing,
    /// No record has that id.
    Unknown,
    /// A local id shared by several records (different orgs' ids can collide only in
    /// emulated orgs, but the page must not guess): links to each.
    Several(Vec<String>),
    /// The record.
    One(Box<RecordView>),
}

#[derive(Template)]
#[template(path = "records.html")]
struct RecordsPage {
    csrf: String,
    logged_in: bool,
    query: String,
    found: Found,
}

/// `GET /records?id=…`: the record explorer.
pub async fn records<S: Store>(
    State(m): State<Arc<Monitor<S>>>,
    Extension(session): Extension<Session>,
    Query(q): Query<RecordQuery>,
) -> Result<Html<String>, MonitorError> {
    let query = q.id.trim().to_string();
    let found = match query.is_empty() {
        true => Found::Nothing,
        false => search(m.store.as_ref(), &query).await?,
    };
    let page = RecordsPage {
        csrf: session.csrf,
        logged_in: true,
        query,
        found,
    };
    Ok(Html(page.render()?))
}

async fn search<S: Store>(store: &S, query: &str) -> Result<Found, MonitorError> {
    let (gid, searched) = match query.parse::<GlobalId>() {
        Ok(g) => (g, None),
        Err(_) => {
            let mut gids: Vec<GlobalId> = store
                .records_with_local_id(query)
                .await?
                .into_iter()
                .map(|r| r.global_id)
                .collect();
            gids.sort_by_key(ToString::to_string);
            gids.dedup();
            match gids.len() {
                0 => return Ok(Found::Unknown),
                1 => (gids.remove(0), Some(query)),
                _ => {
                    return Ok(Found::Several(
                        gids.iter().map(ToString::to_string).collect(),
                    ));
                }
            }
        }
    };
    let records = store.records_of(&gid).await?;
    let mut objects: Vec<&str> = records.iter().map(|r| r.object.as_str()).collect();
    objects.sort_unstable();
    objects.dedup();
    let mut agreed = Vec::new();
    for object in objects {
        agreed.extend(store.agreed(object, std::slice::from_ref(&gid)).await?);
    }
    let audit = store
        .audit_recent(&AuditFilter {
            global_id: Some(gid.clone()),
            limit: RECORD_LIMIT,
            ..AuditFilter::default()
        })
        .await?;
    let conflicts = store
        .conflicts(Some(&gid), Page::first(RECORD_LIMIT))
        .await?;
    let filter = ItemFilter {
        global_id: Some(gid.clone()),
        ..ItemFilter::default()
    };
    let items = store.items(&filter, Page::first(RECORD_LIMIT)).await?;
    if records.is_empty() && agreed.is_empty() && audit.is_empty() && items.is_empty() {
        return Ok(Found::Unknown);
    }
    let loaded = Loaded {
        records: &records,
        agreed: &agreed,
        audit: &audit,
        conflicts: &conflicts,
        items: &items,
    };
    let view = record::build(&gid.to_string(), searched, loaded, Utc::now());
    Ok(Found::One(Box::new(view)))
}

/// `?before=` of a newest-first listing.
#[derive(Debug, Deserialize)]
pub struct Before {
    /// Show rows older than this id.
    #[serde(default)]
    before: Option<i64>,
}

#[derive(Template)]
#[template(path = "conflicts.html")]
struct ConflictsPage {
    csrf: String,
    logged_in: bool,
    view: Listing<ConflictLine>,
}

/// `GET /conflicts[?before=N]`: conflicts newest first.
pub async fn conflicts<S: Store>(
    State(m): State<Arc<Monitor<S>>>,
    Extension(session): Extension<Session>,
    Query(q): Query<Before>,
) -> Result<Html<String>, MonitorError> {
    let rows = m.store.conflicts_recent(q.before, LISTING_PAGE).await?;
    let page = ConflictsPage {
        csrf: session.csrf,
        logged_in: true,
        view: activity::conflicts(&rows, LISTING_PAGE, Utc::now()),
    };
    Ok(Html(page.render()?))
}

#[derive(Template)]
#[template(path = "activity.html")]
struct ActivityPage {
    csrf: String,
    logged_in: bool,
    view: Listing<ActivityLine>,
}

/// `GET /activity[?before=N]`: operators' actions newest first, with who and when.
pub async fn activity<S: Store>(
    State(m): State<Arc<Monitor<S>>>,
    Extension(session): Extension<Session>,
    Query(q): Query<Before>,
) -> Result<Html<String>, MonitorError> {
    let rows = m
        .store
        .audit_recent(&AuditFilter {
            kind_prefix: Some(ADMIN_PREFIX.into()),
            before: q.before,
            limit: LISTING_PAGE,
            ..AuditFilter::default()
        })
        .await?;
    let page = ActivityPage {
        csrf: session.csrf,
        logged_in: true,
        view: activity::activity(&rows, LISTING_PAGE, Utc::now()),
    };
    Ok(Html(page.render()?))
}

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
            Series {
                label: "echoes dropped",
                color: "#8c959f",
                values: c::per_minute(range, since, &rows, &["echo.dropped"]),
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
    Ok((
        c::lines("API calls per hour", &calls, "/h", x),
        allocations.join(" · "),
        c::lines("Backlog (waiting items) per org", &backlog, "items", x),
    ))
}
