//! Recursive-descent parser over the winnow-lexed tokens, producing [`crate::ast::Query`].
//! Errors are Salesforce's `unexpected token: '…'` at the offending token.

use crate::ast::*;
use crate::error::{ErrorCode, SoqlError};
use crate::lexer::{Tok, Token, tokenize};

/// Deepest parenthesis nesting accepted in a condition (guards the stack against hostile input).
const MAX_DEPTH: usize = 64;

/// Words that end a field list or start a clause, so they cannot be field names or aliases.
const RESERVED: &[&str] = &[
    "SELECT", "FROM", "WHERE", "WITH", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "FOR", "AND",
    "OR", "NOT", "LIKE", "IN", "INCLUDES", "EXCLUDES", "ASC", "DESC", "NULLS", "NULL", "TRUE",
    "FALSE", "BY", "USING",
];

pub(crate) fn parse_query(text: &str) -> Result<Query, SoqlError> {
    let toks = tokenize(text);
    let mut p = Parser {
        text,
        toks,
        pos: 0,
        depth: 0,
    };
    let q = p.query(false)?;
    if !matches!(p.peek().tok, Tok::Eof) {
        return Err(p.unexpected());
    }
    Ok(q)
}

struct Parser<'a> {
    text: &'a str,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
}

type R<T> = Result<T, SoqlError>;

