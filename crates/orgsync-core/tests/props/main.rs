//! Integration and property tests of orgsync-core (one binary: it links once).
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod cases;
mod config;
mod config_monitor;
mod config_push;
mod config_urls;
mod converge;
mod mapping;
mod merge;
mod org_url;
mod pipeline;
mod plan;
mod push;
mod push_hash;
mod reconcile;
mod retry;
mod sim;
