//! The problems page: Failed items (given up) and parked ones (Pending: waiting for a parent
//! to land), grouped by Salesforce's error code, with counts and first/last seen, each item
//! with its payload, error and attempts. Dismissed items are hidden unless asked for.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use orgsync_store::{Item, ItemState};

use super::{ago, exact};

/// The code shown for a parked item that carries no error: it waits for its parent.
pub const WAITING_FOR_PARENT: &str = "WAITING_FOR_PARENT";

/// One item.
#[derive(Debug, Clone)]
pub struct ProblemItem {
    /// Item id (the actions' key).
    pub id: i64,
    /// "Failed" or "Parked".
    pub state: &'static str,
    /// Whether Retry and Dismiss apply (Failed items only).
    pub actionable: bool,
    /// Target org.
    pub target: String,
    /// Object.
    pub object: String,
    /// Global id.
    pub global_id: String,
    /// The payload, pretty JSON.
    pub payload: String,
    /// The error message (or what a parked item waits for).
    pub message: String,
    /// Failed writes so far.
    pub attempts: u32,
    /// Last change, relative.
    pub updated: String,
    /// Dismissed, relative ("" when not).
    pub dismissed: String,
}

/// Items sharing an error code.
#[derive(Debug, Clone)]
pub struct Group {
    /// Salesforce's error code (or a transport code, or [`WAITING_FOR_PARENT`]).
    pub code: String,
    /// How many items.
    pub count: usize,
    /// The oldest item's first capture, relative.
    pub first_seen: String,
    /// Its exact time.
    pub first_seen_exact: String,
    /// The newest change among them, relative.
    pub last_seen: String,
    /// Its exact time.
    pub last_seen_exact: String,
    /// The items, newest change first.
    pub items: Vec<ProblemItem>,
}

/// The page's content.
#[derive(Debug, Clone, Default)]
pub struct Problems {
    /// Groups, most items first.
    pub groups: Vec<Group>,
    /// Failed items not dismissed (what "Retry all" retries).
    pub failed: usize,
    /// Parked items.
    pub parked: usize,
    /// Dismissed items (shown only on request).
    pub dismissed: usize,
}

impl Problems {
    /// Nothing failed or parked (dismissed items aside): "Everything is synced".
    pub fn all_clear(&self) -> bool {
        self.failed == 0 && self.parked == 0
    }
}

/// Group `items` (Failed and Pending ones; others are ignored). Dismissed items are counted,
/// and listed only when `show_dismissed`.
pub fn build(items: &[Item], show_dismissed: bool, now: DateTime<Utc>) -> Problems {
    let mut out = Problems::default();
    let mut groups: BTreeMap<String, Vec<&Item>> = BTreeMap::new();
    for it in items {
        match (it.state, it.dismissed_at.is_some()) {
            (ItemState::Failed, true) => {
                out.dismissed += 1;
                if !show_dismissed {
                    continue;
                }
            }
            (ItemState::Failed, false) => out.failed += 1,
            (ItemState::Pending, _) => out.parked += 1,
            _ => continue,
        }
        let code = match &it.last_error {
            Some(e) if !e.code.is_empty() => e.code.clone(),
            _ if it.state == ItemState::Pending => WAITING_FOR_PARENT.into(),
            _ => "UNKNOWN".into(),
        };
        groups.entry(code).or_default().push(it);
    }
    let mut groups: Vec<Group> = groups
        .into_iter()
        .map(|(code, mut its)| {
            its.sort_by_key(|i| std::cmp::Reverse(i.updated_at));
            let first = its.iter().map(|i| i.created_at).min();
            let last = its.iter().map(|i| i.updated_at).max();
            Group {
                code,
                count: its.len(),
                first_seen: ago(first, now),
                first_seen_exact: exact(first),
                last_seen: ago(last, now),
                last_seen_exact: exact(last),
                items: its.iter().map(|i| item(i, now)).collect(),
            }
        })
        .collect();
    groups.sort_by(|a, b| b.count.cmp(&a.count).then(a.code.cmp(&b.code)));
    out.groups = groups;
    out
}

fn item(i: &Item, now: DateTime<Utc>) -> ProblemItem {
    let failed = i.state == ItemState::Failed;
    let message = match (&i.last_error, &i.waiting_for) {
        (Some(e), _) => e.message.clone(),
        (None, Some(parent)) => format!("waits for its parent {parent} to land in the target"),
        (None, None) => String::new(),
    };
    ProblemItem {
        id: i.id.0,
        state: if failed { "Failed" } else { "Parked" },
        actionable: failed,
        target: i.work.target.to_string(),
        object: i.work.object.clone(),
        global_id: i.work.global_id.to_string(),
        payload: serde_json::to_string_pretty(&i.work.payload).unwrap_or_default(),
        message,
        attempts: i.attempts,
        updated: ago(Some(i.updated_at), now),
        dismissed: i
            .dismissed_at
            .map(|d| ago(Some(d), now))
            .unwrap_or_default(),
    }
}
