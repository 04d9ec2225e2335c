//! The ledger's rows, as the engine reads and writes them. Plain data; the rules that combine
//! them (merging items, choosing states) live in [`crate::merge`] and the store implementations.
//!
//! Time is always passed in by the caller (`now`) rather than read from the clock inside the
//! store, so the engine, its tests and every replica agree on what "due" and "expired" mean.

mod items;
mod monitor;
mod ops;
mod state;

pub use items::*;
pub use monitor::*;
pub use ops::*;
pub use state::*;
