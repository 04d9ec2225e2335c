//! `orgsync-monitor`: the Sync Monitor — a server-rendered dashboard (askama templates, htmx
//! served from the binary, no CDN and no build step) and `GET /metrics` in Prometheus text
//! format, mounted into the router `orgsync run` serves on `[engine] listen`.
//!
//! Why it reads the ledger and nothing else: `orgsync status` reads the same rows (orgs,
//! syncs, item counts, failed items), so the dashboard, `/metrics` and the CLI always agree,
//! and a dashboard served by one replica shows the work of all of them.
//!
//! - [`auth`]: the login form, sessions (HttpOnly, SameSite=Strict cookie) and the CSRF token
//!   every state-changing form carries;
//! - [`metrics`]: the Prometheus recorder the engine's counters go to, and the scrape;
//! - [`view`]: pure view models (overview cards and sync rows, problem groups);
//! - [`pages`]: the handlers that load, build the view model and render (overview, problems
//!   and their actions); `explore`: the record explorer, conflicts and the activity log.

mod add_page;
pub mod admin;
pub mod auth;
pub mod catalog;
mod charts_page;
pub mod error;
mod explore;
pub mod metrics;
mod pages;
pub mod reconcile_page;
mod settings_page;
pub mod view;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use orgsync_core::Settings;
use orgsync_core::config::MonitorSettings;
use orgsync_store::Store;

pub use error::MonitorError;

/// The settings page's Test: the read-only check of one (org, object) — `SELECT Id FROM X
/// LIMIT 1` and the describe checks — answering "Connection successful" or what is wrong.
/// Supplied by the binary (the engine's `check`), so this crate needs no Salesforce client;
/// it logs in on its own, so a successful Test never closes a circuit.
/// It gets the settings in effect (file + overlay), so an object added since the start tests.
pub type Tester = Arc<
    dyn Fn(
            Arc<Settings>,
            String,
            String,
        ) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send>>
        + Send
        + Sync,
>;

/// The settings the running engine has now (the service restarts its engine when the overlay
/// changes its syncs, so this is asked per request). Supplied by the binary.
pub type RunningSettings = Arc<dyn Fn() -> Arc<Settings> + Send + Sync>;

/// What the dashboard's handlers share.
pub struct Monitor<S> {
    /// The ledger (the same one `orgsync status` reads).
    pub store: Arc<S>,
    /// Sessions and the admin password.
    pub auth: auth::Auth,
    /// The configuration file's settings (the settings page lays the ledger's overlay over
    /// them per request, and says where the overlay differs); None: page unavailable.
    pub config: Option<Arc<Settings>>,
    /// What the running engine has now, to tell a sync it has not picked up yet; None: the
    /// engine runs `config` as it is.
    pub running: Option<RunningSettings>,
    /// The settings page's Test, when the binary supplies one.
    pub tester: Option<Tester>,
    /// "Add object", when the binary supplies the orgs' catalog.
    pub catalog: Option<Arc<dyn catalog::Catalog>>,
    /// The Reconcile page's buttons, when the binary supplies the running engine's pass.
    pub reconciler: Option<reconcile_page::Reconciler>,
    /// The one pass the Reconcile page runs at a time.
    pub runs: reconcile_page::Runs,
}

impl<S> std::fmt::Debug for Monitor<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("auth", &self.auth)
            .field("config", &self.config.is_some())
            .field("running", &self.running.is_some())
            .field("tester", &self.tester.is_some())
            .field("catalog", &self.catalog.is_some())
            .field("reconciler", &self.reconciler.is_some())
            .finish_non_exhaustive()
    }
}

impl<S: Store> Monitor<S> {
    /// A dashboard over `store`, with the login of `settings` (no settings page).
    pub fn new(store: Arc<S>, settings: &MonitorSettings) -> Arc<Self> {
        Self::with_config(store, settings, None, None, None)
    }

