//! `orgsync run`: the service. Opens the ledger, starts the engine, shows progress (a bar for
//! initial loads when stderr is a terminal, periodic log lines otherwise) and stops cleanly
//! on Ctrl-C or SIGTERM: capture stops, in-flight work is finished or its leases released,
//! and the ledger is flushed, so nothing is lost.
//!
//! The HTTP endpoints (`orgsync-api`: push API, Outbound Messaging listener, `/healthz`;
//! `orgsync-monitor`: `/metrics` and, with `[monitor]`, the Sync Monitor dashboard) are
//! served on `engine.listen` only when the config needs them — some org has a `push_token`,
//! some sync uses `capture = "outbound"`, or `[monitor]` is set — so polling-only instances
//! without a dashboard never hold a port. On
//! stop the server stops first — connections still sending headers or a body are closed at
//! once, requests being applied finish (an Outbound Messaging request waiting for its ledger
//! commit still gets its Ack) within `orgsync_api::SHUTDOWN_GRACE` — then the engine.
//!
//! The engine runs in an [`EngineHost`]: the ledger's settings overlay is laid over the file
//! at start and followed while running — a sync added, removed, or given a new method or
//! interval on the dashboard or with `orgsync sync` restarts the engine in place (gracefully,
//! as at shutdown) while the HTTP server stays up; every router resolves the engine per
//! request.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use orgsync_engine::{EngineHost, EngineOptions, Progress};

use crate::ConfigArgs;

/// Run the command.
pub async fn run(args: &ConfigArgs) -> anyhow::Result<u8> {
    let settings = super::load(args)?;
    let url = super::state_url(&settings.engine.state, &args.config);
    let store = super::open_store(&url).await?;
    tracing::info!(
        config = %args.config.display(),
        state = %super::state_display(&settings.engine.state),
        orgs = settings.orgs.len(),
        syncs = settings.syncs.len(),
        "starting"
    );
    let monitor = settings.monitor.clone();
    let serve = settings.serves_push() || monitor.is_some();
    let listen = settings.engine.listen;
    // the recorder first, so the engine's counters count from its start
    let metrics = match serve {
        true => Some(orgsync_monitor::metrics::install()?),
        false => None,
    };
    // bind before starting the engine: a taken port is reported before any login
    let server = match serve {
        true => Some(
            orgsync_api::Server::bind(listen, &settings.api)
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "cannot listen on {listen} (engine.listen) for the HTTP endpoints: {e}"
                    )
                })?,
        ),
        false => None,
    };
    let file = Arc::new(settings.clone());
    let handle = EngineHost::start(settings, store.clone(), EngineOptions::default()).await?;
    let progress = handle.progress();
    let shown = tokio::spawn(show_progress(progress));
    let (stop_api, api_stopped) = tokio::sync::oneshot::channel::<()>();
    let api = server.map(|server| {
        tracing::info!(
            %listen,
            dashboard = monitor.is_some(),
            "serving the push API, the Outbound Messaging listener and /metrics"
        );
        let router = http_routes(&handle, &store, metrics, monitor.as_ref(), &file);
        tokio::spawn(server.run(router, async {
            let _ = api_stopped.await;
        }))
    });
    let why = wait_for_stop(None).await;
    tracing::info!("{why}: stopping (finishing in-flight work)");
    let _ = stop_api.send(());
    if let Some(api) = api {
        // the server closes stalled connections at once and waits at most SHUTDOWN_GRACE for
        // requests being applied (orgsync_api::serve)
        match api.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "the HTTP server stopped with an error"),
            Err(e) => tracing::warn!(error = %e, "the HTTP server task failed"),
        }
    }
    stop(&handle, shown).await;
    store.close().await;
    tracing::info!("stopped cleanly");
    Ok(0)
}

