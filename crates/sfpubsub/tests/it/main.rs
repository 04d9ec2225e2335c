//! Integration tests: the client against an in-process `sfemu` over real gRPC on loopback.

// Test helpers panic on purpose: a failed setup step is a failed test.
#![allow(clippy::unwrap_used)]

mod auth;
mod errors;
mod publish;
mod subscribe;
mod support;
