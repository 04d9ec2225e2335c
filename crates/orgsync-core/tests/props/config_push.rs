//! Config keys of the push side: push_token / push_secret, [api], backup_interval.

use std::time::Duration;

use orgsync_core::config::*;

fn load(text: &str) -> Result<Settings, ConfigError> {
    Settings::from_files(&[("orgsync.toml", text)], &|v| {
        Some(format!("value-of-{v}-long-enough"))
    })
}

fn err(text: &str) -> String {
    load(text).unwrap_err().to_string()
}

const MIN: &str = r#"
[orgs.a]
login_url = "https://login.salesforce.com"
auth = { flow = "client_credentials", client_id = "id", client_secret = "s" }
#A

[orgs.b]
login_url = "https://test.salesforce.com"
auth = { flow = "client_credentials", client_id = "id", client_secret = "s" }
#B

[topology]
kind = "peer"
orgs = ["a", "b"]

[[sync]]
object = "Account"
fields = ["Name"]
#SYNC
"#;

#[test]
fn defaults_serve_nothing_and_keep_limits() {
    let s = load(MIN).unwrap();
    assert!(!s.serves_push());
    assert_eq!(s.api, ApiSettings::default());
    assert_eq!(s.api.max_body, 5 << 20);
    assert!(s.orgs["a"].push_token.is_none());
}

#[test]
fn push_token_from_env_is_secret_and_turns_the_server_on() {
    let s = load(&MIN.replace("#A", "push_token = \"${A_TOKEN}\"")).unwrap();
    assert_eq!(
        s.orgs["a"].push_token.as_ref().unwrap().expose(),
        "value-of-A_TOKEN-long-enough"
    );
    assert!(s.serves_push());
    assert!(!format!("{s:?}").contains("value-of-A_TOKEN"));
}

#[test]
fn short_shared_and_orphan_secrets_are_errors() {
    assert_eq!(
        err(&MIN.replace("#A", "push_token = \"short\"")),
        "orgsync.toml:5:14: push_token of org `a` is shorter than 16 characters\n  fix: use a long random value (e.g. `openssl rand -hex 32`) from an environment variable: \"${PUSH_TOKEN_A}\""
    );
    let text = MIN
        .replace("#A", "push_token = \"${SAME}\"")
        .replace("#B", "push_token = \"${SAME}\"");
    assert_eq!(
        err(&text),
        "orgsync.toml:10:14: org `b` has the same push_token as `a`\n  fix: give every org its own push_token: the token tells which org is pushing"
    );
    let e = err(&MIN.replace("#B", "push_secret = \"${B_SECRET}\""));
    assert!(
        e.starts_with("orgsync.toml:10:15: org `b` has push_secret but no push_token"),
        "{e}"
    );
}

#[test]
fn api_table_sizes_and_window() {
    let s = load(&format!(
        "{MIN}\n[api]\npush_window = \"60s\"\nmax_body = 2048\noutbound_max_body = \"512KiB\"\n"
    ))
    .unwrap();
    assert_eq!(s.api.push_window, Duration::from_secs(60));
    assert_eq!(s.api.max_body, 2048);
    assert_eq!(s.api.outbound_max_body, 512 * 1024);
    let e = err(&format!(
        "{MIN}\n[api]\npush_window = \"2h\"\nmax_body = \"5 parsecs\"\noutbound_max_body = 10\n"
    ));
    assert_eq!(
        e,
        "orgsync.toml:22:15: push_window `2h` is out of range\n  fix: use a duration from 10s to 1h\n\
         orgsync.toml:23:12: max_body \"5 parsecs\" is not a size\n  fix: write bytes as an integer or a number with a unit, e.g. \"5MiB\", \"512KiB\"\n\
         orgsync.toml:24:21: outbound_max_body 10 is out of range\n  fix: use a size from 1KiB to 100MiB"
    );
    assert!(err(&format!("{MIN}\n[api]\nlisten = \"x\"\n")).contains("unknown field `listen`"));
}

