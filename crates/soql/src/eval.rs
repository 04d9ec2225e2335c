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
