//! sfemu: a local Salesforce org emulator that speaks Salesforce's wire protocols on loopback.
//!
//! One [`state::OrgServer`] per emulated org, each on its own port, each an axum router built by
//! [`http::router`]. Data rules live in the `sfemu-org` crate; this crate is the wire.
//! [`server::Emulator`] runs a configuration ([`config::EmulatorConfig`]) in-process.

pub mod auth;
pub mod config;
pub mod conn;
pub mod control;
pub mod error;
pub mod faults;
pub mod head_limits;
pub mod http;
pub mod limits;
pub mod outbound;
pub mod pubsub;
pub mod rest;
pub mod server;
pub mod soap;
pub mod state;
pub mod tls;