#[test]
fn api_limits_default_and_validate_with_file_and_line() {
    let d = load(MIN).unwrap().api;
    assert_eq!(d.max_records, 200);
    assert_eq!(
        d.push_rate,
        PushRate {
            requests: 600,
            per: Duration::from_secs(3600)
        }
    );
    assert_eq!(d.push_rate.to_string(), "600/h");
    assert_eq!(d.push_burst, 60);
    assert_eq!(d.header_timeout, Duration::from_secs(10));
    assert_eq!(d.body_timeout, Duration::from_secs(30));
    assert_eq!(d.max_connections, 256);
    let s = load(&format!(
        "{MIN}\n[api]\nmax_records = 5\npush_rate = \"10/min\"\npush_burst = 2\nheader_timeout = \"500ms\"\nbody_timeout = \"2s\"\nmax_connections = 8\n"
    ))
    .unwrap()
    .api;
    assert_eq!(s.max_records, 5);
    assert_eq!(s.push_rate.to_string(), "10/min");
    assert_eq!(s.push_rate.per, Duration::from_secs(60));
    assert_eq!(s.push_burst, 2);
    assert_eq!(s.header_timeout, Duration::from_millis(500));
    assert_eq!(s.body_timeout, Duration::from_secs(2));
    assert_eq!(s.max_connections, 8);
    let e = err(&format!(
        "{MIN}\n[api]\nmax_records = 0\npush_rate = \"lots\"\npush_burst = 100000\nheader_timeout = \"10ms\"\nbody_timeout = \"1h\"\nmax_connections = -1\n"
    ));
    assert_eq!(
        e,
        "orgsync.toml:22:15: max_records 0 is out of range\n  fix: use a whole number from 1 to 10000\n\
         orgsync.toml:23:13: push_rate `lots` is not a rate\n  fix: write requests per s, min or h, from 1 to 1000000, e.g. \"600/h\" or \"10/min\"\n\
         orgsync.toml:24:14: push_burst 100000 is out of range\n  fix: use a whole number from 1 to 10000\n\
         orgsync.toml:25:18: header_timeout `10ms` is out of range\n  fix: use a duration from 100ms to 5m\n\
         orgsync.toml:26:16: body_timeout `1h` is out of range\n  fix: use a duration from 100ms to 10m\n\
         orgsync.toml:27:19: max_connections -1 is out of range\n  fix: use a whole number from 1 to 65536"
    );
    for bad in ["0/h", "5/day", "/h", "5"] {
        let e = err(&format!("{MIN}\n[api]\npush_rate = \"{bad}\"\n"));
        assert!(e.contains("is not a rate"), "{bad}: {e}");
    }
}

/// The reference config lists every `[api]` key at its default.
#[test]
fn the_example_api_table_shows_the_defaults() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/orgsync.toml"
    ))
    .unwrap();
    let s = Settings::from_files(&[("orgsync.toml", &text)], &|v| {
        Some(format!("v-{v}-long-enough-x"))
    })
    .unwrap();
    assert_eq!(s.api, ApiSettings::default());
    let api = &text[text.find("\n[api]\n").unwrap()..];
    for key in [
        "push_window",
        "max_body",
        "outbound_max_body",
        "max_records",
        "push_rate",
        "push_burst",
        "header_timeout",
        "body_timeout",
        "max_connections",
    ] {
        assert!(
            api.contains(&format!("\n{key} = ")),
            "{key} missing from the example"
        );
    }
}

#[test]
fn backup_interval_for_push_captures_only() {
    let s = load(&MIN.replace("#SYNC", "capture = \"cdc\"")).unwrap();
    assert_eq!(s.syncs[0].interval, Duration::from_secs(900));
    let s =
        load(&MIN.replace("#SYNC", "capture = \"outbound\"\nbackup_interval = \"2h\"")).unwrap();
    assert_eq!(s.syncs[0].interval, Duration::from_secs(7200));
    assert!(s.serves_push());
    // the older spelling still works for cdc
    let s = load(&MIN.replace("#SYNC", "capture = \"cdc\"\ninterval = \"5m\"")).unwrap();
    assert_eq!(s.syncs[0].interval, Duration::from_secs(300));
    assert_eq!(
        err(&MIN.replace("#SYNC", "backup_interval = \"5m\"")),
        "orgsync.toml:19:19: backup_interval applies only to capture = \"cdc\" or \"outbound\"\n  fix: for capture = \"poll\" set interval instead"
    );
    let e = err(&MIN.replace(
        "#SYNC",
        "capture = \"cdc\"\ninterval = \"5m\"\nbackup_interval = \"5m\"",
    ));
    assert!(
        e.contains("both interval and backup_interval are set"),
        "{e}"
    );
    let e = err(&MIN.replace("#SYNC", "capture = \"cdc\"\nbackup_interval = \"2d\""));
    assert!(e.contains("backup_interval `2d` is out of range"), "{e}");
    assert!(e.contains("1s to 24h"), "{e}");
}

#[test]
fn sizes_parse() {
    assert_eq!(orgsync_core::config::parse_size("5MiB"), Some(5 << 20));
    assert_eq!(orgsync_core::config::parse_size("2 MB"), Some(2_000_000));
    assert_eq!(orgsync_core::config::parse_size("100"), Some(100));
    assert_eq!(orgsync_core::config::parse_size("MiB"), None);
    assert_eq!(
        orgsync_core::config::parse_size("99999999999999999999MiB"),
        None
    );
}

#[test]
fn pubsub_endpoint_is_an_https_host_or_left_out() {
    assert!(load(MIN).unwrap().orgs["a"].pubsub_endpoint.is_none());
    let eu = load(&MIN.replace(
        "#A",
        "pubsub_endpoint = \"https://api.deu.pubsub.salesforce.com:7443/\"",
    ))
    .unwrap();
    assert_eq!(
        eu.orgs["a"].pubsub_endpoint.as_deref(),
        Some("https://api.deu.pubsub.salesforce.com:7443")
    );
    let e = err(&MIN.replace(
        "#B",
        "pubsub_endpoint = \"http://api.pubsub.salesforce.com:7443\"",
    ));
    assert!(e.starts_with("orgsync.toml:10:19: "), "{e}");
    assert!(e.contains("uses plain http://"), "{e}");
    assert!(
        e.contains("api.deu.pubsub.salesforce.com"),
        "the fix names the EU endpoint: {e}"
    );
}
