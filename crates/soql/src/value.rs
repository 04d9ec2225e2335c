//! The scalar values a SOQL query compares, sorts, aggregates and returns.
//!
//! The emulator stores its records with these values too, so that a query never converts data:
//! the type is kept small (24 bytes) because an emulated org may hold a million rows.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use std::cmp::Ordering;

/// One field value of a record, as SOQL sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL-style null: absent or cleared.
    Null,
    /// checkbox / boolean.
    Bool(bool),
    /// int fields and COUNT results.
    Int(i64),
    /// double, currency and percent fields, SUM/AVG results.
    Double(f64),
    /// Every text-like type: id, reference, string, textarea, picklist, multipicklist
    /// (values joined with `;`), email, phone, url, base64.
    Text(Box<str>),
    /// date fields (no time zone).
    Date(NaiveDate),
    /// datetime fields, always UTC, millisecond precision.
    DateTime(DateTime<Utc>),
    /// time fields.
    Time(NaiveTime),
}

impl Value {
    /// Builds a text value.
    pub fn text(s: impl Into<Box<str>>) -> Self {
        Value::Text(s.into())
    }

    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The text, when this is a text value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// Numeric view used by comparisons and aggregates (ints and doubles compare together).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Double(d) => Some(*d),
            _ => None,
        }
    }

    /// Total order used by `ORDER BY`, `MIN`/`MAX` and range comparisons between two non-null
    /// values of compatible kinds. Text compares case-insensitively, as Salesforce sorts text.
    /// Returns `None` for incomparable kinds (the checker rejects such queries up front).
    pub fn compare(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Null, Value::Null) => Some(Ordering::Equal),
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
            (Value::Text(a), Value::Text(b)) => Some(cmp_ci(a, b)),
            (Value::Date(a), Value::Date(b)) => Some(a.cmp(b)),
            (Value::DateTime(a), Value::DateTime(b)) => Some(a.cmp(b)),
            (Value::Time(a), Value::Time(b)) => Some(a.cmp(b)),
            (Value::Date(a), Value::DateTime(b)) => Some(a.and_hms_opt(0, 0, 0)?.and_utc().cmp(b)),
            (Value::DateTime(a), Value::Date(b)) => Some(a.cmp(&b.and_hms_opt(0, 0, 0)?.and_utc())),
            _ => {
                let (a, b) = (self.as_f64()?, other.as_f64()?);
                a.partial_cmp(&b)
            }
        }
    }
}

/// Case-insensitive comparison of two strings without allocating.
pub fn cmp_ci(a: &str, b: &str) -> Ordering {
    // Fast path (the common case, and hot in sorts over a million rows): fold ASCII bytewise
    // and fall back to full Unicode folding from the first non-ASCII byte (a char boundary in
    // both strings, since everything before it was ASCII).
    let (x, y) = (a.as_bytes(), b.as_bytes());
    for i in 0..x.len().min(y.len()) {
        let (p, q) = (x[i], y[i]);
        if p >= 0x80 || q >= 0x80 {
            return cmp_ci_unicode(&a[i..], &b[i..]);
        }
        if p != q {
            let (p, q) = (p.to_ascii_lowercase(), q.to_ascii_lowercase());
            if p != q {
                return p.cmp(&q);
            }
        }
    }
    x.len().cmp(&y.len())
}

fn cmp_ci_unicode(a: &str, b: &str) -> Ordering {
    let mut ai = a.chars().flat_map(char::to_lowercase);
    let mut bi = b.chars().flat_map(char::to_lowercase);
    loop {
        match (ai.next(), bi.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => match x.cmp(&y) {
                Ordering::Equal => continue,
                o => return o,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_is_small() {
        assert!(std::mem::size_of::<Value>() <= 24);
    }

    #[test]
    fn text_compares_case_insensitively() {
        assert_eq!(
            Value::text("abc").compare(&Value::text("ABD")),
            Some(Ordering::Less)
        );
        assert_eq!(
            Value::Int(2).compare(&Value::Double(2.0)),
            Some(Ordering::Equal)
        );
    }
}
