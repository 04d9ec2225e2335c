//! The syntax tree of one SOQL statement, with byte spans into the original text so the checker
//! can report Salesforce's `Row:r:Column:c` positions. `Display` prints canonical SOQL that parses
//! back to the same tree (property-tested).

use chrono::{DateTime, FixedOffset, NaiveDate};
use std::fmt;

/// Byte range in the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// A name as written (case preserved; matching is case-insensitive).
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A dotted field path: `Name`, `Account.Owner.Name`.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub parts: Vec<Ident>,
}

impl Path {
    /// Span of the first part (where Salesforce points its caret).
    pub fn span(&self) -> Span {
        self.parts.first().map(|p| p.span).unwrap_or_default()
    }
}

/// One SELECT statement (top level or child subquery).
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub select: Vec<SelectItem>,
    pub from: Ident,
    /// `FROM Account a`: paths may start with `a.`.
    pub alias: Option<Ident>,
    pub where_: Option<Cond>,
    /// Fields or date functions (`GROUP BY CALENDAR_YEAR(CreatedDate)`).
    pub group_by: Vec<Operand>,
    pub having: Option<Cond>,
    pub order_by: Vec<OrderItem>,
    pub limit: Option<Count>,
    pub offset: Option<Count>,
    /// Span of the `SELECT` keyword.
    pub span: Span,
}

/// A non-negative integer with its position (LIMIT / OFFSET).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Count {
    pub value: u64,
    pub span: Span,
}

/// Aggregate functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFunc {
    Count,
    CountDistinct,
    Min,
    Max,
    Sum,
    Avg,
}

impl AggFunc {
    /// The function by (case-insensitive) name.
    pub fn from_name(name: &str) -> Option<AggFunc> {
        Some(match name.to_ascii_uppercase().as_str() {
            "COUNT" => AggFunc::Count,
            "COUNT_DISTINCT" => AggFunc::CountDistinct,
            "MIN" => AggFunc::Min,
            "MAX" => AggFunc::Max,
            "SUM" => AggFunc::Sum,
            "AVG" => AggFunc::Avg,
            _ => return None,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            AggFunc::Count => "COUNT",
            AggFunc::CountDistinct => "COUNT_DISTINCT",
            AggFunc::Min => "MIN",
            AggFunc::Max => "MAX",
            AggFunc::Sum => "SUM",
            AggFunc::Avg => "AVG",
        }
    }
}

/// `COUNT()`, `SUM(Amount)` …; `arg` is `None` only for `COUNT()`.
#[derive(Debug, Clone, PartialEq)]
pub struct AggCall {
    pub func: AggFunc,
    pub arg: Option<Path>,
    pub span: Span,
}

/// Date functions (`CALENDAR_YEAR(CreatedDate)`), evaluated in UTC as Salesforce does without
/// `convertTimezone()`; fiscal variants use the default fiscal year (starting in January).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateFunc {
    CalendarMonth,
    CalendarQuarter,
    CalendarYear,
    DayInMonth,
    DayInWeek,
    DayInYear,
    DayOnly,
    FiscalMonth,
    FiscalQuarter,
    FiscalYear,
    HourInDay,
    WeekInMonth,
    WeekInYear,
}

const DATE_FUNCS: &[(DateFunc, &str)] = &[
    (DateFunc::CalendarMonth, "CALENDAR_MONTH"),
    (DateFunc::CalendarQuarter, "CALENDAR_QUARTER"),
    (DateFunc::CalendarYear, "CALENDAR_YEAR"),
    (DateFunc::DayInMonth, "DAY_IN_MONTH"),
    (DateFunc::DayInWeek, "DAY_IN_WEEK"),
    (DateFunc::DayInYear, "DAY_IN_YEAR"),
    (DateFunc::DayOnly, "DAY_ONLY"),
    (DateFunc::FiscalMonth, "FISCAL_MONTH"),
    (DateFunc::FiscalQuarter, "FISCAL_QUARTER"),
    (DateFunc::FiscalYear, "FISCAL_YEAR"),
    (DateFunc::HourInDay, "HOUR_IN_DAY"),
    (DateFunc::WeekInMonth, "WEEK_IN_MONTH"),
    (DateFunc::WeekInYear, "WEEK_IN_YEAR"),
];

