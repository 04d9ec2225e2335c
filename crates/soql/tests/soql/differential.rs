//! Differential property test: the evaluator's filter + ORDER BY + OFFSET/LIMIT against a naive
//! reference (linear filter, std stable sort, slicing) on random data.

use crate::fixture::*;
use proptest::prelude::*;
use soql::*;
use std::cmp::Ordering;

#[derive(Debug, Clone)]
struct Row {
    name: Option<String>,
    n: Option<i64>,
    ty: Option<&'static str>,
}

fn row() -> impl Strategy<Value = Row> {
    (
        prop::option::of("[abAB]{0,3}"),
        prop::option::of(-3i64..4),
        prop::option::of(prop::sample::select(vec!["x", "X", "y"])),
    )
        .prop_map(|(name, n, ty)| Row { name, n, ty })
}

#[derive(Debug, Clone)]
struct Key {
    field: usize, // 0 Name, 1 NumberOfEmployees, 2 Type
    desc: bool,
    nulls: Option<bool>,
}

fn key() -> impl Strategy<Value = Key> {
    (0usize..3, any::<bool>(), prop::option::of(any::<bool>()))
        .prop_map(|(field, desc, nulls)| Key { field, desc, nulls })
}

const FIELDS: [&str; 3] = ["Name", "NumberOfEmployees", "Type"];

fn val(r: &Row, f: usize) -> Value {
    match f {
        0 => r
            .name
            .as_deref()
            .filter(|s| !s.is_empty())
            .map_or(Value::Null, Value::text),
        1 => r.n.map_or(Value::Null, Value::Int),
        _ => r.ty.map_or(Value::Null, Value::text),
    }
}

/// Reference comparison written independently of the crate's sort code.
fn ref_cmp(a: &Value, b: &Value, k: &Key) -> Ordering {
    let nulls_first = k.nulls.unwrap_or(!k.desc);
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => {
            if nulls_first {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (_, Value::Null) => {
            if nulls_first {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (Value::Int(x), Value::Int(y)) => {
            if k.desc {
                y.cmp(x)
            } else {
                x.cmp(y)
            }
        }
        (Value::Text(x), Value::Text(y)) => {
            let o = x.to_lowercase().cmp(&y.to_lowercase());
            if k.desc { o.reverse() } else { o }
        }
        _ => unreachable!(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn order_limit_offset_match_reference(
        rows in prop::collection::vec(row(), 0..40),
        keys in prop::collection::vec(key(), 1..3),
        limit in prop::option::of(0u64..45),
        offset in prop::option::of(0u64..45),
        min_n in -3i64..4,
    ) {
        let mut org = Org::new();
        for (i, r) in rows.iter().enumerate() {
            let vals: Vec<(&str, Value)> = (0..3).map(|f| (FIELDS[f], val(r, f))).collect();
            org.add(ACCOUNT, &id("001", i), &vals);
        }
        let order: Vec<String> = keys
            .iter()
            .map(|k| {
                let nulls = match k.nulls { Some(true) => " NULLS FIRST", Some(false) => " NULLS LAST", None => "" };
                format!("{}{}{nulls}", FIELDS[k.field], if k.desc { " DESC" } else { "" })
            })
            .collect();
        let mut q = format!("SELECT Id FROM Account WHERE NumberOfEmployees >= {min_n} OR Name LIKE 'a%' ORDER BY {}", order.join(", "));
        if let Some(l) = limit { q += &format!(" LIMIT {l}"); }
        if let Some(o) = offset { q += &format!(" OFFSET {o}"); }
        let p = plan(&q, &org).unwrap();
        let Execution::Rows(got) = p.execute(&org, &EvalContext::default()).unwrap() else { panic!() };

        let mut want: Vec<usize> = (0..rows.len())
            .filter(|&i| {
                rows[i].n.is_some_and(|n| n >= min_n)
                    || rows[i].name.as_deref().is_some_and(|s| s.to_lowercase().starts_with('a'))
            })
            .collect();
        want.sort_by(|&a, &b| {
            keys.iter()
                .map(|k| ref_cmp(&val(&rows[a], k.field), &val(&rows[b], k.field), k))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
        let off = offset.unwrap_or(0) as usize;
        let want: Vec<usize> = want.into_iter().skip(off).take(limit.map_or(usize::MAX, |l| l as usize)).collect();
        prop_assert_eq!(got, want, "{}", q);
    }
}
