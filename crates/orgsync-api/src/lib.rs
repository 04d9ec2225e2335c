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
//! (size, identity, signature, shape) before the engine sees it, so a refused request never
//! writes anything. The engine is reached through [`Inbound`], implemented for
//! [`orgsync_engine::EngineHandle`].

mod auth;
mod inbound;
pub mod outbound;
pub mod push;
mod reply;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use orgsync_core::OrgName;

pub use inbound::Inbound;

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
}

/// The routes over an engine. `E` is normally `Arc<EngineHandle>`.
pub fn router<E: Inbound>(engine: E) -> Router {
    let push_locks = engine
        .settings()
        .orgs
        .keys()
        .map(|o| (o.clone(), tokio::sync::Mutex::new(())))
        .collect();
    let state = Arc::new(ApiState { engine, push_locks });
    Router::new()
        .route("/api/v1/sync", post(push::handle::<E>))
        .route("/outbound/{org}", post(outbound::handle::<E>))
        .route("/healthz", get(healthz))
        .with_state(state)
}

async fn healthz() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

/// A bound server; [`Server::run`] serves until `stop` resolves, then finishes the requests
/// in progress (an Outbound Messaging request waiting for its ledger commit completes and
/// gets its Ack) before returning.
#[derive(Debug)]
pub struct Server {
    listener: tokio::net::TcpListener,
}

impl Server {
    /// Bind `addr` (port 0 picks a free port; see [`Server::local_addr`]).
    pub async fn bind(addr: SocketAddr) -> std::io::Result<Server> {
        Ok(Server {
            listener: tokio::net::TcpListener::bind(addr).await?,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serve `router` until `stop` resolves; graceful.
    pub async fn run(
        self,
        router: Router,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.listener, router)
            .with_graceful_shutdown(stop)
            .await
    }
}
