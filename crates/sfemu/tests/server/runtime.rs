//! TLS, config files with several orgs, data-dir persistence, the binary.

use super::*;

#[tokio::test]
async fn tls_with_the_generated_certificate() {
    let t = common::start_with(EmulatorConfig::single_org().with_tls(true)).await;
    assert!(t.base.starts_with("https://127.0.0.1:"));
    let pem = t.org().ca_pem.clone().unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(t.get("/limits").await.status(), 200);
    // A client that does not trust the certificate cannot connect.
    let other = reqwest::Client::builder()
        .tls_certs_only([])
        .build()
        .unwrap();
    assert!(other.get(t.data("/limits")).send().await.is_err());
    t.shutdown().await;
}

#[tokio::test]
async fn config_file_with_two_orgs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sfemu.toml");
    std::fs::write(
        dir.path().join("seed.json"),
        r#"{"Account": [{"Name": "Seeded"}]}"#,
    )
    .unwrap();
    std::fs::write(
        &path,
        r#"
[[org]]
name = "alpha"
port = 0
org_id = "00D000000000001EAA"
seed = "seed.json"
[[org.users]]
username = "ops@alpha.test"
password = "pw"
security_token = "TOK"

[[org]]
name = "beta"
port = 0
org_id = "00D000000000002"
daily_api_requests = 7
"#,
    )
    .unwrap();
    let config = EmulatorConfig::from_toml_file(&path).unwrap();
    common::init();
    let emu = common::Emulator::start(config).await.unwrap();
    let (a, b) = (emu.org("alpha").unwrap(), emu.org("beta").unwrap());
    assert_eq!(a.org_id, "00D000000000001EAA");
    assert_eq!(b.org_id, "00D000000000002EAA");
    assert_ne!(a.base_url, b.base_url);
    let http = common::client_for(a);
    // alpha's user logs in with password + security token; the default admin is not there.
    let r = http
        .post(format!("{}/services/oauth2/token", a.base_url))
        .form(&[
            ("grant_type", "password"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("username", "ops@alpha.test"),
            ("password", "pwTOK"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token = json(r).await["access_token"].as_str().unwrap().to_string();
    let r = http
        .post(format!("{}/services/oauth2/token", a.base_url))
        .form(&[
            ("grant_type", "password"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("username", "ops@alpha.test"),
            ("password", "pw"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        400,
        "the security token is required when the user has one"
    );
    assert!(token.starts_with("00D000000000001!"));
    // alpha's token means nothing to beta.
    let r = http
        .get(format!("{}/services/data/v66.0/limits", b.base_url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let beta_token = common::password_token(&http, &b.base_url).await;
    let r = http
        .get(format!("{}/services/data/v66.0/limits", b.base_url))
        .bearer_auth(&beta_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["sforce-limit-info"], "api-usage=1/7");
    let org = json(
        http.get(format!("{}/__sfemu/org", a.base_url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(org["counts"]["Account"], 1, "seed loaded");
    emu.shutdown().await;
}

#[tokio::test]
async fn data_dir_persists_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = || EmulatorConfig::single_org().with_data_dir(dir.path());
    common::init();
    let emu = common::Emulator::start(config()).await.unwrap();
    let org_id = emu.orgs()[0].org_id.clone();
    let org = &emu.orgs()[0].state.org;
    let admin = org.user_by_username(USERNAME).unwrap();
    let caller = sfemu_org::Caller {
        user_id: admin.id,
        api: "rest".into(),
        api_version: "66.0".into(),
        client: None,
    };
    let mut fields = serde_json::Map::new();
    fields.insert("Name".into(), json!("Kept"));
    assert!(
        org.apply(
            &caller,
            vec![sfemu_org::DmlOp::Create {
                object: "Account".into(),
                fields
            }],
            true
        )[0]
        .is_ok()
    );
    emu.shutdown().await;

    let emu = common::Emulator::start(config()).await.unwrap();
    assert_eq!(emu.orgs()[0].org_id, org_id, "same org id after restart");
    let counts: std::collections::HashMap<_, _> = emu.orgs()[0]
        .state
        .org
        .record_counts()
        .into_iter()
        .collect();
    assert_eq!(counts.get("Account"), Some(&1));
    emu.shutdown().await;
}

#[test]
fn binary_rejects_a_bad_config_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[[org]]\nname = \"a\"\norg_id = \"nope\"\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sfemu"))
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:3: org_id", path.display())),
        "{err}"
    );
}

#[tokio::test]
async fn changed_orgs_are_saved_while_running() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = EmulatorConfig::single_org().with_data_dir(dir.path());
    config.save_interval = std::time::Duration::from_secs(1);
    let spec = config.orgs[0].spec.clone();
    common::init();
    let emu = common::Emulator::start(config).await.unwrap();
    let org = &emu.orgs()[0].state.org;
    let admin = org.user_by_username(USERNAME).unwrap();
    let caller = sfemu_org::Caller {
        user_id: admin.id,
        api: "rest".into(),
        api_version: "66.0".into(),
        client: None,
    };
    let mut fields = serde_json::Map::new();
    fields.insert("Name".into(), json!("Saved while running"));
    let op = sfemu_org::DmlOp::Create {
        object: "Account".into(),
        fields,
    };
    assert!(org.apply(&caller, vec![op], true)[0].is_ok());
    // Wait (generously) for the periodic save, without shutting down: another Org opened from
    // the same directory sees the record.
    let org_dir = dir.path().join("sfemu");
    let mut seen = false;
    for _ in 0..30 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if std::fs::read_dir(&org_dir).is_ok_and(|mut d| d.next().is_some()) {
            let copy = sfemu_org::Org::open(spec.clone(), &org_dir).unwrap();
            if copy
                .record_counts()
                .iter()
                .any(|(o, n)| o == "Account" && *n == 1)
            {
                seen = true;
                break;
            }
        }
    }
    let files: Vec<_> = std::fs::read_dir(&org_dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(
        seen,
        "the org was not saved within 30 s: {files:?} last seq {}",
        org.last_change_seq()
    );
    emu.shutdown().await;
}
