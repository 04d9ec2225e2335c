//! Property tests of the item merge rule: per field the newest commit time wins whatever the
//! order of arrival, ties go to the later arrival, and a delete is never lost to an edit.

use std::collections::BTreeMap;

use chrono::TimeDelta;
use orgsync_core::Op;
use orgsync_store::NewItem;
use orgsync_store::merge::merge_items;
use proptest::prelude::*;

use crate::support::{at, upsert};

fn change() -> impl Strategy<Value = (Vec<(u8, u8)>, i64, u8)> {
    // fields (name index, value), commit second, op
    (
        prop::collection::vec((0u8..4, 0u8..10), 0..4),
        0i64..20,
        0u8..3,
    )
}

fn build((fields, ts, op): &(Vec<(u8, u8)>, i64, u8)) -> NewItem {
    let names: Vec<(String, String)> = fields
        .iter()
        .map(|(f, v)| (format!("F{f}"), format!("v{v}")))
        .collect();
    let refs: Vec<(&str, &str)> = names
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let mut item = upsert("b", 1, &refs, at(*ts));
    item.work.op = [Op::Upsert, Op::Delete, Op::Undelete][*op as usize];
    item
}

proptest! {
    #[test]
    fn newest_field_wins_ties_to_later(changes in prop::collection::vec(change(), 1..8)) {
        let items: Vec<NewItem> = changes.iter().map(build).collect();
        let merged = items[1..].iter().fold(items[0].clone(), |acc, n| merge_items(&acc, n));
        // oracle: per field, the last arrival among those with the greatest time
        let mut want: BTreeMap<String, (chrono::DateTime<chrono::Utc>, String)> = BTreeMap::new();
        for it in &items {
            for (k, v) in &it.work.payload {
                let ts = it.field_ts[k];
                if want.get(k).is_none_or(|(t, _)| ts >= *t) {
                    want.insert(k.clone(), (ts, format!("{v:?}")));
                }
            }
        }
        prop_assert_eq!(merged.work.payload.len(), want.len());
        for (k, (ts, v)) in &want {
            prop_assert_eq!(&format!("{:?}", merged.work.payload[k]), v);
            prop_assert_eq!(merged.field_ts[k], *ts);
        }
        // a delete stays a delete unless an undelete follows it
        let last_delete = items.iter().rposition(|i| i.work.op == Op::Delete);
        if let Some(d) = last_delete {
            if !items[d..].iter().any(|i| i.work.op == Op::Undelete) {
                prop_assert_eq!(merged.work.op, Op::Delete);
            } else {
                prop_assert_ne!(merged.work.op, Op::Delete);
            }
        }
    }

    #[test]
    fn distinct_times_make_fields_order_independent(a in change(), b in change(), shift in 1i64..5) {
        let x = build(&a);
        let mut y = build(&b);
        // make every time distinct so arrival order cannot matter for fields
        for t in y.field_ts.values_mut() {
            *t = at(100) + TimeDelta::seconds(shift);
        }
        let ab = merge_items(&x, &y);
        let ba = merge_items(&y, &x);
        prop_assert_eq!(&ab.work.payload, &ba.work.payload);
        prop_assert_eq!(&ab.field_ts, &ba.field_ts);
    }
}
