//! One module per command; shared helpers for loading the config and opening the ledger.

pub mod catalog;
pub mod check;
pub mod demo;
pub mod reconcile;
pub mod retry;
pub mod run;
pub mod status;
pub mod sync;

use std::path::{Path, PathBuf};

use anyhow::Context;
use orgsync_core::Settings;
use orgsync_core::config::StateLocation;
use orgsync_store::SqlStore;

use crate::ConfigArgs;

/// Load and validate the configuration; a [`orgsync_core::ConfigError`] travels up unchanged
/// so `main` prints it and exits with 2.
pub fn load(args: &ConfigArgs) -> anyhow::Result<Settings> {
    Ok(Settings::load(&args.config, args.profile.as_deref())?)
}

/// `orgsync config validate`.
pub fn validate(args: &ConfigArgs) -> anyhow::Result<u8> {
    let s = load(args)?;
    println!(
        "OK: {} — {} org(s), {} sync(s), state {}",
        s.files.join(" + "),
        s.orgs.len(),
        s.syncs.len(),
        state_display(&s.engine.state)
    );
    Ok(0)
}

/// The ledger URL for `SqlStore::open`. A relative SQLite path is taken relative to the
/// configuration file's directory, so the service finds the same ledger whatever directory
/// it is started from.
pub fn state_url(state: &StateLocation, config: &Path) -> String {
    match state {
        StateLocation::Postgres(url) => url.clone(),
        StateLocation::Sqlite(p) => {
            let path = if p.is_absolute() {
                p.clone()
            } else {
                config.parent().map_or_else(|| p.clone(), |d| d.join(p))
            };
            format!("sqlite://{}", path.display())
        }
    }
}

/// The state location without credentials (a PostgreSQL URL may carry a password).
pub fn state_display(state: &StateLocation) -> String {
    match state {
        StateLocation::Sqlite(p) => p.display().to_string(),
        StateLocation::Postgres(url) => match url.split_once('@') {
            Some((_, host)) => format!("postgres://…@{host}"),
            None => url.clone(),
        },
    }
}

/// Open (and migrate) the ledger named by a URL or a SQLite path.
pub async fn open_store(url: &str) -> anyhow::Result<SqlStore> {
    SqlStore::open(url)
        .await
        .with_context(|| format!("cannot open the state database {}", redact(url)))
}

/// Open the ledger of a configuration, or the one given with `--state`.
pub async fn open_store_for(
    config: Option<&ConfigArgs>,
    state: Option<&PathBuf>,
) -> anyhow::Result<SqlStore> {
    if let Some(p) = state {
        let s = p.display().to_string();
        let url = if s.starts_with("postgres") || s.starts_with("sqlite:") {
            s
        } else {
            format!("sqlite://{s}")
        };
        return open_store(&url).await;
    }
    let args = config.context("give --config or --state")?;
    let settings = load(args)?;
    open_store(&state_url(&settings.engine.state, &args.config)).await
}

fn redact(url: &str) -> String {
    match url.split_once('@') {
        Some((scheme, host)) if scheme.contains("://") => {
            let s = scheme.split("://").next().unwrap_or("db");
            format!("{s}://…@{host}")
        }
        _ => url.to_string(),
    }
}
