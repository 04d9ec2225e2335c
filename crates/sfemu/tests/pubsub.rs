//! End-to-end tests of the Pub/Sub API (gRPC on the org's own port, h2c on loopback) with the
//! emulator's own generated tonic client: topics, schemas, Subscribe with flow control, replay,
//! keepalives, auth errors, change-event contents and fault injection.
#![allow(clippy::unwrap_used)]

mod common;

#[path = "pubsub/errors.rs"]
mod errors;
#[path = "pubsub/events.rs"]
mod events;
#[path = "pubsub/faults.rs"]
mod faults;
#[path = "pubsub/flow.rs"]
mod flow;
#[path = "pubsub/platform.rs"]
mod platform;
#[path = "pubsub/support.rs"]
mod support;
#[path = "pubsub/transport.rs"]
mod transport;
