//! The Pub/Sub API (gRPC, `eventbus.v1.PubSub`): Change Data Capture events of an org's
//! CDC-enabled objects, served on the org's own listener beside REST.
//!
//! Requests whose path starts with `/eventbus.v1.PubSub/` go to the tonic service (HTTP/2:
//! h2c prior knowledge over plain HTTP, ALPN `h2` over TLS); everything else to the REST router.
//! Map: [`schema`] topics and Avro schemas, [`encode`] Avro payloads and field bitmaps,
//! [`bus`] the org's retained events (replay ids, retention, injection), `build` events from
//! change-log entries (merging, gaps, overflow), [`platform`] platform events, [`service`] auth
//! and the unary RPCs, `subscribe` the flow-controlled stream, [`control`] the
//! `/__sfemu/pubsub` control surface.

mod build;
pub mod bus;
pub mod control;
pub mod encode;
pub mod platform;
pub mod proto;
pub mod schema;
pub mod service;
mod subscribe;

use crate::state::OrgServer;
use std::sync::Arc;

pub use bus::{BusSettings, EventBus};

/// `app` plus the Pub/Sub gRPC service of `state`'s org on the same routes table.
pub fn with_grpc(app: axum::Router, state: Arc<OrgServer>) -> axum::Router {
    let svc = proto::pub_sub_server::PubSubServer::new(service::PubSubService { state })
        .max_decoding_message_size(4 * 1024 * 1024);
    axum::Router::new()
        .route_service("/eventbus.v1.PubSub/{*rpc}", svc)
        .fallback_service(app)
}
