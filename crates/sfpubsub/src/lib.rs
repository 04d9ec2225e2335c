//! A Salesforce Pub/Sub API client for Change Data Capture.
//!
//! orgsync's engine receives record changes as CDC events over gRPC instead of polling: one
//! long-lived `Subscribe` stream per (org, topic) costs no REST API requests and delivers a change
//! within milliseconds. This crate hides the protocol's chores — auth metadata and token refresh,
//! flow-control credit, Avro decoding with per-id cached schemas, the changed-field bitmaps — and
//! hands the engine [`ChangeEvent`]s whose values look like REST records, plus errors that say
//! which remedy applies ([`Remedy`]).
//!
//! Shares no code with the emulator (`sfemu`): the `.proto` here is our own, written from the
//! wire facts.

mod auth;
mod bitmap;
mod client;
mod error;
mod event;
mod replay;
mod schema;
mod subscribe;
mod values;

/// Generated gRPC types for `eventbus.v1` (our own `proto/pubsub_api.proto`).
#[allow(
    missing_docs,
    missing_debug_implementations,
    clippy::all,
    clippy::pedantic
)]
pub mod proto {
    tonic::include_proto!("eventbus.v1");
}

pub use auth::{Credentials, StaticToken, TokenSource};
pub use bitmap::{BitmapError, FieldSlot, decode_fields};
pub use client::{ConnectOptions, PubSubClient};
pub use error::{PubSubError, Remedy, RpcFailure};
pub use event::{ChangeEvent, ChangeEventHeader, ChangeType, origin_client, rest_field_name};
pub use replay::{BadReplayHex, Replay, ReplayId};
pub use schema::EventSchema;
pub use subscribe::{MAX_BATCH, Received};
