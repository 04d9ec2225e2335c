//! `/reconcile`: the last reconcile run per object (read from the ledger, like `orgsync
//! status`) and the buttons that start a pass in the running engine — quick or full dry run,
//! and Repair behind a confirmation like Remove's.
//!
//! Why a pass runs in a spawned task: a full pass reads every record of every org and can
//! take minutes; the request only starts it (audited with who did) and the page shows it
//! running, then the report the engine keeps in the ledger. One pass at a time per
//! dashboard: a second start while one runs is refused with 409 instead of doubling the API
//! calls and racing the first one's repairs.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use askama::Template;
use axum::Extension;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use orgsync_core::reconcile::{Mode, Report};
use orgsync_store::Store;
use serde::Deserialize;

use crate::auth::{Session, check_csrf};
use crate::pages::admin_audit;
use crate::view::reconcile::{self as view, RunView};
use crate::{Monitor, MonitorError};

/// Starts a reconcile pass in the running engine over `objects` (every enabled sync when
/// empty), `full` or quick, in `mode`, and resolves with its report once the pass is over (the
/// engine keeps the report in the ledger itself). Supplied by the binary (the engine handle's
/// `reconcile`), so this crate needs no engine dependency.
pub type Reconciler = Arc<
    dyn Fn(Vec<String>, bool, Mode) -> Pin<Box<dyn Future<Output = Result<Report, String>> + Send>>
        + Send
        + Sync,
>;

/// The objects a pass started here covers: the syncs enabled now (the file with the overlay
/// over it), so a sync paused or removed on the settings page since the engine started is not
/// read, and never repaired back into the ledger. None: no configuration here (the engine's
/// own list applies).
async fn objects<S: Store>(m: &Monitor<S>) -> Result<Option<Vec<String>>, MonitorError> {
    let Some(cfg) = m.config.as_ref() else {
        return Ok(None);
    };
    let overrides = m.store.sync_overrides().await?;
    let now = crate::admin::effective(cfg, &overrides);
    Ok(Some(
        now.syncs
            .iter()
            .filter(|s| s.enabled)
            .map(|s| s.object.clone())
            .collect(),
    ))
}

/// A pass this dashboard started and that has not ended yet.
#[derive(Debug, Clone)]
pub struct Running {
    /// Full pass (else quick).
    pub full: bool,
    /// Dry run or repair.
    pub mode: Mode,
    /// Who started it.
    pub who: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// The dashboard's one pass at a time, and how the last one it started ended when it failed
/// (a failed pass keeps no report in the ledger, so the page would otherwise say nothing).
#[derive(Debug, Default)]
pub struct Runs {
    state: Mutex<(Option<Running>, Option<String>)>,
}

impl Runs {
    /// The pass running now, and the last failure.
    pub fn now(&self) -> (Option<Running>, Option<String>) {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Take the slot for `run`; false when a pass runs already.
    fn claim(&self, run: Running) -> bool {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if s.0.is_some() {
            return false;
        }
        *s = (Some(run), None);
        true
    }

    fn release(&self, error: Option<String>) {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = (None, error);
    }
}

#[derive(Template)]
#[template(path = "reconcile.html")]
struct ReconcilePage {
    csrf: String,
    logged_in: bool,
    available: bool,
    running: Option<Running>,
    failed: Option<String>,
    notice: Option<String>,
    last: Option<RunView>,
    confirm_repair: bool,
}

async fn render<S: Store>(
    m: &Monitor<S>,
    session: Session,
    notice: Option<String>,
    confirm_repair: bool,
) -> Result<Html<String>, MonitorError> {
    let (running, failed) = m.runs.now();
    let last = m.store.last_reconcile_run().await?.map(|r| view::build(&r));
    let page = ReconcilePage {
        csrf: session.csrf,
        logged_in: true,
        available: m.reconciler.is_some(),
        running,
        failed,
        notice,
        last,
        confirm_repair,
    };
    Ok(Html(page.render()?))
}

/// `GET /reconcile`: the last run, what runs now, the buttons.
pub async fn page<S: Store>(
    State(m): State<Arc<Monitor<S>>>,
    Extension(session): Extension<Session>,
) -> Result<Html<String>, MonitorError> {
    render(&m, session, None, false).await
}

/// `GET /reconcile/repair`: what Repair does, and the button that starts it.
pub async fn confirm_repair<S: Store>(
    State(m): State<Arc<Monitor<S>>>,
    Extension(session): Extension<Session>,
) -> Result<Html<String>, MonitorError> {
    render(&m, session, None, true).await
}

/// A start: `pass` is `quick` or `full`, `mode` is `dry-run` or `repair`.
#[derive(Debug, Deserialize)]
pub struct StartForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pass: String,
    #[serde(default)]
    mode: String,
}

/// `POST /reconcile/start`: claim the one slot, audit who started what, spawn the pass and
/// answer at once (303 to the page); 409 with the running pass named when one runs already.
pub async fn start<S: Store>(
    State(m): State<Arc<Monitor<S>>>,
    Extension(session): Extension<Session>,
    Form(f): Form<StartForm>,
) -> Result<Response, MonitorError> {
    check_csrf(&session, &f.csrf)?;
    let full = match f.pass.as_str() {
        "quick" => false,
        "full" => true,
        other => return Err(MonitorError::BadRequest(format!("no pass `{other}`"))),
    };
    let mode = match f.mode.as_str() {
        "dry-run" => Mode::DryRun,
        "repair" => Mode::Repair,
        other => return Err(MonitorError::BadRequest(format!("no mode `{other}`"))),
    };
    let Some(reconciler) = m.reconciler.clone() else {
        return Err(MonitorError::BadRequest(
            "reconcile is not available here (no running engine)".into(),
        ));
    };
    let objects = match objects(&m).await? {
        Some(o) if o.is_empty() => {
            return Err(MonitorError::BadRequest(
                "no sync is enabled: nothing to reconcile".into(),
            ));
        }
        o => o.unwrap_or_default(),
    };
    let run = Running {
        full,
        mode,
        who: session.who.clone(),
        at: Utc::now(),
    };
    if !m.runs.claim(run) {
        let (running, _) = m.runs.now();
        let what = running.map_or_else(String::new, |r| {
            format!(
                " (a {} {} started by {} at {})",
                if r.full { "full" } else { "quick" },
                r.mode.as_str(),
                r.who,
                r.at.format("%H:%M:%S UTC")
            )
        });
        let text = format!(
            "A reconcile pass is running already{what}; wait for its report before starting another."
        );
        return Ok((
            StatusCode::CONFLICT,
            render(&m, session, Some(text), false).await?,
        )
            .into_response());
    }
    let pass = if full { "full" } else { "quick" };
    let audit = admin_audit(
        &session,
        "admin.reconcile.start",
        serde_json::json!({ "pass": pass, "mode": mode.as_str() }),
    );
    if let Err(e) = m.store.append_audit(vec![audit]).await {
        m.runs.release(None);
        return Err(e.into());
    }
    tracing::info!(pass, mode = mode.as_str(), who = %session.who, "dashboard: reconcile started");
    let task = m.clone();
    tokio::spawn(async move {
        let error = match reconciler(objects, full, mode).await {
            Ok(r) => {
                tracing::info!(
                    drifted = r.drifts.len(),
                    queued = r.queued,
                    "dashboard: reconcile done"
                );
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "dashboard: reconcile failed");
                Some(e)
            }
        };
        task.runs.release(error);
    });
    Ok(Redirect::to("/reconcile").into_response())
}
