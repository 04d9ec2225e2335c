//! Checks on `parents` (lookup policies) and the parents-before-children order of objects
//! derived from them; a lookup cycle between objects is a config error.

use std::ops::Range;

use toml::Spanned;

use super::raw::RawParent;
use super::validate::Ctx;
use super::*;
use crate::model::to_id18;

/// Derive the relationship name of a lookup field: `AccountId` → `Account`, `Foo__c` →
/// `Foo__r`. Salesforce names standard relationships by dropping `Id` and custom ones by
/// swapping `__c` for `__r`; anything else must be configured with `relationship_name`.
pub fn relationship_name(field: &str) -> Option<String> {
    if let Some(base) = field.strip_suffix("__c") {
        return Some(format!("{base}__r"));
    }
    field
        .strip_suffix("Id")
        .filter(|b| !b.is_empty())
        .map(str::to_string)
}

pub(super) fn build_parent(
    ctx: &mut Ctx<'_>,
    raw: &Spanned<RawParent>,
    fields: &[FieldMap],
) -> Option<ParentSettings> {
    let p = raw.get_ref();
    let Some(field) = fields
        .iter()
        .find(|f| f.source.eq_ignore_ascii_case(p.field.get_ref()))
    else {
        ctx.err(
            p.field.span(),
            format!(
                "parent policy for `{}`, which is not in fields",
                p.field.get_ref()
            ),
            format!(
                "add \"{}\" to fields, or remove this parent entry",
                p.field.get_ref()
            ),
        );
        return None;
    };
    let object = |ctx: &mut Ctx<'_>| match &p.object {
        Some(o) => Some(o.get_ref().clone()),
        None => {
            ctx.err(
                p.policy.span(),
                format!("policy \"{}\" needs `object`", p.policy.get_ref()),
                "add object = \"<parent sObject>\", e.g. object = \"Account\"",
            );
            None
        }
    };
    let policy = match p.policy.get_ref().as_str() {
        "sync" => ParentPolicy::Sync {
            object: object(ctx)?,
            target_object: String::new(),
        },
        "match_by_name" => ParentPolicy::MatchByName {
            object: object(ctx)?,
        },
        "fixed" => match &p.fixed_id {
            Some(id) => match to_id18(id.get_ref()) {
                Ok(id) => ParentPolicy::Fixed { id },
                Err(e) => {
                    ctx.err(
                        id.span(),
                        e.to_string(),
                        "use the 15- or 18-character record id from the target org",
                    );
                    return None;
                }
            },
            None => {
                ctx.err(
                    p.policy.span(),
                    "policy \"fixed\" needs `fixed_id`",
                    "add fixed_id = \"001…\" (the target record to link to)",
                );
                return None;
            }
        },
        "none" => ParentPolicy::None,
        other => {
            ctx.err(
                p.policy.span(),
                format!("unknown parent policy `{other}`"),
                "use \"sync\", \"match_by_name\", \"fixed\" or \"none\"",
            );
            return None;
        }
    };
    if let (Some(id), false) = (&p.fixed_id, matches!(policy, ParentPolicy::Fixed { .. })) {
        ctx.err(
            id.span(),
            "`fixed_id` is only used with policy = \"fixed\"",
            "remove fixed_id or change the policy",
        );
    }
    let derive = |name: &str| relationship_name(name);
    let target_relationship = match &p.relationship_name {
        Some(r) => r.get_ref().clone(),
        None => match derive(&field.target) {
            Some(r) => r,
            None => {
                ctx.err(p.field.span(), format!("cannot derive the relationship name of `{}`", field.target), "add relationship_name = \"…\" (the lookup's relationship name on the target side)");
                return None;
            }
        },
    };
    Some(ParentSettings {
        field: field.source.clone(),
        target_field: field.target.clone(),
        source_relationship: derive(&field.source).unwrap_or_else(|| target_relationship.clone()),
        target_relationship,
        policy,
    })
}

/// Kahn's algorithm over `parents` with policy `sync`, keeping file order among equals. A
/// self-lookup (ParentId) is not an edge: the planner orders such records within a batch.
pub(super) fn object_order(
    ctx: &mut Ctx<'_>,
    syncs: &[SyncSettings],
    spans: &[(Range<usize>, Vec<Range<usize>>)],
) -> Vec<String> {
    let names: Vec<String> = syncs
        .iter()
        .map(|s| s.object.to_ascii_lowercase())
        .collect();
    let mut indegree = vec![0usize; syncs.len()];
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); syncs.len()];
    for (ci, s) in syncs.iter().enumerate() {
        for p in &s.parents {
            if let ParentPolicy::Sync { object, .. } = &p.policy
                && let Some(pi) = names.iter().position(|n| n.eq_ignore_ascii_case(object))
                && pi != ci
            {
                children[pi].push(ci);
                indegree[ci] += 1;
            }
        }
    }
    let mut order = Vec::new();
    let mut done = vec![false; syncs.len()];
    while let Some(i) = (0..syncs.len()).find(|&i| !done[i] && indegree[i] == 0) {
        done[i] = true;
        order.push(syncs[i].object.clone());
        for &c in &children[i] {
            indegree[c] -= 1;
        }
    }
    let cyclic: Vec<&str> = (0..syncs.len())
        .filter(|&i| !done[i])
        .map(|i| syncs[i].object.as_str())
        .collect();
    if let Some(first) = (0..syncs.len()).find(|&i| !done[i]) {
        let span = spans[first]
            .1
            .first()
            .cloned()
            .unwrap_or(spans[first].0.clone());
        ctx.err(
            span,
            format!("parent lookups form a cycle between {}", cyclic.join(", ")),
            "break the cycle: give one of these lookups policy = \"none\" or \"match_by_name\"",
        );
        order.extend(cyclic.iter().map(|s| s.to_string()));
    }
    order
}