impl Parser<'_> {
    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    fn peek_at(&self, n: usize) -> &Token {
        let last = self.toks.len() - 1; // tokenize always ends with Eof
        &self.toks[(self.pos + n).min(last)]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    /// `unexpected token: 'X'` at the current token.
    fn unexpected(&self) -> SoqlError {
        let t = self.peek();
        if let Tok::Error(e) = &t.tok {
            return (**e).clone();
        }
        let shown = match t.tok {
            Tok::Eof => "<EOF>".to_string(),
            _ => format!("'{}'", &self.text[t.span.start..t.span.end]),
        };
        SoqlError::at(
            ErrorCode::MalformedQuery,
            self.text,
            t.span.start,
            format!("unexpected token: {shown}"),
        )
    }

    fn is_kw_at(&self, n: usize, kw: &str) -> bool {
        matches!(&self.peek_at(n).tok, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    fn is_kw(&self, kw: &str) -> bool {
        self.is_kw_at(0, kw)
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        let hit = self.is_kw(kw);
        if hit {
            self.bump();
        }
        hit
    }

    fn expect_kw(&mut self, kw: &str) -> R<Span> {
        if self.is_kw(kw) {
            Ok(self.bump().span)
        } else {
            Err(self.unexpected())
        }
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        let hit = &self.peek().tok == tok;
        if hit {
            self.bump();
        }
        hit
    }

    fn expect(&mut self, tok: &Tok) -> R<Span> {
        if &self.peek().tok == tok {
            Ok(self.bump().span)
        } else {
            Err(self.unexpected())
        }
    }

    /// An identifier; `reserved_ok` allows clause keywords (object names such as `Order`).
    fn ident(&mut self, reserved_ok: bool) -> R<Ident> {
        match &self.peek().tok {
            Tok::Ident(s) if reserved_ok || !is_reserved(s) => {
                let name = s.clone();
                Ok(Ident {
                    name,
                    span: self.bump().span,
                })
            }
            _ => Err(self.unexpected()),
        }
    }

    fn path(&mut self) -> R<Path> {
        let mut parts = vec![self.ident(false)?];
        while self.eat(&Tok::Dot) {
            parts.push(self.ident(true)?);
        }
        Ok(Path { parts })
    }

    fn query(&mut self, sub: bool) -> R<Query> {
        let span = self.expect_kw("SELECT")?;
        let mut select = vec![self.select_item(sub)?];
        while self.eat(&Tok::Comma) {
            select.push(self.select_item(sub)?);
        }
        self.expect_kw("FROM")?;
        let from = self.ident(true)?;
        let alias = self.alias()?;
        if self.eat_kw("USING") {
            // USING SCOPE Mine|Everything|…: accepted; the emulator has no sharing scopes.
            self.expect_kw("SCOPE")?;
            self.ident(true)?;
        }
        let where_ = if self.eat_kw("WHERE") {
            Some(self.cond()?)
        } else {
            None
        };
        if self.eat_kw("WITH") {
            // WITH SECURITY_ENFORCED / USER_MODE / SYSTEM_MODE: accepted, no effect here.
            self.ident(false)?;
        }
        let mut group_by = Vec::new();
        if self.is_kw("GROUP") {
            self.bump();
            self.expect_kw("BY")?;
            group_by.push(self.operand()?);
            while self.eat(&Tok::Comma) {
                group_by.push(self.operand()?);
            }
        }
        let having = if self.eat_kw("HAVING") {
            Some(self.cond()?)
        } else {
            None
        };
        let mut order_by = Vec::new();
        if self.is_kw("ORDER") {
            self.bump();
            self.expect_kw("BY")?;
            order_by.push(self.order_item()?);
            while self.eat(&Tok::Comma) {
                order_by.push(self.order_item()?);
            }
        }
        let limit = if self.eat_kw("LIMIT") {
            Some(self.count()?)
        } else {
            None
        };
        let offset = if self.eat_kw("OFFSET") {
            Some(self.count()?)
        } else {
            None
        };
        if !sub && self.eat_kw("FOR") {
            // FOR VIEW / FOR REFERENCE / FOR UPDATE: accepted, no effect in the emulator.
            self.ident(false)?;
        }
        Ok(Query {
            select,
            from,
            alias,
            where_,
            group_by,
            having,
            order_by,
            limit,
            offset,
            span,
        })
    }

    fn count(&mut self) -> R<Count> {
        match self.peek().tok {
            Tok::Int(n) if n >= 0 => {
                let span = self.bump().span;
                Ok(Count {
                    value: n as u64,
                    span,
                })
            }
            _ => Err(self.unexpected()),
        }
    }

    fn agg_call(&mut self) -> R<AggCall> {
        let name = self.ident(true)?;
        let func = AggFunc::from_name(&name.name).ok_or_else(|| {
            SoqlError::at(
                ErrorCode::MalformedQuery,
                self.text,
                name.span.start,
                format!("unexpected token: '{}'", name.name),
            )
        })?;
        self.expect(&Tok::LParen)?;
        let arg = if func == AggFunc::Count && matches!(self.peek().tok, Tok::RParen) {
            None
        } else {
            Some(self.path()?)
        };
        let end = self.expect(&Tok::RParen)?;
        Ok(AggCall {
            func,
            arg,
            span: Span {
                start: name.span.start,
                end: end.end,
            },
        })
    }

    fn alias(&mut self) -> R<Option<Ident>> {
        match &self.peek().tok {
            Tok::Ident(s) if !is_reserved(s) => Ok(Some(self.ident(false)?)),
            _ => Ok(None),
        }
    }

    fn select_item(&mut self, sub: bool) -> R<SelectItem> {
        if !sub && matches!(self.peek().tok, Tok::LParen) {
            self.bump();
            let q = self.query(true)?;
            self.expect(&Tok::RParen)?;
            return Ok(SelectItem::Subquery(Box::new(q)));
        }
        if matches!(self.peek_at(1).tok, Tok::LParen) && self.is_kw("FIELDS") {
            let start = self.bump().span.start;
            self.bump();
            let which = self.ident(true)?;
            let set = match which.name.to_ascii_uppercase().as_str() {
                "ALL" => FieldsSet::All,
                "STANDARD" => FieldsSet::Standard,
                "CUSTOM" => FieldsSet::Custom,
                _ => {
                    return Err(SoqlError::at(
                        ErrorCode::MalformedQuery,
                        self.text,
                        which.span.start,
                        format!("unexpected token: '{}'", which.name),
                    ));
                }
            };
            let end = self.expect(&Tok::RParen)?.end;
            return Ok(SelectItem::Fields {
                set,
                span: Span { start, end },
            });
        }
        if matches!(self.peek_at(1).tok, Tok::LParen) && matches!(self.peek().tok, Tok::Ident(_)) {
            return Ok(match self.operand()? {
                Operand::DateFn(call) => SelectItem::DateFn {
                    call,
                    alias: self.alias()?,
                },
                Operand::Agg(call) => SelectItem::Agg {
                    call,
                    alias: self.alias()?,
                },
                Operand::Field(path) => SelectItem::Field {
                    path,
                    alias: self.alias()?,
                },
            });
        }
        let path = self.path()?;
        Ok(SelectItem::Field {
            path,
            alias: self.alias()?,
        })
    }

    fn operand(&mut self) -> R<Operand> {
        let func = match &self.peek().tok {
            Tok::Ident(name) if matches!(self.peek_at(1).tok, Tok::LParen) => {
                DateFunc::from_name(name)
            }
            _ => return Ok(Operand::Field(self.path()?)),
        };
        let Some(func) = func else {
            return Ok(Operand::Agg(self.agg_call()?));
        };
        let start = self.bump().span.start;
        self.bump();
        let local = self.is_kw("convertTimezone") && matches!(self.peek_at(1).tok, Tok::LParen);
        if local {
            self.bump();
            self.bump();
        }
        let arg = self.path()?;
        if local {
            self.expect(&Tok::RParen)?;
        }
        let end = self.expect(&Tok::RParen)?.end;
        Ok(Operand::DateFn(DateCall {
            func,
            arg,
            local,
            span: Span { start, end },
        }))
    }

    fn order_item(&mut self) -> R<OrderItem> {
        let key = self.operand()?;
        let descending = if self.eat_kw("DESC") {
            true
        } else {
            self.eat_kw("ASC");
            false
        };
        let nulls_first = if self.eat_kw("NULLS") {
            if self.eat_kw("FIRST") {
                Some(true)
            } else {
                self.expect_kw("LAST")?;
                Some(false)
            }
        } else {
            None
        };
        Ok(OrderItem {
            key,
            descending,
            nulls_first,
        })
    }
}

fn is_reserved(s: &str) -> bool {
    RESERVED.iter().any(|k| k.eq_ignore_ascii_case(s))
}

mod cond;
#[cfg(test)]
mod tests;
