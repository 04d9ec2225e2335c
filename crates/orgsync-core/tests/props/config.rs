//! Config loading: the example, overlays, and error messages that name file, line and fix.

use std::time::Duration;

use orgsync_core::config::*;
use orgsync_core::model::FieldValue;

fn load(text: &str) -> Result<Settings, ConfigError> {
    Settings::from_files(&[("orgsync.toml", text)], &|v| Some(format!("v-{v}")))
}

const MIN: &str = r#"
[orgs.a]
login_url = "https://login.salesforce.com"
auth = { flow = "client_credentials", client_id = "id", client_secret = "${A_SECRET}" }

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

fn err(text: &str) -> String {
    load(text).unwrap_err().to_string()
}

#[test]
fn the_example_file_is_valid_and_means_what_it_says() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/orgsync.toml"
    ))
    .unwrap();
    let s = Settings::from_files(&[("orgsync.toml", &text)], &|v| Some(format!("v-{v}"))).unwrap();
    assert_eq!(s.orgs.len(), 3);
    let names: Vec<&str> = s.orgs.keys().map(|k| k.as_str()).collect();
    assert_eq!(names, ["hub", "vendor_a", "vendor_b"]);
    assert_eq!(s.orgs["hub"].priority, 0);
    assert_eq!(s.orgs["vendor_a"].priority, 1);
    assert_eq!(s.orgs["vendor_b"].priority, 5);
    assert_eq!(s.orgs["hub"].role, Role::Hub);
    assert!(
        matches!(&s.orgs["vendor_a"].auth, Auth::ClientCredentials { client_secret, .. } if client_secret.expose() == "v-VENDOR_A_SECRET")
    );
    assert_eq!(
        s.topology,
        Topology::HubAndSpoke {
            hub: "hub".into(),
            spokes: vec!["vendor_a".into(), "vendor_b".into()]
        }
    );
    let opp = &s.syncs[1];
    assert_eq!(opp.capture, Capture::Cdc);
    assert!(opp.files);
    assert!(!s.syncs[0].files);
    assert_eq!(opp.interval, Duration::from_secs(900));
    assert_eq!(
        opp.fields[5],
        FieldMap {
            source: "Internal_Notes__c".into(),
            target: "Hub_Notes__c".into(),
            direction: Direction::ToTarget
        }
    );
    assert_eq!(opp.constants["Synced_From_Hub__c"], FieldValue::Bool(true));
    assert_eq!(opp.parents[0].target_relationship, "Account");
    assert_eq!(
        opp.parents[0].policy,
        ParentPolicy::Sync {
            object: "Account".into(),
            target_object: "Account".into()
        }
    );
    assert!(matches!(opp.start, Start::At(_)));
    assert_eq!(s.object_order, ["Account", "Opportunity", "Work_Item__c"]);
    assert_eq!(s.syncs[2].capture, Capture::Outbound);
    assert_eq!(s.syncs[2].interval, Duration::from_secs(900));
    let a = &s.orgs["vendor_a"];
    assert_eq!(
        a.push_token.as_ref().map(|t| t.expose()),
        Some("v-VENDOR_A_PUSH_TOKEN")
    );
    assert!(a.push_secret.is_some() && s.orgs["hub"].push_token.is_none());
    assert!(s.serves_push());
    assert_eq!(s.api.max_body, 5 * 1024 * 1024);
    assert_eq!(s.api.outbound_max_body, 1024 * 1024);
    assert_eq!(s.api.push_window, Duration::from_secs(300));
    assert_eq!(s.engine.batch_size, 200);
    assert_eq!(s.engine.state, StateLocation::Sqlite("orgsync.db".into()));
    // secrets never show in Debug output
    assert!(!format!("{s:?}").contains("v-VENDOR_A_SECRET"));
    assert!(!format!("{s:?}").contains("PUSH_"));
}

