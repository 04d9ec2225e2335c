//! The Pub/Sub API (gRPC): Change Data Capture events of an org's CDC-enabled objects.
pub mod proto;
