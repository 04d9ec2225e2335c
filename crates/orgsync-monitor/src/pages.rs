//! The page handlers: load from the ledger, build the view model ([`crate::view`]), render
//! the template. Actions are POSTed forms carrying the session's CSRF token; each answers
//! with a redirect back to its page (POST/redirect/GET), so a reload never repeats it.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::{Form, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use orgsync_store::{Item, ItemFilter, ItemId, ItemState, NewAudit, Page, SourceKind, Store};
use serde::Deserialize;

use crate::auth::{Session, check_csrf};
use crate::view::overview::{self, Overview};
use crate::view::problems::{self, Problems};
use crate::{Monitor, MonitorError};

/// The vendored htmx (BSD Zero-Clause, `static/htmx.LICENSE`): served from the binary.
const HTMX: &str = include_str!("../static/htmx.min.js");

/// Most items the problems page loads per state (a page, not a report: `orgsync status
/// --json` lists everything).
const PROBLEMS_LIMIT: u32 = 2000;

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
    let view = overview::build(&orgs, &syncs, &counts, &cdc, Utc::now());
    let page = OverviewPage {
        csrf: session.csrf,
        logged_in: true,
        view,
    };
    Ok(Html(page.render()?))
}

/// `/problems` query.
#[derive(Debug, Deserialize)]
pub struct ProblemsQuery {
    /// `1`: list dismissed items too.
    #[serde(default)]
    dismissed: Option<String>,
}

#[derive(Template)]
#[template(path = "problems.html")]
struct ProblemsPage {
    csrf: String,
    logged_in: bool,
    show_dismissed: bool,
    view: Problems,
}

async fn all_in_state<S: Store>(store: &S, state: ItemState) -> Result<Vec<Item>, MonitorError> {
    let filter = ItemFilter {
        state: Some(state),
        ..ItemFilter::default()
    };
    Ok(store.items(&filter, Page::first(PROBLEMS_LIMIT)).await?)
}

/// `GET /problems[?dismissed=1]`.
pub async fn problems<S: Store>(
    State(m): State<Arc<Monitor<S>>>,
    Extension(session): Extension<Session>,
    Query(q): Query<ProblemsQuery>,
) -> Result<Html<String>, MonitorError> {
    let show_dismissed = q.dismissed.as_deref() == Some("1");
    let mut items = all_in_state(m.store.as_ref(), ItemState::Failed).await?;
    items.extend(all_in_state(m.store.as_ref(), ItemState::Pending).await?);
    let page = ProblemsPage {
        csrf: session.csrf,
        logged_in: true,
        show_dismissed,
        view: problems::build(&items, show_dismissed, Utc::now()),
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
