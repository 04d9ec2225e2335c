//! Reconciliation, the pure part: given what one pass read from each org (every copy of an
//! object, or only those changed in a window) and what the ledger believes (id map, deleted
//! flags, agreed values and life), say which records drifted, of which class, and which repair
//! each needs. No I/O; the engine's `reconcile` module reads the orgs and the ledger, and
//! queues the repairs through the normal ledger path.
//!
//! Why pure: deciding which side of a drift is right is the one subtle step (a missed capture
//! must propagate, an org that fell behind must be brought back, and a wrong call would
//! overwrite a user's edit), so it is unit- and property-tested apart from the API calls.
//!
//! Values are compared in canonical form: merge keys (source-side lowercased names) with
//! lookups as their parent's global id (`crate::mapping::canonical_lookups`), hashed per record
//! with [`crate::echo::fingerprint`]; only a record whose hash differs from the agreed one is
//! compared field by field. Each org is compared with the agreed state, not org with org:
//! SystemModstamps are org-local, and orgs agree with each other when each agrees with it.

mod classify;
mod report;

pub use classify::{Copy, Entry, Found, Input, Scope, classify};
pub use report::{Drift, DriftClass, Fix, Mode, PassKind, PassReport, Report};
