//! Running a plan: scan, filter, sort, offset/limit.

use chrono::{DateTime, FixedOffset, Utc};

use crate::project::OutRecord;

/// Per-execution inputs that are not part of the query text.
#[derive(Debug, Clone)]
pub struct EvalContext {
    /// The instant relative date literals (`TODAY`, `LAST_N_DAYS:7`) are computed from.
    pub now: DateTime<Utc>,
    /// `queryAll`: include rows in the recycle bin.
    pub include_deleted: bool,
    /// The querying user's time zone; relative ranges start at 00:00 in it. UTC by default.
    pub tz: FixedOffset,
}

impl Default for EvalContext {
    fn default() -> Self {
        EvalContext {
            now: Utc::now(),
            include_deleted: false,
            tz: FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!()),
        }
    }
}

/// What a query produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Execution {
    /// Matching row handles of the FROM table, ordered, with LIMIT/OFFSET applied; render each
    /// with [`crate::Plan::project`].
    Rows(Vec<usize>),
    /// `SELECT COUNT() …`: the count is the response's totalSize, with no records.
    Count(u64),
    /// `GROUP BY` or aggregate functions: one record per group, already projected.
    Aggregate(Vec<OutRecord>),
}

use std::cmp::Ordering;
use std::collections::HashSet;
use std::sync::Arc;

use crate::ast::CmpOp;
use crate::dates;
use crate::plan::{FieldRef, HintSpec, Pred, RowQuery, SortKey, Test};
use crate::sortkey::{Cell, cmp_cells};
use crate::value::cmp_ci;
use crate::{DataSource, ScanHint, Value};

/// What an absent value (empty lookup along a path) reads as.
pub(crate) static NULL: Value = Value::Null;

/// The row of the last hop's table that a path leads to, or `None` when a lookup is empty.
pub(crate) fn follow<D: DataSource>(
    ds: &D,
    f: &FieldRef,
    table: usize,
    row: usize,
    include_deleted: bool,
) -> Option<(usize, usize)> {
    let (mut t, mut r) = (table, row);
    for hop in &f.hops {
        let Value::Text(id) = ds.value(t, r, hop.slot) else {
            return None;
        };
        r = ds.row_by_id(hop.target.table, id, include_deleted)?;
        t = hop.target.table;
    }
    Some((t, r))
}

/// The value of a field path for one row (null through an empty lookup).
pub(crate) fn fetch<'a, D: DataSource>(
    ds: &'a D,
    f: &FieldRef,
    table: usize,
    row: usize,
    include_deleted: bool,
) -> &'a Value {
    match follow(ds, f, table, row, include_deleted) {
        Some((t, r)) => ds.value(t, r, f.field.slot),
        None => &NULL,
    }
}

/// Case-insensitive text equality without allocating.
pub(crate) fn eq_ci(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        cmp_ci(a, b) == Ordering::Equal
    }
}

/// SOQL equality: a null literal matches only nulls; otherwise nulls never match.
pub(crate) fn soql_eq(v: &Value, lit: &Value) -> bool {
    match (v, lit) {
        (_, Value::Null) => v.is_null(),
        (Value::Null, _) => false,
        (Value::Text(a), Value::Text(b)) => eq_ci(a, b),
        _ => v.compare(lit) == Some(Ordering::Equal),
    }
}

fn ord_ok(op: CmpOp, o: Ordering) -> bool {
    match op {
        CmpOp::Lt => o == Ordering::Less,
        CmpOp::Le => o != Ordering::Greater,
        CmpOp::Gt => o == Ordering::Greater,
        CmpOp::Ge => o != Ordering::Less,
        _ => false,
    }
}

fn has_item(stored: &str, item: &str) -> bool {
    stored.split(';').any(|s| eq_ci(s.trim(), item))
}

