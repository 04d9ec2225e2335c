//! End-to-end tests of the engine against in-process emulated orgs and a real SQLite ledger.
//! One binary (links once).
#![allow(clippy::unwrap_used)]

mod add_object;
mod cdc;
mod files;
mod files_edits;
mod findings_budget;
mod findings_deletes;
mod findings_given_back;
mod findings_ledger;
mod findings_lookups;
mod findings_resilience;
mod findings_store;
mod findings_values;
mod host;
mod lifecycle;
mod overlay;
mod reconcile;
mod reconcile_monitor;
mod reconcile_running;
mod status_writes;
mod support;
mod sync;
