//! `orgsync-engine`: the running part of orgsync. It logs in to every configured org, captures
//! changes by polling, pushes them through `orgsync_core::pipeline` into the ledger
//! (`orgsync_store::Store`), and applies queued items to the target orgs in batches of up to
//! 200 per sObject Collections call, with retries, a per-org circuit breaker and an API budget
//! governor.
//!
//! Why this split: everything that decides *what* to write is pure (`orgsync-core`); everything
//! that must survive a crash is in the ledger; this crate only moves data between the orgs and
//! the ledger, so a SIGKILL at any moment re-reads from the last checkpoint and re-claims
//! expired leases without losing or duplicating anything.
//!
//! API cost at rest: one `queryAll` call per (org, synced object) per interval (live and
//! deleted rows together; no separate deleted-records call), plus one describe per (org,
//! object) every 15 minutes (`schema`: a mapped field lost must not break silently).

mod activity;
mod apply;
mod capture;
pub mod catalog;
pub mod check;
mod convert;
mod engine;
pub mod error;
pub mod files;
mod handle;
pub mod host;
pub mod inbound;
mod leg;
mod login;
mod metrics;
mod options;
mod orgs;
mod overlay;
mod policy;
pub mod reconcile;
mod samples;
mod schema;
mod status;

pub use check::{CheckLine, CheckReport, check};
pub use engine::{Engine, RETENTION};
pub use error::EngineError;
pub use files::{FileError, FileReport};
pub use handle::EngineHandle;
pub use host::EngineHost;
pub use inbound::{PushError, PushOutcome};
pub use options::{EngineOptions, Progress};