impl Test {
    pub(crate) fn eval(&self, v: &Value) -> bool {
        match self {
            Test::Eq(lit) => soql_eq(v, lit),
            Test::Ne(lit) => !soql_eq(v, lit),
            Test::Order(op, lit) => !v.is_null() && v.compare(lit).is_some_and(|o| ord_ok(*op, o)),
            Test::In(lits) => lits.iter().any(|l| soql_eq(v, l)),
            Test::NotIn(lits) => !lits.iter().any(|l| soql_eq(v, l)),
            Test::Like(p) => match v {
                Value::Text(s) => p.matches(s),
                _ => false,
            },
            Test::SetEq(items, negate) => {
                let eq = match v {
                    Value::Text(s) => {
                        items.iter().all(|i| has_item(s, i))
                            && s.split(';')
                                .all(|x| items.iter().any(|i| eq_ci(x.trim(), i)))
                    }
                    _ => items.is_empty(),
                };
                eq != *negate
            }
            Test::Includes(groups, includes) => {
                let hit = match v {
                    Value::Text(s) => groups.iter().any(|g| g.iter().all(|i| has_item(s, i))),
                    _ => false,
                };
                hit == *includes
            }
            Test::DateFn(df, tz, inner) => inner.eval(&dates::apply(df.func, v, *tz)),
            // Unbound tests never reach evaluation (see `Pred::bind`).
            Test::Relative { .. } | Test::SemiJoin { .. } => false,
            Test::IdSet(ids, negate) => match v {
                Value::Text(s) => ids.contains(s) != *negate,
                _ => *negate,
            },
            Test::Range { op, lo, hi } => {
                if v.is_null() {
                    return *op == CmpOp::Ne;
                }
                let ge_lo = v.compare(lo).is_some_and(|o| o != Ordering::Less);
                let lt_hi = v.compare(hi).is_some_and(|o| o == Ordering::Less);
                match op {
                    CmpOp::Eq => ge_lo && lt_hi,
                    CmpOp::Ne => !(ge_lo && lt_hi),
                    CmpOp::Lt => !ge_lo,
                    CmpOp::Le => lt_hi,
                    CmpOp::Gt => !lt_hi,
                    CmpOp::Ge => ge_lo,
                    _ => false,
                }
            }
        }
    }

    fn bind<D: DataSource>(&self, ctx: &EvalContext, ds: &D) -> Test {
        match self {
            Test::Relative { op, rel, datetime } => {
                let (lo, hi) = dates::bounds(*rel, *datetime, ctx.now, ctx.tz);
                Test::Range { op: *op, lo, hi }
            }
            Test::SemiJoin { sub, negate } => {
                let table = sub.rows.object.table;
                let candidates = ds.scan(table, ctx.include_deleted, &sub.hint.to_scan_hint());
                let ids: HashSet<Box<str>> = sub
                    .rows
                    .run(ds, candidates, ctx)
                    .into_iter()
                    .filter_map(|r| {
                        fetch(ds, &sub.field, table, r, ctx.include_deleted)
                            .as_str()
                            .map(Box::from)
                    })
                    .collect();
                Test::IdSet(Arc::new(ids), *negate)
            }
            Test::DateFn(df, tz, inner) => {
                let tz = if df.local { ctx.tz } else { *tz };
                Test::DateFn(*df, tz, Box::new(inner.bind(ctx, ds)))
            }
            t => t.clone(),
        }
    }
}

impl<O: Clone> Pred<O> {
    /// Evaluates with `get` supplying each operand's value.
    pub(crate) fn eval<'v>(&self, get: &mut impl FnMut(&O) -> &'v Value) -> bool {
        match self {
            Pred::And(ps) => ps.iter().all(|p| p.eval(get)),
            Pred::Or(ps) => ps.iter().any(|p| p.eval(get)),
            Pred::Not(p) => !p.eval(get),
            Pred::Test(o, t) => t.eval(get(o)),
        }
    }

    /// Fixes relative date literals to concrete bounds for this execution.
    pub(crate) fn bind<D: DataSource>(&self, ctx: &EvalContext, ds: &D) -> Pred<O> {
        match self {
            Pred::And(ps) => Pred::And(ps.iter().map(|p| p.bind(ctx, ds)).collect()),
            Pred::Or(ps) => Pred::Or(ps.iter().map(|p| p.bind(ctx, ds)).collect()),
            Pred::Not(p) => Pred::Not(Box::new(p.bind(ctx, ds))),
            Pred::Test(o, t) => Pred::Test(o.clone(), t.bind(ctx, ds)),
        }
    }
}

