//! The overview: a card per org and a row per sync (org × object), from the rows
//! `orgsync status` prints (`orgs`, `syncs`, item counts) plus the change-event checkpoints.

use chrono::{DateTime, TimeDelta, Utc};
use orgsync_store::{Checkpoint, CircuitState, Counts, ItemState, OrgRow, SyncRow, SyncStatus};

use super::{ago, exact};

/// A sync's status dot. `Late` is the dashboard's own reading of an Active sync whose last
/// capture is older than twice its interval (Airbyte's rule): the engine cannot notice a
/// capture that never happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dot {
    /// Enabled and healthy.
    Active,
    /// Disabled, or held by the budget or a quota error.
    Paused,
    /// Needs a person.
    Error,
    /// Calls to the org fail; retried by itself.
    CircuitOpen,
    /// Active, but its last capture is overdue.
    Late,
}

impl Dot {
    /// The label shown.
    pub fn label(self) -> &'static str {
        match self {
            Dot::Active => "Active",
            Dot::Paused => "Paused",
            Dot::Error => "Error",
            Dot::CircuitOpen => "Circuit open",
            Dot::Late => "Late",
        }
    }
    /// The CSS class of the dot.
    pub fn class(self) -> &'static str {
        match self {
            Dot::Active => "active",
            Dot::Paused => "paused",
            Dot::Error => "error",
            Dot::CircuitOpen => "circuit",
            Dot::Late => "late",
        }
    }
    /// Whether the row is shown red.
    pub fn red(self) -> bool {
        matches!(self, Dot::Error | Dot::CircuitOpen)
    }
}

/// The dot of a sync row now.
pub fn dot(row: &SyncRow, now: DateTime<Utc>) -> Dot {
    match row.status {
        SyncStatus::Paused => Dot::Paused,
        SyncStatus::Error => Dot::Error,
        SyncStatus::CircuitOpen => Dot::CircuitOpen,
        SyncStatus::Active => {
            let due = TimeDelta::seconds(2 * i64::from(row.interval_secs.max(1)));
            match row.last_sync_at {
                Some(last) if now - last > due => Dot::Late,
                _ => Dot::Active,
            }
        }
    }
}

/// One row of the syncs table.
#[derive(Debug, Clone)]
pub struct SyncLine {
    /// Org name.
    pub org: String,
    /// Object.
    pub object: String,
    /// Capture method.
    pub method: String,
    /// Status dot.
    pub dot: Dot,
    /// Last completed capture, relative.
    pub last_sync: String,
    /// Its exact time.
    pub last_sync_exact: String,
    /// Capture errors since the last success.
    pub error_count: u32,
    /// The latest error (or the reason of a non-Active status).
    pub latest_error: String,
}

/// A change-event stream of one object.
#[derive(Debug, Clone)]
pub struct Stream {
    /// Object.
    pub object: String,
    /// "replay id stored, moved 3 s ago" or "no replay id yet".
    pub state: String,
}

/// One org's card.
#[derive(Debug, Clone)]
pub struct OrgCard {
    /// Config name.
    pub name: String,
    /// Salesforce org id, once known.
    pub org_id: String,
    /// Login state in words (`ok`, `login refused: …`, `unreachable: …`).
    pub login: String,
    /// Whether the login state is healthy.
    pub login_ok: bool,
    /// "1,234 / 15,000 (8%)", or "not observed yet".
    pub budget: String,
    /// Percentage of the allocation used (0 when unknown), for the bar.
    pub budget_pct: u32,
    /// When the daily limit is hit at the current rate, or "within budget" (set from the
    /// samples by the page: [`super::history::forecast`]).
    pub forecast: String,
    /// "closed" or "open".
    pub circuit: String,
    /// Whether the circuit is open.
    pub circuit_open: bool,
    /// Why it is open (the headline reason of its syncs), when it is.
    pub circuit_reason: String,
    /// When calls are tried again, when open.
    pub retry_at: String,
    /// Change-event streams of its `cdc` syncs.
    pub streams: Vec<Stream>,
    /// The newest capture among its syncs.
    pub last_sync: String,
    /// Items waiting for this org (Queued, InFlight, Pending) and Failed.
    pub waiting: u64,
    /// Failed items for this org.
    pub failed: u64,
}

