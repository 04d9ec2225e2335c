//! GROUP BY and aggregate functions over the filtered rows of a plan.
//!
//! Groups are formed by sorting on the keys (text case-insensitive, as Salesforce groups text)
//! and cutting runs of equal keys, so output without ORDER BY comes in ascending key order.
//! UNCONFIRMED: `SUM` of an integer field is returned as an integer here (Salesforce's JSON
//! prints whole numbers either way for sums of ints).

use std::cmp::Ordering;

use crate::ast::AggFunc;
use crate::dates::{self, utc};
use crate::eval::{EvalContext, cmp_sort, fetch, page};
use crate::plan::{AggPlan, AggSpec, GroupCol};
use crate::project::{OutRecord, OutValue};
use crate::sortkey::{Cell, cmp_cells};
use crate::{DataSource, FieldKind, Value};

/// One computed group: key values then aggregate values.
struct Group {
    keys: Vec<Value>,
    aggs: Vec<Value>,
}

impl Group {
    fn col(&self, c: GroupCol) -> &Value {
        match c {
            GroupCol::Key(i) => self.keys.get(i),
            GroupCol::Agg(i) => self.aggs.get(i),
        }
        .unwrap_or(&crate::eval::NULL)
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a.is_null(), b.is_null()) {
        (true, true) => true,
        (false, false) => a.compare(b) == Some(Ordering::Equal),
        _ => false,
    }
}

fn compute(spec: &AggSpec, vals: &mut dyn Iterator<Item = &Value>, rows: usize) -> Value {
    let Some(arg) = &spec.arg else {
        return Value::Int(rows as i64);
    };
    let mut non_null = vals.filter(|v| !v.is_null());
    match spec.func {
        AggFunc::Count => Value::Int(non_null.count() as i64),
        AggFunc::CountDistinct => {
            let mut all: Vec<&Value> = non_null.collect();
            all.sort_by(|a, b| a.compare(b).unwrap_or(Ordering::Equal));
            all.dedup_by(|a, b| same(a, b));
            Value::Int(all.len() as i64)
        }
        AggFunc::Min | AggFunc::Max => {
            let want = if spec.func == AggFunc::Min {
                Ordering::Less
            } else {
                Ordering::Greater
            };
            let mut best: Option<&Value> = None;
            for v in non_null {
                if best.is_none_or(|b| v.compare(b) == Some(want)) {
                    best = Some(v);
                }
            }
            best.cloned().unwrap_or(Value::Null)
        }
        AggFunc::Sum | AggFunc::Avg => {
            let (mut n, mut sum, mut isum) = (0u64, 0f64, 0i64);
            for v in non_null.by_ref() {
                n += 1;
                sum += v.as_f64().unwrap_or(0.0);
                if let Value::Int(i) = v {
                    isum = isum.saturating_add(*i);
                }
            }
            if n == 0 {
                Value::Null
            } else if spec.func == AggFunc::Avg {
                Value::Double(sum / n as f64)
            } else if arg.field.kind == FieldKind::Int {
                Value::Int(isum)
            } else {
                Value::Double(sum)
            }
        }
    }
}

/// Groups `rows` (already filtered) and renders the aggregate result records.
pub(crate) fn run<D: DataSource>(
    ds: &D,
    plan: &AggPlan,
    table: usize,
    rows: Vec<usize>,
    offset: u64,
    limit: Option<u64>,
    ctx: &EvalContext,
) -> Vec<OutRecord> {
    let inc = ctx.include_deleted;
    // Date-function keys (CALENDAR_YEAR(d)) are computed once into owned columns.
    let computed: Vec<Option<Vec<Value>>> = plan
        .keys
        .iter()
        .map(|k| {
            k.func.map(|f| {
                let tz = if f.local { ctx.tz } else { utc() };
                rows.iter()
                    .map(|&r| dates::apply(f.func, fetch(ds, k, table, r, inc), tz))
                    .collect()
            })
        })
        .collect();
    let key_cols: Vec<Vec<Cell<'_>>> = plan
        .keys
        .iter()
        .zip(&computed)
        .map(|(k, computed)| match computed {
            Some(vals) => vals.iter().map(Cell::new).collect(),
            None => rows
                .iter()
                .map(|&r| Cell::new(fetch(ds, k, table, r, inc)))
                .collect(),
        })
        .collect();
    let mut idx: Vec<usize> = (0..rows.len()).collect();
    // Stable, so each group's first row is its earliest.
    idx.sort_by(|&a, &b| {
        key_cols
            .iter()
            .map(|c| cmp_cells(&c[a], &c[b], false, true))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    // Runs of equal keys; with no GROUP BY, one group over everything (even when empty).
    let mut runs: Vec<&[usize]> = Vec::new();
    if plan.keys.is_empty() {
        runs.push(&idx);
    } else {
        let mut start = 0;
        for i in 1..=idx.len() {
            if i == idx.len()
                || key_cols
                    .iter()
                    .any(|c| !same(c[idx[i]].value(), c[idx[start]].value()))
            {
                runs.push(&idx[start..i]);
                start = i;
            }
        }
    }
    let mut groups: Vec<Group> = runs
        .into_iter()
        .map(|run| {
            let keys = key_cols
                .iter()
                .map(|c| run.first().map_or(Value::Null, |&i| c[i].value().clone()))
                .collect();
            let aggs = plan
                .aggs
                .iter()
                .map(|spec| {
                    let mut vals = run.iter().map(|&i| match &spec.arg {
                        Some(f) => fetch(ds, f, table, rows[i], inc),
                        None => &crate::eval::NULL,
                    });
                    compute(spec, &mut vals, run.len())
                })
                .collect();
            Group { keys, aggs }
        })
        .collect();
    if let Some(h) = &plan.having {
        let h = h.bind(ctx, ds);
        groups.retain(|g| h.eval(&mut |c: &GroupCol| g.col(*c)));
    }
    if !plan.order.is_empty() {
        groups.sort_by(|a, b| {
            plan.order
                .iter()
                .map(|k| cmp_sort(a.col(k.on), b.col(k.on), k.descending, k.nulls_first))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
    }
    page(groups, offset, limit)
        .into_iter()
        .map(|g| OutRecord {
            object: "AggregateResult".to_string(),
            id: None,
            fields: plan
                .columns
                .iter()
                .map(|(name, c)| (name.clone(), OutValue::Scalar(g.col(*c).clone())))
                .collect(),
        })
        .collect()
}
