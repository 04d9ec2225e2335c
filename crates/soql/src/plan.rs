//! The checked, slot-resolved form of a query that [`crate::eval`] runs. Built by
//! [`crate::check`]; nothing here refers to a field by name except for output keys.

use chrono::FixedOffset;
use std::collections::HashSet;
use std::sync::Arc;

use crate::ast::{AggFunc, CmpOp, DateFunc, RelDate};
use crate::eval::{EvalContext, Execution, filter_rows};
use crate::like::LikePattern;
use crate::project::{OutRecord, project_row};
use crate::{DataSource, FieldInfo, FieldKind, ObjectInfo, SoqlError, Value};

/// One step along a child-to-parent relationship.
#[derive(Debug, Clone)]
pub(crate) struct Hop {
    /// Slot (on the table before the hop) of the reference field holding the parent's Id.
    pub slot: usize,
    /// The parent object reached.
    pub target: ObjectInfo,
    /// Canonical relationship name (output key).
    pub rel: String,
}

/// A date function as planned: which one, and whether `convertTimezone()` wraps its argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DateFn {
    pub func: DateFunc,
    pub local: bool,
}

/// A field reached from a row of the plan's table through zero or more parent hops.
#[derive(Debug, Clone)]
pub(crate) struct FieldRef {
    pub hops: Vec<Hop>,
    pub field: FieldInfo,
    /// A date function applied to the value (GROUP BY keys only; WHERE wraps the test instead).
    pub func: Option<DateFn>,
}

/// A single-value test, applied to a field value (WHERE) or an aggregate output (HAVING).
#[derive(Debug, Clone)]
pub(crate) enum Test {
    /// `=` (`Null` literal means "is null"); text compares case-insensitively.
    Eq(Value),
    /// `!=`: true for null values unless the literal is null (`!= null` = "is not null").
    Ne(Value),
    /// `<`, `<=`, `>`, `>=` against a non-null literal; null values never match.
    Order(CmpOp, Value),
    In(Vec<Value>),
    NotIn(Vec<Value>),
    Like(LikePattern),
    /// Multi-select picklist `=` / `!=`: set equality of the `;`-separated values.
    SetEq(Vec<String>, bool),
    /// INCLUDES (`true`) / EXCLUDES (`false`): each group is a set that must all be present.
    Includes(Vec<Vec<String>>, bool),
    /// `[NOT] IN (SELECT …)` before binding (the sub-select runs once per execution).
    SemiJoin {
        sub: Arc<SemiPlan>,
        negate: bool,
    },
    /// A bound semi-join: the exact 18-char Ids the sub-select produced.
    IdSet(Arc<HashSet<Box<str>>>, bool),
    /// The inner test applied to a date function of the value (`CALENDAR_YEAR(d) = 2024`).
    /// The zone is UTC until bound, then the user's for `convertTimezone()`.
    DateFn(DateFn, FixedOffset, Box<Test>),
    /// A relative date literal before binding to an evaluation context.
    Relative {
        op: CmpOp,
        rel: RelDate,
        datetime: bool,
    },
    /// A relative date literal bound to `[lo, hi)`.
    Range {
        op: CmpOp,
        lo: Value,
        hi: Value,
    },
}

/// A boolean condition over operands `O` (field refs for WHERE, output columns for HAVING).
#[derive(Debug, Clone)]
pub(crate) enum Pred<O> {
    And(Vec<Pred<O>>),
    Or(Vec<Pred<O>>),
    Not(Box<Pred<O>>),
    Test(O, Test),
}

/// One ORDER BY key over operands `O`.
#[derive(Debug, Clone)]
pub(crate) struct SortKey<O> {
    pub on: O,
    pub descending: bool,
    pub nulls_first: bool,
}

/// The row-level part shared by the top-level query and child subqueries.
#[derive(Debug, Clone)]
pub(crate) struct RowQuery {
    pub object: ObjectInfo,
    pub filter: Option<Pred<FieldRef>>,
    pub order: Vec<SortKey<FieldRef>>,
    pub limit: Option<u64>,
    pub offset: u64,
}

/// The sub-select of a semi-join: rows of another object and the Id/reference field to collect.
#[derive(Debug, Clone)]
pub(crate) struct SemiPlan {
    pub rows: RowQuery,
    pub field: FieldRef,
    pub hint: HintSpec,
}

/// One selected column of a row query.
#[derive(Debug, Clone)]
pub(crate) enum ProjItem {
    Field(FieldRef),
    Child(Box<ChildPlan>),
}

