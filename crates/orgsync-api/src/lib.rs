//! `orgsync-api`: the service's HTTP endpoints, served on `engine.listen`.
//!
//! - `POST /api/v1/sync` — the push API ([`push`]): a connected peer pushes the seeds' payload
//!   (transactionId, sourceOrgId, timestamp, operation, records) with its bearer token and,
//!   when configured, an HMAC signature.
//! - `POST /outbound/{org}` — the Outbound Messaging listener ([`outbound`]): Salesforce's SOAP
//!   notifications for `{org}` (the config's org name), re-read and acknowledged only after the
//!   ledger commit.
//! - `GET /healthz` — liveness.
//!
//! Why a crate of its own: the engine stays free of HTTP, and every request is checked here
//! (size, identity, rate, signature, shape) before the engine sees it, so a refused request
//! never writes anything. The engine is reached through [`Inbound`], implemented for
//! [`orgsync_engine::EngineHandle`]. The endpoints face other organisations and the internet:
//! [`Server`] bounds connections and the time a client may take (see [`serve`]).

mod auth;
mod inbound;
pub mod limit;
pub mod outbound;
pub mod push;
mod reply;
pub mod serve;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use orgsync_core::OrgName;

pub use inbound::Inbound;
pub use serve::{SHUTDOWN_GRACE, Server};

/// What the handlers share: the engine (which also holds the settings).
#[derive(Debug)]
pub struct ApiState<E> {
    /// The running engine.
    pub engine: E,
    /// One lock per org: pushes from one org are applied one at a time, in arrival order.
    /// Why: the engine's transactionId check and the ledger commit are two steps, so two
    /// concurrent requests with the same transactionId would both be applied (and both
    /// answered `duplicate: false`); and changes from one org must be ingested in order.
    pub(crate) push_locks: HashMap<OrgName, tokio::sync::Mutex<()>>,
    /// Pushes per org over time (`[api] push_rate`, `push_burst`).
    pub(crate) rate: limit::RateLimiter,
}

/// The routes over an engine. `E` is normally `Arc<EngineHandle>`.
pub fn router<E: Inbound>(engine: E) -> Router {
    let push_locks = engine
        .settings()
        .orgs
        .keys()
        .map(|o| (o.clone(), tokio::sync::Mutex::new(())))
        .collect();
    let api = &engine.settings().api;
    let rate = limit::RateLimiter::new(api.push_rate, api.push_burst);
    let state = Arc::new(ApiState {
        engine,
        push_locks,
        rate,
    });
    Router::new()
        .route("/api/v1/sync", post(push::handle::<E>))
        .route("/outbound/{org}", post(outbound::handle::<E>))
        .route("/healthz", get(healthz))
        .with_state(state)
}

async fn healthz() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "ok" }))
}