#[test]
fn defaults_apply() {
    let s = load(MIN).unwrap();
    let sync = &s.syncs[0];
    assert_eq!(sync.interval, Duration::from_secs(60));
    assert_eq!(sync.capture, Capture::Poll);
    assert_eq!(sync.conflict, ConflictPolicy::LastWriterWins);
    assert_eq!(sync.global_id_field, "OrgSync_Global_Id__c");
    assert_eq!(sync.start, Start::Everything);
    assert!(sync.enabled);
    assert_eq!(s.orgs["a"].api_version, "62.0");
    assert_eq!(s.orgs["a"].max_concurrent_requests, 10);
    assert_eq!(s.engine.client_tag, "orgsync");
    assert_eq!(s.engine.listen.to_string(), "127.0.0.1:8686");
    assert_eq!(s.engine.lookback, Duration::from_secs(5));
}

#[test]
fn unknown_key_names_file_line_and_fix() {
    let text = MIN.replace(
        "[[sync]]\nobject = \"Account\"",
        "[[sync]]\nobject = \"Account\"\nintervall = \"5m\"",
    );
    assert_eq!(
        err(&text),
        "orgsync.toml:16:1: unknown field `intervall`, expected one of `object`, `target_object`, `fields`, `constants`, `where`, `capture`, `interval`, `backup_interval`, `reconcile`, `conflict`, `parents`, `start`, `global_id_field`, `enabled`, `files`\n  fix: remove or rename this key; the keys allowed here are listed above"
    );
}

#[test]
fn syntax_error_is_located() {
    let e = err("[orgs.a]\nlogin_url = https://x\n");
    assert!(e.starts_with("orgsync.toml:2:13: not valid TOML"), "{e}");
}

#[test]
fn unknown_org_in_topology() {
    let text = MIN.replace("orgs = [\"a\", \"b\"]", "orgs = [\"a\", \"c\"]");
    let e = err(&text);
    assert!(e.contains("orgsync.toml:12:14: unknown org `c` in [topology]\n  fix: use one of the [orgs.<name>] tables: a, b"), "{e}");
    assert!(
        e.contains("org `b` is configured but not part of [topology]"),
        "{e}"
    );
}

#[test]
fn peer_needs_two_orgs() {
    let text = MIN.replace("orgs = [\"a\", \"b\"]", "orgs = [\"a\"]");
    assert!(err(&text).contains("orgsync.toml:12:8: a peer topology has exactly 2 orgs, found 1"));
}

#[test]
fn interval_out_of_range_and_bad_where() {
    let text = MIN.replace(
        "fields = [\"Name\"]",
        "fields = [\"Name\"]\ninterval = \"45m\"\nwhere = \"SELECT Id FROM Account\"",
    );
    let e = err(&text);
    assert_eq!(
        e,
        "orgsync.toml:17:12: interval `45m` is out of range\n  fix: use a duration from 1s to 30s\n"
            .replace("1s to 30s\n", "1s to 30m")
            + "\norgsync.toml:18:9: `where` is a query or starts with WHERE, not a condition\n  fix: write only the condition, e.g. where = \"StageName != 'Closed Lost' AND Amount > 0\""
    );
    let text = MIN.replace(
        "fields = [\"Name\"]",
        "fields = [\"Name\"]\nwhere = \"Name = 'x'; DELETE\"",
    );
    assert!(err(&text).contains("`where` contains `;`"));
    let text = MIN.replace(
        "fields = [\"Name\"]",
        "fields = [\"Name\"]\nwhere = \"Name != null ORDER BY Name LIMIT 5\"",
    );
    assert!(err(&text).contains("is a query or starts with WHERE"));
    let ok = MIN.replace("fields = [\"Name\"]", "fields = [\"Name\"]\nwhere = \"Name LIKE 'Limited%' AND (Amount > 0 OR Type = 'It\\\\'s')\"");
    let s = load(&ok).unwrap();
    assert_eq!(
        s.sync("account").unwrap().where_clause.as_deref(),
        Some("Name LIKE 'Limited%' AND (Amount > 0 OR Type = 'It\\'s')")
    );
    assert_eq!(s.priority(&OrgName::from("b")), 1);
}

