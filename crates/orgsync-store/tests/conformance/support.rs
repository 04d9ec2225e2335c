//! Fixtures: fresh stores per test (a temp SQLite file; a fresh PostgreSQL database when
//! `ORGSYNC_TEST_PG_URL` is set) and small builders for items, records and times.

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use orgsync_core::mapping::{Payload, PayloadValue};
use orgsync_core::model::ParentRef;
use orgsync_core::{FieldValue, GlobalId, Op, OrgName, SyncItem};
use orgsync_store::{ItemError, NewItem, SqlStore};
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
pub fn field(item: &orgsync_store::Item, f: &str) -> Option<String> {
    match item.work.payload.get(f)? {
        PayloadValue::Value {
            value: FieldValue::Text(t),
        } => Some(t.clone()),
        other => Some(format!("{other:?}")),
    }
}
