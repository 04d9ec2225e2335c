//! End-to-end tests of the `orgsync` binary: the real executable, run in a temp dir, against
//! emulated orgs started in the test process (`sfemu`, plain HTTP on loopback).
#![allow(clippy::unwrap_used)] // tests may unwrap

mod chaos;
mod check;
mod config;
mod crash;
mod demo;
mod monitor;
mod overlay;
mod reconcile;
mod stalled;
mod support;
