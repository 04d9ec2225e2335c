//! The one error type of the ledger. Its [`StoreError::is_transient`] tells the engine whether
//! waiting and trying again can help (a busy or unreachable database) or not (bad data, a
//! broken migration), so the engine never has to inspect driver errors.

/// Why a ledger operation failed. Nothing was committed when it is returned.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no supported database (`sqlite:…`, `postgres://…`).
    #[error("unsupported ledger URL `{0}`: use sqlite:PATH, sqlite::memory: or postgres://…")]
    BadUrl(String),
    /// Applying the schema migrations failed.
    #[error("ledger migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database refused or failed the operation.
    #[error("ledger database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored value could not be read back (hand-edited or written by a newer version).
    #[error("ledger row is corrupt: {0}")]
    Corrupt(String),
    /// The caller passed something the ledger cannot store.
    #[error("invalid ledger input: {0}")]
    Invalid(String),
}

impl StoreError {
    /// Whether retrying the same call later may succeed (pool timeout, I/O, a busy or
    /// deadlocked database, a serialization failure).
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Database(e) => match e {
                sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => true,
                sqlx::Error::Database(db) => {
                    let code = db.code().unwrap_or_default();
                    // SQLite: 5 BUSY, 6 LOCKED (and extended codes ending in them);
                    // PostgreSQL: 40001 serialization failure, 40P01 deadlock, 55P03 lock not available.
                    matches!(
                        code.as_ref(),
                        "5" | "6" | "517" | "261" | "40001" | "40P01" | "55P03"
                    )
                }
                _ => false,
            },
            _ => false,
        }
    }
}

/// Result of a ledger operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
