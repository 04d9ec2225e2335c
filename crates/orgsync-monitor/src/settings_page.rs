//! `/settings`: the sync settings page — Save per row (method, interval, enable switch),
//! Test per org and object, Remove with a confirmation naming what goes, Restore. Changes go
//! through [`crate::admin`], the same code as `orgsync sync …`, into the ledger's overlay.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::{Form, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use orgsync_core::Settings;
use orgsync_store::Store;
use serde::Deserialize;

use crate::admin::{self, AdminError, Change};
use crate::auth::{Session, check_csrf};
use crate::pages::admin_audit;
use crate::view::settings::{self, METHODS, QUICK_PICKS, SettingsView};
use crate::{Monitor, MonitorError};

impl From<AdminError> for MonitorError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Store(s) => MonitorError::Store(s),
            other => MonitorError::BadRequest(other.to_string()),
        }
    }
}

pub(crate) fn config<S>(m: &Monitor<S>) -> Result<&Arc<Settings>, MonitorError> {
    m.config
        .as_ref()
        .ok_or_else(|| MonitorError::BadRequest("sync settings are not available here".into()))
}

/// The settings in effect: the file's with the overlay now over it, so syncs added since the
/// engine started are known to Save, Test and Remove.
async fn effective<S: Store>(m: &Monitor<S>) -> Result<Arc<Settings>, MonitorError> {
    let overrides = m.store.sync_overrides().await?;
    Ok(Arc::new(admin::effective(config(m)?, &overrides)))
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    csrf: String,
    logged_in: bool,
    view: SettingsView,
    methods: &'static [&'static str],
    quick: &'static [&'static str],
    /// The last Test's answer: (org, object, ok, the check's lines).
    test: Option<(String, String, bool, Vec<String>)>,
    /// What an action just did (an object added).
    notice: Option<String>,
    /// Whether "Add object" is offered.
    can_add: bool,
}

/// The settings page, with a Test's answer or a notice on top.
pub(crate) async fn render<S: Store>(
    m: &Monitor<S>,
    session: Session,
    test: Option<(String, String, bool, String)>,
    notice: Option<String>,
) -> Result<Html<String>, MonitorError> {
    let cfg = config(m)?;
    let overrides = m.store.sync_overrides().await?;
    let syncs = m.store.syncs().await?;
    let running = match &m.running {
        Some(now) => now(),
        None => cfg.clone(),
    };
    let page = SettingsPage {
        csrf: session.csrf,
        logged_in: true,
        view: settings::build(
            &admin::effective(cfg, &overrides),
            cfg,
            &running,
            &overrides,
            &syncs,
            Utc::now(),
        ),
        methods: METHODS,
        quick: QUICK_PICKS,
        test: test.map(|(org, object, ok, text)| {
            let lines = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
            (org, object, ok, lines)
        }),
        notice,
        can_add: m.catalog.is_some(),
    };
    Ok(Html(page.render()?))
}

/// `GET /settings`.
pub async fn page<S: Store>(
    State(m): State<Arc<Monitor<S>>>,
    Extension(session): Extension<Session>,
) -> Result<Html<String>, MonitorError> {
    render(&m, session, None, None).await
}

/// One row's Save.
#[derive(Debug, Deserialize)]
pub struct SaveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    object: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    interval: String,
    /// The checkbox: present when checked.
    #[serde(default)]
    enabled: Option<String>,
}

/// `POST /settings/save`: the row's method, interval and switch into the overlay. Disabling
/// pauses the sync's capture within the engine's overlay tick, enabling resumes it; a new
/// method or interval restarts the service's engine with it within seconds.
pub async fn save<S: Store>(
    State(m): State<Arc<Monitor<S>>>,
    Extension(session): Extension<Session>,
    Form(f): Form<SaveForm>,
) -> Result<Response, MonitorError> {
    check_csrf(&session, &f.csrf)?;
    let cfg = effective(&m).await?;
    let change = Change {
        capture: Some(f.method.trim().to_string()).filter(|s| !s.is_empty()),
        interval: Some(f.interval.trim().to_string()).filter(|s| !s.is_empty()),
        enabled: Some(f.enabled.is_some()),
    };
    admin::change(m.store.as_ref(), &cfg, &f.object, &change, &session.who).await?;
    tracing::info!(object = %f.object, who = %session.who, "dashboard: sync settings saved");
    Ok(Redirect::to("/settings").into_response())
}

