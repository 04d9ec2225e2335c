//! Integration tests of the soql crate against an in-memory org (one test binary).
#![allow(clippy::unwrap_used)] // tests may unwrap (project rule)

mod aggregates;
mod differential;
mod errors;
mod fixture;
mod props;
mod query;