/// Null placement, then the value order (text case-insensitive), then direction.
pub(crate) fn cmp_sort(a: &Value, b: &Value, descending: bool, nulls_first: bool) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => {
            if nulls_first {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (false, true) => {
            if nulls_first {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (false, false) => {
            let o = a.compare(b).unwrap_or(Ordering::Equal);
            if descending { o.reverse() } else { o }
        }
    }
}

/// Stable sort of `rows` by the keys, each key's values fetched once. With `top = Some(k)` only
/// the first `k` rows of the order are kept (selection first, then sorting just those).
pub(crate) fn sort_rows<D: DataSource>(
    ds: &D,
    table: usize,
    rows: &mut Vec<usize>,
    keys: &[SortKey<FieldRef>],
    include_deleted: bool,
    top: Option<u64>,
) {
    if keys.is_empty() || rows.len() < 2 {
        return;
    }
    let cols: Vec<Vec<Cell<'_>>> = keys
        .iter()
        .map(|k| {
            rows.iter()
                .map(|&r| Cell::new(fetch(ds, &k.on, table, r, include_deleted)))
                .collect()
        })
        .collect();
    // Ties are broken by scan position, which makes the order total: unstable algorithms
    // (selection, pdqsort) then give exactly the stable result.
    let cmp = |a: &usize, b: &usize| {
        keys.iter()
            .zip(&cols)
            .map(|(k, col)| cmp_cells(&col[*a], &col[*b], k.descending, k.nulls_first))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| a.cmp(b))
    };
    let mut idx: Vec<usize> = (0..rows.len()).collect();
    if let Some(k) = top
        .and_then(|k| usize::try_from(k).ok())
        .filter(|&k| k < idx.len())
    {
        if k == 0 {
            rows.clear();
            return;
        }
        idx.select_nth_unstable_by(k - 1, cmp);
        idx.truncate(k);
    }
    idx.sort_unstable_by(cmp);
    *rows = idx.into_iter().map(|i| rows[i]).collect();
}

impl HintSpec {
    pub(crate) fn to_scan_hint(&self) -> ScanHint {
        match self {
            HintSpec::All => ScanHint::All,
            HintSpec::AnyOf { slot, values } => ScanHint::AnyOf {
                slot: *slot,
                values: values.clone(),
            },
        }
    }
}

/// Rows of `candidates` passing the (bound) filter, in order.
pub(crate) fn filter_rows<D: DataSource>(
    ds: &D,
    table: usize,
    candidates: Vec<usize>,
    filter: Option<&Pred<FieldRef>>,
    include_deleted: bool,
    stop_after: Option<u64>,
) -> Vec<usize> {
    let Some(f) = filter else {
        let mut c = candidates;
        if let Some(n) = stop_after {
            c.truncate(usize::try_from(n).unwrap_or(usize::MAX));
        }
        return c;
    };
    let mut out = Vec::new();
    for r in candidates {
        if f.eval(&mut |fr: &FieldRef| fetch(ds, fr, table, r, include_deleted)) {
            out.push(r);
            if stop_after.is_some_and(|n| out.len() as u64 >= n) {
                break;
            }
        }
    }
    out
}

/// Applies OFFSET then LIMIT to an ordered list.
pub(crate) fn page<T>(mut v: Vec<T>, offset: u64, limit: Option<u64>) -> Vec<T> {
    let off = usize::try_from(offset).unwrap_or(usize::MAX).min(v.len());
    v.drain(..off);
    if let Some(l) = limit {
        v.truncate(usize::try_from(l).unwrap_or(usize::MAX));
    }
    v
}

impl RowQuery {
    /// Filter, sort and page `candidates` (rows of `self.object`).
    pub(crate) fn run<D: DataSource>(
        &self,
        ds: &D,
        candidates: Vec<usize>,
        ctx: &EvalContext,
    ) -> Vec<usize> {
        let table = self.object.table;
        let bound = self.filter.as_ref().map(|f| f.bind(ctx, ds));
        // Without ORDER BY the first OFFSET+LIMIT matches are the answer: stop scanning early.
        let stop = if self.order.is_empty() {
            self.limit.map(|l| l.saturating_add(self.offset))
        } else {
            None
        };
        let mut rows = filter_rows(
            ds,
            table,
            candidates,
            bound.as_ref(),
            ctx.include_deleted,
            stop,
        );
        let top = self.limit.map(|l| l.saturating_add(self.offset));
        sort_rows(ds, table, &mut rows, &self.order, ctx.include_deleted, top);
        page(rows, self.offset, self.limit)
    }
}