/// The whole overview.
#[derive(Debug, Clone, Default)]
pub struct Overview {
    /// One card per org with a ledger row.
    pub orgs: Vec<OrgCard>,
    /// One row per sync.
    pub syncs: Vec<SyncLine>,
}

/// Build the overview from the ledger's rows. `cdc` holds the change-event checkpoints of
/// the syncs captured by `cdc` (absent: no replay id stored yet).
pub fn build(
    orgs: &[OrgRow],
    syncs: &[SyncRow],
    counts: &Counts,
    cdc: &[Checkpoint],
    now: DateTime<Utc>,
) -> Overview {
    let lines = syncs
        .iter()
        .map(|s| SyncLine {
            org: s.org.to_string(),
            object: s.object.clone(),
            method: s.capture.clone(),
            dot: dot(s, now),
            last_sync: ago(s.last_sync_at, now),
            last_sync_exact: exact(s.last_sync_at),
            error_count: s.error_count,
            latest_error: s.last_error.clone().unwrap_or_default(),
        })
        .collect();
    let cards = orgs
        .iter()
        .map(|o| card(o, syncs, counts, cdc, now))
        .collect();
    Overview {
        orgs: cards,
        syncs: lines,
    }
}

fn card(
    o: &OrgRow,
    syncs: &[SyncRow],
    counts: &Counts,
    cdc: &[Checkpoint],
    now: DateTime<Utc>,
) -> OrgCard {
    let mine: Vec<&SyncRow> = syncs.iter().filter(|s| s.org == o.name).collect();
    let (budget, budget_pct) = match (o.budget_used, o.budget_max) {
        (Some(u), Some(m)) if m > 0 => {
            let pct = (100 * u.max(0) / m).clamp(0, 100);
            (
                format!("{u} / {m} ({pct}%)"),
                u32::try_from(pct).unwrap_or(100),
            )
        }
        _ => ("not observed yet".into(), 0),
    };
    let open = o.circuit == CircuitState::Open;
    let circuit_reason = match open {
        true => mine
            .iter()
            .find(|s| s.status == SyncStatus::CircuitOpen)
            .and_then(|s| s.last_error.clone())
            .unwrap_or_else(|| format!("{} consecutive failed calls", o.consecutive_failures)),
        false => String::new(),
    };
    let streams = mine
        .iter()
        .filter(|s| s.capture == "cdc")
        .map(|s| {
            let cp = cdc
                .iter()
                .find(|c| c.org == o.name && c.object == s.object && c.replay_id.is_some());
            Stream {
                object: s.object.clone(),
                state: match cp {
                    Some(c) => format!("replay id stored, moved {}", ago(Some(c.updated_at), now)),
                    None => "no replay id yet".into(),
                },
            }
        })
        .collect();
    let count = |st: ItemState| counts.get(&(o.name.clone(), st)).copied().unwrap_or(0);
    OrgCard {
        name: o.name.to_string(),
        org_id: o.org_id.as_ref().map(|i| i.to_string()).unwrap_or_default(),
        login: o.status.clone(),
        login_ok: o.status == "ok",
        budget,
        budget_pct,
        forecast: String::new(),
        circuit: o.circuit.as_str().replace('_', " "),
        circuit_open: open,
        circuit_reason,
        retry_at: match open {
            true => ago(o.circuit_until, now),
            false => String::new(),
        },
        streams,
        last_sync: ago(mine.iter().filter_map(|s| s.last_sync_at).max(), now),
        waiting: count(ItemState::Queued) + count(ItemState::InFlight) + count(ItemState::Pending),
        failed: count(ItemState::Failed),
    }
}
