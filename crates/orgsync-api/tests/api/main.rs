//! The endpoints over real HTTP on loopback, in front of the real engine, a SQLite ledger and
//! emulated orgs. One binary (links once).
#![allow(clippy::unwrap_used)]

mod attack;
mod outbound;
mod outbound_e2e;
mod push;
mod soap;
mod support;
