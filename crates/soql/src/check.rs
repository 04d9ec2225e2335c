//! The checker/planner: resolves names against the catalog (case-insensitively, reporting
//! Salesforce's errors at the right row/column), type-checks literals, and produces a [`Plan`]
//! whose fields are slots.

use crate::ast::{Cond, DateCall, DateFunc, FieldsSet, Operand, Path, Query, SelectItem, Span};
use crate::error::{self, ErrorCode, SoqlError};
use crate::hints::{cdl_filtered, hint};
use crate::plan::{
    ChildPlan, DateFn, FieldRef, Hop, Mode, Plan, Pred, ProjItem, RowQuery, SemiPlan, SortKey,
};
use crate::{Catalog, FieldKind, ObjectInfo};

/// Salesforce's largest OFFSET.
const MAX_OFFSET: u64 = 2000;

/// Salesforce's limit on child-to-parent hops in one path.
const MAX_HOPS: usize = 5;

/// Checker state: the text (for positions) and the catalog.
pub(crate) struct Ck<'a, C> {
    pub text: &'a str,
    pub cat: &'a C,
    /// The FROM alias of the query being checked (top level only).
    pub alias: Option<&'a str>,
}

impl<C: Catalog> Ck<'_, C> {
    pub(crate) fn err(&self, code: ErrorCode, at: Span, msg: impl std::fmt::Display) -> SoqlError {
        SoqlError::at(code, self.text, at.start, msg)
    }

    /// Resolves `Rel.Rel.Field` from `obj` (a leading `Obj.` naming the FROM object is allowed).
    pub(crate) fn resolve(&self, obj: &ObjectInfo, path: &Path) -> Result<FieldRef, SoqlError> {
        let at = path.span();
        let mut parts = &path.parts[..];
        if parts.len() > 1
            && (parts[0].name.eq_ignore_ascii_case(&obj.name)
                || self
                    .alias
                    .is_some_and(|a| parts[0].name.eq_ignore_ascii_case(a)))
            && self.cat.parent_relationship(obj, &parts[0].name).is_none()
        {
            parts = &parts[1..];
        }
        let (last, rels) = parts
            .split_last()
            .ok_or_else(|| self.err(ErrorCode::MalformedQuery, at, "unexpected token: <EOF>"))?;
        let mut cur = obj.clone();
        let mut hops = Vec::new();
        for r in rels {
            let rel = self.cat.parent_relationship(&cur, &r.name).ok_or_else(|| {
                self.err(
                    ErrorCode::InvalidField,
                    at,
                    error::bad_relationship(&r.name),
                )
            })?;
            if hops.len() == MAX_HOPS {
                return Err(self.err(
                    ErrorCode::MalformedQuery,
                    at,
                    "SOQL statements cannot query more than 5 levels of child-to-parent relationships",
                ));
            }
            cur = rel.target.clone();
            hops.push(Hop {
                slot: rel.slot,
                target: rel.target,
                rel: rel.name,
            });
        }
        let field = self.cat.field(&cur, &last.name).ok_or_else(|| {
            self.err(
                ErrorCode::InvalidField,
                at,
                error::no_such_column(&last.name, &cur.name),
            )
        })?;
        Ok(FieldRef {
            hops,
            field,
            func: None,
        })
    }

    /// The field a date function applies to (must be a date or datetime).
    pub(crate) fn date_arg(
        &self,
        obj: &ObjectInfo,
        call: &DateCall,
    ) -> Result<FieldRef, SoqlError> {
        let f = self.resolve(obj, &call.arg)?;
        if !matches!(f.field.kind, FieldKind::Date | FieldKind::DateTime) {
            let msg = format!(
                "{} can only be applied to date or dateTime fields: {}",
                call.func.name(),
                f.field.name
            );
            return Err(self.err(ErrorCode::MalformedQuery, call.span, msg));
        }
        Ok(f)
    }

    /// A WHERE condition over fields of `obj`.
    pub(crate) fn where_pred(
        &self,
        obj: &ObjectInfo,
        c: &Cond,
    ) -> Result<Pred<FieldRef>, SoqlError> {
        self.cond(c, &mut |op: &Operand| match op {
            Operand::Field(p) => {
                let f = self.resolve(obj, p)?;
                if !f.field.filterable {
                    let msg = format!(
                        "field '{}' can not be filtered in a query call",
                        f.field.name
                    );
                    return Err(self.err(ErrorCode::InvalidField, p.span(), msg));
                }
                let (name, kind) = (f.field.name.clone(), f.field.kind);
                Ok((f, name, kind, None))
            }
            Operand::DateFn(call) => {
                let f = self.date_arg(obj, call)?;
                let name = format!("{}({})", call.func.name(), f.field.name);
                let df = DateFn {
                    func: call.func,
                    local: call.local,
                };
                Ok((f, name, date_fn_kind(call.func), Some(df)))
            }
            Operand::Agg(a) => Err(self.err(
                ErrorCode::MalformedQuery,
                a.span,
                "Aggregate functions are not supported in the WHERE clause; use HAVING",
            )),
        })
    }

    fn order_keys(&self, obj: &ObjectInfo, q: &Query) -> Result<Vec<SortKey<FieldRef>>, SoqlError> {
        q.order_by
            .iter()
            .map(|o| {
                let Operand::Field(p) = &o.key else {
                    return Err(self.err(
                        ErrorCode::MalformedQuery,
                        o.key.span(),
                        "Ordered field must be grouped or aggregated",
                    ));
                };
                let f = self.resolve(obj, p)?;
                if !f.field.sortable {
                    let msg = format!("field '{}' can not be sorted in a query call", f.field.name);
                    return Err(self.err(ErrorCode::InvalidField, p.span(), msg));
                }
                Ok(SortKey {
                    on: f,
                    descending: o.descending,
                    nulls_first: o.effective_nulls_first(),
                })
            })
            .collect()
    }

    /// WHERE + ORDER BY + LIMIT/OFFSET of a non-aggregate query over `obj`.
    fn row_query(&self, obj: &ObjectInfo, q: &Query) -> Result<RowQuery, SoqlError> {
        let filter = q
            .where_
            .as_ref()
            .map(|w| self.where_pred(obj, w))
            .transpose()?;
        Ok(RowQuery {
            object: obj.clone(),
            filter,
            order: self.order_keys(obj, q)?,
            limit: q.limit.map(|l| l.value),
            offset: q.offset.map_or(0, |o| o.value),
        })
    }

    /// Fields and child subqueries of a non-aggregate SELECT list.
    fn projection(
        &self,
        obj: &ObjectInfo,
        q: &Query,
        child: bool,
    ) -> Result<Vec<ProjItem>, SoqlError> {
        let mut items = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        let mut push_field = |items: &mut Vec<ProjItem>, f: FieldRef, at: Span, explicit: bool| {
            let key = path_key(&f);
            if seen.contains(&key) {
                if explicit {
                    let msg = format!("duplicate field selected: {}", f.field.name);
                    return Err(self.err(ErrorCode::MalformedQuery, at, msg));
                }
                return Ok(());
            }
            seen.push(key);
            items.push(ProjItem::Field(f));
            Ok(())
        };
        for item in &q.select {
            match item {
                SelectItem::Field { path, alias } => {
                    if let Some(a) = alias {
                        return Err(self.err(
                            ErrorCode::MalformedQuery,
                            a.span,
                            format!("unexpected token: '{}'", a.name),
                        ));
                    }
                    push_field(&mut items, self.resolve(obj, path)?, path.span(), true)?;
                }
                SelectItem::Fields { set, span } => {
                    if *set != FieldsSet::Standard && q.limit.is_none_or(|l| l.value > 200) {
                        return Err(self.err(
                            ErrorCode::MalformedQuery,
                            *span,
                            "The SOQL FIELDS function must have a LIMIT of at most 200",
                        ));
                    }
                    for field in self.cat.fields(obj) {
                        let custom = field.name.ends_with("__c");
                        let wanted = match set {
                            FieldsSet::All => true,
                            FieldsSet::Standard => !custom,
                            FieldsSet::Custom => custom,
                        };
                        if wanted {
                            push_field(
                                &mut items,
                                FieldRef {
                                    hops: Vec::new(),
                                    field,
                                    func: None,
                                },
                                *span,
                                false,
                            )?;
                        }
                    }
                }
                SelectItem::DateFn { call, .. } => {
                    let msg = format!("{} is only allowed in GROUP BY queries", call.func.name());
                    return Err(self.err(ErrorCode::MalformedQuery, call.span, msg));
                }
                SelectItem::Agg { call, .. } => {
                    let msg = format!("unexpected token: '{}'", call.func.name());
                    return Err(self.err(ErrorCode::MalformedQuery, call.span, msg));
                }
                SelectItem::Subquery(sub) => {
                    if child {
                        return Err(self.err(
                            ErrorCode::MalformedQuery,
                            sub.span,
                            "unexpected token: 'SELECT'",
                        ));
                    }
                    items.push(ProjItem::Child(Box::new(self.child(obj, sub)?)));
                }
            }
        }
        Ok(items)
    }

    /// The sub-select of `Field [NOT] IN (SELECT …)`: one Id/reference field, WHERE allowed,
    /// no nesting (as in Salesforce).
    pub(crate) fn semi_join(&self, q: &Query) -> Result<SemiPlan, SoqlError> {
        let obj = self.cat.object(&q.from.name).ok_or_else(|| {
            self.err(
                ErrorCode::InvalidType,
                q.from.span,
                error::bad_object(&q.from.name),
            )
        })?;
        let [SelectItem::Field { path, alias: None }] = &q.select[..] else {
            let msg = "The selected field in a semi join sub-select must be a single Id or reference field";
            return Err(self.err(ErrorCode::MalformedQuery, q.span, msg));
        };
        let field = self.resolve(&obj, path)?;
        if !matches!(field.field.kind, FieldKind::Id | FieldKind::Reference) {
            let msg = "The selected field in a semi join sub-select must be a single Id or reference field";
            return Err(self.err(ErrorCode::MalformedQuery, path.span(), msg));
        }
        if let Some(g) = q.group_by.first() {
            return Err(self.err(
                ErrorCode::MalformedQuery,
                g.span(),
                "GROUP BY is not allowed in a semi join sub-select",
            ));
        }
        if q.where_.as_ref().is_some_and(has_semi_join) {
            return Err(self.err(
                ErrorCode::MalformedQuery,
                q.span,
                "Nesting of semi join sub-selects is not supported",
            ));
        }
        let rows = self.row_query(&obj, q)?;
        let hint = hint(rows.filter.as_ref());
        Ok(SemiPlan { rows, field, hint })
    }

    fn child(&self, parent: &ObjectInfo, q: &Query) -> Result<ChildPlan, SoqlError> {
        let rel = self
            .cat
            .child_relationship(parent, &q.from.name)
            .ok_or_else(|| {
                self.err(
                    ErrorCode::InvalidType,
                    q.from.span,
                    error::bad_child_relationship(&q.from.name),
                )
            })?;
        if let Some(g) = q.group_by.first() {
            return Err(self.err(
                ErrorCode::MalformedQuery,
                g.span(),
                "GROUP BY is not allowed in a subquery",
            ));
        }
        let rows = self.row_query(&rel.child, q)?;
        let items = self.projection(&rel.child, q, true)?;
        Ok(ChildPlan {
            rel: rel.name,
            slot: rel.slot,
            rows,
            items,
        })
    }
}

