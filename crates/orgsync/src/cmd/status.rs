//! `orgsync status`: what the ledger says — per org (circuit, API budget), per sync (status,
//! last sync, errors), item counts by state, recent conflicts and failures. A table for
//! people, `--json` for machines. Read-only; works while the service runs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use orgsync_store::{ConflictRow, Item, ItemFilter, ItemState, Page, SqlStore, Store};
use serde_json::{Value, json};

use crate::ConfigArgs;
use crate::output::{Table, when};

/// `orgsync status` options.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The configuration file (its `[engine] state` names the ledger).
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Environment profile overlay.
    #[arg(long)]
    pub profile: Option<String>,
    /// The ledger directly: a SQLite file or a postgres:// URL (instead of --config).
    #[arg(long, conflicts_with = "config")]
    pub state: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// How many recent conflicts and failures to show.
    #[arg(long, default_value_t = 10)]
    pub recent: u32,
}

/// Run the command.
pub async fn run(args: &StatusArgs) -> anyhow::Result<u8> {
    let cfg = args.config.clone().map(|config| ConfigArgs {
        config,
        profile: args.profile.clone(),
    });
    let cfg = match (&cfg, &args.state) {
        (None, None) => Some(ConfigArgs {
            config: "orgsync.toml".into(),
            profile: args.profile.clone(),
        }),
        _ => cfg,
    };
    let store = super::open_store_for(cfg.as_ref(), args.state.as_ref()).await?;
    let report = gather(&store, args.recent).await?;
    store.close().await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    Ok(0)
}

/// Everything `status` shows, as JSON (the table is rendered from it, so both agree).
pub async fn gather(store: &SqlStore, recent: u32) -> anyhow::Result<Value> {
    let orgs: Vec<Value> = store
        .orgs()
        .await?
        .into_iter()
        .map(|o| {
            json!({
                "name": o.name.as_str(),
                "org_id": o.org_id.map(|i| i.to_string()),
                "status": o.status,
                "circuit": o.circuit.as_str(),
                "circuit_until": o.circuit_until,
                "consecutive_failures": o.consecutive_failures,
                "budget_used": o.budget_used,
                "budget_max": o.budget_max,
            })
        })
        .collect();
    let syncs: Vec<Value> = store
        .syncs()
        .await?
        .into_iter()
        .map(|s| {
            json!({
                "org": s.org.as_str(), "object": s.object, "capture": s.capture,
                "interval_secs": s.interval_secs, "enabled": s.enabled,
                "status": s.status.as_str(), "last_sync_at": s.last_sync_at,
                "error_count": s.error_count, "last_error": s.last_error,
            })
        })
        .collect();
    let mut counts: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for ((org, state), n) in store.counts().await? {
        counts
            .entry(org.as_str().to_string())
            .or_default()
            .insert(state.as_str().to_string(), n);
    }
    let conflicts: Vec<Value> = recent_conflicts(store, recent)
        .await?
        .iter()
        .map(conflict_json)
        .collect();
    let failed = ItemFilter {
        state: Some(ItemState::Failed),
        ..Default::default()
    };
    let failures: Vec<Value> = store
        .items(&failed, Page::first(recent))
        .await?
        .iter()
        .map(item_json)
        .collect();
    let overlay: Vec<Value> = store
        .sync_overrides()
        .await?
        .into_iter()
        .map(|o| {
            json!({
                "object": o.object, "capture": o.capture, "interval_secs": o.interval_secs,
                "enabled": o.enabled, "removed": o.removed, "fields": o.fields,
                "updated_at": o.updated_at, "updated_by": o.updated_by,
            })
        })
        .collect();
    let last_reconcile = store.last_reconcile_run().await?.map(|run| {
        let r = &run.report;
        let mut classes: BTreeMap<String, u64> = BTreeMap::new();
        for d in r["drifts"].as_array().into_iter().flatten() {
            if let Some(c) = d["class"].as_str() {
                *classes.entry(c.to_string()).or_default() += 1;
            }
        }
        let calls: u64 = r["api_calls"]
            .as_object()
            .map_or(0, |m| m.values().filter_map(Value::as_u64).sum());
        json!({
            "started_at": run.started_at, "finished_at": run.finished_at,
            "full": run.full, "mode": run.mode, "drifted": classes.values().sum::<u64>(),
            "classes": classes, "api_calls": calls,
            "queued": r["queued"], "applied": r["applied"],
        })
    });
    Ok(json!({
        "orgs": orgs, "syncs": syncs, "overlay": overlay, "items": counts,
        "recent_conflicts": conflicts, "failed_items": failures,
        "last_reconcile": last_reconcile,
    }))
}