/// A Test of one org and object.
#[derive(Debug, Deserialize)]
pub struct TestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    org: String,
    #[serde(default)]
    object: String,
}

/// `POST /settings/test`: the read-only check of one org and object, answered on the page.
/// It changes nothing (a successful Test does not close a circuit), but is POSTed because it
/// calls Salesforce; it is audited like the other actions.
pub async fn test<S: Store>(
    State(m): State<Arc<Monitor<S>>>,
    Extension(session): Extension<Session>,
    Form(f): Form<TestForm>,
) -> Result<Html<String>, MonitorError> {
    check_csrf(&session, &f.csrf)?;
    let cfg = effective(&m).await?;
    if !cfg.topology.orgs().iter().any(|o| o.as_str() == f.org) {
        return Err(MonitorError::BadRequest(format!("no org `{}`", f.org)));
    }
    let Some(tester) = m.tester.clone() else {
        return Err(MonitorError::BadRequest(
            "Test is not available here".into(),
        ));
    };
    let (ok, message) = match tester(cfg, f.org.clone(), f.object.clone()).await {
        Ok(m) => (true, m),
        Err(m) => (false, m),
    };
    let result = if ok {
        "Connection successful"
    } else {
        "failed"
    };
    let mut a = admin_audit(
        &session,
        "admin.sync.test",
        serde_json::json!({ "object": f.object, "org": f.org, "result": result }),
    );
    a.object = Some(f.object.clone());
    m.store.append_audit(vec![a]).await?;
    render(&m, session, Some((f.org, f.object, ok, message)), None).await
}

/// `?object=` of the Remove confirmation.
#[derive(Debug, Deserialize)]
pub struct ObjectQuery {
    #[serde(default)]
    object: String,
}

#[derive(Template)]
#[template(path = "remove.html")]
struct RemovePage {
    csrf: String,
    logged_in: bool,
    object: String,
    goes: Vec<String>,
}

/// `GET /settings/remove?object=X`: what goes with the sync, and the button that does it.
pub async fn confirm_remove<S: Store>(
    State(m): State<Arc<Monitor<S>>>,
    Extension(session): Extension<Session>,
    Query(q): Query<ObjectQuery>,
) -> Result<Html<String>, MonitorError> {
    let cfg = effective(&m).await?;
    let object = admin::sync_object(&cfg, &q.object)?;
    let goes = admin::what_goes(&cfg, &object)?;
    let page = RemovePage {
        csrf: session.csrf,
        logged_in: true,
        object,
        goes,
    };
    Ok(Html(page.render()?))
}

/// Remove or Restore.
#[derive(Debug, Deserialize)]
pub struct ObjectForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    object: String,
}

/// `POST /settings/remove`: the cascade (checkpoints, items not yet synced, id-map and shadow
/// rows, agreed values); records in the orgs stay.
pub async fn remove<S: Store>(
    State(m): State<Arc<Monitor<S>>>,
    Extension(session): Extension<Session>,
    Form(f): Form<ObjectForm>,
) -> Result<Response, MonitorError> {
    check_csrf(&session, &f.csrf)?;
    let cfg = effective(&m).await?;
    let r = admin::remove(m.store.as_ref(), &cfg, &f.object, &session.who).await?;
    tracing::info!(object = %f.object, who = %session.who, ?r, "dashboard: sync removed");
    Ok(Redirect::to("/settings").into_response())
}

/// `POST /settings/restore`: forget the override; the file's sync applies again.
pub async fn restore<S: Store>(
    State(m): State<Arc<Monitor<S>>>,
    Extension(session): Extension<Session>,
    Form(f): Form<ObjectForm>,
) -> Result<Response, MonitorError> {
    check_csrf(&session, &f.csrf)?;
    admin::restore(m.store.as_ref(), &f.object, &session.who).await?;
    Ok(Redirect::to("/settings").into_response())
}
