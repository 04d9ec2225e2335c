//! Integration and property tests of orgsync-core (one binary: it links once).

mod config;
mod merge;
mod plan;
mod retry;