/// The newest `n` conflicts (the store lists oldest first, so walk the pages).
async fn recent_conflicts(store: &SqlStore, n: u32) -> anyhow::Result<Vec<ConflictRow>> {
    let mut keep: Vec<ConflictRow> = Vec::new();
    let mut after = 0;
    loop {
        let page = store.conflicts(None, Page { after, limit: 1000 }).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        keep.extend(page);
        let excess = keep.len().saturating_sub(n as usize);
        keep.drain(..excess);
    }
    keep.reverse();
    Ok(keep)
}

fn conflict_json(c: &ConflictRow) -> Value {
    let k = &c.conflict;
    json!({
        "id": c.id, "at": k.at, "object": k.object, "global_id": k.global_id.to_string(),
        "field": k.field, "winner": k.winner.as_ref().map(|w| w.as_str().to_string()),
        "reason": k.reason,
        "incoming_org": k.incoming.org.as_str(), "current_org": k.current.org.as_str(),
    })
}

fn item_json(i: &Item) -> Value {
    json!({
        "id": i.id.0, "target": i.work.target.as_str(), "object": i.work.object,
        "global_id": i.work.global_id.to_string(), "attempts": i.attempts,
        "updated_at": i.updated_at,
        "error": i.last_error.as_ref().map(|e| json!({"code": e.code, "message": e.message, "kind": e.kind})),
    })
}

