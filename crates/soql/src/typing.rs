//! Type-checking of WHERE/HAVING conditions: each literal against the kind of the field (or
//! aggregate) it is compared with, in Salesforce's words, and conversion to evaluator tests.

use crate::FieldKind as K;
use crate::ast::{CmpOp, Cond, LitKind, Literal, Operand, Span};
use crate::check::Ck;
use crate::dates::utc;
use crate::error::{ErrorCode, SoqlError};
use crate::like::LikePattern;
use crate::plan::{DateFn, Pred, Test};
use crate::{Catalog, FieldKind, Value};

pub(crate) fn is_text(k: FieldKind) -> bool {
    matches!(
        k,
        K::Id
            | K::Reference
            | K::String
            | K::TextArea
            | K::LongTextArea
            | K::Picklist
            | K::MultiPicklist
            | K::Email
            | K::Phone
            | K::Url
            | K::Base64
    )
}

pub(crate) fn is_numeric(k: FieldKind) -> bool {
    matches!(k, K::Int | K::Double | K::Currency | K::Percent)
}

/// Salesforce's type word for a kind in "must be of type …" messages.
fn type_word(k: FieldKind) -> &'static str {
    match k {
        K::Boolean => "boolean",
        K::Int => "integer",
        K::Double | K::Currency | K::Percent => "double",
        K::Date => "date",
        K::DateTime => "dateTime",
        K::Time => "time",
        K::Id | K::Reference => "id",
        _ => "string",
    }
}

/// The 18-character form of a 15-character Id (case-safe suffix); other text is returned as is.
pub(crate) fn id18(s: &str) -> String {
    if s.len() != 15 || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return s.to_string();
    }
    const ALPHA: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    let mut out = s.to_string();
    for chunk in s.as_bytes().chunks(5) {
        let bits = chunk.iter().enumerate().fold(0usize, |acc, (i, b)| {
            acc | (usize::from(b.is_ascii_uppercase()) << i)
        });
        out.push(char::from(ALPHA[bits]));
    }
    out
}

