//! The page handlers: load from the ledger, build the view model ([`crate::view`]), render
//! the template. Actions are POSTed forms carrying the session's CSRF token; each answers
//! with a redirect back to its page (POST/redirect/GET), so a reload never repeats it.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::{Form, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use orgsync_store::{ItemFilter, ItemId, NewAudit, ProblemQuery, SourceKind, Store};
use serde::Deserialize;

use crate::auth::{Session, check_csrf};
use crate::view::overview::{self, Overview};
use crate::view::problems::{self, Problems};
use crate::view::topology::{self, NODE_H, NODE_W, TopologyView, WIDTH};
use crate::{Monitor, MonitorError};

/// The vendored htmx (BSD Zero-Clause, `static/htmx.LICENSE`): served from the binary.
const HTMX: &str = include_str!("../static/htmx.min.js");

/// Items listed per group on the problems page; the rest are on the group's own page.
const PER_GROUP: u32 = 20;
/// Most writes the topology's per-route throughput and lag read (newest first).
const ROUTE_WRITES: u32 = 20_000;
/// Items per page of one group's own page.
const GROUP_PAGE: u32 = 100;

/// `GET /static/htmx.min.js`.
pub async fn htmx() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        HTMX,
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    csrf: String,
    logged_in: bool,
    view: Overview,
    /// The orgs and routes, when the configuration is known.
    topology: Option<TopologyView>,
}

/// `GET /`: org cards and the syncs table.
pub async fn overview<S: Store>(
    State(m): State<Arc<Monitor<S>>>,
    Extension(session): Extension<Session>,
) -> Result<Html<String>, MonitorError> {
    let store = m.store.as_ref();
    let orgs = store.orgs().await?;
    let syncs = store.syncs().await?;
    let counts = store.counts().await?;
    let mut cdc = Vec::new();
    for s in syncs.iter().filter(|s| s.capture == "cdc") {
        if let Some(cp) = store.checkpoint(&s.org, &s.object, SourceKind::Cdc).await? {
            cdc.push(cp);
        }
    }
    let now = Utc::now();
    let mut view = overview::build(&orgs, &syncs, &counts, &cdc, now);
    let samples = store
        .org_samples(now - crate::view::history::RATE_WINDOW)
        .await?;
    for (card, row) in view.orgs.iter_mut().zip(&orgs) {
        card.forecast = crate::view::history::forecast(
            &samples,
            &card.name,
            row.budget_used,
            row.budget_max,
            now,
        );
    }
    let writes = store
        .route_writes(
            now - chrono::TimeDelta::minutes(topology::WINDOW_MINUTES),
            ROUTE_WRITES,
        )
        .await?;
    let topology = m
        .config
        .as_ref()
        .map(|c| topology::build(&c.topology, &syncs, &counts, &writes));
    let page = OverviewPage {
        csrf: session.csrf,
        logged_in: true,
        view,
        topology,
    };
    Ok(Html(page.render()?))
}

/// `/problems` query.
#[derive(Debug, Deserialize)]
pub struct ProblemsQuery {
    /// `1`: list dismissed items too.
    #[serde(default)]
    dismissed: Option<String>,
    /// One group only (its own page), by its code.
    #[serde(default)]
    code: Option<String>,
    /// On a group's page: items older than this id.
    #[serde(default)]
    before: Option<i64>,
}

#[derive(Template)]
#[template(path = "problems.html")]
struct ProblemsPage {
    csrf: String,
    logged_in: bool,
    show_dismissed: bool,
    /// The group shown alone, with the next page's cursor.
    single: Option<(String, Option<i64>)>,
    view: Problems,
}

/// `GET /problems[?dismissed=1][&code=C[&before=N]]`: every group with its newest items, or
/// one group's items a page at a time.
pub async fn problems<S: Store>(
    State(m): State<Arc<Monitor<S>>>,
    Extension(session): Extension<Session>,
    Query(q): Query<ProblemsQuery>,
) -> Result<Html<String>, MonitorError> {
    let show_dismissed = q.dismissed.as_deref() == Some("1");
    let counts = m.store.problem_counts().await?;
    let single = q.code.clone().filter(|c| !c.is_empty());
    let codes: Vec<String> = match &single {
        Some(c) => vec![c.clone()],
        None => {
            let mut all: Vec<String> = counts
                .iter()
                .filter(|c| show_dismissed || !c.dismissed)
                .map(|c| problems::display_code(c.state, c.code.as_deref()))
                .collect();
            all.sort();
            all.dedup();
            all
        }
    };
    let limit = if single.is_some() {
        GROUP_PAGE
    } else {
        PER_GROUP
    };
    let mut items = BTreeMap::new();
    for code in &codes {
        let (state, stored) = problems::group_query(code);
        let query = ProblemQuery {
            state,
            code: stored,
            include_dismissed: show_dismissed,
            before: q.before.filter(|_| single.is_some()),
            limit,
        };
        items.insert(code.clone(), m.store.problem_items(&query).await?);
    }
    let mut view = problems::build(&counts, &items, show_dismissed, Utc::now());
    if let Some(code) = &single {
        view.groups.retain(|g| g.code == *code);
    }
    let single = single.map(|code| {
        let page = items.get(&code).map(Vec::as_slice).unwrap_or_default();
        let next = (page.len() >= limit as usize)
            .then(|| page.iter().map(|i| i.id.0).min())
            .flatten();
        (code, next)
    });
    if single.is_some() {
        // a group's page lists its items a page at a time, not "N more"
        for g in &mut view.groups {
            g.more = 0;
        }
    }
    let page = ProblemsPage {
        csrf: session.csrf,
        logged_in: true,
        show_dismissed,
        single,
        view,
    };
    Ok(Html(page.render()?))
}

