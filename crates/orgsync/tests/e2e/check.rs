//! `orgsync check` against emulated orgs: a good setup passes (exit 0); an object whose
//! global-id field does not exist, or whose change events cannot be subscribed to with
//! `capture = "cdc"`, fails (exit 1) with a fix line.

use crate::support::{emulator, org_table, text};

/// Work_Item__c captures by change events (enabled in the emulated orgs); `account` is extra
/// TOML for the Account sync.
async fn check_with(global_id_field: &str, account: &str) -> (Option<i32>, String) {
    let emu = emulator(&["a", "b"]).await;
    let mut cfg = String::new();
    for o in emu.orgs() {
        cfg += &org_table(&o.name, &o.base_url);
    }
    cfg += &format!(
        "[topology]\nkind = \"peer\"\norgs = [\"a\", \"b\"]\n\n[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Status__c\"]\ncapture = \"cdc\"\n\n[[sync]]\nobject = \"Account\"\nfields = [\"Name\", \"Phone\"]\nglobal_id_field = \"{global_id_field}\"\n{account}"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orgsync.toml"), cfg).unwrap();
    let path = dir.path().to_path_buf();
    let o = tokio::task::spawn_blocking(move || {
        crate::support::run(&path, &["check", "--config", "orgsync.toml"])
    })
    .await
    .unwrap();
    let (out, err) = text(&o);
    emu.shutdown().await;
    (o.status.code(), format!("{out}\n--- stderr\n{err}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_passes_on_a_good_setup() {
    let (code, out) = check_with("OrgSync_Global_Id__c", "").await;
    assert_eq!(code, Some(0), "{out}");
    for line in [
        "a login",
        "b login",
        "a Account",
        "b Account",
        "a Work_Item__c",
        "b Work_Item__c",
    ] {
        assert!(out.contains(line), "`{line}` missing:\n{out}");
    }
    assert!(!out.contains("FAIL"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_fails_when_the_global_id_field_is_missing() {
    let (code, out) = check_with("No_Such_Global_Id__c", "").await;
    assert_eq!(code, Some(1), "{out}");
    let fail = out
        .lines()
        .find(|l| l.contains("FAIL") && l.contains("Account"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(fail.contains("Account"), "{fail}");
    assert!(
        out.contains("No_Such_Global_Id__c"),
        "the problem names the field: {out}"
    );
    assert!(out.contains("fix:"), "{out}");
    // Work_Item__c is fine on both orgs
    assert!(
        out.lines()
            .any(|l| l.starts_with("ok") && l.contains("Work_Item__c")),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_fails_when_change_data_capture_is_off_for_a_cdc_sync() {
    // the emulated orgs publish change events for Work_Item__c only
    let (code, out) = check_with("OrgSync_Global_Id__c", "capture = \"cdc\"\n").await;
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("FAIL") && l.contains("Account")),
        "{out}"
    );
    assert!(
        out.contains("Change Data Capture"),
        "the fix names the setting: {out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("ok") && l.contains("Work_Item__c")),
        "{out}"
    );
}
