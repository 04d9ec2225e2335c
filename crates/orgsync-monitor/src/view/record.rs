//! The record explorer: one record across every org — its id map, the agreed value of each
//! field with the version that set it (which org, when), and its timeline from the audit and
//! the conflicts (captured from where, merged, echo dropped and by which layer, conflicts and
//! how they were decided, written, retried, failed, operators' actions).

use chrono::{DateTime, Utc};
use orgsync_store::{AgreedRow, AuditRow, ConflictRow, Item, RecordRow};
use serde_json::Value;

use super::{ago, exact};

/// One org's copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    /// The org.
    pub org: String,
    /// The object's name there.
    pub object: String,
    /// Its id there, or "not created there yet".
    pub local_id: String,
    /// Live or deleted there.
    pub state: &'static str,
    /// Whether the searched local id is this one.
    pub searched: bool,
    /// When the ledger last learnt something about it.
    pub updated: String,
}

/// One agreed field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The field (source-side name, lowercased as stored).
    pub name: String,
    /// The agreed value.
    pub value: String,
    /// The org whose edit set it.
    pub org: String,
    /// When that edit was committed, relative.
    pub when: String,
    /// Its exact time.
    pub when_exact: String,
}

/// One event of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Sort key: when.
    pub at: DateTime<Utc>,
    /// Relative time.
    pub when: String,
    /// Exact time.
    pub when_exact: String,
    /// Short label (`captured`, `echo dropped`, `written`, `failed` …).
    pub label: String,
    /// What happened, in words.
    pub text: String,
    /// Shown red (a failure).
    pub bad: bool,
}

/// The explorer's page for one record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordView {
    /// The global id.
    pub global_id: String,
    /// The record's object(s), as the orgs call it.
    pub objects: String,
    /// Copies in each org.
    pub copies: Vec<Copy>,
    /// The agreed life ("live", or "deleted in b 3 min ago").
    pub life: String,
    /// Agreed fields, by name.
    pub fields: Vec<Field>,
    /// Items not yet Synced, in words (what is still to be written).
    pub open_items: Vec<String>,
    /// Newest first.
    pub timeline: Vec<Event>,
}

/// Everything the explorer loaded for one global id.
#[derive(Debug, Clone, Copy)]
pub struct Loaded<'a> {
    /// Record rows in every org.
    pub records: &'a [RecordRow],
    /// Agreed rows (one per source-side object name it is known under).
    pub agreed: &'a [AgreedRow],
    /// Its audit, newest first.
    pub audit: &'a [AuditRow],
    /// Its conflicts.
    pub conflicts: &'a [ConflictRow],
    /// Its items still in the ledger.
    pub items: &'a [Item],
}

