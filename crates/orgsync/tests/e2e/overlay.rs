//! `orgsync sync …` writes the settings overlay into the ledger; `orgsync status` shows it,
//! `orgsync config export` prints the settings in effect as TOML, and the verbs refuse what
//! they cannot do with a message naming it.

use crate::support::{run, text};

const CONFIG: &str = r#"
[orgs.a]
login_url = "http://127.0.0.1:9"
auth = { flow = "password", client_id = "c", client_secret = "s", username = "u", password = "p" }

[orgs.b]
login_url = "http://127.0.0.1:9"
auth = { flow = "password", client_id = "c", client_secret = "s", username = "u", password = "p" }

[topology]
kind = "peer"
orgs = ["a", "b"]

[[sync]]
object = "Account"
fields = ["Name", "Phone"]
interval = "30s"

[engine]
state = "ledger.db"
"#;

fn ok(dir: &std::path::Path, args: &[&str]) -> String {
    let o = run(dir, args);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {out}{err}");
    out
}

#[test]
fn sync_verbs_write_the_overlay_that_status_and_export_show() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orgsync.toml"), CONFIG).unwrap();
    let d = dir.path();
    assert!(ok(d, &["sync", "pause", "account"]).contains("Account: paused"));
    ok(
        d,
        &[
            "sync",
            "set",
            "Account",
            "--capture",
            "cdc",
            "--interval",
            "5m",
        ],
    );
    let status = ok(d, &["status", "--config", "orgsync.toml"]);
    assert!(status.contains("Settings overlay"), "{status}");
    assert!(
        status.contains("cdc") && status.contains("300s") && status.contains("cli:"),
        "{status}"
    );
    let export = ok(d, &["config", "export"]);
    assert!(export.contains("object = \"Account\"\ncapture = \"cdc\"\nbackup_interval = \"5m\"\nenabled = false\n# changed by cli:"), "{export}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(d, &["status", "--config", "orgsync.toml", "--json"])).unwrap();
    assert_eq!(json["overlay"][0]["enabled"], false);

    // refusals name the problem
    for (args, word) in [
        (&["sync", "pause", "Case"][..], "known: Account"),
        (
            &["sync", "set", "Account", "--interval", "forever"],
            "forever",
        ),
        (&["sync", "set", "Account", "--capture", "bulk"], "bulk"),
    ] {
        let o = run(d, args);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {out}{err}");
        assert!(err.contains(word), "{args:?}: {err}");
    }
    // remove asks first, then cascades; restore forgets the overlay
    let o = run(d, &["sync", "remove", "Account"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).0.contains("Records already in the orgs stay"));
    assert!(ok(d, &["sync", "remove", "Account", "--yes"]).contains("removed"));
    let export = ok(d, &["config", "export"]);
    assert!(export.contains("was removed"), "{export}");
    assert!(ok(d, &["status", "--config", "orgsync.toml"]).contains("REMOVED"));
    ok(d, &["sync", "restore", "Account"]);
    let export = ok(d, &["config", "export"]);
    assert!(
        export.contains("capture = \"poll\"\ninterval = \"30s\"\nenabled = true"),
        "{export}"
    );
}