impl DateFunc {
    /// The function by (case-insensitive) name.
    pub fn from_name(name: &str) -> Option<DateFunc> {
        DATE_FUNCS
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(f, _)| *f)
    }

    pub fn name(&self) -> &'static str {
        DATE_FUNCS
            .iter()
            .find(|(f, _)| f == self)
            .map_or("", |(_, n)| n)
    }
}

/// `CALENDAR_YEAR(CreatedDate)`.
#[derive(Debug, Clone, PartialEq)]
pub struct DateCall {
    pub func: DateFunc,
    pub arg: Path,
    /// `FUNC(convertTimezone(field))`: evaluate in the user's time zone instead of UTC.
    pub local: bool,
    pub span: Span,
}

/// `FIELDS(ALL|STANDARD|CUSTOM)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldsSet {
    All,
    Standard,
    Custom,
}

/// One entry of the SELECT list.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    Field {
        path: Path,
        alias: Option<Ident>,
    },
    Agg {
        call: AggCall,
        alias: Option<Ident>,
    },
    /// A date function (aggregate queries only).
    DateFn {
        call: DateCall,
        alias: Option<Ident>,
    },
    Fields {
        set: FieldsSet,
        span: Span,
    },
    Subquery(Box<Query>),
}

/// Left side of a comparison, ORDER BY / GROUP BY key: a field, an aggregate (HAVING and
/// aggregate ORDER BY only) or a date function.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Field(Path),
    Agg(AggCall),
    DateFn(DateCall),
}

impl Operand {
    pub fn span(&self) -> Span {
        match self {
            Operand::Field(p) => p.span(),
            Operand::Agg(a) => a.span,
            Operand::DateFn(d) => d.span,
        }
    }
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    In,
    NotIn,
    Includes,
    Excludes,
}

impl CmpOp {
    pub fn symbol(&self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Like => "LIKE",
            CmpOp::In => "IN",
            CmpOp::NotIn => "NOT IN",
            CmpOp::Includes => "INCLUDES",
            CmpOp::Excludes => "EXCLUDES",
        }
    }

    /// Whether the right side is a parenthesised list.
    pub fn takes_list(&self) -> bool {
        matches!(
            self,
            CmpOp::In | CmpOp::NotIn | CmpOp::Includes | CmpOp::Excludes
        )
    }
}

/// A WHERE / HAVING condition. AND and OR are n-ary; SOQL forbids mixing them without parens.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Cmp {
        lhs: Operand,
        op: CmpOp,
        rhs: Vec<Literal>,
        span: Span,
    },
    /// `Field [NOT] IN (SELECT IdField FROM Obj [WHERE …])`: a semi-join (anti-join when negated).
    SemiJoin {
        lhs: Path,
        negated: bool,
        query: Box<Query>,
        span: Span,
    },
}

/// Relative date literals; the `u32` is the `:n` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelDate {
    Yesterday,
    Today,
    Tomorrow,
    LastWeek,
    ThisWeek,
    NextWeek,
    LastMonth,
    ThisMonth,
    NextMonth,
    Last90Days,
    Next90Days,
    LastNDays(u32),
    NextNDays(u32),
    NDaysAgo(u32),
    LastNWeeks(u32),
    NextNWeeks(u32),
    LastNMonths(u32),
    NextNMonths(u32),
    ThisQuarter,
    LastQuarter,
    NextQuarter,
    LastNQuarters(u32),
    NextNQuarters(u32),
    ThisYear,
    LastYear,
    NextYear,
    LastNYears(u32),
    NextNYears(u32),
}

/// A literal value as written.
#[derive(Debug, Clone, PartialEq)]
pub enum LitKind {
    Null,
    Bool(bool),
    Int(i64),
    Double(f64),
    /// `value` has escapes decoded; `raw` is the text between the quotes (LIKE needs to know
    /// which `%`/`_` were escaped).
    Str {
        value: String,
        raw: String,
    },
    Date(NaiveDate),
    DateTime(DateTime<FixedOffset>),
    Relative(RelDate),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Literal {
    pub kind: LitKind,
    pub span: Span,
}

/// One ORDER BY key.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    pub key: Operand,
    pub descending: bool,
    /// `Some(true)` = NULLS FIRST, `Some(false)` = NULLS LAST, `None` = default for direction.
    pub nulls_first: Option<bool>,
}

impl OrderItem {
    /// Salesforce default: ASC sorts nulls first, DESC sorts nulls last.
    pub fn effective_nulls_first(&self) -> bool {
        self.nulls_first.unwrap_or(!self.descending)
    }
}

mod display;
pub use display::rel_date_name;
