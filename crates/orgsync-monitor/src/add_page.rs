//! `/settings/add`: "Add object" — pick an object present in every org, pick fields writable in
//! every org, then vet the choice in every org and create the sync **disabled** in the overlay
//! (through [`crate::admin::add`], the same code as `orgsync sync add`). The answer says which
//! field in which org stops it, or whether Change Data Capture or polling will capture it.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::{Form, Query, State};
use axum::response::Html;
use orgsync_core::Settings;
use orgsync_store::Store;
use serde::Deserialize;

use crate::admin;
use crate::auth::{Session, check_csrf};
use crate::catalog::Catalog;
use crate::{Monitor, MonitorError};

#[derive(Template)]
#[template(path = "add.html")]
struct AddPage {
    csrf: String,
    logged_in: bool,
    objects: Vec<String>,
    object: String,
    /// Each field and whether it is ticked.
    fields: Vec<(String, bool)>,
    problems: Vec<String>,
    /// An org could not be asked (the message to show).
    error: Option<String>,
}

fn catalog<S>(m: &Monitor<S>) -> Result<Arc<dyn Catalog>, MonitorError> {
    m.catalog
        .clone()
        .ok_or_else(|| MonitorError::BadRequest("Add object is not available here".into()))
}

/// The settings in effect (file + overlay), for the catalog and the admin change.
async fn effective<S: Store>(m: &Monitor<S>) -> Result<Arc<Settings>, MonitorError> {
    let file = crate::settings_page::config(m)?;
    let overrides = m.store.sync_overrides().await?;
    Ok(Arc::new(admin::effective(file, &overrides)))
}

/// Render the page: the objects, and for a chosen `object` its fields (`ticked` checked).
async fn render<S: Store>(
    m: &Monitor<S>,
    session: Session,
    object: String,
    ticked: &[String],
    problems: Vec<String>,
) -> Result<Html<String>, MonitorError> {
    let cat = catalog(m)?;
    let settings = effective(m).await?;
    let mut error = None;
    let objects = match cat.objects(settings.clone()).await {
        Ok(o) => o,
        Err(e) => {
            error = Some(format!("cannot list the orgs' objects: {e}"));
            Vec::new()
        }
    };
    let mut fields = Vec::new();
    if !object.is_empty() && error.is_none() {
        match cat.fields(settings, object.clone()).await {
            Ok(f) => {
                fields = f
                    .into_iter()
                    .map(|f| {
                        let on = ticked.iter().any(|t| t.eq_ignore_ascii_case(&f));
                        (f, on)
                    })
                    .collect();
            }
            Err(e) => error = Some(format!("cannot describe {object}: {e}")),
        }
    }
    let page = AddPage {
        csrf: session.csrf,
        logged_in: true,
        objects,
        object,
        fields,
        problems,
        error,
    };
    Ok(Html(page.render()?))
}

/// `?object=` of the add page.
#[derive(Debug, Deserialize)]
pub struct AddQuery {
    #[serde(default)]
    object: String,
}

/// `GET /settings/add[?object=X]`: the objects, and X's fields writable in every org.
pub async fn form<S: Store>(
    State(m): State<Arc<Monitor<S>>>,
    Extension(session): Extension<Session>,
    Query(q): Query<AddQuery>,
) -> Result<Html<String>, MonitorError> {
    render(&m, session, q.object.trim().to_string(), &[], Vec::new()).await
}

/// `POST /settings/add` (`csrf`, `object`, `field` repeated): vet in every org, then add the
/// sync disabled and show the settings page saying so — or this page with what stops it.
pub async fn add<S: Store>(
    State(m): State<Arc<Monitor<S>>>,
    Extension(session): Extension<Session>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Html<String>, MonitorError> {
    let value = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    check_csrf(&session, &value("csrf"))?;
    let object = value("object");
    let fields: Vec<String> = pairs
        .iter()
        .filter(|(n, _)| n == "field")
        .map(|(_, v)| v.trim().to_string())
        .collect();
    let settings = effective(&m).await?;
    let vetting = match catalog(&m)?
        .vet(settings.clone(), object.clone(), fields.clone())
        .await
    {
        Ok(v) => v,
        Err(e) => {
            let problems = vec![format!("the orgs could not be asked: {e}")];
            return render(&m, session, object, &fields, problems).await;
        }
    };
    if !vetting.problems.is_empty() {
        return render(&m, session, object, &fields, vetting.problems).await;
    }
    let row = match admin::add(
        m.store.as_ref(),
        &settings,
        &object,
        &fields,
        vetting.capture,
        &session.who,
    )
    .await
    {
        Ok(row) => row,
        Err(admin::AdminError::Store(e)) => return Err(e.into()),
        Err(e) => return render(&m, session, object, &fields, vec![e.to_string()]).await,
    };
    tracing::info!(object = %row.object, who = %session.who, "dashboard: sync added (disabled)");
    let notice = format!(
        "Added {} with {} — disabled: turn it on and Save to start it. {}.",
        row.object,
        fields.join(", "),
        vetting.capture_text
    );
    crate::settings_page::render(&m, session, None, Some(notice)).await
}