/// A parent-to-child subquery.
#[derive(Debug, Clone)]
pub(crate) struct ChildPlan {
    /// Canonical relationship name (output key).
    pub rel: String,
    /// Slot, on the child, of the reference to the parent.
    pub slot: usize,
    pub rows: RowQuery,
    pub items: Vec<ProjItem>,
}

/// An aggregate computed per group.
#[derive(Debug, Clone)]
pub(crate) struct AggSpec {
    pub func: AggFunc,
    /// `None` for `COUNT()`.
    pub arg: Option<FieldRef>,
}

/// A column of an aggregate result group: a GROUP BY key or an aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupCol {
    Key(usize),
    Agg(usize),
}

/// GROUP BY / aggregate query.
#[derive(Debug, Clone)]
pub(crate) struct AggPlan {
    pub keys: Vec<FieldRef>,
    pub aggs: Vec<AggSpec>,
    /// Output columns: key name and source.
    pub columns: Vec<(String, GroupCol)>,
    pub having: Option<Pred<GroupCol>>,
    pub order: Vec<SortKey<GroupCol>>,
}

/// What kind of result a query produces.
#[derive(Debug, Clone)]
pub(crate) enum Mode {
    Rows(Vec<ProjItem>),
    Count,
    Aggregate(AggPlan),
}

/// Narrowing for the data source, from a top-level `Id = …` / `Ref IN (…)`.
#[derive(Debug, Clone)]
pub(crate) enum HintSpec {
    All,
    AnyOf { slot: usize, values: Vec<Value> },
}

/// A checked query, ready to run any number of times (against any data source with the same
/// schema handles).
#[derive(Debug, Clone)]
pub struct Plan {
    pub(crate) rows: RowQuery,
    pub(crate) mode: Mode,
    pub(crate) hint: HintSpec,
}

impl Plan {
    /// The FROM object.
    pub fn object(&self) -> &ObjectInfo {
        &self.rows.object
    }

    /// The plain fields of the top-level SELECT list as (dotted path with canonical names, kind),
    /// e.g. `("Account.Owner.Name", String)`; aggregates and child subqueries are not listed.
    /// Lets the caller apply rules such as "two or more long text fields → batches of 200".
    pub fn selected_fields(&self) -> Vec<(String, FieldKind)> {
        let Mode::Rows(items) = &self.mode else {
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|it| match it {
                ProjItem::Field(f) => {
                    let mut path: String = f.hops.iter().map(|h| format!("{}.", h.rel)).collect();
                    path.push_str(&f.field.name);
                    Some((path, f.field.kind))
                }
                ProjItem::Child(_) => None,
            })
            .collect()
    }

    /// Runs the query: scan (narrowed by the hint), filter, then sort/page, count or aggregate.
    pub fn execute<D: DataSource>(
        &self,
        ds: &D,
        ctx: &EvalContext,
    ) -> Result<Execution, SoqlError> {
        let table = self.rows.object.table;
        let candidates = ds.scan(table, ctx.include_deleted, &self.hint.to_scan_hint());
        Ok(match &self.mode {
            Mode::Rows(_) => Execution::Rows(self.rows.run(ds, candidates, ctx)),
            Mode::Count => {
                let n = self.matching(ds, candidates, ctx).len() as u64;
                let n = n.saturating_sub(self.rows.offset);
                Execution::Count(self.rows.limit.map_or(n, |l| n.min(l)))
            }
            Mode::Aggregate(agg) => {
                let rows = self.matching(ds, candidates, ctx);
                let out = crate::aggregate::run(
                    ds,
                    agg,
                    table,
                    rows,
                    self.rows.offset,
                    self.rows.limit,
                    ctx,
                );
                Execution::Aggregate(out)
            }
        })
    }

    /// Every candidate that passes the WHERE filter (no sort, no paging): what COUNT() and
    /// aggregates work on.
    fn matching<D: DataSource>(
        &self,
        ds: &D,
        candidates: Vec<usize>,
        ctx: &EvalContext,
    ) -> Vec<usize> {
        let filter = self.rows.filter.as_ref().map(|f| f.bind(ctx, ds));
        filter_rows(
            ds,
            self.rows.object.table,
            candidates,
            filter.as_ref(),
            ctx.include_deleted,
            None,
        )
    }

    /// One result row (a handle from [`Execution::Rows`]) as an output tree: selected fields in
    /// SELECT order, parents nested, child subqueries run for this row.
    pub fn project<D: DataSource>(&self, ds: &D, row: usize, ctx: &EvalContext) -> OutRecord {
        let items: &[ProjItem] = match &self.mode {
            Mode::Rows(items) => items,
            _ => &[],
        };
        project_row(ds, &self.rows.object, row, items, ctx)
    }
}
