//! Integration tests: the client against an in-process `sfemu` over real HTTP(S) on loopback.

// Test helpers panic on purpose: a failed setup step is a failed test.
#![allow(clippy::unwrap_used)]

mod auth;
mod collections;
mod faults;
mod files;
mod instance_url;
mod query;
mod records;
mod rest_misc;
mod support;
mod undelete;
