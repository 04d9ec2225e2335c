//! The Sync Monitor in-process: every page and action through the real router (tower
//! `oneshot`) over a SQLite ledger filled the way the engine fills it; the view models on
//! hand-made rows; `/metrics` parsed as Prometheus text.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod access;
mod add;
mod explore;
mod history;
mod metrics;
mod pages;
mod settings;
mod support;
mod topology;
mod view;
