//! Reconciliation end to end: three emulated orgs (hub and two spokes) synced by the engine,
//! then drift of every class made behind orgsync's back (the emulator's direct edits and
//! purges, which leave no change log, or user edits while no engine runs): a dry run reports
//! each class and writes nothing; a repair queues through the ledger and the engine
//! converges every org; a quick pass with nothing drifted costs at most 3 calls per org and
//! object, counted by the emulator.

use std::collections::BTreeMap;
use std::sync::Arc;

use orgsync_core::reconcile::{DriftClass, Fix, Mode, PassKind, Report};
use orgsync_core::{GlobalId, Settings};
use orgsync_engine::EngineOptions;
use orgsync_engine::reconcile::{ReconcileRequest, reconcile, save_report};
use orgsync_store::{ItemFilter, ItemState, Store};
use serde_json::{Value, json};

use crate::support::*;

const ORGS: &[&str] = &["hub", "v1", "v2"];
pub(crate) const SYNCS: &str = "[topology]\nkind = \"hub_and_spoke\"\nhub = \"hub\"\nspokes = [\"v1\", \"v2\"]\n\
[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Status__c\", \"Account__c\"]\ninterval = \"30m\"\n\
parents = [{ field = \"Account__c\", policy = \"sync\", object = \"Account\" }]\n\n\
[[sync]]\nobject = \"Account\"\nfields = [\"Name\"]\ninterval = \"30m\"\n";
pub(crate) const FIELDS: &[&str] = &["Name", "Status__c"];

async fn run(env: &Env, settings: &Settings, full: bool, mode: Mode) -> Report {
    let opts = EngineOptions {
        lease_owner: "reconcile-test".into(),
        ..EngineOptions::default()
    };
    let req = ReconcileRequest {
        objects: Vec::new(),
        full,
        mode,
    };
    let store = Arc::new(env.store().await);
    let report = reconcile(settings.clone(), store.clone(), &opts, &req, &|_| {})
        .await
        .unwrap();
    save_report(store.as_ref(), &report).await.unwrap();
    report
}

/// A direct edit on the emulated org: no change log, no trace for capture.
pub(crate) async fn raw_edit(env: &Env, org: &str, object: &str, id: &str, body: Value) {
    let r = env
        .http
        .patch(format!("{}/__sfemu/records/{object}/{id}", env.base(org)))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "raw edit {org} {id}");
}

pub(crate) async fn purge(env: &Env, org: &str, object: &str, id: &str) {
    let r = env
        .http
        .delete(format!("{}/__sfemu/records/{object}/{id}", env.base(org)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "purge {org} {id}");
}

fn find<'a>(
    r: &'a Report,
    class: DriftClass,
    org: &str,
) -> Vec<&'a orgsync_core::reconcile::Drift> {
    r.drifts
        .iter()
        .filter(|d| d.class == class && d.org.as_str() == org)
        .collect()
}