#[test]
fn duplicate_objects_and_fields() {
    let text = format!(
        "{MIN}\n[[sync]]\nobject = \"Account\"\nfields = [\"Name\", {{ source = \"Name\", target = \"Other\" }}]\n"
    );
    let e = err(&text);
    assert!(
        e.contains(
            "orgsync.toml:19:10: object `Account` has two [[sync]] tables (the first is at line 15)"
        ),
        "{e}"
    );
    assert!(e.contains("source field `Name` is mapped twice"), "{e}");
}

#[test]
fn parent_policy_must_reference_a_listed_field_and_a_synced_object() {
    let text = MIN.replace(
        "fields = [\"Name\"]",
        "fields = [\"Name\", \"ParentId\", \"OwnerId\"]\nparents = [{ field = \"Missing__c\", policy = \"sync\", object = \"Account\" }, { field = \"OwnerId\", policy = \"sync\", object = \"User\" }]",
    );
    let e = err(&text);
    assert!(e.contains("parent policy for `Missing__c`, which is not in fields\n  fix: add \"Missing__c\" to fields"), "{e}");
    assert!(
        e.contains("parent object `User` of OwnerId has no [[sync]] table"),
        "{e}"
    );
}

#[test]
fn lookup_cycles_are_errors_but_self_lookups_are_fine() {
    let base = MIN.replace("fields = [\"Name\"]", "fields = [\"Name\", \"ParentId\", \"Contact__c\"]\nparents = [{ field = \"ParentId\", policy = \"sync\", object = \"Account\" }, { field = \"Contact__c\", policy = \"sync\", object = \"Contact\" }]");
    let ok = format!("{base}\n[[sync]]\nobject = \"Contact\"\nfields = [\"LastName\"]\n");
    let s = load(&ok).unwrap();
    assert_eq!(s.object_order, ["Contact", "Account"]);
    let cyclic = format!(
        "{base}\n[[sync]]\nobject = \"Contact\"\nfields = [\"LastName\", \"AccountId\"]\nparents = [{{ field = \"AccountId\", policy = \"sync\", object = \"Account\" }}]\n"
    );
    assert!(err(&cyclic).contains("parent lookups form a cycle between Account, Contact"));
}

#[test]
fn missing_env_var_is_named() {
    let e = Settings::from_files(&[("orgsync.toml", MIN)], &|_| None)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("orgsync.toml:4:74: environment variable `A_SECRET` is not set"),
        "{e}"
    );
}

#[test]
fn wrong_auth_flow_and_missing_credentials() {
    let e = err(&MIN.replace(
        "flow = \"client_credentials\", client_id = \"id\", client_secret = \"${A_SECRET}\"",
        "flow = \"saml\"",
    ));
    assert!(
        e.starts_with("orgsync.toml:4:17: unknown variant `saml`"),
        "{e}"
    );
    let e = err(&MIN.replace(", client_secret = \"${A_SECRET}\"", ""));
    assert!(e.contains("missing field `client_secret`"), "{e}");
}

#[test]
fn profile_overlay_merges_tables_from_real_files() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("orgsync.toml");
    std::fs::write(&base, MIN.replace("${A_SECRET}", "base")).unwrap();
    std::fs::write(
        dir.path().join("orgsync.prod.toml"),
        "[orgs.a]\nlogin_url = \"https://prod.my.salesforce.com\"\n[engine]\nbatch_size = 500\n",
    )
    .unwrap();
    let s = Settings::load(&base, None).unwrap();
    assert_eq!(s.orgs["a"].login_url, "https://login.salesforce.com");
    let e = Settings::load(&base, Some("prod")).unwrap_err().to_string();
    // the error points into the profile file, and the merged org kept its base auth
    assert!(
        e.starts_with(&format!(
            "{}:4:14: batch_size 500 is out of range",
            dir.path().join("orgsync.prod.toml").display()
        )),
        "{e}"
    );
    std::fs::write(
        dir.path().join("orgsync.prod.toml"),
        "[orgs.a]\nlogin_url = \"https://prod.my.salesforce.com\"\n",
    )
    .unwrap();
    let s = Settings::load(&base, Some("prod")).unwrap();
    assert_eq!(s.orgs["a"].login_url, "https://prod.my.salesforce.com");
    assert!(
        matches!(&s.orgs["a"].auth, Auth::ClientCredentials { client_secret, .. } if client_secret.expose() == "base")
    );
    let e = Settings::load(&base, Some("qa")).unwrap_err().to_string();
    assert!(
        e.contains("profile `qa` was chosen but its file does not exist"),
        "{e}"
    );
}

