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
