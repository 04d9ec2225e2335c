//! For every offending record: its rows in every org (local id, live or deleted, synced values
//! with lookups as the parent's global id) and what orgsync's ledger holds for it (its record
//! rows per org and every item: op, target, source, state, attempts, error), so the cause can
//! be read from the output.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use orgsync_core::mapping::{Payload, PayloadValue};
use orgsync_core::{FieldValue, GlobalId, OrgName};
use orgsync_store::{ItemFilter, Page, SqlStore, Store};
use serde_json::Value;

use crate::judge::{Check, Index, Key, Verdict};
use crate::model::World;

/// One record's rows across the orgs.
fn rows(ix: &Index<'_>, key: &Key) -> String {
    let mut out = String::new();
    let Some(spec) = ix.world.object(&key.0) else {
        return out;
    };
    for (o, org) in ix.world.orgs.iter().enumerate() {
        let ids = ix
            .records
            .get(key)
            .and_then(|v| v.get(o))
            .cloned()
            .unwrap_or_default();
        if ids.is_empty() {
            let _ = writeln!(out, "      {:<9} (absent)", org.name);
        }
        for r in ids {
            let row = &org.rows[r];
            let vals: Vec<String> = spec
                .fields
                .iter()
                .map(|f| {
                    let v = row.values.get(f).unwrap_or(&Value::Null);
                    format!("{f}={}", ix.canonical(o, &key.0, f, v))
                })
                .collect();
            let _ = writeln!(
                out,
                "      {:<9} {} {:<7} {}",
                org.name,
                row.id,
                if row.deleted { "deleted" } else { "live" },
                vals.join(" ")
            );
        }
    }
    out
}

/// Every change-log entry of one record in every org, by commit time: who (user, orgsync, the
/// platform), what and which fields.
fn history(ix: &Index<'_>, key: &Key) -> String {
    let mut entries = Vec::new();
    for (o, org) in ix.world.orgs.iter().enumerate() {
        for c in &org.changes {
            if c.object == key.0 && ix.gid_of_change(o, c) == Some(key.1.as_str()) {
                entries.push((c.ts_ms, o, c));
            }
        }
    }
    entries.sort_by_key(|(ts, o, c)| (*ts, *o, c.seq));
    let mut out = String::new();
    for (ts, o, c) in entries {
        let who = match (&c.platform, ix.world.by_orgsync(c)) {
            (Some(cause), _) => cause.clone(),
            (None, true) => "orgsync".into(),
            (None, false) => "user".into(),
        };
        let fields: Vec<&String> = c
            .changed
            .iter()
            .filter(|f| !f.eq_ignore_ascii_case("LastModifiedDate"))
            .collect();
        let _ = writeln!(
            out,
            "      log {} {:<9} seq {} {:?} by {who} {:?}",
            crate::judge::history::time(ts),
            ix.world.orgs[o].name,
            c.seq,
            c.kind,
            fields
        );
    }
    out
}

/// A payload as `Field=value` pairs (lookups as `@<parent global id>`), without the
/// global-id field every payload carries.
fn payload(p: &Payload) -> String {
    let v: Vec<String> = p
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case(orgsync_core::config::DEFAULT_GLOBAL_ID_FIELD))
        .map(|(k, v)| match v {
            PayloadValue::Value { value } => format!("{k}={}", field_value(value)),
            PayloadValue::Reference { global_id, .. } => format!("{k}=@{global_id}"),
            other => format!("{k}={other:?}"),
        })
        .collect();
    format!("[{}]", v.join(" "))
}

fn field_value(v: &FieldValue) -> String {
    match v {
        FieldValue::Null => "null".into(),
        FieldValue::Bool(b) => b.to_string(),
        FieldValue::Int(i) => i.to_string(),
        FieldValue::Number(n) => n.clone(),
        FieldValue::Text(t) => format!("{t:?}"),
        FieldValue::Date(d) => d.to_string(),
        FieldValue::DateTime(t) => t.to_rfc3339(),
    }
}

