//! Each configured org at run time: its connection, logged in by a background task that keeps
//! trying until it succeeds (so one org's outage at start never stops the others), the health
//! facts its status is derived from, and the signal that wakes its writer.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use orgsync_core::{OrgId, OrgName};
use tokio::sync::{Notify, watch};

/// One logged-in org.
#[derive(Debug, Clone)]
pub(crate) struct OrgConn {
    pub client: sfclient::Client,
    pub org_id: OrgId,
}

/// What the status of an org's syncs is derived from, besides their own capture results.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Health {
    /// The last login failed with this message (None once logged in).
    pub login_error: Option<String>,
    /// The org refused the credentials (rather than being unreachable).
    pub auth_refused: bool,
    /// The circuit is open until then, and why.
    pub circuit: Option<(DateTime<Utc>, String)>,
    /// Calls are held at the API budget's ceiling.
    pub budget_paused: bool,
    /// Salesforce answered REQUEST_LIMIT_EXCEEDED: paused until then.
    pub quota_until: Option<DateTime<Utc>>,
}

/// One configured org.
#[derive(Debug)]
pub(crate) struct Org {
    pub name: OrgName,
    conn: watch::Sender<Option<OrgConn>>,
    /// The org's Salesforce id: from the ledger (a previous run) until the login confirms it.
    known_id: Mutex<Option<OrgId>>,
    health: Mutex<Health>,
    /// Wakes the org's writer (items were queued for it, or it may resume).
    pub wake: Notify,
    /// The first login attempt is over (logged in or not).
    tried: watch::Sender<bool>,
}

impl Org {
    pub fn new(name: OrgName, known_id: Option<OrgId>) -> Org {
        Org {
            name,
            conn: watch::Sender::new(None),
            known_id: Mutex::new(known_id),
            health: Mutex::new(Health::default()),
            wake: Notify::new(),
            tried: watch::Sender::new(false),
        }
    }

    /// Mark the first login attempt over.
    pub fn tried(&self) {
        self.tried.send_replace(true);
    }

    /// Wait until the first login attempt is over.
    pub async fn first_attempt(&self) {
        let mut rx = self.tried.subscribe();
        let _ = rx.wait_for(|t| *t).await;
    }

    /// The connection, if logged in.
    pub fn conn(&self) -> Option<OrgConn> {
        self.conn.borrow().clone()
    }

    /// Wait until logged in; None when `stop` fires first.
    pub async fn connected(&self, stop: &mut watch::Receiver<bool>) -> Option<OrgConn> {
        let mut rx = self.conn.subscribe();
        loop {
            if let Some(c) = rx.borrow_and_update().clone() {
                return Some(c);
            }
            if *stop.borrow() {
                return None;
            }
            tokio::select! {
                r = rx.changed() => r.ok()?,
                _ = stop.changed() => {}
            }
        }
    }

    /// Record the login.
    pub fn set_conn(&self, conn: OrgConn) {
        *lock(&self.known_id) = Some(conn.org_id.clone());
        self.update_health(|h| {
            h.login_error = None;
            h.auth_refused = false;
        });
        self.conn.send_replace(Some(conn));
        self.wake.notify_one();
    }

    /// The org's Salesforce id, when known.
    pub fn org_id(&self) -> Option<OrgId> {
        lock(&self.known_id).clone()
    }

    /// The health facts now.
    pub fn health(&self) -> Health {
        lock(&self.health).clone()
    }

    /// Change the health facts; true when they changed.
    pub fn update_health(&self, f: impl FnOnce(&mut Health)) -> bool {
        let mut h = lock(&self.health);
        let before = h.clone();
        f(&mut h);
        *h != before
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Every configured org, by name.
#[derive(Debug, Default)]
pub(crate) struct Orgs {
    map: BTreeMap<OrgName, Arc<Org>>,
}

impl Orgs {
    pub fn new(orgs: impl IntoIterator<Item = Org>) -> Orgs {
        Orgs {
            map: orgs
                .into_iter()
                .map(|o| (o.name.clone(), Arc::new(o)))
                .collect(),
        }
    }

    pub fn get(&self, name: &OrgName) -> Option<&Arc<Org>> {
        self.map.get(name)
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<Org>> {
        self.map.values()
    }

    /// The configured org whose Salesforce id is `org_id` (15 or 18 characters).
    pub fn by_id(&self, org_id: &str) -> Option<&Arc<Org>> {
        let id: OrgId = org_id.parse().ok()?;
        self.map.values().find(|o| o.org_id().as_ref() == Some(&id))
    }

    /// The Salesforce id of `name`, when known.
    pub fn org_id(&self, name: &OrgName) -> Option<OrgId> {
        self.get(name).and_then(|o| o.org_id())
    }

    /// Wake every writer.
    pub fn wake_writers(&self) {
        for o in self.map.values() {
            o.wake.notify_one();
        }
    }
}

/// The pause before login attempt `n` (1-based): 1 s doubling to a minute when the org is
/// unreachable, five minutes when it refused the credentials (they must be fixed first).
pub(crate) fn login_backoff(n: u32, refused: bool) -> Duration {
    if refused {
        return Duration::from_secs(300);
    }
    Duration::from_secs(1u64 << n.saturating_sub(1).min(6)).min(Duration::from_secs(60))
}
