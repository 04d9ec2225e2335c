//! WHERE / HAVING conditions and literals.

use super::{MAX_DEPTH, Parser, R};
use crate::ast::*;
use crate::lexer::Tok;

impl Parser<'_> {
    /// `a AND b AND c` or `a OR b OR c`; mixing needs parentheses, as in Salesforce.
    pub(super) fn cond(&mut self) -> R<Cond> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.unexpected());
        }
        let first = self.unary()?;
        let joiner = if self.is_kw("AND") {
            "AND"
        } else if self.is_kw("OR") {
            "OR"
        } else {
            self.depth -= 1;
            return Ok(first);
        };
        let mut items = vec![first];
        while self.eat_kw(joiner) {
            items.push(self.unary()?);
        }
        if self.is_kw("AND") || self.is_kw("OR") {
            return Err(self.unexpected());
        }
        self.depth -= 1;
        Ok(if joiner == "AND" {
            Cond::And(items)
        } else {
            Cond::Or(items)
        })
    }

    pub(super) fn unary(&mut self) -> R<Cond> {
        if self.eat_kw("NOT") {
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(self.unexpected());
            }
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Cond::Not(Box::new(inner)));
        }
        if self.eat(&Tok::LParen) {
            let c = self.cond()?;
            self.expect(&Tok::RParen)?;
            return Ok(c);
        }
        let start = self.peek().span.start;
        let lhs = self.operand()?;
        let op = self.cmp_op()?;
        if matches!(op, CmpOp::In | CmpOp::NotIn)
            && matches!(self.peek().tok, Tok::LParen)
            && self.is_kw_at(1, "SELECT")
            && let Operand::Field(lhs) = &lhs
        {
            self.bump();
            let query = Box::new(self.query(true)?);
            let end = self.expect(&Tok::RParen)?.end;
            let span = Span { start, end };
            return Ok(Cond::SemiJoin {
                lhs: lhs.clone(),
                negated: op == CmpOp::NotIn,
                query,
                span,
            });
        }
        let rhs = if op.takes_list() {
            self.expect(&Tok::LParen)?;
            let mut v = vec![self.literal()?];
            while self.eat(&Tok::Comma) {
                v.push(self.literal()?);
            }
            self.expect(&Tok::RParen)?;
            v
        } else {
            vec![self.literal()?]
        };
        let end = self.toks[self.pos.saturating_sub(1)].span.end;
        Ok(Cond::Cmp {
            lhs,
            op,
            rhs,
            span: Span { start, end },
        })
    }

    pub(super) fn cmp_op(&mut self) -> R<CmpOp> {
        let op = match &self.peek().tok {
            Tok::Op(s) => match *s {
                "=" => CmpOp::Eq,
                "!=" | "<>" => CmpOp::Ne,
                "<" => CmpOp::Lt,
                "<=" => CmpOp::Le,
                ">" => CmpOp::Gt,
                _ => CmpOp::Ge,
            },
            Tok::Ident(s) => match s.to_ascii_uppercase().as_str() {
                "LIKE" => CmpOp::Like,
                "IN" => CmpOp::In,
                "INCLUDES" => CmpOp::Includes,
                "EXCLUDES" => CmpOp::Excludes,
                "NOT" if self.is_kw_at(1, "IN") => {
                    self.bump();
                    CmpOp::NotIn
                }
                _ => return Err(self.unexpected()),
            },
            _ => return Err(self.unexpected()),
        };
        self.bump();
        Ok(op)
    }

    pub(super) fn literal(&mut self) -> R<Literal> {
        let t = self.peek().clone();
        let kind = match t.tok {
            Tok::Str { value, raw } => LitKind::Str { value, raw },
            Tok::Int(i) => LitKind::Int(i),
            Tok::Double(d) => LitKind::Double(d),
            Tok::Date(d) => LitKind::Date(d),
            Tok::DateTime(d) => LitKind::DateTime(d),
            Tok::Ident(ref s) => match s.to_ascii_uppercase().as_str() {
                "NULL" => LitKind::Null,
                "TRUE" => LitKind::Bool(true),
                "FALSE" => LitKind::Bool(false),
                upper => return self.relative(upper, t.span),
            },
            _ => return Err(self.unexpected()),
        };
        self.bump();
        Ok(Literal { kind, span: t.span })
    }

    pub(super) fn relative(&mut self, upper: &str, span: Span) -> R<Literal> {
        let Some(takes_n) = crate::dates::rel_takes_n(upper) else {
            return Err(self.unexpected());
        };
        self.bump();
        let mut n = 0u32;
        let mut end = span.end;
        if takes_n {
            self.expect(&Tok::Colon)?;
            match self.peek().tok {
                Tok::Int(v) if (0..=i64::from(u32::MAX)).contains(&v) => {
                    n = v as u32;
                    end = self.bump().span.end;
                }
                _ => return Err(self.unexpected()),
            }
        }
        let rel = crate::dates::rel_from(upper, n).ok_or_else(|| self.unexpected())?;
        Ok(Literal {
            kind: LitKind::Relative(rel),
            span: Span {
                start: span.start,
                end,
            },
        })
    }
}
