//! Integration tests: the client against an in-process `sfemu` over real HTTP(S) on loopback.

mod auth;
mod collections;
mod faults;
mod query;
mod records;
mod rest_misc;
mod support;
