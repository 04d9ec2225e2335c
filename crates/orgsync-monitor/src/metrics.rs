//! `/metrics`: the process's Prometheus recorder and the scrape.
//!
//! Counters and the latency histogram are recorded by the engine where things happen (names
//! in `orgsync_core::metric`). What the ledger holds — backlog by state, API budget, circuit —
//! is read from it at each scrape and set as gauges, so `/metrics`, the dashboard and
//! `orgsync status` say the same, and a replica that did not do the work still reports it.

use std::sync::{Arc, OnceLock};

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use orgsync_core::metric as m;
use orgsync_store::{CircuitState, ItemState, Store};

use crate::MonitorError;

/// A handle on the installed recorder (renders the text format).
pub type Handle = PrometheusHandle;

/// Latency buckets, seconds: sub-second real time up to an hour of retries.
const LATENCY_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];

/// Why no recorder could be installed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot install the Prometheus recorder: {0}")]
pub struct InstallError(String);

static INSTALLED: OnceLock<Result<PrometheusHandle, InstallError>> = OnceLock::new();

/// Install the Prometheus recorder as the process's `metrics` recorder, once; later calls
/// return the same handle. Fails only if another recorder was installed first.
pub fn install() -> Result<Handle, InstallError> {
    INSTALLED
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(m::CAPTURE_TO_APPLY.into()), LATENCY_BUCKETS)
                .map_err(|e| InstallError(e.to_string()))?
                .install_recorder()
                .map_err(|e| InstallError(e.to_string()))?;
            describe();
            Ok(recorder)
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        m::CHANGES_CAPTURED,
        "Changes captured that were news to the ledger"
    );
    describe_counter!(m::CHANGES_APPLIED, "Items written to their target org");
    describe_counter!(m::CHANGES_FAILED, "Items that became Failed");
    describe_counter!(m::ECHOES_DROPPED, "Changes dropped as echoes, by layer");
    describe_counter!(m::API_CALLS, "API calls sent to the org");
    describe_counter!(
        m::FILES_WRITTEN,
        "Files component writes in the target org, by op"
    );
    describe_counter!(
        m::FILE_BYTES,
        metrics::Unit::Bytes,
        "File bytes uploaded to the target org"
    );
    describe_counter!(m::FILE_ERRORS, "Failed file reads or writes");
    describe_histogram!(
        m::CAPTURE_TO_APPLY,
        metrics::Unit::Seconds,
        "From an item's first capture to its successful write"
    );
    describe_gauge!(m::BACKLOG, "Items in the ledger by target org and state");
    describe_gauge!(
        m::API_BUDGET_USED,
        "API requests used in the rolling 24 h window"
    );
    describe_gauge!(m::API_BUDGET_MAX, "The org's daily API allocation");
    describe_gauge!(m::CIRCUIT_OPEN, "1 while the org's circuit is open");
}

/// The scrape's state.
#[derive(Debug)]
pub struct Scrape<S> {
    /// The ledger.
    pub store: Arc<S>,
    /// The recorder.
    pub handle: Handle,
    /// The configured orgs: each has a backlog from the first scrape, before the ledger
    /// holds a row for it.
    pub orgs: Vec<String>,
}

/// Set the ledger's gauges: backlog per target and state (every state, zeros included, so a
/// drained backlog reads 0 rather than its last value), budget and circuit per org; every
/// org of `configured` has its backlog even before the ledger knows it.
pub async fn refresh_ledger_gauges<S: Store>(
    store: &S,
    configured: &[String],
) -> Result<(), MonitorError> {
    let counts = store.counts().await?;
    let orgs = store.orgs().await?;
    let mut targets: Vec<String> = counts.keys().map(|(o, _)| o.to_string()).collect();
    targets.extend(configured.iter().cloned());
    targets.extend(orgs.iter().map(|o| o.name.to_string()));
    targets.sort();
    targets.dedup();
    for target in &targets {
        for state in ItemState::ALL {
            let n = counts
                .get(&(target.as_str().into(), state))
                .copied()
                .unwrap_or(0);
            metrics::gauge!(m::BACKLOG, "org" => target.clone(), "state" => state.as_str())
                .set(n as f64);
        }
    }
    for o in &orgs {
        let org = o.name.to_string();
        if let Some(used) = o.budget_used {
            metrics::gauge!(m::API_BUDGET_USED, "org" => org.clone()).set(used as f64);
        }
        if let Some(max) = o.budget_max {
            metrics::gauge!(m::API_BUDGET_MAX, "org" => org.clone()).set(max as f64);
        }
        let open = f64::from(u8::from(o.circuit == CircuitState::Open));
        metrics::gauge!(m::CIRCUIT_OPEN, "org" => org).set(open);
    }
    Ok(())
}

/// `GET /metrics`: the Prometheus text format.
pub async fn scrape<S: Store>(State(s): State<Arc<Scrape<S>>>) -> Result<Response, MonitorError> {
    refresh_ledger_gauges(s.store.as_ref(), &s.orgs).await?;
    s.handle.run_upkeep();
    let body = s.handle.render();
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response())
}
