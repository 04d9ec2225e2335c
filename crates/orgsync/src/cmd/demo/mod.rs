//! `orgsync demo`.

use std::path::PathBuf;

use clap::Args;

/// `orgsync demo` options.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Stop by itself after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub seconds: Option<u64>,
    /// Directory for the generated config and the SQLite state (default: a temporary one).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Run the command.
pub async fn run(_args: &DemoArgs) -> anyhow::Result<u8> {
    anyhow::bail!("not yet")
}
