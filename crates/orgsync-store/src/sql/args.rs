//! Heterogeneous bind values, so multi-row statements (`VALUES (…), (…)`, `IN (…)`) can be
//! built for a whole batch: one round trip per batch instead of one per row.

use sqlx::any::AnyArguments;
use sqlx::query::Query;

/// One bind value.
#[derive(Debug, Clone)]
pub enum Arg {
    /// An integer.
    Int(i64),
    /// An optional integer.
    OptInt(Option<i64>),
    /// Text.
    Text(String),
    /// Optional text.
    OptText(Option<String>),
    /// Optional bytes.
    OptBytes(Option<Vec<u8>>),
}

/// Bind `args` in order.
pub fn bind<'q>(
    mut q: Query<'q, sqlx::Any, AnyArguments>,
    args: Vec<Arg>,
) -> Query<'q, sqlx::Any, AnyArguments> {
    for a in args {
        q = match a {
            Arg::Int(v) => q.bind(v),
            Arg::OptInt(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
            Arg::OptText(v) => q.bind(v),
            Arg::OptBytes(v) => q.bind(v),
        };
    }
    q
}

/// `($s, $s+1, …), (…)` for `rows` rows of `cols` values, numbered from `start`.
pub fn values(rows: usize, cols: usize, start: usize) -> String {
    (0..rows)
        .map(|r| {
            let cells: Vec<String> = (0..cols)
                .map(|c| format!("${}", start + r * cols + c))
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_numbering() {
        assert_eq!(super::values(2, 3, 1), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(super::values(1, 1, 4), "($4)");
    }
}
