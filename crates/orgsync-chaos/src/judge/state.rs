//! Checks on the state the orgs end in: every record everywhere once, with the same values
//! and with its lookups resolved.

use std::collections::BTreeSet;

use serde_json::Value;

use super::index::{Index, Target};
use super::{Check, Finding};

/// Records live in some org and absent or deleted in another (one finding per record).
pub fn missing(ix: &Index<'_>) -> Vec<Finding> {
    let n = ix.world.orgs.len();
    let mut out = Vec::new();
    for key in ix.records.keys() {
        let live = ix.live_orgs(key);
        if live.is_empty() || live.len() == n {
            continue;
        }
        let (deleted, absent): (Vec<usize>, Vec<usize>) = (0..n)
            .filter(|o| !live.contains(o))
            .partition(|o| !ix.records[key][*o].is_empty());
        out.push(Finding::new(
            Check::Missing,
            key,
            format!(
                "live in [{}], deleted in [{}], absent from [{}]",
                ix.names(&live),
                ix.names(&deleted),
                ix.names(&absent)
            ),
        ));
    }
    out
}

/// Two or more live rows with one global id in one org (one finding per org and record).
pub fn duplicates(ix: &Index<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for key in ix.records.keys() {
        for (o, org) in ix.world.orgs.iter().enumerate() {
            let n = ix.live_count(key, o);
            if n > 1 {
                out.push(Finding::new(
                    Check::Duplicate,
                    key,
                    format!("{n} live rows in {}", org.name),
                ));
            }
        }
    }
    out
}

/// Records whose synced values differ between the orgs where they are live (one finding per
/// record, naming every differing field with its value per org).
pub fn diff(ix: &Index<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for key in ix.records.keys() {
        let Some(spec) = ix.world.object(&key.0) else {
            continue;
        };
        let live = ix.live_orgs(key);
        if live.len() < 2 {
            continue;
        }
        let mut differing = Vec::new();
        for field in &spec.fields {
            let vals: Vec<Value> = live
                .iter()
                .map(|o| ix.canonical(*o, &key.0, field, ix.live_value(key, *o, field)))
                .collect();
            if vals.windows(2).any(|w| w[0] != w[1]) {
                let per: Vec<String> = live
                    .iter()
                    .zip(&vals)
                    .map(|(o, v)| format!("{}={v}", ix.world.orgs[*o].name))
                    .collect();
                differing.push(format!("{field} ({})", per.join(" ")));
            }
        }
        if !differing.is_empty() {
            out.push(Finding::new(Check::Diff, key, differing.join("; ")));
        }
    }
    out
}

/// Children whose lookup is empty or dangling in an org where the parent it points at
/// elsewhere is live (one finding per record and lookup field).
pub fn orphans(ix: &Index<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for key in ix.records.keys() {
        let Some(spec) = ix.world.object(&key.0) else {
            continue;
        };
        let live = ix.live_orgs(key);
        for lk in &spec.lookups {
            let targets: Vec<(usize, Target)> = live
                .iter()
                .map(|o| (*o, ix.target(*o, ix.live_value(key, *o, &lk.field))))
                .collect();
            let parents: BTreeSet<&str> = targets.iter().filter_map(|(_, t)| t.gid()).collect();
            let mut bad = Vec::new();
            for (o, t) in &targets {
                let what = match t {
                    Target::Live(_) => continue,
                    Target::Empty => "is empty".to_string(),
                    Target::Deleted(g) => format!("points at a deleted copy of {g}"),
                    Target::Unknown(id) => format!("points at unknown id {id}"),
                };
                for p in &parents {
                    let pk = (lk.parent.clone(), (*p).to_string());
                    if ix.live(&pk, *o).is_some() {
                        bad.push(format!(
                            "{}: {} {what} while parent {p} is live there",
                            ix.world.orgs[*o].name, lk.field
                        ));
                    }
                }
            }
            if !bad.is_empty() {
                let linked: Vec<&str> = targets
                    .iter()
                    .filter(|(_, t)| matches!(t, Target::Live(_)))
                    .map(|(o, _)| ix.world.orgs[*o].name.as_str())
                    .collect();
                out.push(Finding::new(
                    Check::Orphan,
                    key,
                    format!("{} (linked in [{}])", bad.join("; "), linked.join(", ")),
                ));
            }
        }
    }
    out
}
