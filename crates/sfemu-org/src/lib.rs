//! The state of one emulated Salesforce org: its schema, users, records, recycle bin and change
//! log, with Salesforce's DML validation and SOQL execution.
//!
//! This crate knows nothing of HTTP: the `sfemu` crate maps wire requests onto [`Org`] calls and
//! renders [`SfError`]s in Salesforce's JSON shapes. Everything that Salesforce would decide
//! about *data* (which fields exist, which values are valid, what a query returns, what changed
//! in a transaction) is decided here, so the rules are testable without a server.

#![recursion_limit = "256"]

pub mod api;
pub mod changelog;
mod describe;
mod dml;
pub mod error;
pub mod ids;
mod org;
pub mod persist;
mod query;
mod records;
pub mod render;
mod replication;
mod savepoint;
pub mod schema;
pub mod store;
mod users;

pub use api::*;
pub use error::SfError;
pub use org::CommitHook;
pub use query::{CURSOR_IDLE, CURSORS_PER_USER};

#[cfg(test)]
mod tests {
    /// The HTTP layer shares `Arc<Org>` across tasks.
    #[test]
    fn org_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<crate::Org>();
    }
}
