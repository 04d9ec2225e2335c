//! The state of one emulated Salesforce org: its schema, users, records, recycle bin and change
//! log, with Salesforce's DML validation and SOQL execution.
//!
//! This crate knows nothing of HTTP: the `sfemu` crate maps wire requests onto [`Org`] calls and
//! renders [`SfError`]s in Salesforce's JSON shapes. Everything that Salesforce would decide
//! about *data* (which fields exist, which values are valid, what a query returns, what changed
//! in a transaction) is decided here, so the rules are testable without a server.
//!
//! Map of the crate:
//! - [`api`] — the contract types and a thin `impl Org` delegating to the modules below;
//! - [`ids`] — 15/18-char ids, validation, per-org generator; [`render`] — value ⇄ JSON text;
//! - [`schema`] — objects and fields from the embedded `default.toml` plus schema files;
//! - [`store`] — rows as flat slot vectors of `soql::Value`, Id / unique / reference indexes;
//! - `dml` — JSON → values with Salesforce's validation, transactions with an undo log;
//! - [`changelog`] — committed changes as CDC reports them, capped in count and memory;
//! - `query` — SOQL over a read-locked view with field-level security, cursors, JSON records;
//! - `describe`, `records`, `replication` (updated/deleted), `savepoint`, `users`,
//!   `organization` (the one Organization row, Id = org id);
//! - [`blobs`] — file bodies on disk (key = MD5 + size), never in record slots;
//! - [`persist`] — JSON-lines snapshots written atomically.
//!
//! Concurrency: one `parking_lot::RwLock` around the data; queries and reads share it, DML
//! takes it exclusively for the whole `apply` batch (one transaction).

#![recursion_limit = "256"]

pub mod api;
pub mod blobs;
pub mod changelog;
mod describe;
mod dml;
pub mod error;
pub mod ids;
mod org;
mod organization;
pub mod persist;
mod query;
mod query_rules;
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
pub use records::BlobBody;

#[cfg(test)]
mod tests {
    /// The HTTP layer shares `Arc<Org>` across tasks.
    #[test]
    fn org_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<crate::Org>();
    }
}
