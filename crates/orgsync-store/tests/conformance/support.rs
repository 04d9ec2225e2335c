//! Fixtures: fresh stores per test (a temp SQLite file; a fresh PostgreSQL database when
//! `ORGSYNC_TEST_PG_URL` is set), small builders for items, records and times, and the steps
//! every suite test repeats (capture a batch, claim, complete one item).

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use orgsync_core::mapping::{Payload, PayloadValue};
use orgsync_core::model::ParentRef;
use orgsync_core::{FieldValue, GlobalId, Op, OrgName, SyncItem};
use orgsync_store::{
    CaptureBatch, CaptureReport, CompleteReport, Completion, Item, ItemError, ItemFilter,
    ItemState, NewItem, Outcome, Page, RecordWrite, SqlStore, Store,
};
use sqlx::Connection;

/// A SQLite store in a fresh temp file (kept alive by the returned dir).
pub async fn sqlite() -> (SqlStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("ledger.db").display());
    (SqlStore::open(&url).await.unwrap(), dir)
}

/// A fresh PostgreSQL database for one test; dropped by [`PgDb::drop_db`].
pub struct PgDb {
    admin_url: String,
    name: String,
    /// The test database's URL (to open a second "replica" on it).
    pub url: String,
}

impl PgDb {
    /// Drop the test database (best effort).
    pub async fn drop_db(self, store: SqlStore) {
        store.close().await;
        if let Ok(mut c) = sqlx::PgConnection::connect(&self.admin_url).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            )))
            .execute(&mut c)
            .await;
        }
    }
}

/// A store on a fresh PostgreSQL database, or None (with a notice) when the URL is unset.
pub async fn postgres(test: &str) -> Option<(SqlStore, PgDb)> {
    let Ok(admin_url) = std::env::var("ORGSYNC_TEST_PG_URL") else {
        eprintln!("skipping postgres::{test}: ORGSYNC_TEST_PG_URL is not set");
        return None;
    };
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "orgsync_t_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        Utc::now().timestamp_micros() % 1_000_000_000
    );
    let mut c = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("connect to ORGSYNC_TEST_PG_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&format!("/{name}"));
    let store = SqlStore::open(url.as_str()).await.unwrap();
    Some((
        store,
        PgDb {
            admin_url,
            name,
            url: url.to_string(),
        },
    ))
}

/// A fixed instant to count from: 2026-01-01T00:00:00Z.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

/// `t0` plus `s` seconds.
pub fn at(s: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(s)
}

/// An org name.
pub fn org(name: &str) -> OrgName {
    OrgName(name.to_string())
}

/// The global id of record number `n` of origin org 00D…1.
pub fn gid(n: u32) -> GlobalId {
    GlobalId::new("00D000000000001".parse().unwrap(), &format!("001{n:012}")).unwrap()
}

/// A text payload field.
pub fn text(v: &str) -> PayloadValue {
    PayloadValue::value(FieldValue::Text(v.to_string()))
}

/// An upsert of `fields` for (`target`, Account, `gid(n)`), all committed at `ts`.
pub fn upsert(target: &str, n: u32, fields: &[(&str, &str)], ts: DateTime<Utc>) -> NewItem {
    let payload: Payload = fields
        .iter()
        .map(|(k, v)| (k.to_string(), text(v)))
        .collect();
    NewItem::new(
        SyncItem {
            target: org(target),
            object: "Account".into(),
            global_id: gid(n),
            op: Op::Upsert,
            payload,
            parents: vec![],
        },
        ts,
    )
    .from_source(org("a"), format!("001{n:012}AAA"))
}

/// A Contact upsert whose `AccountId` points at `gid(parent)`.
pub fn child(target: &str, n: u32, parent: u32, ts: DateTime<Utc>) -> NewItem {
    let mut item = upsert(target, n, &[("LastName", "Child")], ts);
    item.work.object = "Contact".into();
    item.work.parents.push(ParentRef {
        field: "AccountId".into(),
        object: "Account".into(),
        global_id: gid(parent),
    });
    item
}

/// A retryable error.
pub fn lock_error() -> ItemError {
    ItemError {
        code: "UNABLE_TO_LOCK_ROW".into(),
        message: "unable to obtain exclusive access".into(),
        kind: "retryable".into(),
    }
}

/// A permanent error.
pub fn validation_error() -> ItemError {
    ItemError {
        code: "FIELD_CUSTOM_VALIDATION_EXCEPTION".into(),
        message: "Name must not be empty".into(),
        kind: "permanent".into(),
    }
}

/// The text of payload field `f`.
pub fn field(item: &Item, f: &str) -> Option<String> {
    match item.work.payload.get(f)? {
        PayloadValue::Value {
            value: FieldValue::Text(t),
        } => Some(t.clone()),
        other => Some(format!("{other:?}")),
    }
}

/// The lease length the suite claims with unless a test is about lease times.
pub fn ttl() -> TimeDelta {
    TimeDelta::seconds(60)
}

/// A capture batch of items only.
pub fn batch(items: Vec<NewItem>) -> CaptureBatch {
    CaptureBatch {
        items,
        ..CaptureBatch::default()
    }
}

/// Commit `items` as one capture batch at `now`.
pub async fn capture<S: Store>(s: &S, items: Vec<NewItem>, now: DateTime<Utc>) -> CaptureReport {
    s.commit_capture(batch(items), now).await.unwrap()
}

/// Claim up to 10 due items of `target` for `owner` at `now`, with the [`ttl`] lease.
pub async fn claim<S: Store>(s: &S, target: &str, now: DateTime<Utc>, owner: &str) -> Vec<Item> {
    s.claim_due(&org(target), now, 10, owner, ttl())
        .await
        .unwrap()
}

/// Complete one claimed item as `owner` with `outcome` at `now`.
pub async fn complete_one<S: Store>(
    s: &S,
    item: &Item,
    owner: &str,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> CompleteReport {
    s.complete(vec![done(item, owner, outcome)], now)
        .await
        .unwrap()
}

/// The one item matching `filter` (fails the test if there are more or none).
pub async fn only_item<S: Store>(s: &S, filter: ItemFilter) -> Item {
    let items = s.items(&filter, Page::first(100)).await.unwrap();
    assert_eq!(items.len(), 1, "expected one item, got {items:#?}");
    items.into_iter().next().unwrap()
}

/// Items for one target.
pub fn for_target(target: &str) -> ItemFilter {
    ItemFilter {
        target: Some(org(target)),
        ..ItemFilter::default()
    }
}

/// Items in one state.
pub fn in_state(state: ItemState) -> ItemFilter {
    ItemFilter {
        state: Some(state),
        ..ItemFilter::default()
    }
}

/// A Synced outcome mapping `gid(n)` in `target` to `local`.
pub fn synced(target: &str, n: u32, local: &str) -> Outcome {
    let mut record = RecordWrite::new(org(target), "Account", gid(n));
    record.local_id = Some(local.to_string());
    Outcome::Synced { record }
}

/// The completion of `item` by `owner` with `outcome`, without follow-ups or detail.
pub fn done(item: &Item, owner: &str, outcome: Outcome) -> Completion {
    Completion {
        id: item.id,
        lease_owner: owner.to_string(),
        outcome,
        follow_ups: vec![],
        detail: serde_json::Value::Null,
    }
}
