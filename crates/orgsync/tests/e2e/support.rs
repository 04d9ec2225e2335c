//! Helpers: run the binary, start emulated orgs, write configs.

use std::path::Path;
use std::process::{Command, Output};

use sfemu::server::{Emulator, EmulatorConfig, OrgConfig};

/// The binary under test.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_orgsync"));
    c.env_remove("ORGSYNC_ENV")
        .env_remove("ORGSYNC_CONFIG")
        .env("RUST_LOG", "warn");
    c
}

/// Run `orgsync ARGS` in `dir`.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    bin().current_dir(dir).args(args).output().unwrap()
}

/// stdout + stderr as text.
pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Emulated orgs with these names on ephemeral ports.
pub async fn emulator(names: &[&str]) -> Emulator {
    let mut cfg = EmulatorConfig::single_org();
    cfg.orgs = names
        .iter()
        .map(|n| {
            let mut o = OrgConfig::new(n, 0);
            // change events for the tests that capture with `capture = "cdc"`
            o.spec.cdc_objects = vec!["Work_Item__c".into()];
            o
        })
        .collect();
    Emulator::start(cfg).await.unwrap()
}

/// An `[orgs.NAME]` table for an emulated org with the default credentials.
pub fn org_table(name: &str, url: &str) -> String {
    format!(
        "[orgs.{name}]\nlogin_url = \"{url}\"\nauth = {{ flow = \"password\", client_id = \"sfemu-client\", client_secret = \"sfemu-secret\", username = \"admin@sfemu.test\", password = \"sfemu\" }}\n\n"
    )
}
