//! A Salesforce Pub/Sub API client for Change Data Capture.
//!
//! orgsync's engine receives record changes as CDC events over gRPC instead of polling: one
//! long-lived `Subscribe` stream per (org, topic) costs no REST API requests and delivers a change
//! within milliseconds. This crate hides the protocol's chores — auth metadata and token refresh,
//! flow-control credit, Avro decoding with per-id cached schemas, the changed-field bitmaps — and
//! hands the engine [`ChangeEvent`]s whose values look like REST records, plus errors that say
//! which remedy applies ([`Remedy`]).
//!
//! ```no_run
//! # async fn demo(tokens: std::sync::Arc<dyn sfpubsub::TokenSource>, stored: Option<String>)
//! # -> Result<(), sfpubsub::PubSubError> {
//! use futures::StreamExt;
//! use sfpubsub::{PubSubClient, Received, Remedy, Replay, ReplayId};
//!
//! let client = PubSubClient::connect("https://api.pubsub.salesforce.com:7443", tokens).await?;
//! let start = match stored.as_deref().map(ReplayId::from_hex) {
//!     Some(Ok(id)) => Replay::After(id),
//!     _ => Replay::Latest,
//! };
//! let mut events = Box::pin(client.subscribe("/data/AccountChangeEvent", start, 100));
//! while let Some(item) = events.next().await {
//!     match item {
//!         Ok(Received::Event(ev)) => {
//!             // apply ev.header / ev.fields, then store ev.replay_id.to_hex() in the same
//!             // transaction
//!         }
//!         Ok(Received::Keepalive { .. }) => {}
//!         Err(e) if e.remedy() == Remedy::ParkEvent => { /* record it, go on */ }
//!         Err(e) if e.remedy() == Remedy::Backfill => { /* poll, then Replay::Latest */ }
//!         Err(e) => return Err(e), // back off and resubscribe After(last stored id)
//!     }
//! }
//! # Ok(()) }
//! ```
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
