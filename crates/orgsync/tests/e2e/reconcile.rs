//! `orgsync reconcile` end to end: records nobody synced are found and, with `--repair`,
//! queued and applied by the command itself; a value changed behind orgsync's back is found by
//! a full dry run (exit 1, nothing written) and repaired; `orgsync status` shows the last run.

use serde_json::Value;

use crate::support::{emulator, org_table, text};

fn orgsync(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let o = crate::support::run(dir, args);
    let (out, err) = text(&o);
    (o.status.code(), out, err)
}

fn names(org: &sfemu::server::RunningOrg) -> Vec<(String, String, String)> {
    let o = &org.state.org;
    let user = o.default_user().id.clone();
    let soql = "SELECT Id, Name, Status__c FROM Work_Item__c ORDER BY Name";
    let rows = o.query(&user, soql, false, 2000, "62.0").unwrap().records;
    rows.iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (s("Id"), s("Name"), s("Status__c"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_finds_reports_and_repairs() {
    let emu = emulator(&["a", "b"]).await;
    let mut cfg = String::new();
    for o in emu.orgs() {
        cfg += &org_table(&o.name, &o.base_url);
    }
    cfg += "[topology]\nkind = \"peer\"\norgs = [\"a\", \"b\"]\n\n[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Status__c\"]\n\n[engine]\nstate = \"ledger.db\"\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orgsync.toml"), cfg).unwrap();
    let a = emu.org("a").unwrap();
    let b = emu.org("b").unwrap();
    let org_a = &a.state.org;
    let caller = sfemu_org::Caller {
        user_id: org_a.default_user().id.clone(),
        api: "rest".into(),
        api_version: "62.0".into(),
        client: Some("test".into()),
    };
    let ops = (0..3)
        .map(|i| {
            let mut fields = serde_json::Map::new();
            fields.insert("Name".into(), Value::from(format!("w{i}")));
            fields.insert("Status__c".into(), Value::from("New"));
            sfemu_org::DmlOp::Create {
                object: "Work_Item__c".into(),
                fields,
            }
        })
        .collect();
    assert!(org_a.apply(&caller, ops, true).iter().all(Result::is_ok));
    let path = dir.path().to_path_buf();
    let cli = move |args: &'static [&'static str]| {
        let path = path.clone();
        tokio::task::spawn_blocking(move || orgsync(&path, args))
    };

    // a dry run: three records nobody synced, nothing written (exit 1: drift left)
    let (code, out, err) = cli(&["reconcile", "--dry-run", "--json"]).await.unwrap();
    assert_eq!(code, Some(1), "{out}\n{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    let drifts = r["drifts"].as_array().unwrap();
    assert_eq!(drifts.len(), 3, "{out}");
    assert!(
        drifts
            .iter()
            .all(|d| d["class"] == "unknown_new" && d["org"] == "a")
    );
    assert!(
        drifts
            .iter()
            .all(|d| d["global_id"].is_null() && d["local_id"].is_string())
    );
    assert_eq!(r["queued"], 0);
    assert!(names(b).is_empty(), "a dry run writes nothing");

    // repair: queued, then applied by the command itself
    let (code, out, err) = cli(&["reconcile", "--repair", "--json"]).await.unwrap();
    assert_eq!(code, Some(0), "{out}\n{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["queued"], 3, "{out}");
    let on_b = names(b);
    assert_eq!(on_b.len(), 3, "{on_b:?}");

    // b falls behind without any trace (a direct edit: no SystemModstamp, no change log)
    let (w1_b, _, _) = on_b[1].clone();
    let mut edit = serde_json::Map::new();
    edit.insert("Status__c".into(), Value::from("Behind"));
    b.state
        .org
        .direct_edit("Work_Item__c", &w1_b, &edit)
        .unwrap();
    let (code, out, _) = cli(&["reconcile", "--full"]).await.unwrap();
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("Drifted records"), "{out}");
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("stale"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("status__c") && line.contains("restore"),
        "{line}"
    );
    assert_eq!(names(b)[1].2, "Behind", "a report-only run writes nothing");
    let (code, out, err) = cli(&["reconcile", "--full", "--repair"]).await.unwrap();
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("1 queued, 1 applied"), "{out}");
    assert_eq!(names(b)[1].2, "New", "restored to the agreed value");

    // status shows the last run
    let (code, out, _) = cli(&["status", "--config", "orgsync.toml"]).await.unwrap();
    assert_eq!(code, Some(0));
    let line = out
        .lines()
        .find(|l| l.starts_with("Last reconcile"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("full pass, repair") && line.contains("1 drifted (stale 1)"),
        "{line}"
    );
    assert!(line.contains("1 repairs queued, 1 applied"), "{line}");
    emu.shutdown().await;
}
