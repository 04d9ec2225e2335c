//! Checking of aggregate queries: `COUNT()`, aggregate functions, GROUP BY, HAVING and ORDER BY
//! over groups. Every selected plain field must be grouped ("Field must be grouped or
//! aggregated"); unaliased aggregates are named `expr0`, `expr1`, … in SELECT order.

use crate::ast::{AggCall, AggFunc, Ident, Operand, Query, SelectItem};
use crate::check::{Ck, date_fn_kind, path_key};
use crate::error::{ErrorCode, SoqlError};
use crate::plan::{AggPlan, AggSpec, DateFn, FieldRef, GroupCol, Mode, RowQuery, SortKey};
use crate::typing::is_numeric;
use crate::{Catalog, FieldKind, ObjectInfo};

struct AggCk<'a, 'b, C> {
    ck: &'a Ck<'b, C>,
    obj: &'a ObjectInfo,
    keys: Vec<FieldRef>,
    aggs: Vec<AggSpec>,
    /// Canonical text of each aggregate, to reuse one computation for repeated expressions.
    agg_ids: Vec<String>,
}

impl<C: Catalog> AggCk<'_, '_, C> {
    fn agg(&mut self, call: &AggCall) -> Result<(GroupCol, String, FieldKind), SoqlError> {
        let arg = call
            .arg
            .as_ref()
            .map(|p| self.ck.resolve(self.obj, p))
            .transpose()?;
        let id = format!(
            "{}({})",
            call.func.name(),
            arg.as_ref().map(path_key).unwrap_or_default()
        );
        let (name, arg_kind) = arg.as_ref().map_or((String::new(), FieldKind::Int), |f| {
            (f.field.name.clone(), f.field.kind)
        });
        let ok = match call.func {
            AggFunc::Sum | AggFunc::Avg => is_numeric(arg_kind),
            AggFunc::Min | AggFunc::Max => !matches!(
                arg_kind,
                FieldKind::Boolean | FieldKind::MultiPicklist | FieldKind::LongTextArea
            ),
            AggFunc::Count | AggFunc::CountDistinct => true,
        };
        if !ok {
            let msg = format!(
                "field {name} does not support aggregate operator {}",
                call.func.name()
            );
            return Err(self.ck.err(ErrorCode::InvalidField, call.span, msg));
        }
        let kind = match call.func {
            AggFunc::Count | AggFunc::CountDistinct => FieldKind::Int,
            AggFunc::Sum | AggFunc::Avg => FieldKind::Double,
            AggFunc::Min | AggFunc::Max => arg_kind,
        };
        let idx = match self.agg_ids.iter().position(|x| x == &id) {
            Some(i) => i,
            None => {
                self.agg_ids.push(id);
                self.aggs.push(AggSpec {
                    func: call.func,
                    arg,
                });
                self.aggs.len() - 1
            }
        };
        Ok((GroupCol::Agg(idx), call.to_string(), kind))
    }

    /// A GROUP BY key (field or date function) as a FieldRef.
    fn key_ref(&self, op: &Operand) -> Result<FieldRef, SoqlError> {
        match op {
            Operand::Field(p) => self.ck.resolve(self.obj, p),
            Operand::DateFn(call) => {
                let mut f = self.ck.date_arg(self.obj, call)?;
                f.func = Some(DateFn {
                    func: call.func,
                    local: call.local,
                });
                Ok(f)
            }
            Operand::Agg(a) => {
                Err(self
                    .ck
                    .err(ErrorCode::MalformedQuery, a.span, "unexpected aggregate"))
            }
        }
    }

    fn key(&self, op: &Operand) -> Result<(GroupCol, String, FieldKind), SoqlError> {
        let f = self.key_ref(op)?;
        let k = path_key(&f);
        let kind = f.func.map_or(f.field.kind, |d| date_fn_kind(d.func));
        match self.keys.iter().position(|g| path_key(g) == k) {
            Some(i) => Ok((GroupCol::Key(i), f.field.name.clone(), kind)),
            None => Err(self.ck.err(
                ErrorCode::MalformedQuery,
                op.span(),
                format!("Field must be grouped or aggregated: {}", f.field.name),
            )),
        }
    }

    fn operand(&mut self, op: &Operand) -> Result<(GroupCol, String, FieldKind), SoqlError> {
        match op {
            Operand::Agg(a) => self.agg(a),
            Operand::Field(_) | Operand::DateFn(_) => self.key(op),
        }
    }
}

