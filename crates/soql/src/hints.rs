//! What the planner reads off a WHERE clause besides the filter itself: the scan narrowing
//! offered to the data source, and whether ContentDocumentLink's mandatory filter is present.

use crate::FieldKind;
use crate::Value;
use crate::plan::{FieldRef, HintSpec, Pred, Test};

/// The top-level conjuncts of a filter.
fn conjuncts(filter: Option<&Pred<FieldRef>>) -> Vec<&Pred<FieldRef>> {
    match filter {
        Some(Pred::And(ps)) => ps.iter().collect(),
        Some(p) => vec![p],
        None => Vec::new(),
    }
}

/// `(field, values)` of a conjunct that is `field = v` / `field IN (…)` on the FROM object.
fn equality(p: &Pred<FieldRef>) -> Option<(&FieldRef, Vec<Value>)> {
    match p {
        Pred::Test(f, Test::Eq(v)) if f.hops.is_empty() && !v.is_null() => {
            Some((f, vec![v.clone()]))
        }
        Pred::Test(f, Test::In(vs)) if f.hops.is_empty() && vs.iter().all(|v| !v.is_null()) => {
            Some((f, vs.clone()))
        }
        _ => None,
    }
}

pub(crate) fn cdl_filtered(filter: Option<&Pred<FieldRef>>) -> bool {
    conjuncts(filter)
        .into_iter()
        .filter_map(equality)
        .any(|(f, _)| {
            f.field.name.eq_ignore_ascii_case("ContentDocumentId")
                || f.field.name.eq_ignore_ascii_case("LinkedEntityId")
        })
}

/// Scan narrowing: an `Id` equality first, else another reference-field equality. Only Id and
/// reference fields are offered (their values are exact 18-char Ids, so a data source can look
/// them up by plain equality; text fields compare case-insensitively).
pub(crate) fn hint(filter: Option<&Pred<FieldRef>>) -> HintSpec {
    let eqs: Vec<_> = conjuncts(filter).into_iter().filter_map(equality).collect();
    let pick = eqs
        .iter()
        .find(|(f, _)| f.field.kind == FieldKind::Id)
        .or_else(|| {
            eqs.iter()
                .find(|(f, _)| f.field.kind == FieldKind::Reference)
        });
    match pick {
        Some((f, vals)) => HintSpec::AnyOf {
            slot: f.field.slot,
            values: vals.clone(),
        },
        None => HintSpec::All,
    }
}
