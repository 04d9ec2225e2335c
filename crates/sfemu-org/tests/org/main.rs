//! Integration tests of an emulated org through its public API (one test binary).

#![allow(clippy::unwrap_used)]

mod common;
mod dml;
mod lifecycle;
mod organization;
mod query;
mod recycle;
mod titles;
