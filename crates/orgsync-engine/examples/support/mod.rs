//! Shared by the engine's benchmark examples: two emulated orgs `a` and `b` in-process, and
//! the orgsync config that syncs them.

use std::path::Path;

use sfemu::server::{Emulator, EmulatorConfig};

/// Start orgs `a` and `b` (plain HTTP on loopback) with change events on `cdc_objects`.
pub async fn two_orgs(cdc_objects: &[&str]) -> anyhow::Result<Emulator> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut cfg = EmulatorConfig::single_org().with_tls(false);
    cfg.orgs[0].spec.cdc_objects = cdc_objects.iter().map(|s| s.to_string()).collect();
    let mut b = cfg.orgs[0].clone();
    cfg.orgs[0].name = "a".into();
    cfg.orgs[0].spec.name = "a".into();
    b.name = "b".into();
    b.spec.name = "b".into();
    b.spec.org_id = None;
    cfg.orgs.push(b);
    Ok(Emulator::start(cfg).await?)
}

/// The base URL of an org of `emu`.
pub fn base(emu: &Emulator, org: &str) -> String {
    emu.org(org).map(|r| r.base_url.clone()).unwrap_or_default()
}

/// orgsync's config for a peer pair a ↔ b with `syncs` (TOML `[[sync]]` tables) and SQLite
/// state in `db`.
pub fn config(emu: &Emulator, syncs: &str, db: &Path) -> String {
    let mut text = String::new();
    for o in ["a", "b"] {
        text.push_str(&format!(
            "[orgs.{o}]\nlogin_url = \"{}\"\nauth = {{ flow = \"password\", client_id = \"sfemu-client\", client_secret = \"sfemu-secret\", username = \"admin@sfemu.test\", password = \"sfemu\" }}\n",
            base(emu, o)
        ));
    }
    text.push_str("[topology]\nkind = \"peer\"\norgs = [\"a\", \"b\"]\n");
    text.push_str(syncs);
    text.push_str(&format!("[engine]\nstate = \"{}\"\n", db.display()));
    text
}

/// A user's client on `org` (its own client tag, so its writes are not orgsync's).
pub async fn user(emu: &Emulator, org: &str, tag: &str) -> anyhow::Result<sfclient::Client> {
    let mut cfg = sfclient::OrgConfig::new(
        org,
        base(emu, org),
        sfclient::AuthFlow::Password {
            client_id: "sfemu-client".into(),
            client_secret: sfclient::Secret::from("sfemu-secret"),
            username: "admin@sfemu.test".into(),
            password: sfclient::Secret::from("sfemu"),
        },
    );
    cfg.client_tag = tag.into();
    Ok(sfclient::Client::connect(cfg).await?)
}