fn valid_id(s: &str) -> bool {
    (s.len() == 15 || s.len() == 18) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Resolves a condition operand to (operand, display name, kind).
/// (operand, display name, kind of the tested value, date function to apply first).
pub(crate) type Leaf<'a, O> =
    dyn FnMut(&Operand) -> Result<(O, String, FieldKind, Option<DateFn>), SoqlError> + 'a;

impl<C: Catalog> Ck<'_, C> {
    fn type_error(&self, name: &str, kind: FieldKind, at: Span) -> SoqlError {
        let quotes = if is_text(kind) {
            "should be enclosed in quotes"
        } else {
            "should not be enclosed in quotes"
        };
        self.err(
            ErrorCode::InvalidField,
            at,
            format!(
                "value of filter criterion for field '{name}' must be of type {} and {quotes}",
                type_word(kind)
            ),
        )
    }

    /// Converts a (non-relative) literal to a value comparable with a field of `kind`.
    pub(crate) fn literal(
        &self,
        name: &str,
        kind: FieldKind,
        lit: &Literal,
        op: CmpOp,
    ) -> Result<Value, SoqlError> {
        let bad = || self.type_error(name, kind, lit.span);
        Ok(match (&lit.kind, kind) {
            (LitKind::Null, _) => Value::Null,
            // Salesforce stores empty text as null, so `= ''` finds the blank (null) rows.
            // UNCONFIRMED: chosen from observed behaviour of blank text fields.
            (LitKind::Str { value, .. }, k) if value.is_empty() && is_text(k) => Value::Null,
            (LitKind::Str { value, .. }, K::Id | K::Reference) => {
                if !valid_id(value) && op != CmpOp::Like {
                    return Err(self.err(
                        ErrorCode::InvalidQueryFilterOperator,
                        lit.span,
                        format!("invalid ID field: {value}"),
                    ));
                }
                Value::text(id18(value))
            }
            (LitKind::Str { value, .. }, k) if is_text(k) => Value::text(value.as_str()),
            (LitKind::Bool(b), K::Boolean) => Value::Bool(*b),
            (LitKind::Int(i), k) if is_numeric(k) => Value::Int(*i),
            (LitKind::Double(d), k) if is_numeric(k) => Value::Double(*d),
            (LitKind::Date(d), K::Date) => Value::Date(*d),
            (LitKind::DateTime(d), K::DateTime) => Value::DateTime(d.to_utc()),
            _ => return Err(bad()),
        })
    }

    /// Builds the test for `lhs op rhs` given the operand's name and kind.
    pub(crate) fn test(
        &self,
        name: &str,
        kind: FieldKind,
        op: CmpOp,
        rhs: &[Literal],
        at: Span,
    ) -> Result<Pred<()>, SoqlError> {
        let one = rhs
            .first()
            .ok_or_else(|| self.err(ErrorCode::MalformedQuery, at, "unexpected token: ')'"))?;
        let dated = matches!(kind, K::Date | K::DateTime);
        let rel = |lit: &Literal, op: CmpOp| match lit.kind {
            LitKind::Relative(rel) if dated => Ok(Some(Test::Relative {
                op,
                rel,
                datetime: kind == K::DateTime,
            })),
            LitKind::Relative(_) => Err(self.type_error(name, kind, lit.span)),
            _ => Ok(None),
        };
        let t = match op {
            CmpOp::Like => {
                if !is_text(kind) {
                    return Err(self.err(
                        ErrorCode::InvalidField,
                        at,
                        format!(
                            "invalid operator on field '{name}': LIKE applies to text fields only"
                        ),
                    ));
                }
                match &one.kind {
                    LitKind::Str { raw, .. } => Test::Like(LikePattern::new(raw)),
                    LitKind::Null => Test::Eq(Value::Null),
                    _ => return Err(self.type_error(name, kind, one.span)),
                }
            }
            CmpOp::Includes | CmpOp::Excludes => {
                if kind != K::MultiPicklist {
                    return Err(self.err(
                        ErrorCode::InvalidField,
                        at,
                        format!("includes or excludes operator only valid on multipicklist field: {name}"),
                    ));
                }
                let mut groups = Vec::new();
                for lit in rhs {
                    match &lit.kind {
                        LitKind::Str { value, .. } => groups.push(split_set(value)),
                        _ => return Err(self.type_error(name, kind, lit.span)),
                    }
                }
                Test::Includes(groups, op == CmpOp::Includes)
            }
            CmpOp::In | CmpOp::NotIn => {
                if rhs.iter().any(|l| matches!(l.kind, LitKind::Relative(_))) {
                    let mut any = Vec::new();
                    for lit in rhs {
                        let t = match rel(lit, CmpOp::Eq)? {
                            Some(t) => t,
                            None => Test::Eq(self.literal(name, kind, lit, CmpOp::Eq)?),
                        };
                        any.push(Pred::Test((), t));
                    }
                    let or = Pred::Or(any);
                    return Ok(if op == CmpOp::In {
                        or
                    } else {
                        Pred::Not(Box::new(or))
                    });
                }
                let vals = rhs
                    .iter()
                    .map(|l| self.literal(name, kind, l, op))
                    .collect::<Result<Vec<_>, _>>()?;
                if op == CmpOp::In {
                    Test::In(vals)
                } else {
                    Test::NotIn(vals)
                }
            }
            _ => match (rel(one, op)?, &one.kind) {
                (Some(t), _) => t,
                (None, LitKind::Str { value, .. })
                    if kind == K::MultiPicklist && matches!(op, CmpOp::Eq | CmpOp::Ne) =>
                {
                    Test::SetEq(split_set(value), op == CmpOp::Ne)
                }
                (None, _) => {
                    let v = self.literal(name, kind, one, op)?;
                    match op {
                        CmpOp::Eq => Test::Eq(v),
                        CmpOp::Ne => Test::Ne(v),
                        _ => Test::Order(op, v),
                    }
                }
            },
        };
        Ok(Pred::Test((), t))
    }

    /// Generic condition walk; `leaf` resolves an operand to (operand, name, kind, filter-ok).
    pub(crate) fn cond<O: Clone>(
        &self,
        c: &Cond,
        leaf: &mut Leaf<'_, O>,
    ) -> Result<Pred<O>, SoqlError> {
        Ok(match c {
            Cond::And(cs) => Pred::And(
                cs.iter()
                    .map(|c| self.cond(c, leaf))
                    .collect::<Result<_, _>>()?,
            ),
            Cond::Or(cs) => Pred::Or(
                cs.iter()
                    .map(|c| self.cond(c, leaf))
                    .collect::<Result<_, _>>()?,
            ),
            Cond::Not(c) => Pred::Not(Box::new(self.cond(c, leaf)?)),
            Cond::SemiJoin {
                lhs,
                negated,
                query,
                ..
            } => {
                let (o, name, kind, _) = leaf(&Operand::Field(lhs.clone()))?;
                if !matches!(kind, K::Id | K::Reference) {
                    let msg = format!(
                        "semi join sub-selects are only allowed on Id or reference fields: {name}"
                    );
                    return Err(self.err(ErrorCode::InvalidField, lhs.span(), msg));
                }
                let sub = std::sync::Arc::new(self.semi_join(query)?);
                Pred::Test(
                    o,
                    Test::SemiJoin {
                        sub,
                        negate: *negated,
                    },
                )
            }
            Cond::Cmp { lhs, op, rhs, span } => {
                let (o, name, kind, func) = leaf(lhs)?;
                let p = self.test(&name, kind, *op, rhs, *span)?;
                attach(
                    match func {
                        Some(func) => wrap(p, func),
                        None => p,
                    },
                    &o,
                )
            }
        })
    }
}

/// Applies a date function to the value before each test of a single-comparison predicate.
fn wrap(p: Pred<()>, func: DateFn) -> Pred<()> {
    match p {
        Pred::And(ps) => Pred::And(ps.into_iter().map(|p| wrap(p, func)).collect()),
        Pred::Or(ps) => Pred::Or(ps.into_iter().map(|p| wrap(p, func)).collect()),
        Pred::Not(p) => Pred::Not(Box::new(wrap(*p, func))),
        Pred::Test((), t) => Pred::Test((), Test::DateFn(func, utc(), Box::new(t))),
    }
}

/// Replaces the unit operand of a single-comparison predicate with the real one.
fn attach<O: Clone>(p: Pred<()>, o: &O) -> Pred<O> {
    match p {
        Pred::And(ps) => Pred::And(ps.into_iter().map(|p| attach(p, o)).collect()),
        Pred::Or(ps) => Pred::Or(ps.into_iter().map(|p| attach(p, o)).collect()),
        Pred::Not(p) => Pred::Not(Box::new(attach(*p, o))),
        Pred::Test((), t) => Pred::Test(o.clone(), t),
    }
}

/// `'a;b'` → `["a", "b"]` (trimmed, empties dropped).
fn split_set(s: &str) -> Vec<String> {
    s.split(';')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_suffix() {
        assert_eq!(id18("001A0000006Vm9r"), "001A0000006Vm9rIAC");
        assert_eq!(id18("001A0000006Vm9rIAC"), "001A0000006Vm9rIAC");
    }
}
