//! Compact sort cells: each value's order-preserving 64-bit encoding next to a reference to the
//! value itself. Sorting a million rows compares mostly these contiguous integers instead of
//! chasing a pointer per comparison; the full [`Value::compare`] runs only on encoding ties
//! that are not known to be exact.

use std::cmp::Ordering;

use chrono::{Datelike, Timelike};

use crate::Value;
use crate::eval::cmp_sort;

/// Kinds whose encodings are comparable with each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Null,
    Bool,
    Number,
    Date,
    DateTime,
    /// Text whose first (up to) 8 bytes are ASCII: the encoding is those bytes folded.
    Text,
    /// Anything else: always compared in full.
    Other,
}

/// One value prepared for sorting.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cell<'a> {
    class: Class,
    enc: u64,
    /// Equal encodings imply equal values.
    exact: bool,
    v: &'a Value,
}

fn signed(x: i64) -> u64 {
    (x as u64) ^ (1 << 63)
}

impl<'a> Cell<'a> {
    pub(crate) fn new(v: &'a Value) -> Self {
        let (class, enc, exact) = match v {
            Value::Null => (Class::Null, 0, true),
            Value::Bool(b) => (Class::Bool, u64::from(*b), true),
            Value::Int(i) => (
                Class::Number,
                f64_key(*i as f64),
                i.unsigned_abs() < (1 << 53),
            ),
            Value::Double(d) => (Class::Number, f64_key(*d), !d.is_nan()),
            Value::Date(d) => (Class::Date, signed(i64::from(d.num_days_from_ce())), true),
            Value::DateTime(t) => (
                Class::DateTime,
                signed(t.timestamp_millis()),
                t.nanosecond() % 1_000_000 == 0,
            ),
            Value::Text(s) => text_key(s),
            Value::Time(_) => (Class::Other, 0, false),
        };
        Cell {
            class,
            enc,
            exact,
            v,
        }
    }
}

impl<'a> Cell<'a> {
    /// The value this cell was made from.
    pub(crate) fn value(&self) -> &'a Value {
        self.v
    }
}

fn f64_key(d: f64) -> u64 {
    let d = if d == 0.0 { 0.0 } else { d }; // -0.0 sorts with 0.0
    let b = d.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

fn text_key(s: &str) -> (Class, u64, bool) {
    let bytes = s.as_bytes();
    let head = &bytes[..bytes.len().min(8)];
    if !head.is_ascii() {
        return (Class::Other, 0, false);
    }
    let mut enc = 0u64;
    for i in 0..8 {
        enc = (enc << 8) | u64::from(head.get(i).map_or(0, u8::to_ascii_lowercase));
    }
    (Class::Text, enc, bytes.len() <= 8 && !head.contains(&0))
}

/// Same result as [`cmp_sort`] on the underlying values, usually without touching them.
pub(crate) fn cmp_cells(
    a: &Cell<'_>,
    b: &Cell<'_>,
    descending: bool,
    nulls_first: bool,
) -> Ordering {
    if a.class == b.class && a.class != Class::Other && a.class != Class::Null {
        match a.enc.cmp(&b.enc) {
            Ordering::Equal if a.exact && b.exact => return Ordering::Equal,
            Ordering::Equal => {}
            o => return if descending { o.reverse() } else { o },
        }
    }
    cmp_sort(a.v, b.v, descending, nulls_first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            (-1e12f64..1e12).prop_map(Value::Double),
            Just(Value::Double(-0.0)),
            "[a-cA-C\\x00é ]{0,10}".prop_map(Value::text),
            (0i64..4_000_000_000_000).prop_map(|ms| Value::DateTime(
                chrono::DateTime::from_timestamp_millis(ms).unwrap()
            )),
            (0i64..100_000).prop_map(|d| Value::Date(
                chrono::NaiveDate::from_num_days_from_ce_opt(d as i32 + 1).unwrap()
            )),
        ]
    }

    proptest! {
        #[test]
        fn agrees_with_full_comparison(a in value(), b in value(), desc in any::<bool>(), nf in any::<bool>()) {
            // Only same-kind pairs appear in one column; mixed numbers do.
            let same = std::mem::discriminant(&a) == std::mem::discriminant(&b)
                || (a.as_f64().is_some() && b.as_f64().is_some()) || a.is_null() || b.is_null();
            prop_assume!(same);
            prop_assert_eq!(cmp_cells(&Cell::new(&a), &Cell::new(&b), desc, nf), cmp_sort(&a, &b, desc, nf));
        }
    }
}
