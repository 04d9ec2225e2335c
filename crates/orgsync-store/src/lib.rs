//! `orgsync-store`: the durable ledger of the orgsync engine — sync items, capture
//! checkpoints, the id map and shadows, processed transaction ids, conflicts and the audit
//! trail — behind one [`Store`] trait.
//!
//! [`SqlStore`] implements it on SQLite (one file, WAL; the default and `orgsync demo`) and on
//! PostgreSQL (several replicas sharing the work: claims take rows with
//! `FOR UPDATE SKIP LOCKED` and hold them under a lease). Both run the same SQL through
//! sqlx's `Any` driver apart from the few statements that must differ, with timestamps
//! stored as epoch milliseconds and JSON as text, so one conformance suite proves both.
//!
//! The rule that merges a later change into a waiting item lives in [`merge`], pure and
//! property-tested.

pub mod error;
pub mod merge;
pub mod overlay;
pub mod sql;
pub mod store;
pub mod types;

pub use error::{Result, StoreError};
pub use sql::{Backend, SqlStore};
pub use store::{PruneReport, Store};
pub use types::*;
