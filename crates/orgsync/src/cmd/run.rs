//! `orgsync run`: the service (filled in once orgsync-engine compiles).

use crate::ConfigArgs;

/// Run the command.
pub async fn run(args: &ConfigArgs) -> anyhow::Result<u8> {
    let _settings = super::load(args)?;
    anyhow::bail!("the engine is not built into this binary yet")
}
