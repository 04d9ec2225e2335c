//! `orgsync`: the command line of the orgsync sync engine. Thin on purpose: clap parsing and
//! dispatch; the work lives in the library crates (`orgsync-core` config, `orgsync-store`
//! ledger, `orgsync-engine`) and in one module per command under `cmd/`.
//!
//! Exit codes: 0 success, 1 a failure (a check failed, the engine stopped on an error),
//! 2 a configuration error (printed with the file, the line and the fix).

mod cmd;
mod logging;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Keep records in sync across Salesforce orgs.
#[derive(Debug, Parser)]
#[command(name = "orgsync", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the configuration comes from.
#[derive(Debug, Args, Clone)]
pub struct ConfigArgs {
    /// The configuration file (see crates/orgsync-core/examples/orgsync.toml).
    #[arg(
        long,
        short = 'c',
        default_value = "orgsync.toml",
        env = "ORGSYNC_CONFIG"
    )]
    pub config: PathBuf,
    /// Environment profile: overlays `<stem>.<profile>.toml` beside the config
    /// (default: $ORGSYNC_ENV).
    #[arg(long)]
    pub profile: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the sync service until Ctrl-C or SIGTERM.
    Run(ConfigArgs),
    /// Start three emulated orgs with sample data and sync them, showing convergence.
    Demo(cmd::demo::DemoArgs),
    /// Read-only checks of every org and object: login, query, describe (exit 1 on a problem).
    Check(ConfigArgs),
    /// Show the ledger: orgs, syncs, item counts, recent conflicts and failures.
    Status(cmd::status::StatusArgs),
    /// Queue Failed items again.
    Retry(cmd::retry::RetryArgs),
    /// Pause, resume, change, remove or restore a sync (the ledger's overlay over the file).
    Sync(cmd::sync::SyncArgs),
    /// Find records that drifted between the orgs and the ledger; report, or repair them.
    Reconcile(cmd::reconcile::ReconcileArgs),
    /// Configuration tools.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Check a configuration file and print OK or every problem (exit 2).
    Validate(ConfigArgs),
    /// Print the sync settings in effect (file + the ledger's overlay) as TOML.
    Export(ConfigArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Command::Run(a) => cmd::run::run(&a).await,
            Command::Demo(a) => cmd::demo::run(&a).await,
            Command::Check(a) => cmd::check::run(&a).await,
            Command::Status(a) => cmd::status::run(&a).await,
            Command::Retry(a) => cmd::retry::run(&a).await,
            Command::Sync(a) => cmd::sync::run(&a).await,
            Command::Config {
                command: ConfigCommand::Export(a),
            } => cmd::sync::export(&a).await,
            Command::Reconcile(a) => cmd::reconcile::run(&a).await,
            Command::Config {
                command: ConfigCommand::Validate(a),
            } => cmd::validate(&a),
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => output::report_error(&e),
    }
}
