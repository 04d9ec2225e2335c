//! `orgsync-core`: the pure logic of the orgsync engine — no I/O, no async, no network, no
//! database — so every rule that decides what gets written where can be tested on its own,
//! with property tests where the rule is subtle (merge convergence, fingerprints, ordering).
//!
//! The engine captures changes, and then calls, in order: [`echo`] (is this our own write?),
//! [`routing`] (which orgs get it?), [`merge`] (which fields win?), [`mapping`] (what is written
//! there?), [`plan`] (which batches, in which order?), [`retry`] (what now that it failed?) and
//! [`status`] (what does the operator see?). [`pipeline`] composes the per-change steps. [`config`] turns the TOML into typed settings and
//! [`model`] holds the shared types.

pub mod config;
pub mod dormant;
pub mod echo;
pub mod life;
pub mod mapping;
pub mod merge;
pub mod metric;
pub mod model;
pub mod pipeline;
pub mod plan;
pub mod push;
pub mod reconcile;
pub mod retry;
pub mod routing;
pub mod status;
pub mod write;

pub use config::{ConfigError, OrgName, Settings};
pub use model::{Change, ChangeKind, FieldValue, GlobalId, Op, OrgId, Origin, SyncItem};