fn s(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn time(v: &Value) -> String {
    v.as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map_or_else(|| "-".into(), |t| when(Some(t.to_utc())))
}

fn list(v: &Value, key: &str) -> Vec<Value> {
    v.get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The human-readable report.
pub fn render(r: &Value) -> String {
    let mut out = String::from("Orgs\n");
    let mut t = Table::new(&[
        "org",
        "org id",
        "status",
        "circuit",
        "failures",
        "api budget",
    ]);
    for o in list(r, "orgs") {
        let budget = match (o["budget_used"].as_i64(), o["budget_max"].as_i64()) {
            (Some(u), Some(m)) if m > 0 => format!("{u}/{m} ({:.0}%)", 100.0 * u as f64 / m as f64),
            _ => "-".into(),
        };
        t.row(vec![
            s(&o["name"]),
            s(&o["org_id"]),
            s(&o["status"]),
            s(&o["circuit"]),
            s(&o["consecutive_failures"]),
            budget,
        ]);
    }
    out += &t.render("  ");
    out += "\nSyncs\n";
    let mut t = Table::new(&[
        "org",
        "object",
        "capture",
        "status",
        "last sync",
        "errors",
        "last error",
    ]);
    for y in list(r, "syncs") {
        let status = match y["status"].as_str() {
            Some("active") => "Active",
            Some("paused") => "Paused",
            Some("error") => "Error",
            Some("circuit_open") => "Circuit open",
            _ => "?",
        };
        t.row(vec![
            s(&y["org"]),
            s(&y["object"]),
            s(&y["capture"]),
            status.into(),
            time(&y["last_sync_at"]),
            s(&y["error_count"]),
            s(&y["last_error"]),
        ]);
    }
    out += &t.render("  ");
    let overlay = list(r, "overlay");
    if !overlay.is_empty() {
        out += "\nSettings overlay (over the config file; `orgsync config export` prints the result)\n";
        let mut t = Table::new(&[
            "object",
            "capture",
            "interval",
            "enabled",
            "changed by",
            "at",
        ]);
        for o in overlay {
            let enabled = match (o["removed"].as_bool(), o["enabled"].as_bool()) {
                (Some(true), _) => "REMOVED".to_string(),
                (_, Some(e)) => e.to_string(),
                _ => "(file)".into(),
            };
            let or_file = |v: &Value| match v {
                Value::Null => "(file)".to_string(),
                other => s(other),
            };
            // a sync added from the dashboard or `orgsync sync add`: not in the file at all
            let object = match o["fields"].as_array() {
                Some(f) => format!(
                    "{} (added: {})",
                    s(&o["object"]),
                    f.iter().map(s).collect::<Vec<_>>().join(", ")
                ),
                None => s(&o["object"]),
            };
            t.row(vec![
                object,
                or_file(&o["capture"]),
                match o["interval_secs"].as_u64() {
                    Some(n) => format!("{n}s"),
                    None => "(file)".into(),
                },
                enabled,
                s(&o["updated_by"]),
                time(&o["updated_at"]),
            ]);
        }
        out += &t.render("  ");
    }
    out += "\nItems by target org\n";
    let states: Vec<&str> = ItemState::ALL.iter().map(|s| s.as_str()).collect();
    let mut header = vec!["target"];
    header.extend(&states);
    let mut t = Table::new(&header);
    if let Some(items) = r["items"].as_object() {
        for (org, c) in items {
            let mut row = vec![org.clone()];
            row.extend(
                states
                    .iter()
                    .map(|st| c.get(*st).and_then(Value::as_u64).unwrap_or(0).to_string()),
            );
            t.row(row);
        }
    }
    out += &t.render("  ");
    let conflicts = list(r, "recent_conflicts");
    out += &format!("\nRecent conflicts ({})\n", conflicts.len());
    let mut t = Table::new(&["at", "object", "global id", "field", "winner", "reason"]);
    for c in conflicts {
        t.row(vec![
            time(&c["at"]),
            s(&c["object"]),
            s(&c["global_id"]),
            s(&c["field"]),
            s(&c["winner"]),
            s(&c["reason"]),
        ]);
    }
    out += &t.render("  ");
    out += &reconcile_line(&r["last_reconcile"]);
    let failed = list(r, "failed_items");
    out += &format!(
        "\nFailed items ({}; `orgsync retry` queues them again)\n",
        failed.len()
    );
    let mut t = Table::new(&["id", "target", "object", "global id", "attempts", "error"]);
    for f in failed {
        let err = match &f["error"] {
            Value::Null => "-".into(),
            e => format!("{}: {}", s(&e["code"]), s(&e["message"])),
        };
        t.row(vec![
            s(&f["id"]),
            s(&f["target"]),
            s(&f["object"]),
            s(&f["global_id"]),
            s(&f["attempts"]),
            err,
        ]);
    }
    out += &t.render("  ");
    out
}

/// The last reconcile run in one paragraph (`orgsync reconcile` prints the whole report).
fn reconcile_line(r: &Value) -> String {
    if r.is_null() {
        return "\nLast reconcile: never (`orgsync reconcile`)\n".into();
    }
    let classes = r["classes"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k} {}", s(v)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    format!(
        "\nLast reconcile: {} ({} pass, {}): {} drifted{}; {} API calls; {} repairs queued, {} applied\n",
        time(&r["finished_at"]),
        if r["full"] == Value::Bool(true) {
            "full"
        } else {
            "quick"
        },
        s(&r["mode"]),
        s(&r["drifted"]),
        if classes.is_empty() {
            String::new()
        } else {
            format!(" ({classes})")
        },
        s(&r["api_calls"]),
        s(&r["queued"]),
        s(&r["applied"]),
    )
}
