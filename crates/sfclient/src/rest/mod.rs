//! The REST calls, one module per resource family, each an `impl Client` block.

pub mod collections;
pub mod composite;
pub mod describe;
pub mod files;
pub mod limits;
pub mod query;
pub mod records;
pub mod replication;
