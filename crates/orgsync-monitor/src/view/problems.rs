//! The problems page: Failed items (given up) and parked ones (Pending: waiting for a parent
//! to land), grouped by Salesforce's error code, with counts and first/last seen, each item
//! with its payload, error and attempts. Dismissed items are hidden unless asked for. Groups
//! are counted by the database and their items paged, so ten thousand failures cost one
//! count query and a page of rows.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use orgsync_store::{Item, ItemState, ProblemCount};

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
    /// The items loaded, newest first.
    pub items: Vec<ProblemItem>,
    /// How many more the group has than are listed (on its own page).
    pub more: usize,
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

/// The code a group shows for a count or an item: Salesforce's code, or
/// [`WAITING_FOR_PARENT`] / `UNKNOWN` for parked and failed items without one.
pub fn display_code(state: ItemState, code: Option<&str>) -> String {
    match code {
        Some(c) if !c.is_empty() => c.to_string(),
        _ if state == ItemState::Pending => WAITING_FOR_PARENT.into(),
        _ => UNKNOWN.into(),
    }
}

/// The code shown for a failed item that carries no error.
pub const UNKNOWN: &str = "UNKNOWN";

/// Which items a group's code stands for: (state, stored code) of
/// [`orgsync_store::ProblemQuery`].
pub fn group_query(code: &str) -> (Option<ItemState>, Option<String>) {
    match code {
        WAITING_FOR_PARENT => (Some(ItemState::Pending), None),
        UNKNOWN => (Some(ItemState::Failed), None),
        c => (None, Some(c.to_string())),
    }
}

/// A group's count, first capture and last change.
type Tally = (u64, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Groups from the database's `counts` (right however many items there are), each listing
/// the items loaded for it in `items` (newest first; the rest are a page away). Dismissed
/// items are counted, and in the groups only when `show_dismissed`.
pub fn build(
    counts: &[ProblemCount],
    items: &BTreeMap<String, Vec<Item>>,
    show_dismissed: bool,
    now: DateTime<Utc>,
) -> Problems {
    let mut out = Problems::default();
    let mut groups: BTreeMap<String, Tally> = BTreeMap::new();
    for c in counts {
        let n = usize::try_from(c.count).unwrap_or(usize::MAX);
        match (c.state, c.dismissed) {
            (ItemState::Failed, true) => {
                out.dismissed += n;
                if !show_dismissed {
                    continue;
                }
            }
            (ItemState::Failed, false) => out.failed += n,
            (ItemState::Pending, _) => out.parked += n,
            _ => continue,
        }
        let g = groups
            .entry(display_code(c.state, c.code.as_deref()))
            .or_default();
        g.0 += c.count;
        g.1 = Some(g.1.map_or(c.first_created, |t| t.min(c.first_created)));
        g.2 = Some(g.2.map_or(c.last_updated, |t| t.max(c.last_updated)));
    }
    let mut groups: Vec<Group> = groups
        .into_iter()
        .map(|(code, (count, first, last))| {
            let its: Vec<ProblemItem> = items
                .get(&code)
                .map(|v| v.iter().map(|i| item(i, now)).collect())
                .unwrap_or_default();
            let count = usize::try_from(count).unwrap_or(usize::MAX);
            Group {
                more: count.saturating_sub(its.len()),
                code,
                count,
                first_seen: ago(first, now),
                first_seen_exact: exact(first),
                last_seen: ago(last, now),
                last_seen_exact: exact(last),
                items: its,
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
