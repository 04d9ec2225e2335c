//! `orgsync retry`: Failed items (a permanent error, or retries exhausted) become Queued now
//! with their attempt count reset; a running service picks them up at once.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use orgsync_core::{GlobalId, OrgName};
use orgsync_store::{ItemFilter, Store};

use crate::ConfigArgs;

/// `orgsync retry` options.
#[derive(Debug, Args)]
pub struct RetryArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The ledger directly (a SQLite file or a postgres:// URL) instead of the config's.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Only items for this target org (config name).
    #[arg(long)]
    pub org: Option<String>,
    /// Only items of this object.
    #[arg(long)]
    pub object: Option<String>,
    /// Only this record (`<origin org id>:<origin record id>`).
    #[arg(long = "id")]
    pub global_id: Option<String>,
}

/// Run the command.
pub async fn run(args: &RetryArgs) -> anyhow::Result<u8> {
    let global_id = args
        .global_id
        .as_deref()
        .map(|g| g.parse::<GlobalId>())
        .transpose()
        .context("--id must be a global id: <18-char org id>:<18-char record id>")?;
    let filter = ItemFilter {
        state: None,
        target: args.org.as_deref().map(OrgName::from),
        object: args.object.clone(),
        global_id,
    };
    let store = super::open_store_for(Some(&args.config), args.state.as_ref()).await?;
    let n = store.retry_failed(&filter, chrono::Utc::now()).await?;
    store.close().await;
    println!("{n} failed item(s) queued again");
    Ok(0)
}
