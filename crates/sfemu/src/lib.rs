//! sfemu: a local Salesforce org emulator that speaks Salesforce's wire protocols on loopback.
//!
//! One [`state::OrgServer`] per emulated org, each on its own port, each an axum router built by
//! [`http::router`]. Data rules live in the `sfemu-org` crate; this crate is the wire.

pub mod error;
pub mod state;
pub mod faults;
pub mod limits;