fn has_semi_join(c: &Cond) -> bool {
    match c {
        Cond::And(cs) | Cond::Or(cs) => cs.iter().any(has_semi_join),
        Cond::Not(c) => has_semi_join(c),
        Cond::SemiJoin { .. } => true,
        Cond::Cmp { .. } => false,
    }
}

/// The kind a date function returns.
pub(crate) fn date_fn_kind(func: DateFunc) -> FieldKind {
    if func == DateFunc::DayOnly {
        FieldKind::Date
    } else {
        FieldKind::Int
    }
}

/// Identity of a selected path for duplicate detection (relationship names + field).
pub(crate) fn path_key(f: &FieldRef) -> String {
    let mut k: String = f
        .func
        .map(|d| format!("{}{}:", d.func.name(), if d.local { "@tz" } else { "" }))
        .unwrap_or_default();
    k.extend(f.hops.iter().map(|h| h.rel.to_ascii_lowercase() + "."));
    k.push_str(&f.field.name.to_ascii_lowercase());
    k
}

pub(crate) fn plan_query(q: &Query, text: &str, catalog: &impl Catalog) -> Result<Plan, SoqlError> {
    let ck = Ck {
        text,
        cat: catalog,
        alias: q.alias.as_ref().map(|a| a.name.as_str()),
    };
    let object = catalog.object(&q.from.name).ok_or_else(|| {
        ck.err(
            ErrorCode::InvalidType,
            q.from.span,
            error::bad_object(&q.from.name),
        )
    })?;
    if let Some(o) = q.offset.filter(|o| o.value > MAX_OFFSET) {
        return Err(ck.err(
            ErrorCode::NumberOutsideValidRange,
            o.span,
            "Maximum SOQL offset allowed is 2000",
        ));
    }
    let is_agg = !q.group_by.is_empty()
        || q.having.is_some()
        || q.select
            .iter()
            .any(|s| matches!(s, SelectItem::Agg { .. } | SelectItem::DateFn { .. }));
    let (rows, mode) = if is_agg {
        crate::check_agg::plan_aggregate(&ck, &object, q)?
    } else {
        (
            ck.row_query(&object, q)?,
            Mode::Rows(ck.projection(&object, q, false)?),
        )
    };
    if object.name.eq_ignore_ascii_case("ContentDocumentLink")
        && !cdl_filtered(rows.filter.as_ref())
    {
        return Err(ck.err(
            ErrorCode::MalformedQuery,
            q.from.span,
            "Implementation restriction: ContentDocumentLink requires a filter by a single Id on ContentDocumentId or LinkedEntityId using the equals operator or multiple Id's using the IN operator.",
        ));
    }
    let hint = hint(rows.filter.as_ref());
    Ok(Plan { rows, mode, hint })
}
