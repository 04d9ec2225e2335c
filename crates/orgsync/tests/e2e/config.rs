//! Bad configurations exit with 2 and a message naming the file and the line; a good one
//! validates.

use crate::support::{run, text};

fn write(dir: &std::path::Path, body: &str) {
    std::fs::write(dir.join("orgsync.toml"), body).unwrap();
}

const GOOD: &str = r#"
[orgs.a]
login_url = "http://127.0.0.1:9"
auth = { flow = "password", client_id = "c", client_secret = "s", username = "u", password = "p" }

[orgs.b]
login_url = "http://127.0.0.1:9"
auth = { flow = "client_credentials", client_id = "c", client_secret = "${E2E_SECRET_B}" }

[topology]
kind = "peer"
orgs = ["a", "b"]

[[sync]]
object = "Account"
fields = ["Name", "Phone"]
"#;

#[test]
fn bad_configs_exit_2_naming_file_and_line() {
    // (body, line the error must name, a word the message must contain)
    let cases: &[(&str, &str, &str)] = &[
        ("[orgs.a]\nlogin_url = 5\n", ":2:", "string"),
        (
            "[orgs.a]\nlogin_url = \"http://127.0.0.1:9\"\nauth = { flow = \"password\" }\n",
            ":3:",
            "client_id",
        ),
        (
            "[orgs.a]\nlogin_url = \"http://127.0.0.1:9\"\nbogus_key = 1\n",
            ":3:",
            "bogus_key",
        ),
        (
            &GOOD.replace("\"${E2E_SECRET_B}\"", "\"${E2E_NOT_SET_ANYWHERE}\""),
            ":8:",
            "E2E_NOT_SET_ANYWHERE",
        ),
        (
            &GOOD
                .replace("kind = \"peer\"", "kind = \"star\"")
                .replace("${E2E_SECRET_B}", "literal"),
            ":11:",
            "star",
        ),
        ("this is = = not toml\n", ":1:", ""),
    ];
    for (body, line, word) in cases {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), body);
        for args in [
            &["config", "validate"][..],
            &["run", "--config", "orgsync.toml"],
            &["check"],
            &["status", "--config", "orgsync.toml"],
        ] {
            let o = run(dir.path(), args);
            let (out, err) = text(&o);
            assert_eq!(
                o.status.code(),
                Some(2),
                "{args:?} on\n{body}\nstdout: {out}\nstderr: {err}"
            );
            assert!(
                err.contains(&format!("orgsync.toml{line}")),
                "{args:?}: no file:line {line} in: {err}"
            );
            assert!(err.contains(word), "{args:?}: `{word}` not in: {err}");
            assert!(err.contains("fix:"), "no fix line: {err}");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
}

#[test]
fn missing_config_file_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(dir.path(), &["config", "validate", "--config", "nope.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("nope.toml"));
}

#[test]
fn good_config_validates() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), GOOD);
    let o = crate::support::bin()
        .current_dir(dir.path())
        .env("E2E_SECRET_B", "s3cret-value")
        .args(["config", "validate"])
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(out.starts_with("OK"), "{out}");
    assert!(!out.contains("s3cret-value") && !err.contains("s3cret-value"));
}

#[test]
fn status_and_retry_on_an_empty_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(dir.path(), &["status", "--state", "x.db", "--json"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["failed_items"], serde_json::json!([]));
    let o = run(dir.path(), &["retry", "--state", "x.db"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o).0.contains("0 failed item(s) queued again"));
}