/// The ledger's view of one record.
async fn ledger(store: &SqlStore, world: &World, key: &Key) -> String {
    let mut out = String::new();
    let Ok(gid) = key.1.parse::<GlobalId>() else {
        return out;
    };
    for org in &world.orgs {
        let name = OrgName(org.name.clone());
        if let Ok(rows) = store
            .records(&name, &key.0, std::slice::from_ref(&gid))
            .await
        {
            for r in rows {
                let _ = writeln!(
                    out,
                    "      ledger row {:<9} local id {:?} deleted {} last modstamp {:?}",
                    org.name, r.local_id, r.deleted, r.last_modstamp
                );
            }
        }
    }
    let filter = ItemFilter {
        global_id: Some(gid),
        ..ItemFilter::default()
    };
    match store.items(&filter, Page::first(100)).await {
        Ok(items) => {
            for it in items {
                let payload = payload(&it.work.payload);
                let _ = writeln!(
                    out,
                    "      item {} {:?} → {} from {:?} ({:?}, {} attempts, updated {}){}{} payload {}",
                    it.id.0,
                    it.work.op,
                    it.work.target,
                    it.source_org.map(|o| o.0),
                    it.state,
                    it.attempts,
                    it.updated_at.format("%H:%M:%S%.3f"),
                    it.last_error
                        .map(|e| format!(" error {}: {}", e.code, e.message))
                        .unwrap_or_default(),
                    it.waiting_for
                        .map(|g| format!(" waiting for {g}"))
                        .unwrap_or_default(),
                    payload
                );
            }
        }
        Err(e) => {
            let _ = writeln!(out, "      ledger items: {e}");
        }
    }
    out
}

/// The findings (at most `max` per check) and the records behind them (at most `max`,
/// echo writes last).
pub async fn findings(
    world: &World,
    verdict: &Verdict,
    store: Option<&SqlStore>,
    max: usize,
) -> String {
    let ix = Index::new(world);
    let mut out = String::new();
    for check in Check::ALL {
        let of: Vec<_> = verdict
            .findings
            .iter()
            .filter(|f| f.check == check)
            .collect();
        for f in of.iter().take(max) {
            let _ = writeln!(out, "  {f}");
        }
        if of.len() > max {
            let _ = writeln!(out, "  … and {} more {}", of.len() - max, check.name());
        }
    }
    let mut keys: Vec<Key> = Vec::new();
    let mut seen = BTreeSet::new();
    let ordered = verdict
        .findings
        .iter()
        .filter(|f| f.check != Check::EchoWrite)
        .chain(
            verdict
                .findings
                .iter()
                .filter(|f| f.check == Check::EchoWrite),
        );
    for f in ordered {
        let key = (f.object.clone(), f.gid.clone());
        if seen.insert(key.clone()) {
            keys.push(key);
        }
    }
    if !keys.is_empty() {
        let _ = writeln!(out, "  records:");
    }
    for key in keys.iter().take(max) {
        let _ = writeln!(out, "    {} {}", key.0, key.1);
        out += &rows(&ix, key);
        out += &history(&ix, key);
        if let Some(s) = store {
            out += &ledger(s, world, key).await;
        }
    }
    if keys.len() > max {
        let _ = writeln!(out, "    … and {} more records", keys.len() - max);
    }
    out
}

/// The `n` ledger items claimed most often (a live-lock shows as thousands of attempts).
pub async fn busiest(store: &SqlStore, n: usize) -> String {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let Ok(page) = store
            .items(&ItemFilter::default(), Page { after, limit: 1000 })
            .await
        else {
            break;
        };
        let Some(last) = page.last() else { break };
        after = last.id.0;
        all.extend(page.into_iter().filter(|i| i.attempts > 3));
    }
    all.sort_by_key(|i| std::cmp::Reverse(i.attempts));
    let mut out = String::new();
    for it in all.iter().take(n) {
        let _ = writeln!(
            out,
            "  most attempts: item {} {:?} {} → {} {} ({:?}, {} attempts){}",
            it.id.0,
            it.work.op,
            it.work.object,
            it.work.target,
            it.work.global_id,
            it.state,
            it.attempts,
            it.last_error
                .as_ref()
                .map(|e| format!(" error {}: {}", e.code, e.message))
                .unwrap_or_default()
        );
    }
    out
}