    /// A dashboard with the settings page over `config` (what the engine runs), its Test and
    /// its "Add object".
    pub fn with_config(
        store: Arc<S>,
        settings: &MonitorSettings,
        config: Option<Arc<Settings>>,
        tester: Option<Tester>,
        catalog: Option<Arc<dyn catalog::Catalog>>,
    ) -> Arc<Self> {
        Self::with_engine(store, settings, config, tester, catalog, None, None)
    }

    /// A dashboard as [`Monitor::with_config`], plus the Reconcile page's buttons, which
    /// start passes in the running engine through `reconciler`, and what that engine runs
    /// now (`running`).
    pub fn with_engine(
        store: Arc<S>,
        settings: &MonitorSettings,
        config: Option<Arc<Settings>>,
        tester: Option<Tester>,
        catalog: Option<Arc<dyn catalog::Catalog>>,
        reconciler: Option<reconcile_page::Reconciler>,
        running: Option<RunningSettings>,
    ) -> Arc<Self> {
        Arc::new(Monitor {
            store,
            auth: auth::Auth::new(&settings.admin_password),
            config,
            running,
            tester,
            catalog,
            reconciler,
            runs: reconcile_page::Runs::default(),
        })
    }
}

/// The dashboard's routes: `/login` (form), `/logout`, and behind the login `/` (overview),
/// `/problems` with its actions, `/records` (the record explorer), `/conflicts`, `/activity`
/// (operators' actions), `/reconcile` (the last run, and passes started in the engine), plus the vendored htmx at `/static/htmx.min.js`.
pub fn router<S: Store>(monitor: Arc<Monitor<S>>) -> Router {
    let guarded = Router::new()
        .route("/", get(pages::overview::<S>))
        .route("/problems", get(pages::problems::<S>))
        .route("/problems/retry", post(pages::retry::<S>))
        .route("/problems/retry-all", post(pages::retry_all::<S>))
        .route("/problems/dismiss", post(pages::dismiss::<S>))
        .route("/records", get(explore::records::<S>))
        .route("/conflicts", get(explore::conflicts::<S>))
        .route("/activity", get(explore::activity::<S>))
        .route("/charts", get(charts_page::charts::<S>))
        .route("/settings", get(settings_page::page::<S>))
        .route("/settings/save", post(settings_page::save::<S>))
        .route("/settings/test", post(settings_page::test::<S>))
        .route(
            "/settings/add",
            get(add_page::form::<S>).post(add_page::add::<S>),
        )
        .route(
            "/settings/remove",
            get(settings_page::confirm_remove::<S>).post(settings_page::remove::<S>),
        )
        .route("/settings/restore", post(settings_page::restore::<S>))
        .route("/reconcile", get(reconcile_page::page::<S>))
        .route(
            "/reconcile/repair",
            get(reconcile_page::confirm_repair::<S>),
        )
        .route("/reconcile/start", post(reconcile_page::start::<S>))
        .route("/logout", post(auth::logout::<S>))
        .route_layer(axum::middleware::from_fn_with_state(
            monitor.clone(),
            auth::require_login::<S>,
        ));
    Router::new()
        .route("/login", get(auth::login_form::<S>).post(auth::login::<S>))
        .route("/static/htmx.min.js", get(pages::htmx))
        .merge(guarded)
        .with_state(monitor)
}

/// `GET /metrics` over `store` (ledger gauges refreshed at each scrape) and the process's
/// recorder ([`metrics::install`]), with a backlog for each of the configured `orgs` from the
/// first scrape. Open, like `/healthz`: scrapers carry no session.
pub fn metrics_router<S: Store>(
    store: Arc<S>,
    handle: metrics::Handle,
    orgs: Vec<String>,
) -> Router {
    Router::new()
        .route("/metrics", get(metrics::scrape::<S>))
        .with_state(Arc::new(metrics::Scrape {
            store,
            handle,
            orgs,
        }))
}
