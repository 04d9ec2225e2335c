//! [`SqlStore`]: the ledger on SQLite or PostgreSQL through sqlx's `Any` driver.
//!
//! Both schemas store the same representation, so the SQL is shared; the differences are
//! confined to this module: how a write transaction starts (SQLite `BEGIN IMMEDIATE`, so two
//! writers never deadlock upgrading a read lock), row locks (`FOR UPDATE`, and
//! `SKIP LOCKED` when claiming, on PostgreSQL; SQLite serialises writers instead) and a
//! transaction-scoped advisory lock that orders "parent landed" against "child parks as
//! Pending" on PostgreSQL.

mod args;
mod codec;
mod enqueue;
mod failed;
mod items;
mod meta;
mod monitor;
mod operator;
mod reconcile;
mod records;
mod samples;
mod status;
mod store_impl;

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyConnection, AnyPool, AssertSqlSafe, Executor, SqlSafeStr, Transaction};

use crate::error::{Result, StoreError};

/// Which database a [`SqlStore`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One SQLite file (or memory), one process.
    Sqlite,
    /// PostgreSQL, possibly shared by several replicas.
    Postgres,
}

/// The ledger on a SQL database. Cheap to clone (a pool handle).
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
}

const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "ledger",
        include_str!("../../migrations/sqlite/0001_ledger.sql"),
    ),
    (
        2,
        "transaction hash",
        include_str!("../../migrations/sqlite/0002_transaction_hash.sql"),
    ),
    (
        3,
        "agreed_life",
        include_str!("../../migrations/sqlite/0003_agreed_life.sql"),
    ),
    (
        4,
        "deleted_at_reclaimed",
        include_str!("../../migrations/sqlite/0004_deleted_at_reclaimed.sql"),
    ),
    (
        5,
        "dismissed_at",
        include_str!("../../migrations/sqlite/0005_dismissed_at.sql"),
    ),
    (
        6,
        "reconcile_runs",
        include_str!("../../migrations/sqlite/0006_reconcile_runs.sql"),
    ),
    (
        7,
        "monitor",
        include_str!("../../migrations/sqlite/0007_monitor.sql"),
    ),
    (
        8,
        "added_syncs",
        include_str!("../../migrations/sqlite/0008_added_syncs.sql"),
    ),
    (
        9,
        "org_samples",
        include_str!("../../migrations/sqlite/0009_org_samples.sql"),
    ),
];
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "ledger",
        include_str!("../../migrations/postgres/0001_ledger.sql"),
    ),
    (
        2,
        "transaction hash",
        include_str!("../../migrations/postgres/0002_transaction_hash.sql"),
    ),
    (
        3,
        "agreed_life",
        include_str!("../../migrations/postgres/0003_agreed_life.sql"),
    ),
    (
        4,
        "deleted_at_reclaimed",
        include_str!("../../migrations/postgres/0004_deleted_at_reclaimed.sql"),
    ),
    (
        5,
        "dismissed_at",
        include_str!("../../migrations/postgres/0005_dismissed_at.sql"),
    ),
    (
        6,
        "reconcile_runs",
        include_str!("../../migrations/postgres/0006_reconcile_runs.sql"),
    ),
    (
        7,
        "monitor",
        include_str!("../../migrations/postgres/0007_monitor.sql"),
    ),
    (
        8,
        "added_syncs",
        include_str!("../../migrations/postgres/0008_added_syncs.sql"),
    ),
    (
        9,
        "org_samples",
        include_str!("../../migrations/postgres/0009_org_samples.sql"),
    ),
];

