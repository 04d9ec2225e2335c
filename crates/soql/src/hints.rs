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

/// Whether a top-level conjunct filters ContentDocumentLink on `ContentDocumentId` or
/// `LinkedEntityId` by `=`, `IN (…)` or `IN (SELECT …)`: a semi-join yields Ids like a literal
/// list, and sfemu's query rules (`sfemu-org/src/query_rules.rs`) accept it the same way
/// (`LinkedEntityId IN (SELECT Id FROM X)` is the usual way to reach one object's files;
/// UNCONFIRMED against the platform).
pub(crate) fn cdl_filtered(filter: Option<&Pred<FieldRef>>) -> bool {
    let on_key = |f: &FieldRef| {
        f.field.name.eq_ignore_ascii_case("ContentDocumentId")
            || f.field.name.eq_ignore_ascii_case("LinkedEntityId")
    };
    conjuncts(filter).into_iter().any(|p| match p {
        Pred::Test(f, Test::SemiJoin { negate: false, .. }) => f.hops.is_empty() && on_key(f),
        p => equality(p).is_some_and(|(f, _)| on_key(f)),
    })
}

/// Scan narrowing: an `Id` equality first, else a reference-field equality, else an equality on
/// any text-like field (external ids and unique fields are what a sync engine looks records up
/// by, `WHERE OrgSync_Global_Id__c IN (…)`). Id and reference values are exact 18-char Ids; text
/// values compare case-insensitively in SOQL, so a data source may use a text hint only with an
/// index that matches case-insensitively (see [`crate::ScanHint`]).
pub(crate) fn hint(filter: Option<&Pred<FieldRef>>) -> HintSpec {
    let eqs: Vec<_> = conjuncts(filter).into_iter().filter_map(equality).collect();
    let by_kind = |want: fn(FieldKind) -> bool| eqs.iter().find(|(f, _)| want(f.field.kind));
    let pick = by_kind(|k| k == FieldKind::Id)
        .or_else(|| by_kind(|k| k == FieldKind::Reference))
        .or_else(|| by_kind(is_text_kind));
    match pick {
        Some((f, vals)) => HintSpec::AnyOf {
            slot: f.field.slot,
            values: vals.clone(),
        },
        None => HintSpec::All,
    }
}

/// Field kinds whose values are plain text compared case-insensitively by `=`.
fn is_text_kind(k: FieldKind) -> bool {
    matches!(
        k,
        FieldKind::String
            | FieldKind::Email
            | FieldKind::Phone
            | FieldKind::Url
            | FieldKind::Picklist
    )
}
