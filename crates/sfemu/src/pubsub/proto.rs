//! The generated Pub/Sub API types, server and client (from `proto/pubsub_api.proto`).
#![allow(missing_docs, missing_debug_implementations, clippy::all)]

tonic::include_proto!("eventbus.v1");
