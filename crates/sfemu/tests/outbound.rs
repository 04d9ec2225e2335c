//! End-to-end tests of Outbound Messaging: the emulator POSTs SOAP notifications to a real
//! HTTP endpoint on loopback, retries until it acknowledges, and batches up to 100.
#![allow(clippy::unwrap_used)]

mod common;

#[path = "outbound/delivery.rs"]
mod delivery;
