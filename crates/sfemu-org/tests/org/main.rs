//! Integration tests of an emulated org through its public API (one test binary).

mod common;
mod dml;
mod lifecycle;
mod query;
