//! The activity log (operators' actions, newest first, with who and when) and the conflicts
//! page. Operators' actions are audit rows of kind `admin.*` whose detail carries `who`.

use chrono::{DateTime, Utc};
use orgsync_store::{AuditRow, ConflictRow};
use serde_json::Value;

use super::{ago, exact};

/// Audit kinds of operators' actions (the activity log's prefix).
pub const ADMIN_PREFIX: &str = "admin.";

/// One operator's action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityLine {
    /// Relative time.
    pub when: String,
    /// Exact time.
    pub when_exact: String,
    /// Who (`dashboard:<name>`, `cli:<user>`).
    pub who: String,
    /// What, in words.
    pub what: String,
    /// The record concerned, for a link to the explorer.
    pub global_id: String,
}

/// A page of a newest-first listing and where the next one starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing<T> {
    /// The rows.
    pub rows: Vec<T>,
    /// `before` of the next (older) page, when there may be one.
    pub next_before: Option<i64>,
}

fn text(d: &Value, key: &str) -> String {
    match d.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    }
}

/// An operator's action in words, from its kind and detail.
pub fn action_text(kind: &str, d: &Value) -> String {
    let sync = || text(d, "object");
    match kind {
        "admin.retry" => format!(
            "retried item {} ({} in {}; {} queued)",
            text(d, "item"),
            text(d, "object"),
            text(d, "target"),
            text(d, "queued")
        ),
        "admin.retry_all" => format!("retried every failed item ({} queued)", text(d, "queued")),
        "admin.dismiss" => format!(
            "dismissed failed item {} ({} in {})",
            text(d, "item"),
            text(d, "object"),
            text(d, "target")
        ),
        "admin.sync.pause" => format!("paused sync {}", sync()),
        "admin.sync.resume" => format!("resumed sync {}", sync()),
        "admin.sync.set" => format!("changed sync {}: {}", sync(), text(d, "changes")),
        "admin.sync.add" => format!("added sync {}: {}", sync(), text(d, "changes")),
        "admin.sync.remove" => format!(
            "removed sync {} (deleted: {})",
            sync(),
            d.get("removed").map(Value::to_string).unwrap_or_default()
        ),
        "admin.sync.restore" => format!("restored sync {} from the file", sync()),
        "admin.sync.test" => format!(
            "tested {} in {}: {}",
            sync(),
            text(d, "org"),
            text(d, "result")
        ),
        "admin.reconcile.start" => format!(
            "started a {} reconcile ({})",
            text(d, "pass"),
            text(d, "mode")
        ),
        other => format!("{other} {d}"),
    }
}

/// The activity log from `admin.*` audit rows (newest first), `limit` asked for.
pub fn activity(rows: &[AuditRow], limit: u32, now: DateTime<Utc>) -> Listing<ActivityLine> {
    Listing {
        rows: rows
            .iter()
            .map(|a| ActivityLine {
                when: ago(Some(a.event.at), now),
                when_exact: exact(Some(a.event.at)),
                who: text(&a.event.detail, "who"),
                what: action_text(&a.event.kind, &a.event.detail),
                global_id: a
                    .event
                    .global_id
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            })
            .collect(),
        next_before: next(rows.iter().map(|a| a.id), rows.len(), limit),
    }
}

fn next(ids: impl Iterator<Item = i64>, len: usize, limit: u32) -> Option<i64> {
    match len >= limit as usize && limit > 0 {
        true => ids.min(),
        false => None,
    }
}

/// One conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictLine {
    /// When it was found, relative.
    pub when: String,
    /// Exact time.
    pub when_exact: String,
    /// Object (source-side name).
    pub object: String,
    /// The record.
    pub global_id: String,
    /// The field.
    pub field: String,
    /// "value (org, time)" of the incoming change.
    pub incoming: String,
    /// "value (org, time)" of the agreed version it met.
    pub current: String,
    /// "b won", or "a person must decide".
    pub decided: String,
    /// The rule (`newer_wins`, `priority_tie_break`, `source_wins`, `manual`).
    pub reason: String,
    /// No winner: a person must decide.
    pub manual: bool,
}

/// The conflicts page from rows newest first, `limit` asked for.
pub fn conflicts(rows: &[ConflictRow], limit: u32, now: DateTime<Utc>) -> Listing<ConflictLine> {
    Listing {
        rows: rows
            .iter()
            .map(|r| {
                let c = &r.conflict;
                let version = |v: &orgsync_core::merge::Versioned| {
                    format!(
                        "{} (in {}, {})",
                        v.value.display_text(),
                        v.org,
                        exact(Some(v.ts))
                    )
                };
                ConflictLine {
                    when: ago(Some(c.at), now),
                    when_exact: exact(Some(c.at)),
                    object: c.object.clone(),
                    global_id: c.global_id.to_string(),
                    field: c.field.clone(),
                    incoming: version(&c.incoming),
                    current: version(&c.current),
                    decided: match &c.winner {
                        Some(w) => format!("{w} won"),
                        None => "a person must decide".into(),
                    },
                    reason: c.reason.clone(),
                    manual: c.winner.is_none(),
                }
            })
            .collect(),
        next_before: next(rows.iter().map(|r| r.id), rows.len(), limit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orgsync_store::NewAudit;

    #[test]
    fn actions_read_as_sentences_with_who() {
        let now = Utc::now();
        let mut e = NewAudit::new(now, "admin.dismiss");
        e.detail = serde_json::json!({ "who": "dashboard:ann", "item": 7, "object": "Account", "target": "b" });
        let rows = vec![AuditRow { id: 9, event: e }];
        let page = activity(&rows, 1, now);
        assert_eq!(page.rows[0].who, "dashboard:ann");
        assert_eq!(page.rows[0].what, "dismissed failed item 7 (Account in b)");
        assert_eq!(page.next_before, Some(9), "a full page may have more");
        assert_eq!(activity(&rows, 5, now).next_before, None);
        let d = serde_json::json!({ "object": "Contact", "changes": "interval 300 s" });
        assert_eq!(
            action_text("admin.sync.set", &d),
            "changed sync Contact: interval 300 s"
        );
    }
}