/// An action on one item.
#[derive(Debug, Deserialize)]
pub struct ItemAction {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
}

/// An action on everything.
#[derive(Debug, Deserialize)]
pub struct AllAction {
    #[serde(default)]
    csrf: String,
}

fn item_id(text: &str) -> Result<ItemId, MonitorError> {
    text.trim()
        .parse::<i64>()
        .map(ItemId)
        .map_err(|_| MonitorError::BadRequest(format!("`{text}` is not an item id")))
}

fn back_to_problems() -> Response {
    Redirect::to("/problems").into_response()
}

/// `POST /problems/retry`: the item's record in its target, Queued again now (the store
/// method `orgsync retry --org T --object O --id G` uses).
pub async fn retry<S: Store>(
    State(m): State<Arc<Monitor<S>>>,
    Extension(session): Extension<Session>,
    Form(form): Form<ItemAction>,
) -> Result<Response, MonitorError> {
    check_csrf(&session, &form.csrf)?;
    let id = item_id(&form.id)?;
    let Some(item) = m.store.item(id).await? else {
        return Err(MonitorError::BadRequest(format!("no item {}", id.0)));
    };
    let filter = ItemFilter {
        state: None,
        target: Some(item.work.target.clone()),
        object: Some(item.work.object.clone()),
        global_id: Some(item.work.global_id.clone()),
    };
    let n = m.store.retry_failed(&filter, Utc::now()).await?;
    tracing::info!(item = id.0, queued = n, "dashboard: retry");
    let mut audit = admin_audit(
        &session,
        "admin.retry",
        serde_json::json!({
            "item": id.0, "target": item.work.target, "object": item.work.object, "queued": n,
        }),
    );
    audit.org = Some(item.work.target.clone());
    audit.object = Some(item.work.object.clone());
    audit.global_id = Some(item.work.global_id.clone());
    audit.item_id = Some(id);
    m.store.append_audit(vec![audit]).await?;
    Ok(back_to_problems())
}

/// `POST /problems/retry-all`: every Failed item Queued again now, as `orgsync retry` does.
pub async fn retry_all<S: Store>(
    State(m): State<Arc<Monitor<S>>>,
    Extension(session): Extension<Session>,
    Form(form): Form<AllAction>,
) -> Result<Response, MonitorError> {
    check_csrf(&session, &form.csrf)?;
    let n = m
        .store
        .retry_failed(&ItemFilter::default(), Utc::now())
        .await?;
    tracing::info!(queued = n, "dashboard: retry all");
    let audit = admin_audit(
        &session,
        "admin.retry_all",
        serde_json::json!({ "queued": n }),
    );
    m.store.append_audit(vec![audit]).await?;
    Ok(back_to_problems())
}

/// `POST /problems/dismiss`: the Failed item leaves the list, kept as history.
pub async fn dismiss<S: Store>(
    State(m): State<Arc<Monitor<S>>>,
    Extension(session): Extension<Session>,
    Form(form): Form<ItemAction>,
) -> Result<Response, MonitorError> {
    check_csrf(&session, &form.csrf)?;
    let id = item_id(&form.id)?;
    let n = m.store.dismiss_failed(&[id], Utc::now()).await?;
    tracing::info!(item = id.0, dismissed = n, "dashboard: dismiss");
    if n > 0
        && let Some(item) = m.store.item(id).await?
    {
        let mut audit = admin_audit(
            &session,
            "admin.dismiss",
            serde_json::json!({
                "item": id.0, "target": item.work.target, "object": item.work.object,
            }),
        );
        audit.org = Some(item.work.target.clone());
        audit.object = Some(item.work.object.clone());
        audit.global_id = Some(item.work.global_id.clone());
        audit.item_id = Some(id);
        m.store.append_audit(vec![audit]).await?;
    }
    Ok(back_to_problems())
}

/// An operator's action as an audit event (the activity log and the record's timeline):
/// kind `admin.*`, `who` from the session added to `detail`, timed now.
pub(crate) fn admin_audit(
    session: &Session,
    kind: &str,
    mut detail: serde_json::Value,
) -> NewAudit {
    if let serde_json::Value::Object(m) = &mut detail {
        m.insert("who".into(), serde_json::Value::String(session.who.clone()));
    }
    let mut audit = NewAudit::new(Utc::now(), kind);
    audit.detail = detail;
    audit
}
