//! SOQL for the sfemu emulator: a parser (winnow) producing an AST, a checker that resolves the
//! AST against a [`Catalog`] with Salesforce's error codes and row/column messages, and an
//! evaluator that runs a checked plan over a [`DataSource`].
//!
//! The crate is pure (no I/O), so it can be property-tested and fuzzed on its own.

pub mod catalog;
pub mod value;

pub use catalog::{Catalog, ChildRel, DataSource, FieldInfo, FieldKind, ObjectInfo, ParentRel, ScanHint};
pub use value::Value;