pub(crate) fn plan_aggregate<C: Catalog>(
    ck: &Ck<'_, C>,
    obj: &ObjectInfo,
    q: &Query,
) -> Result<(RowQuery, Mode), SoqlError> {
    let filter = q
        .where_
        .as_ref()
        .map(|w| ck.where_pred(obj, w))
        .transpose()?;
    let rows = RowQuery {
        object: obj.clone(),
        filter,
        order: Vec::new(),
        limit: q.limit.map(|l| l.value),
        offset: q.offset.map_or(0, |o| o.value),
    };
    let count_star = q.select.iter().find_map(|s| match s {
        SelectItem::Agg { call, alias } if call.func == AggFunc::Count && call.arg.is_none() => {
            Some((call, alias))
        }
        _ => None,
    });
    if let Some((call, alias)) = count_star {
        let bad =
            |at, what: &str| Err(ck.err(ErrorCode::MalformedQuery, at, format!("COUNT() {what}")));
        if q.select.len() > 1 {
            return bad(call.span, "must be the only item in the SELECT list");
        }
        if let Some(a) = alias {
            return bad(a.span, "cannot have an alias");
        }
        if let Some(o) = q.order_by.first() {
            return bad(o.key.span(), "cannot be used with ORDER BY");
        }
        if let Some(g) = q.group_by.first() {
            return bad(g.span(), "cannot be used with GROUP BY");
        }
        if q.having.is_some() {
            return bad(call.span, "cannot be used with HAVING");
        }
        return Ok((rows, Mode::Count));
    }
    let mut a = AggCk {
        ck,
        obj,
        keys: Vec::new(),
        aggs: Vec::new(),
        agg_ids: Vec::new(),
    };
    for p in &q.group_by {
        let f = a.key_ref(p)?;
        if !f.field.groupable && f.func.is_none() {
            let msg = format!(
                "field '{}' can not be grouped in a query call",
                f.field.name
            );
            return Err(ck.err(ErrorCode::InvalidField, p.span(), msg));
        }
        a.keys.push(f);
    }
    let mut columns = Vec::new();
    let mut expr = 0;
    for item in &q.select {
        match item {
            SelectItem::Field { path, alias } => {
                let (col, name, _) = a.key(&Operand::Field(path.clone()))?;
                columns.push((alias.as_ref().map_or(name, |x| x.name.clone()), col));
            }
            SelectItem::DateFn { call, alias } => {
                let (col, _, _) = a.key(&Operand::DateFn(call.clone()))?;
                columns.push((column_name(alias.as_ref(), &mut expr), col));
            }
            SelectItem::Agg { call, alias } => {
                let (col, _, _) = a.agg(call)?;
                columns.push((column_name(alias.as_ref(), &mut expr), col));
            }
            SelectItem::Fields { span, .. } => {
                return Err(ck.err(
                    ErrorCode::MalformedQuery,
                    *span,
                    "FIELDS() cannot be used in an aggregate query",
                ));
            }
            SelectItem::Subquery(sub) => {
                return Err(ck.err(
                    ErrorCode::MalformedQuery,
                    sub.span,
                    "subqueries cannot be used in an aggregate query",
                ));
            }
        }
    }
    let having = match &q.having {
        Some(h) => Some(ck.cond(h, &mut |op: &Operand| {
            a.operand(op)
                .map(|(col, name, kind)| (col, name, kind, None))
        })?),
        None => None,
    };
    let mut order = Vec::new();
    for o in &q.order_by {
        let (on, _, _) = a.operand(&o.key)?;
        order.push(SortKey {
            on,
            descending: o.descending,
            nulls_first: o.effective_nulls_first(),
        });
    }
    let plan = AggPlan {
        keys: a.keys,
        aggs: a.aggs,
        columns,
        having,
        order,
    };
    Ok((rows, Mode::Aggregate(plan)))
}

/// A computed column's name: its alias, else the next `exprN` (unaliased date functions and
/// aggregates share one counter, in SELECT order).
fn column_name(alias: Option<&Ident>, expr: &mut usize) -> String {
    match alias {
        Some(x) => x.name.clone(),
        None => {
            *expr += 1;
            format!("expr{}", *expr - 1)
        }
    }
}