fn migrator(backend: Backend) -> Migrator {
    let list = match backend {
        Backend::Sqlite => SQLITE_MIGRATIONS,
        Backend::Postgres => POSTGRES_MIGRATIONS,
    };
    Migrator::with_migrations(
        list.iter()
            .map(|(v, d, sql)| {
                Migration::new(
                    *v,
                    Cow::Borrowed(*d),
                    MigrationType::Simple,
                    AssertSqlSafe(*sql).into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

impl SqlStore {
    /// Open (and migrate) the ledger at `url`:
    /// - `sqlite:PATH` / `sqlite://PATH` (created if missing; WAL journal,
    ///   `synchronous=NORMAL`, a 10 s busy timeout), or a bare file path;
    /// - `sqlite::memory:` (one connection, gone when the store is dropped; for tests/demos);
    /// - `postgres://…` / `postgresql://…`.
    pub async fn open(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let (backend, url) = normalise_url(url)?;
        let pool = match backend {
            Backend::Sqlite if url.contains(":memory:") => {
                // every connection to :memory: is a new database: keep exactly one, forever
                AnyPoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .after_connect(|c, _| Box::pin(async move { sqlite_pragmas(c).await }))
                    .connect(&url)
                    .await?
            }
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(|c, _| Box::pin(async move { sqlite_pragmas(c).await }))
                    .connect(&url)
                    .await?
            }
            Backend::Postgres => {
                let options = AnyConnectOptions::from_str(&url)?;
                AnyPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await?
            }
        };
        migrator(backend).run(&pool).await?;
        Ok(SqlStore { pool, backend })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Close the pool, waiting for connections to be returned (a clean shutdown; SQLite
    /// checkpoints its WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Start a write transaction.
    async fn begin(&self) -> Result<Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// ` FOR UPDATE` on PostgreSQL (lock the rows read for a read-modify-write); nothing on
    /// SQLite, whose `BEGIN IMMEDIATE` already excludes other writers.
    fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    /// Serialise transactions touching `key` on PostgreSQL until commit (no-op on SQLite).
    async fn lock_key(&self, c: &mut AnyConnection, key: &str) -> Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(key)
                .execute(c)
                .await?;
        }
        Ok(())
    }
}

async fn sqlite_pragmas(c: &mut AnyConnection) -> std::result::Result<(), sqlx::Error> {
    c.execute("PRAGMA journal_mode = WAL").await?;
    c.execute("PRAGMA synchronous = NORMAL").await?;
    c.execute("PRAGMA busy_timeout = 10000").await?;
    c.execute("PRAGMA foreign_keys = ON").await?;
    Ok(())
}

/// Pick the backend and make a SQLite file URL create its file.
fn normalise_url(url: &str) -> Result<(Backend, String)> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_string()));
    }
    if url == "sqlite::memory:" || url.starts_with("sqlite::memory:?") {
        return Ok((Backend::Sqlite, url.to_string()));
    }
    let rest = if let Some(r) = url.strip_prefix("sqlite://") {
        r
    } else if let Some(r) = url.strip_prefix("sqlite:") {
        r
    } else if !url.contains("://") && !url.is_empty() {
        url
    } else {
        return Err(StoreError::BadUrl(url.to_string()));
    };
    if rest.is_empty() {
        return Err(StoreError::BadUrl(url.to_string()));
    }
    let sep = if rest.contains('?') { '&' } else { '?' };
    let mode = if rest.contains("mode=") {
        String::new()
    } else {
        format!("{sep}mode=rwc")
    };
    Ok((Backend::Sqlite, format!("sqlite://{rest}{mode}")))
}

/// `$start, $start+1, …` for `n` values (an `IN (…)` list).
fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many ids go into one `IN (…)` query (well under SQLite's 32766 variables).
const IN_CHUNK: usize = 500;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            normalise_url("sqlite::memory:").unwrap(),
            (Backend::Sqlite, "sqlite::memory:".into())
        );
        assert_eq!(
            normalise_url("sqlite:a.db").unwrap().1,
            "sqlite://a.db?mode=rwc"
        );
        assert_eq!(
            normalise_url("sqlite:///tmp/a.db").unwrap().1,
            "sqlite:///tmp/a.db?mode=rwc"
        );
        assert_eq!(
            normalise_url("/tmp/a.db").unwrap().1,
            "sqlite:///tmp/a.db?mode=rwc"
        );
        assert_eq!(
            normalise_url("sqlite:a.db?mode=ro").unwrap().1,
            "sqlite://a.db?mode=ro"
        );
        assert_eq!(
            normalise_url("postgres://u@h/db").unwrap().0,
            Backend::Postgres
        );
        assert!(matches!(
            normalise_url("mysql://x"),
            Err(StoreError::BadUrl(_))
        ));
        assert!(matches!(
            normalise_url("sqlite:"),
            Err(StoreError::BadUrl(_))
        ));
        assert_eq!(placeholders(2, 3), "$2, $3, $4");
    }
}
