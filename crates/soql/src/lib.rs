//! SOQL for the sfemu emulator: a parser (winnow) producing an AST, a checker that resolves the
//! AST against a [`Catalog`] with Salesforce's error codes and row/column messages, and an
//! evaluator that runs a checked plan over a [`DataSource`].
//!
//! The crate is pure (no I/O), so it can be property-tested and fuzzed on its own.
//!
//! ```text
//! parse(text) -> ast::Query          syntax only
//! plan(text, catalog) -> Plan        names resolved to slots, literals type-checked
//! plan.execute(ds, ctx) -> Execution matching rows / count / aggregate records
//! plan.project(ds, row, ctx)         one row as a nested output record
//! ```
//!
//! Supported: field lists with parent paths (≤ 5 hops) and one level of child subqueries;
//! `WHERE` with `= != <> < <= > >= LIKE IN NOT IN INCLUDES EXCLUDES AND OR NOT`, semi/anti-joins
//! (`Id [NOT] IN (SELECT AccountId FROM Contact …)`); string, number, boolean, null, date,
//! datetime (offsets, milliseconds) and relative date literals; date functions (optionally over
//! `convertTimezone()`); `GROUP BY`, `HAVING`, `COUNT()`, `COUNT`/`COUNT_DISTINCT`/`MIN`/`MAX`/
//! `SUM`/`AVG`; `ORDER BY … ASC|DESC NULLS FIRST|LAST`, `LIMIT`, `OFFSET` (≤ 2000); `FIELDS()`;
//! FROM aliases; `WITH …`, `USING SCOPE …`, `FOR VIEW|REFERENCE|UPDATE` (accepted, no effect).
//!
//! Not supported (rejected as `MALFORMED_QUERY`): `TYPEOF`, `GROUP BY ROLLUP/CUBE`,
//! `toLabel()`/`FORMAT()`/`convertCurrency()`, `WITH DATA CATEGORY`, bind variables, child
//! relationship aliases, semi-joins nested inside semi-joins.

mod aggregate;
pub mod ast;
pub mod catalog;
mod check;
mod check_agg;
mod dates;
mod error;
mod eval;
mod hints;
mod lexer;
mod like;
mod parse;
mod plan;
mod project;
mod sortkey;
mod typing;
pub mod value;

pub use catalog::{
    Catalog, ChildRel, DataSource, FieldInfo, FieldKind, ObjectInfo, ParentRel, ScanHint,
};
pub use error::{ErrorCode, SoqlError};
pub use eval::{EvalContext, Execution};
pub use plan::Plan;
pub use project::{OutRecord, OutValue};
pub use value::Value;

/// Parses one SOQL statement (syntax only; names are not checked).
pub fn parse(text: &str) -> Result<ast::Query, SoqlError> {
    parse::parse_query(text)
}

/// Parses and checks a statement against the catalog: every name resolved, every literal
/// type-checked, ready to execute any number of times.
pub fn plan(text: &str, catalog: &impl Catalog) -> Result<Plan, SoqlError> {
    let query = parse(text)?;
    check::plan_query(&query, text, catalog)
}

#[cfg(test)]
mod tests {
    /// Plans are cached in cursors shared across request threads.
    #[test]
    fn plan_is_send_and_sync() {
        fn assert<T: Send + Sync>() {}
        assert::<crate::Plan>();
        assert::<crate::OutRecord>();
        assert::<crate::SoqlError>();
    }
}
