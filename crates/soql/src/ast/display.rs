//! Canonical SOQL text for a syntax tree (keywords upper-case, single spaces).

use super::*;

fn join<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T], sep: &str) -> fmt::Result {
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write!(f, "{it}")?;
    }
    Ok(())
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        join(f, &self.parts, ".")
    }
}

impl fmt::Display for AggCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.func.name())?;
        match &self.arg {
            Some(p) => write!(f, "({p})"),
            None => f.write_str("()"),
        }
    }
}

impl fmt::Display for DateCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.local {
            write!(f, "{}(convertTimezone({}))", self.func.name(), self.arg)
        } else {
            write!(f, "{}({})", self.func.name(), self.arg)
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Field(p) => write!(f, "{p}"),
            Operand::Agg(a) => write!(f, "{a}"),
            Operand::DateFn(d) => write!(f, "{d}"),
        }
    }
}

impl fmt::Display for SelectItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectItem::Field { path, alias } => {
                write!(f, "{path}")?;
                alias.as_ref().map_or(Ok(()), |a| write!(f, " {a}"))
            }
            SelectItem::Agg { call, alias } => {
                write!(f, "{call}")?;
                alias.as_ref().map_or(Ok(()), |a| write!(f, " {a}"))
            }
            SelectItem::DateFn { call, alias } => {
                write!(f, "{call}")?;
                alias.as_ref().map_or(Ok(()), |a| write!(f, " {a}"))
            }
            SelectItem::Fields { set, .. } => f.write_str(match set {
                FieldsSet::All => "FIELDS(ALL)",
                FieldsSet::Standard => "FIELDS(STANDARD)",
                FieldsSet::Custom => "FIELDS(CUSTOM)",
            }),
            SelectItem::Subquery(q) => write!(f, "({q})"),
        }
    }
}

/// The keyword for a relative date literal (`LAST_N_DAYS:3` …).
pub fn rel_date_name(r: &RelDate) -> String {
    use RelDate::*;
    let (name, n) = match r {
        Yesterday => ("YESTERDAY", None),
        Today => ("TODAY", None),
        Tomorrow => ("TOMORROW", None),
        LastWeek => ("LAST_WEEK", None),
        ThisWeek => ("THIS_WEEK", None),
        NextWeek => ("NEXT_WEEK", None),
        LastMonth => ("LAST_MONTH", None),
        ThisMonth => ("THIS_MONTH", None),
        NextMonth => ("NEXT_MONTH", None),
        Last90Days => ("LAST_90_DAYS", None),
        Next90Days => ("NEXT_90_DAYS", None),
        LastNDays(n) => ("LAST_N_DAYS", Some(n)),
        NextNDays(n) => ("NEXT_N_DAYS", Some(n)),
        NDaysAgo(n) => ("N_DAYS_AGO", Some(n)),
        LastNWeeks(n) => ("LAST_N_WEEKS", Some(n)),
        NextNWeeks(n) => ("NEXT_N_WEEKS", Some(n)),
        LastNMonths(n) => ("LAST_N_MONTHS", Some(n)),
        NextNMonths(n) => ("NEXT_N_MONTHS", Some(n)),
        ThisQuarter => ("THIS_QUARTER", None),
        LastQuarter => ("LAST_QUARTER", None),
        NextQuarter => ("NEXT_QUARTER", None),
        LastNQuarters(n) => ("LAST_N_QUARTERS", Some(n)),
        NextNQuarters(n) => ("NEXT_N_QUARTERS", Some(n)),
        ThisYear => ("THIS_YEAR", None),
        LastYear => ("LAST_YEAR", None),
        NextYear => ("NEXT_YEAR", None),
        LastNYears(n) => ("LAST_N_YEARS", Some(n)),
        NextNYears(n) => ("NEXT_N_YEARS", Some(n)),
    };
    match n {
        Some(n) => format!("{name}:{n}"),
        None => name.to_string(),
    }
}

/// Re-escapes a decoded string (used when no raw text is at hand).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            LitKind::Null => f.write_str("null"),
            LitKind::Bool(b) => write!(f, "{b}"),
            LitKind::Int(i) => write!(f, "{i}"),
            LitKind::Double(d) => write!(f, "{d:?}"),
            LitKind::Str { value, raw } => {
                if raw.is_empty() && !value.is_empty() {
                    write!(f, "'{}'", escape(value))
                } else {
                    write!(f, "'{raw}'")
                }
            }
            LitKind::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            LitKind::DateTime(dt) => {
                write!(f, "{}", dt.format("%Y-%m-%dT%H:%M:%S%.3f"))?;
                if dt.offset().local_minus_utc() == 0 {
                    f.write_str("Z")
                } else {
                    write!(f, "{}", dt.format("%:z"))
                }
            }
            LitKind::Relative(r) => f.write_str(&rel_date_name(r)),
        }
    }
}

impl fmt::Display for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let group = |f: &mut fmt::Formatter<'_>, c: &Cond| match c {
            Cond::And(_) | Cond::Or(_) => write!(f, "({c})"),
            Cond::Not(_) | Cond::Cmp { .. } | Cond::SemiJoin { .. } => write!(f, "{c}"),
        };
        match self {
            Cond::And(cs) | Cond::Or(cs) => {
                let sep = if matches!(self, Cond::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                for (i, c) in cs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(sep)?;
                    }
                    group(f, c)?;
                }
                Ok(())
            }
            Cond::Not(c) => write!(f, "NOT ({c})"),
            Cond::SemiJoin {
                lhs,
                negated,
                query,
                ..
            } => {
                let op = if *negated { "NOT IN" } else { "IN" };
                write!(f, "{lhs} {op} ({query})")
            }
            Cond::Cmp { lhs, op, rhs, .. } => {
                write!(f, "{lhs} {} ", op.symbol())?;
                if op.takes_list() {
                    f.write_str("(")?;
                    join(f, rhs, ", ")?;
                    f.write_str(")")
                } else {
                    join(f, rhs, ", ")
                }
            }
        }
    }
}

impl fmt::Display for OrderItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.key)?;
        if self.descending {
            f.write_str(" DESC")?;
        }
        match self.nulls_first {
            Some(true) => f.write_str(" NULLS FIRST"),
            Some(false) => f.write_str(" NULLS LAST"),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SELECT ")?;
        join(f, &self.select, ", ")?;
        write!(f, " FROM {}", self.from)?;
        if let Some(a) = &self.alias {
            write!(f, " {a}")?;
        }
        if let Some(w) = &self.where_ {
            write!(f, " WHERE {w}")?;
        }
        if !self.group_by.is_empty() {
            f.write_str(" GROUP BY ")?;
            join(f, &self.group_by, ", ")?;
        }
        if let Some(h) = &self.having {
            write!(f, " HAVING {h}")?;
        }
        if !self.order_by.is_empty() {
            f.write_str(" ORDER BY ")?;
            join(f, &self.order_by, ", ")?;
        }
        if let Some(l) = &self.limit {
            write!(f, " LIMIT {}", l.value)?;
        }
        if let Some(o) = &self.offset {
            write!(f, " OFFSET {}", o.value)?;
        }
        Ok(())
    }
}