async fn open_items(env: &Env) -> usize {
    let mut n = 0;
    for st in [ItemState::Queued, ItemState::InFlight, ItemState::Pending] {
        n += env
            .items(ItemFilter {
                state: Some(st),
                ..Default::default()
            })
            .await
            .len();
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_drift_class_found_repaired_and_a_quiet_quick_pass_is_cheap() {
    let env = start(ORGS, |_| vec![]).await;
    let hub = env.user("hub").await;
    let acme = create(&hub, "Account", json!({"Name": "Acme"})).await;
    let beta = create(&hub, "Account", json!({"Name": "Beta"})).await;
    let mut w = Vec::new();
    for i in 0..6 {
        w.push(
            create(
                &hub,
                "Work_Item__c",
                json!({"Name": format!("w{i}"), "Status__c": "New", "Account__c": acme}),
            )
            .await,
        );
    }
    let settings = env.settings(ORGS, SYNCS);
    let engine = env.engine(settings.clone()).await;
    assert!(engine.wait_idle(IDLE).await);
    engine.shutdown().await;
    let (v1, v2) = (env.user("v1").await, env.user("v2").await);
    let on = |c, i: usize| {
        let id = w[i].clone();
        async move { local_id(c, "Work_Item__c", &id).await.unwrap() }
    };

    // converged: a first (full) run finds nothing
    let clean = run(&env, &settings, false, Mode::DryRun).await;
    assert!(clean.drifts.is_empty(), "{:?}", clean.drifts);
    assert!(
        clean.passes.iter().all(|p| p.kind == PassKind::Full),
        "no previous run: full"
    );

    // ---- drift, behind orgsync's back ------------------------------------------------------
    // v1 behind: a value changed without a new SystemModstamp (a restore, a lost write)
    let w0_v1 = on(&v1, 0).await;
    raw_edit(
        &env,
        "v1",
        "Work_Item__c",
        &w0_v1,
        json!({"Status__c": "Behind"}),
    )
    .await;
    // v2: an edit capture missed (stamped like a real edit)
    let w1_v2 = on(&v2, 1).await;
    let now = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
        .to_string();
    raw_edit(
        &env,
        "v2",
        "Work_Item__c",
        &w1_v2,
        json!({"Status__c": "Missed", "SystemModstamp": now, "LastModifiedDate": now}),
    )
    .await;
    // v1: a lookup pointing at the wrong parent
    let w2_v1 = on(&v1, 2).await;
    let beta_v1 = local_id(&v1, "Account", &beta).await.unwrap();
    raw_edit(
        &env,
        "v1",
        "Work_Item__c",
        &w2_v1,
        json!({"Account__c": beta_v1}),
    )
    .await;
    // v2: a copy gone for good (not even in the recycle bin)
    let w3_v2 = on(&v2, 3).await;
    purge(&env, "v2", "Work_Item__c", &w3_v2).await;
    // v1: deleted there only (no engine running to capture it)
    let w4_v1 = on(&v1, 4).await;
    env.delete_direct("v1", &w4_v1).await;
    // hub: a record nobody synced
    let fresh = create(
        &hub,
        "Work_Item__c",
        json!({"Name": "fresh", "Status__c": "New"}),
    )
    .await;
    // v2: w5's copy vanished and another copy carries its global id
    let w5_v2 = on(&v2, 5).await;
    let w5_gid = env
        .store()
        .await
        .record_by_local_id(&orgsync_core::OrgName("v2".into()), "Work_Item__c", &w5_v2)
        .await
        .unwrap()
        .unwrap()
        .global_id;
    purge(&env, "v2", "Work_Item__c", &w5_v2).await;
    let adopted = create(
        &v2,
        "Work_Item__c",
        json!({"Name": "w5", "Status__c": "Other"}),
    )
    .await;
    raw_edit(
        &env,
        "v2",
        "Work_Item__c",
        &adopted,
        json!({"OrgSync_Global_Id__c": w5_gid.to_string()}),
    )
    .await;
    // v1: a second live copy carrying w1's global id
    let w1_gid: GlobalId = env
        .store()
        .await
        .record_by_local_id(&orgsync_core::OrgName("hub".into()), "Work_Item__c", &w[1])
        .await
        .unwrap()
        .unwrap()
        .global_id;
    let twin = create(
        &v1,
        "Work_Item__c",
        json!({"Name": "w1", "Status__c": "New"}),
    )
    .await;
    raw_edit(
        &env,
        "v1",
        "Work_Item__c",
        &twin,
        json!({"OrgSync_Global_Id__c": w1_gid.to_string()}),
    )
    .await;

    // ---- dry run: every class reported, nothing written ------------------------------------
    let writes_before: Vec<u64> =
        futures::future::join_all(ORGS.iter().map(|o| env.writes(o))).await;
    let items_before = open_items(&env).await;
    let dry = run(&env, &settings, true, Mode::DryRun).await;
    let one = |class, org: &str| {
        let f = find(&dry, class, org);
        assert_eq!(f.len(), 1, "{class:?} in {org}: {:?}", dry.drifts);
        f[0].clone()
    };
    let d = one(DriftClass::Stale, "v1");
    assert_eq!(
        (d.local_id.as_deref(), d.fix),
        (Some(w0_v1.as_str()), Fix::Restore)
    );
    assert_eq!(d.fields, ["status__c"]);
    let d = one(DriftClass::Stale, "v2");
    assert_eq!(
        (d.local_id.as_deref(), d.fix),
        (Some(w1_v2.as_str()), Fix::Propagate)
    );
    let d = one(DriftClass::WrongParent, "v1");
    assert_eq!(
        (d.local_id.as_deref(), d.fix),
        (Some(w2_v1.as_str()), Fix::Restore)
    );
    assert_eq!(d.fields, ["account__c"]);
    let d = one(DriftClass::Missing, "v2");
    assert_eq!(
        (d.local_id.as_deref(), d.fix),
        (Some(w3_v2.as_str()), Fix::Recreate)
    );
    let d = one(DriftClass::DeletedInSomeOrgs, "v1");
    assert_eq!(
        (d.local_id.as_deref(), d.fix),
        (Some(w4_v1.as_str()), Fix::Propagate)
    );
    let d = one(DriftClass::UnknownNew, "hub");
    assert_eq!(
        (d.local_id.as_deref(), d.global_id.as_ref()),
        (Some(fresh.as_str()), None)
    );
    let d = one(DriftClass::UnknownWithGlobalId, "v2");
    assert_eq!(
        (d.local_id.as_deref(), d.fix),
        (Some(adopted.as_str()), Fix::Adopt)
    );
    assert_eq!(d.global_id.as_ref(), Some(&w5_gid));
    let d = one(DriftClass::DuplicateGlobalId, "v1");
    assert_eq!(
        (d.local_id.as_deref(), d.fix),
        (Some(twin.as_str()), Fix::Manual)
    );
    assert_eq!(dry.drifts.len(), 8, "nothing else: {:?}", dry.drifts);
    assert!(dry.passes.iter().all(|p| p.kind == PassKind::Full));
    assert!(dry.total_calls() > 0);
    assert_eq!(dry.queued, 0);
    let writes_after: Vec<u64> =
        futures::future::join_all(ORGS.iter().map(|o| env.writes(o))).await;
    assert_eq!(writes_before, writes_after, "a dry run writes to no org");
    assert_eq!(
        open_items(&env).await,
        items_before,
        "a dry run queues nothing"
    );

    // a quick pass after a dry run that left drift reads those orgs and objects whole again
    // (the drift lies before the dry run's start); the others stay quick
    let again = run(&env, &settings, false, Mode::DryRun).await;
    for p in &again.passes {
        let want = if p.object == "Work_Item__c" {
            PassKind::Full
        } else {
            PassKind::Quick
        };
        assert_eq!(p.kind, want, "{p:?}");
    }
    assert_eq!(again.drifts.len(), 8);

    // ---- repair: queued through the ledger, then applied by the engine ----------------------
    let fixed = run(&env, &settings, true, Mode::Repair).await;
    assert_eq!(fixed.drifts.len(), 8);
    assert!(fixed.queued >= 7, "{}", fixed.queued);
    // the missed change is agreed already (ingested like a capture), before any engine runs
    let store = env.store().await;
    let agreed = store
        .agreed("Work_Item__c", std::slice::from_ref(&w1_gid))
        .await
        .unwrap();
    assert_eq!(
        agreed[0].fields["status__c"].value,
        orgsync_core::FieldValue::Text("Missed".into())
    );
    let w4_gid = store
        .record_by_local_id(&orgsync_core::OrgName("v1".into()), "Work_Item__c", &w4_v1)
        .await
        .unwrap()
        .unwrap()
        .global_id;
    let life = store.agreed("Work_Item__c", &[w4_gid]).await.unwrap()[0]
        .life
        .clone();
    assert!(
        life.is_some_and(|l| l.deleted),
        "the missed delete is agreed"
    );
    let fresh_row = store
        .record_by_local_id(&orgsync_core::OrgName("hub".into()), "Work_Item__c", &fresh)
        .await
        .unwrap();
    assert!(
        fresh_row.is_some(),
        "the unknown record is in the ledger, as a new record"
    );
    let queued_for_fresh = env
        .items(ItemFilter {
            global_id: fresh_row.map(|r| r.global_id),
            ..Default::default()
        })
        .await;
    assert_eq!(queued_for_fresh.len(), 2, "created on both spokes");
    let audit = store.audit(orgsync_store::Page::first(1000)).await.unwrap();
    let repairs = audit
        .iter()
        .filter(|a| a.event.kind == "reconcile.repair")
        .count();
    assert_eq!(
        repairs, 7,
        "every repair audited (the duplicate is left to the operator)"
    );
    // a duplicate is the operator's call (its global id would clash with every write of the
    // record there): they remove it, then the engine applies the queued repairs
    purge(&env, "v1", "Work_Item__c", &twin).await;
    let engine = env.engine(settings.clone()).await;
    assert!(engine.wait_idle(IDLE).await);
    engine.shutdown().await;
    assert!(env.in_state(ItemState::Failed).await.is_empty());
    let snap = |c| async move { snapshot(c, "Work_Item__c", FIELDS).await };
    let (sh, s1, s2) = (snap(&hub).await, snap(&v1).await, snap(&v2).await);
    let s1: Vec<Value> = s1.into_iter().filter(|r| r["Name"] != "twin").collect();
    let dedup = |v: Vec<Value>| -> BTreeMap<String, Value> {
        v.into_iter()
            .map(|r| (r["gid"].as_str().unwrap().to_string(), r))
            .collect()
    };
    let (sh, s1, s2) = (dedup(sh), dedup(s1), dedup(s2));
    assert_eq!(sh, s2, "hub and v2 agree");
    assert_eq!(sh, s1, "hub and v1 agree");
    assert_eq!(sh.len(), 6, "w0..w5 but w4 (deleted) plus fresh: {sh:?}");
    let status = |name: &str| sh.values().find(|r| r["Name"] == name).unwrap()["Status__c"].clone();
    assert_eq!(status("w0"), "New", "v1 restored to the agreed value");
    assert_eq!(status("w1"), "Missed", "the missed change propagated");
    assert!(
        sh.values().all(|r| r["Name"] != "w4"),
        "the delete propagated"
    );
    let parent_v1 = v1
        .query_page(
            &format!("SELECT Account__c FROM Work_Item__c WHERE Id = '{w2_v1}'"),
            false,
        )
        .await
        .unwrap();
    let acme_v1 = local_id(&v1, "Account", &acme).await.unwrap();
    assert_eq!(
        parent_v1.records[0]["Account__c"],
        acme_v1.as_str(),
        "parent restored"
    );
    let w3_now = local_id(&v2, "Work_Item__c", &w[3]).await.unwrap();
    assert_ne!(w3_now, w3_v2, "re-created as a new row");
    let row = store
        .record(&orgsync_core::OrgName("v2".into()), "Work_Item__c", &w5_gid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.local_id.as_deref(),
        Some(adopted.as_str()),
        "adopted copy in the id map"
    );

    // ---- nothing drifted: the quick pass costs ≤ 3 calls per org and object -----------------
    let usage_before: Vec<u64> = futures::future::join_all(
        ORGS.iter()
            .map(|o| async { env.usage(o).await["total"].as_u64().unwrap() }),
    )
    .await;
    let quick = run(&env, &settings, false, Mode::DryRun).await;
    let usage_after: Vec<u64> = futures::future::join_all(
        ORGS.iter()
            .map(|o| async { env.usage(o).await["total"].as_u64().unwrap() }),
    )
    .await;
    assert!(quick.drifts.is_empty(), "{:?}", quick.drifts);
    assert!(
        quick.passes.iter().all(|p| p.kind == PassKind::Quick),
        "{:?}",
        quick.passes
    );
    assert!(
        quick.passes.iter().all(|p| p.calls <= 3),
        "{:?}",
        quick.passes
    );
    for (i, org) in ORGS.iter().enumerate() {
        let spent = usage_after[i] - usage_before[i];
        assert!(
            spent <= 3 * 2,
            "{org}: {spent} calls for 2 objects (emulator's count)"
        );
        assert_eq!(
            quick.api_calls[*org], spent,
            "the report counts what the emulator counts"
        );
    }
    let last = store.last_reconcile_run().await.unwrap().unwrap();
    assert_eq!(last.mode, "dry-run");
    assert!(!last.full);
}