/// Build the page; `searched` is the local id typed in, if it was one.
pub fn build(
    global_id: &str,
    searched: Option<&str>,
    l: Loaded<'_>,
    now: DateTime<Utc>,
) -> RecordView {
    let copies = l
        .records
        .iter()
        .map(|r| Copy {
            org: r.org.to_string(),
            object: r.object.clone(),
            local_id: r
                .local_id
                .clone()
                .unwrap_or_else(|| "not created there yet".into()),
            state: if r.deleted { "deleted" } else { "live" },
            searched: searched.is_some() && r.local_id.as_deref() == searched,
            updated: ago(Some(r.updated_at), now),
        })
        .collect();
    let mut objects: Vec<String> = l.records.iter().map(|r| r.object.clone()).collect();
    objects.sort();
    objects.dedup();
    let mut fields: Vec<Field> = l
        .agreed
        .iter()
        .flat_map(|a| a.fields.iter())
        .map(|(name, v)| Field {
            name: name.clone(),
            value: v.value.display_text(),
            org: v.org.to_string(),
            when: ago(Some(v.ts), now),
            when_exact: exact(Some(v.ts)),
        })
        .collect();
    fields.sort_by(|a, b| a.name.cmp(&b.name));
    let life = match l
        .agreed
        .iter()
        .filter_map(|a| a.life.as_ref())
        .max_by_key(|x| x.ts)
    {
        Some(x) if x.deleted => format!("deleted in {} {}", x.org, ago(Some(x.ts), now)),
        Some(x) => format!(
            "live (created or restored in {} {})",
            x.org,
            ago(Some(x.ts), now)
        ),
        None => "live".into(),
    };
    let open_items = l
        .items
        .iter()
        .filter(|i| i.state != orgsync_store::ItemState::Synced)
        .map(|i| {
            let mut s = format!(
                "item {}: {} to {} is {}",
                i.id.0,
                orgsync_store::op_str(i.work.op),
                i.work.target,
                i.state.as_str()
            );
            if let Some(e) = &i.last_error {
                s.push_str(&format!(" ({}: {})", e.code, e.message));
            }
            s
        })
        .collect();
    let mut timeline: Vec<Event> = l.audit.iter().map(|a| audit_event(a, now)).collect();
    timeline.extend(l.conflicts.iter().map(|c| conflict_event(c, now)));
    timeline.sort_by_key(|e| std::cmp::Reverse(e.at));
    RecordView {
        global_id: global_id.to_string(),
        objects: objects.join(", "),
        copies,
        life,
        fields,
        open_items,
        timeline,
    }
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn event(at: DateTime<Utc>, now: DateTime<Utc>, label: &str, text: String, bad: bool) -> Event {
    Event {
        at,
        when: ago(Some(at), now),
        when_exact: exact(Some(at)),
        label: label.into(),
        text,
        bad,
    }
}

fn error_text(d: &Value) -> String {
    match d.get("error") {
        Some(e) if !e.is_null() => format!("{}: {}", s(e, "code"), s(e, "message")),
        _ => String::new(),
    }
}

/// One audit row in words.
pub fn audit_event(a: &AuditRow, now: DateTime<Utc>) -> Event {
    let e = &a.event;
    let d = &e.detail;
    let org = e
        .org
        .as_ref()
        .map_or_else(|| "an unnamed org".to_string(), ToString::to_string);
    let fields = d
        .get("fields")
        .and_then(Value::as_array)
        .map(|f| {
            f.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let from = match s(d, "source_record_id") {
        "" => org.clone(),
        id => format!("{org} ({id})"),
    };
    let (label, text, bad) = match e.kind.as_str() {
        "item.captured" => (
            "captured",
            format!(
                "captured from {from}: {} of [{fields}] queued for {}",
                s(d, "op"),
                s(d, "target")
            ),
            false,
        ),
        "item.merged" => (
            "merged",
            format!(
                "captured from {from}: [{fields}] merged into the item already waiting for {}",
                s(d, "target")
            ),
            false,
        ),
        "echo.dropped" => (
            "echo dropped",
            format!(
                "{}{}",
                match s(d, "layer") {
                    "origin" => format!(
                        "from {from}: our own write coming back, dropped by the origin layer (the change carries orgsync's client tag)"
                    ),
                    "shadow" => format!(
                        "from {from}: [{fields}] already agreed, dropped by the shadow layer (nothing new)"
                    ),
                    layer => format!(
                        "from {from}: dropped for {} by the {layer} layer (already processed)",
                        s(d, "target")
                    ),
                },
                match s(d, "via") {
                    "" => String::new(),
                    via => format!("; seen by a {via}"),
                }
            ),
            false,
        ),
        "item.synced" => ("written", format!("{} written to {org}", s(d, "op")), false),
        "item.queued" => {
            let err = error_text(d);
            let when = d
                .pointer("/outcome/retry_at")
                .or_else(|| d.pointer("/outcome/deferred_to"))
                .and_then(Value::as_str)
                .unwrap_or("");
            (
                "retried",
                format!("write to {org} to be tried again at {when}; {err}"),
                false,
            )
        }
        "item.pending" => (
            "waiting",
            format!(
                "parked for {org}: waits for its parent {}",
                d.pointer("/outcome/parent")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            ),
            false,
        ),
        "item.failed" => (
            "failed",
            format!("write to {org} failed: {}", error_text(d)),
            true,
        ),
        k if k.starts_with("admin.") => (
            "operator",
            format!("{} by {}", super::activity::action_text(k, d), s(d, "who")),
            false,
        ),
        k => ("event", format!("{k} {d}"), false),
    };
    event(e.at, now, label, text, bad)
}

fn conflict_event(c: &ConflictRow, now: DateTime<Utc>) -> Event {
    let k = &c.conflict;
    let winner = match &k.winner {
        Some(w) => format!("{w} won"),
        None => "left for a person to decide".into(),
    };
    event(
        k.at,
        now,
        "conflict",
        format!(
            "conflict on {}: {} from {} vs {} from {}: {winner} ({})",
            k.field,
            k.incoming.value.display_text(),
            k.incoming.org,
            k.current.value.display_text(),
            k.current.org,
            k.reason
        ),
        false,
    )
}
