//! Logging through `tracing-subscriber`, filtered by `RUST_LOG` (default `info` for orgsync's
//! crates, `warn` for the rest). Secrets never reach the logs: the config types print them as
//! `***` (`orgsync_core::config::Secret`), and nothing here formats credentials.

use tracing_subscriber::EnvFilter;

/// Install the global subscriber, writing to stderr so stdout stays for command output.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("warn,sqlx=error,orgsync=info,orgsync_engine=info,orgsync_store=warn")
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