#[test]
fn unknown_keys_inside_auth_and_field_tables_and_wrong_types() {
    let e = err(&MIN.replace(
        "client_id = \"id\", client_secret = \"${A_SECRET}\"",
        "client_id = \"id\", client_secret = \"x\", scope = \"api\"",
    ));
    assert!(e.starts_with("orgsync.toml:4:"), "{e}");
    assert!(e.contains("unknown field `scope`"), "{e}");
    let e = err(&MIN.replace(
        "fields = [\"Name\"]",
        "fields = [\"Name\", { source = \"A__c\", tgt = \"B__c\" }]",
    ));
    assert!(e.starts_with("orgsync.toml:16:"), "{e}");
    assert!(e.contains("unknown field `tgt`"), "{e}");
    let e = err(&MIN.replace("[orgs.b]", "[orgs.b]\npriority = \"high\""));
    assert!(
        e.starts_with("orgsync.toml:7:12: invalid type: string \"high\", expected i64"),
        "{e}"
    );
    assert!(e.contains("fix: correct the value's type"), "{e}");
}

#[test]
fn files_flag_and_its_misuse_on_file_objects() {
    let on = MIN.replace("fields = [\"Name\"]", "fields = [\"Name\"]\nfiles = true");
    assert!(load(&on).unwrap().syncs[0].files);
    assert!(!load(MIN).unwrap().syncs[0].files);
    let bad = MIN
        .replace("object = \"Account\"", "object = \"ContentVersion\"")
        .replace("fields = [\"Name\"]", "fields = [\"Title\"]\nfiles = true");
    let e = err(&bad);
    assert!(
        e.contains(
            "orgsync.toml:17:9: `files = true` on a sync of ContentVersion: files belong to records"
        ),
        "{e}"
    );
    assert!(
        e.contains("fix: set files = true on the [[sync]] of the object"),
        "{e}"
    );
    let typed = MIN.replace(
        "fields = [\"Name\"]",
        "fields = [\"Name\"]\nfiles = \"yes\"",
    );
    assert!(
        err(&typed).starts_with("orgsync.toml:17:9:"),
        "{}",
        err(&typed)
    );
}

#[test]
fn reconcile_schedule_defaults_to_daily_and_a_sync_may_override_or_turn_it_off() {
    let s = load(MIN).unwrap();
    assert_eq!(s.engine.reconcile, Some(Duration::from_secs(86_400)));
    assert_eq!(
        s.reconcile_every(&s.syncs[0]),
        Some(Duration::from_secs(86_400))
    );
    let text = format!(
        "{MIN}reconcile = \"off\"\n\n[[sync]]\nobject = \"Contact\"\nfields = [\"LastName\"]\nreconcile = \"6h\"\n\n[engine]\nreconcile = \"12h\"\n"
    );
    let s = load(&text).unwrap();
    assert_eq!(s.engine.reconcile, Some(Duration::from_secs(12 * 3600)));
    assert_eq!(s.reconcile_every(&s.syncs[0]), None, "off for Account");
    assert_eq!(
        s.reconcile_every(&s.syncs[1]),
        Some(Duration::from_secs(6 * 3600))
    );
    let e = err(&format!("{MIN}reconcile = \"5s\"\n"));
    assert!(e.contains("reconcile") && e.contains("1m to 30d"), "{e}");
}
