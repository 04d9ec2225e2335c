//! Sync settings changes, shared by the dashboard's settings page and `orgsync sync …`: each
//! writes the overlay row and its `admin.sync.*` audit event (who, what) in one transaction;
//! removal runs the store's cascade. The running engine picks pause and resume up within its
//! overlay tick; an added, removed or restored sync and a new method or interval make the
//! service restart its engine with them within seconds (`orgsync_engine::EngineHost`).

use chrono::Utc;
use orgsync_core::Settings;
use orgsync_core::config::parse_duration;
use orgsync_core::mapping::object_name;
use orgsync_store::overlay::{self, duration_text};
use orgsync_store::{NewAudit, RemoveReport, Store, StoreError, SyncOverride};

/// Shortest and longest interval accepted (the file allows 1 s; a day is the longest backup
/// poll that still repairs a missed push the same day).
const MAX_INTERVAL_SECS: u64 = 86_400;

/// Why a settings change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No sync of that object in the configuration.
    #[error("no sync of object `{0}` in the configuration (known: {1})")]
    UnknownSync(String, String),
    /// The capture method is not one orgsync has.
    #[error("capture method `{0}` is not one of poll, cdc, outbound")]
    BadCapture(String),
    /// The interval does not parse or is out of range.
    #[error("interval `{0}` is not a duration from 1s to 24h (like 30s, 5m, 2h)")]
    BadInterval(String),
    /// The sync was removed; restore it first.
    #[error("sync `{0}` was removed; restore it first (`orgsync sync restore {0}`)")]
    Removed(String),
    /// "Add object" of an object that is synced already.
    #[error("{0} is synced already")]
    AlreadySynced(String),
    /// "Add object" with no field chosen, or a name that is not an API name.
    #[error("cannot add {0}: {1}")]
    BadAddition(String, String),
    /// The ledger failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A change to one sync's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    /// New capture method (`poll`, `cdc`, `outbound`).
    pub capture: Option<String>,
    /// New interval, as typed (`5m`, `90s`).
    pub interval: Option<String>,
    /// Enable (resume) or disable (pause).
    pub enabled: Option<bool>,
}

/// The sync of `object` in `settings` (case-insensitive), or a refusal naming the known ones.
pub fn sync_object(settings: &Settings, object: &str) -> Result<String, AdminError> {
    settings
        .syncs
        .iter()
        .find(|s| s.object.eq_ignore_ascii_case(object))
        .map(|s| s.object.clone())
        .ok_or_else(|| {
            let known: Vec<&str> = settings.syncs.iter().map(|s| s.object.as_str()).collect();
            AdminError::UnknownSync(object.to_string(), known.join(", "))
        })
}

/// Seconds of an interval typed by an operator.
pub fn parse_interval(text: &str) -> Result<u32, AdminError> {
    parse_duration(text)
        .map(|d| d.as_secs())
        .filter(|s| (1..=MAX_INTERVAL_SECS).contains(s))
        .and_then(|s| u32::try_from(s).ok())
        .ok_or_else(|| AdminError::BadInterval(text.to_string()))
}

fn audit(kind: &str, object: &str, who: &str, detail: serde_json::Value) -> NewAudit {
    let mut a = NewAudit::new(Utc::now(), kind);
    a.object = Some(object.to_string());
    let mut d = serde_json::json!({ "who": who, "object": object });
    if let (Some(m), serde_json::Value::Object(extra)) = (d.as_object_mut(), detail) {
        m.extend(extra);
    }
    a.detail = d;
    a
}

/// Apply `change` to the sync of `object` as `who`; returns the override now stored.
pub async fn change<S: Store>(
    store: &S,
    settings: &Settings,
    object: &str,
    change: &Change,
    who: &str,
) -> Result<SyncOverride, AdminError> {
    let object = sync_object(settings, object)?;
    let overrides = store.sync_overrides().await?;
    let mut row = overlay::find(&overrides, &object)
        .cloned()
        .unwrap_or_else(|| SyncOverride::new(object.clone(), Utc::now(), who));
    if row.removed {
        return Err(AdminError::Removed(object));
    }
    // what is in effect now: the file's sync with the override over it; only real changes
    // are written and said (a row's Save sends every field)
    let mut current = settings
        .syncs
        .iter()
        .find(|s| s.object == object)
        .cloned()
        .ok_or_else(|| AdminError::UnknownSync(object.clone(), String::new()))?;
    overlay::apply_one(&mut current, &row);
    let mut said = Vec::new();
    let mut enabled_only = true;
    if let Some(c) = &change.capture {
        let Some(parsed) = overlay::parse_capture(c) else {
            return Err(AdminError::BadCapture(c.clone()));
        };
        if parsed != current.capture {
            said.push(format!("method {c}"));
            row.capture = Some(c.clone());
            enabled_only = false;
        }
    }
    if let Some(i) = &change.interval {
        let secs = parse_interval(i)?;
        if u64::from(secs) != current.interval.as_secs() {
            said.push(format!(
                "interval {}",
                duration_text(std::time::Duration::from_secs(u64::from(secs)))
            ));
            row.interval_secs = Some(secs);
            enabled_only = false;
        }
    }
    if let Some(e) = change.enabled.filter(|e| *e != current.enabled) {
        said.push(if e { "enabled" } else { "disabled" }.to_string());
        row.enabled = Some(e);
    }
    if said.is_empty() {
        return Ok(row);
    }
    row.updated_at = Utc::now();
    row.updated_by = who.to_string();
    let kind = match (enabled_only, row.enabled) {
        (true, Some(false)) => "admin.sync.pause",
        (true, Some(true)) => "admin.sync.resume",
        _ => "admin.sync.set",
    };
    let a = audit(
        kind,
        &object,
        who,
        serde_json::json!({ "changes": said.join(", ") }),
    );
    store.put_sync_override(&row, a).await?;
    Ok(row)
}