/// Everything served on `engine.listen`: the push API and Outbound Messaging listener (with
/// `/healthz`), `/metrics` when a recorder is installed, and the Sync Monitor when
/// `[monitor]` is set — one router, one listener with its deadlines and connection cap. Each
/// resolves the host's engine per request; `file` is the configuration file's settings (the
/// dashboard lays the overlay over them).
pub fn http_routes(
    handle: &Arc<EngineHost>,
    store: &orgsync_store::SqlStore,
    metrics: Option<orgsync_monitor::metrics::Handle>,
    monitor: Option<&orgsync_core::config::MonitorSettings>,
    file: &Arc<orgsync_core::Settings>,
) -> axum::Router {
    let store = Arc::new(store.clone());
    let mut router = orgsync_api::router(handle.clone());
    if let Some(h) = metrics {
        let orgs = handle
            .settings()
            .topology
            .orgs()
            .iter()
            .map(ToString::to_string)
            .collect();
        router = router.merge(orgsync_monitor::metrics_router(store.clone(), h, orgs));
    }
    if let Some(m) = monitor {
        let config = file.clone();
        let host = handle.clone();
        let running: orgsync_monitor::RunningSettings = Arc::new(move || host.running_settings());
        let catalog: Arc<dyn orgsync_monitor::catalog::Catalog> = Arc::new(super::catalog::Orgs);
        let engine = handle.clone();
        let reconciler: orgsync_monitor::reconcile_page::Reconciler =
            Arc::new(move |objects, full, mode| {
                let engine = engine.clone();
                Box::pin(async move {
                    let req = orgsync_engine::reconcile::ReconcileRequest {
                        objects,
                        full,
                        mode,
                    };
                    let engine = engine.current();
                    engine.reconcile(req).await.map_err(|e| e.to_string())
                })
            });
        router = router.merge(orgsync_monitor::router(
            orgsync_monitor::Monitor::with_engine(
                store,
                m,
                Some(config),
                Some(super::catalog::tester()),
                Some(catalog),
                Some(reconciler),
                Some(running),
            ),
        ));
    }
    router
}

/// Stop the engine gracefully and the progress display with it.
pub async fn stop(handle: &EngineHost, shown: tokio::task::JoinHandle<()>) {
    handle.shutdown().await;
    shown.abort();
    let _ = shown.await;
}

/// Wait for Ctrl-C, SIGTERM, or `limit` to pass; says which.
pub async fn wait_for_stop(limit: Option<Duration>) -> &'static str {
    let timer = async {
        match limit {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => return "interrupted",
                    _ = timer => return "time is up",
                }
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => "interrupted",
            _ = term.recv() => "SIGTERM received",
            _ = timer => "time is up",
        }
    }
    #[cfg(not(unix))]
    {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => "interrupted",
            _ = timer => "time is up",
        }
    }
}

/// One line summing up the engine's counters.
pub fn summary(p: &Progress) -> String {
    let calls: u64 = p.api_calls.values().sum();
    format!(
        "captured {} · queued {} · in flight {} · pending {} · synced {} · failed {} · conflicts {} · echoes dropped {} · API calls {}",
        p.captured,
        p.queued,
        p.in_flight,
        p.pending,
        p.synced,
        p.failed,
        p.conflicts,
        p.echoes_dropped,
        calls
    )
}

/// Show progress until aborted: an indicatif bar during initial loads on a terminal, a log
/// line every 10 s (when something changed) otherwise.
async fn show_progress(mut rx: tokio::sync::watch::Receiver<Progress>) {
    let tty = std::io::stderr().is_terminal();
    let mut bar: Option<indicatif::ProgressBar> = None;
    let mut last_line = String::new();
    let mut last_log = tokio::time::Instant::now() - Duration::from_secs(60);
    loop {
        let p = rx.borrow_and_update().clone();
        match (tty, p.initial_load) {
            (true, Some((done, total))) => {
                let b = bar.get_or_insert_with(|| new_bar(total));
                b.set_length(total.max(done));
                b.set_position(done);
            }
            _ => {
                if let Some(b) = bar.take() {
                    b.finish_with_message("initial load done");
                }
                let line = summary(&p);
                if line != last_line && last_log.elapsed() >= Duration::from_secs(10) {
                    tracing::info!("{line}");
                    last_line = line;
                    last_log = tokio::time::Instant::now();
                }
            }
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

fn new_bar(total: u64) -> indicatif::ProgressBar {
    let b = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "initial load {bar:40} {pos}/{len} records ({per_sec}, eta {eta})",
    ) {
        b.set_style(style);
    }
    b
}
