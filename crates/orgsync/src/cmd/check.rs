//! `orgsync check`: read-only checks of every org and object (login, a one-row query,
//! describe of the mapped fields and the global-id field), one line each, plus a fix line per
//! problem. Exit 0 when everything passes, 1 when a check failed, 2 for a config error.

use orgsync_engine::EngineOptions;

use crate::ConfigArgs;
use crate::output::EXIT_FAILED;

/// Run the command.
pub async fn run(args: &ConfigArgs) -> anyhow::Result<u8> {
    let settings = super::load(args)?;
    let report = orgsync_engine::check(&settings, &EngineOptions::default()).await;
    print!("{report}");
    if report.ok() {
        println!("all checks passed");
        Ok(0)
    } else {
        let n = report.lines.iter().filter(|l| !l.ok).count();
        println!("{n} check(s) failed");
        Ok(EXIT_FAILED)
    }
}
