//! `[monitor]`: the Sync Monitor's admin password, from the environment, never printed.

use orgsync_core::config::*;

const MIN: &str = r#"
[orgs.a]
login_url = "https://login.salesforce.com"
auth = { flow = "client_credentials", client_id = "id", client_secret = "s" }

[orgs.b]
login_url = "https://test.salesforce.com"
auth = { flow = "client_credentials", client_id = "id", client_secret = "s" }

[topology]
kind = "peer"
orgs = ["a", "b"]

[[sync]]
object = "Account"
fields = ["Name"]
"#;

fn load(text: &str, password: &str) -> Result<Settings, ConfigError> {
    let password = password.to_string();
    Settings::from_files(&[("orgsync.toml", text)], &move |v| {
        (v == "ADMIN").then(|| password.clone())
    })
}

#[test]
fn no_monitor_table_means_no_dashboard() {
    assert!(load(MIN, "x").unwrap().monitor.is_none());
}

#[test]
fn the_password_comes_from_the_environment_and_is_never_printed() {
    let text = format!("{MIN}\n[monitor]\nadmin_password = \"${{ADMIN}}\"\n");
    let s = load(&text, "correct horse battery").unwrap();
    let m = s.monitor.clone().unwrap();
    assert_eq!(m.admin_password.expose(), "correct horse battery");
    assert!(!format!("{s:?}").contains("correct horse"));
}

#[test]
fn a_short_or_missing_password_is_refused_with_a_fix() {
    let text = format!("{MIN}\n[monitor]\nadmin_password = \"${{ADMIN}}\"\n");
    let e = load(&text, "short").unwrap_err().to_string();
    assert!(e.contains("admin_password is shorter than 12"), "{e}");
    assert!(e.contains("fix:"), "{e}");
    assert!(!e.contains("short\""), "the value is not echoed: {e}");
    let e = load(&format!("{MIN}\n[monitor]\n"), "x")
        .unwrap_err()
        .to_string();
    assert!(e.contains("[monitor] has no admin_password"), "{e}");
}