/// Whether `name` looks like a Salesforce API name (letters, digits, underscores; a letter
/// first): what an added sync's object and fields must be before they reach a query.
fn api_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Add a sync of `object` over `fields` (vetted in every org by the caller) as `who`: kept in
/// the overlay, **disabled** — it captures nothing until resumed — with `capture` as its
/// method. `settings` is what is in effect (the file with the overlay over it).
pub async fn add<S: Store>(
    store: &S,
    settings: &Settings,
    object: &str,
    fields: &[String],
    capture: orgsync_core::config::Capture,
    who: &str,
) -> Result<SyncOverride, AdminError> {
    let bad = |why: &str| AdminError::BadAddition(object.to_string(), why.to_string());
    if !api_name(object) {
        return Err(bad("not an object API name"));
    }
    if fields.is_empty() {
        return Err(bad("choose at least one field"));
    }
    if let Some(f) = fields.iter().find(|f| !api_name(f)) {
        return Err(bad(&format!("`{f}` is not a field API name")));
    }
    if settings.syncs.iter().any(|s| {
        s.object.eq_ignore_ascii_case(object) || s.target_object.eq_ignore_ascii_case(object)
    }) {
        return Err(AdminError::AlreadySynced(object.to_string()));
    }
    let mut row = SyncOverride::new(object, Utc::now(), who);
    row.fields = Some(fields.to_vec());
    row.capture = Some(overlay::capture_name(capture).to_string());
    row.enabled = Some(false);
    let a = audit(
        "admin.sync.add",
        object,
        who,
        serde_json::json!({
            "changes": format!("added with {} ({}), disabled", fields.join(", "), overlay::capture_name(capture)),
        }),
    );
    store.put_sync_override(&row, a).await?;
    Ok(row)
}

/// The settings in effect now: `file` (what the engine started with) with the overlay over
/// it — syncs added since the start included, removed ones gone.
pub fn effective(file: &Settings, overrides: &[SyncOverride]) -> Settings {
    let mut s = file.clone();
    overlay::apply(&mut s, overrides);
    s
}

/// What removing the sync of `object` deletes, in words (the confirmation names it).
pub fn what_goes(settings: &Settings, object: &str) -> Result<Vec<String>, AdminError> {
    let object = sync_object(settings, object)?;
    let sides = sides(settings, &object);
    let mut out: Vec<String> = sides
        .iter()
        .map(|(org, obj)| {
            format!("in {org}: the {obj} checkpoints, queued, waiting and failed items, id-map and shadow rows")
        })
        .collect();
    out.push(format!("the agreed values of every {object} record"));
    Ok(out)
}

fn sides(settings: &Settings, object: &str) -> Vec<orgsync_store::OrgObject> {
    let Some(sync) = settings.syncs.iter().find(|s| s.object == object) else {
        return Vec::new();
    };
    settings
        .topology
        .orgs()
        .into_iter()
        .map(|org| {
            let name = object_name(sync, settings.topology.is_source_side(&org)).to_string();
            (org, name)
        })
        .collect()
}

/// Remove the sync of `object` as `who`: its ledger state goes (records in the orgs stay),
/// and the file's sync is ignored until restored.
pub async fn remove<S: Store>(
    store: &S,
    settings: &Settings,
    object: &str,
    who: &str,
) -> Result<RemoveReport, AdminError> {
    let object = sync_object(settings, object)?;
    let sides = sides(settings, &object);
    let a = audit("admin.sync.remove", &object, who, serde_json::json!({}));
    Ok(store.remove_sync(&object, &sides, a, Utc::now()).await?)
}

/// Forget the override of `object` (removed or not): the file's settings apply again (a
/// running service restarts its engine with them within seconds). Returns whether there was
/// one.
pub async fn restore<S: Store>(store: &S, object: &str, who: &str) -> Result<bool, AdminError> {
    let found = store.delete_sync_override(object).await?;
    if found {
        let a = audit("admin.sync.restore", object, who, serde_json::json!({}));
        store.append_audit(vec![a]).await?;
    }
    Ok(found)
}
