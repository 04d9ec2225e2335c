//! Reconcile at scale: N `Work_Item__c` (default 100,000, each with a lookup to one of 100
//! Accounts) synced by the engine from a hub to two spokes, then 37 records drifted behind
//! orgsync's back in mixed classes. Prints, for the quick and the full pass with nothing
//! drifted and with the drift: API calls (the emulator's count), wall time, what was found;
//! then repairs, applies them with the engine and checks that a last full pass finds nothing
//! and that every org holds the same records (zero false repairs: nothing but the drifted
//! records was written).
//!
//! `cargo run --release -p orgsync-engine --example reconcile_cost [N]`

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use orgsync_core::reconcile::{DriftClass, Mode, Report};
use orgsync_core::{GlobalId, OrgName, Settings};
use orgsync_engine::reconcile::{ReconcileRequest, reconcile, save_report};
use orgsync_engine::{Engine, EngineOptions};
use orgsync_store::{SqlStore, Store};
use serde_json::{Value, json};
use sfemu::server::{Emulator, EmulatorConfig};

const ORGS: [&str; 3] = ["hub", "v1", "v2"];

struct Bench {
    emu: Emulator,
    http: reqwest::Client,
    settings: Settings,
    db: String,
}

impl Bench {
    fn base(&self, org: &str) -> String {
        self.emu
            .org(org)
            .map(|r| r.base_url.clone())
            .unwrap_or_default()
    }

    async fn calls(&self) -> anyhow::Result<u64> {
        let mut n = 0;
        for o in ORGS {
            let v: Value = self
                .http
                .get(format!("{}/__sfemu/api-usage", self.base(o)))
                .send()
                .await?
                .json()
                .await?;
            n += v["total"].as_u64().unwrap_or(0);
        }
        Ok(n)
    }

    async fn store(&self) -> anyhow::Result<SqlStore> {
        Ok(SqlStore::open(&self.db).await?)
    }

    /// One reconcile run: its report, the calls the emulator counted and the wall time.
    async fn run(&self, label: &str, full: bool, mode: Mode) -> anyhow::Result<Report> {
        let store = Arc::new(self.store().await?);
        let before = self.calls().await?;
        let t = Instant::now();
        let req = ReconcileRequest {
            objects: Vec::new(),
            full,
            mode,
        };
        let r = reconcile(
            self.settings.clone(),
            store.clone(),
            &EngineOptions::default(),
            &req,
            &|_| {},
        )
        .await?;
        let wall = t.elapsed();
        save_report(store.as_ref(), &r).await?;
        let calls = self.calls().await? - before;
        let mut classes: BTreeMap<&str, usize> = BTreeMap::new();
        for d in &r.drifts {
            *classes.entry(d.class.as_str()).or_default() += 1;
        }
        let kinds: BTreeSet<String> = r.passes.iter().map(|p| format!("{:?}", p.kind)).collect();
        println!(
            "{label:44} {calls:5} calls (report: {}), {:7.2} s, passes {kinds:?}, {} drifted {classes:?}, {} queued",
            r.total_calls(),
            wall.as_secs_f64(),
            r.drifts.len(),
            r.queued
        );
        Ok(r)
    }

    async fn raw(&self, org: &str, id: &str, body: Value) -> anyhow::Result<()> {
        let r = self
            .http
            .patch(format!(
                "{}/__sfemu/records/Work_Item__c/{id}",
                self.base(org)
            ))
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(
            r.status().is_success(),
            "raw edit {org} {id}: {}",
            r.status()
        );
        Ok(())
    }

    async fn purge(&self, org: &str, id: &str) -> anyhow::Result<()> {
        let r = self
            .http
            .delete(format!(
                "{}/__sfemu/records/Work_Item__c/{id}",
                self.base(org)
            ))
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "purge {org} {id}: {}", r.status());
        Ok(())
    }
}

async fn user(bench: &Bench, org: &str) -> anyhow::Result<sfclient::Client> {
    let mut cfg = sfclient::OrgConfig::new(
        org,
        bench.base(org),
        sfclient::AuthFlow::Password {
            client_id: "sfemu-client".into(),
            client_secret: sfclient::Secret::from("sfemu-secret"),
            username: "admin@sfemu.test".into(),
            password: sfclient::Secret::from("sfemu"),
        },
    );
    cfg.client_tag = "bench".into();
    Ok(sfclient::Client::connect(cfg).await?)
}

fn rec(v: Value) -> sfclient::Record {
    v.as_object().cloned().unwrap_or_default()
}

async fn start(n: usize) -> anyhow::Result<(Bench, tempfile::TempDir, Vec<String>, Vec<String>)> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut cfg = EmulatorConfig::single_org().with_tls(false);
    let template = cfg.orgs[0].clone();
    cfg.orgs = ORGS
        .iter()
        .map(|name| {
            let mut o = template.clone();
            o.name = name.to_string();
            o.port = 0;
            o.spec.name = name.to_string();
            o.spec.org_id = None;
            o
        })
        .collect();
    let emu = Emulator::start(cfg).await?;
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("ledger.db");
    let mut text = String::new();
    for o in ORGS {
        let base = emu.org(o).map(|r| r.base_url.clone()).unwrap_or_default();
        text += &format!(
            "[orgs.{o}]\nlogin_url = \"{base}\"\nauth = {{ flow = \"password\", client_id = \"sfemu-client\", client_secret = \"sfemu-secret\", username = \"admin@sfemu.test\", password = \"sfemu\" }}\n"
        );
    }
    text += "[topology]\nkind = \"hub_and_spoke\"\nhub = \"hub\"\nspokes = [\"v1\", \"v2\"]\n\
[[sync]]\nobject = \"Work_Item__c\"\nfields = [\"Name\", \"Status__c\", \"Account__c\"]\ninterval = \"30m\"\n\
parents = [{ field = \"Account__c\", policy = \"sync\", object = \"Account\" }]\n\
[[sync]]\nobject = \"Account\"\nfields = [\"Name\"]\ninterval = \"30m\"\n";
    text += &format!("[engine]\nstate = \"{}\"\n", db.display());
    let bench = Bench {
        emu,
        http: reqwest::Client::new(),
        settings: Settings::from_str(&text, "bench.toml")?,
        db: format!("sqlite:{}", db.display()),
    };
    let hub = user(&bench, "hub").await?;
    let accounts: Vec<sfclient::Record> = (0..100)
        .map(|i| rec(json!({"Name": format!("acct {i}")})))
        .collect();
    let mut acct_ids = Vec::new();
    for r in hub.create_many("Account", &accounts).await {
        acct_ids.push(r?.id);
    }
    let items: Vec<sfclient::Record> = (0..n)
        .map(|i| rec(json!({"Name": format!("item {i}"), "Status__c": "New", "Account__c": acct_ids[i % 100]})))
        .collect();
    let mut ids = Vec::with_capacity(n);
    for r in hub.create_many("Work_Item__c", &items).await {
        ids.push(r?.id);
    }
    Ok((bench, dir, ids, acct_ids))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let (bench, _dir, ids, accts) = start(n).await?;
    let t = Instant::now();
    let engine = Engine::start(
        bench.settings.clone(),
        bench.store().await?,
        EngineOptions::default(),
    )
    .await?;
    anyhow::ensure!(
        engine.wait_idle(Duration::from_secs(3600)).await,
        "initial sync did not finish"
    );
    engine.shutdown().await;
    println!(
        "{n} Work_Item__c x 3 orgs synced by the engine in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let r = bench
        .run("full pass, first run, nothing drifted", false, Mode::DryRun)
        .await?;
    anyhow::ensure!(
        r.drifts.is_empty(),
        "false drift: {:?}",
        &r.drifts[..r.drifts.len().min(5)]
    );
    let r = bench
        .run("quick pass, nothing drifted", false, Mode::DryRun)
        .await?;
    anyhow::ensure!(r.drifts.is_empty(), "false drift in the quick pass");

    // ---- 37 drifted records --------------------------------------------------------------
    let store = bench.store().await?;
    let hub_id = bench
        .emu
        .org("hub")
        .map(|o| o.org_id.clone())
        .unwrap_or_default();
    let gid = |i: usize| GlobalId::new(hub_id.parse().expect("org id"), &ids[i]).expect("gid");
    let local = |org: &'static str, i: usize| {
        let store = &store;
        let g = gid(i);
        async move {
            let row = store
                .record(&OrgName(org.into()), "Work_Item__c", &g)
                .await?;
            row.and_then(|r| r.local_id).context("no local id")
        }
    };
    let acct_local = |org: &'static str, i: usize| {
        let store = &store;
        let g = GlobalId::new(hub_id.parse().expect("org id"), &accts[i]).expect("gid");
        async move {
            let row = store.record(&OrgName(org.into()), "Account", &g).await?;
            row.and_then(|r| r.local_id).context("no account local id")
        }
    };
    let now = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
        .to_string();
    let mut expected: Vec<(DriftClass, &str)> = Vec::new();
    let step = n / 40;
    let pick = |k: usize| k * step + 7;
    let spoke = |k: usize| if k.is_multiple_of(2) { "v1" } else { "v2" };
    // 8 stale values in a spoke (behind: no new SystemModstamp)
    for k in 0..8 {
        bench
            .raw(
                spoke(k),
                &local(spoke(k), pick(k)).await?,
                json!({"Status__c": "Behind"}),
            )
            .await?;
        expected.push((DriftClass::Stale, spoke(k)));
    }
    // 6 changes capture missed (stamped like real edits), hub and spokes
    for k in 8..14 {
        let org = ORGS[k % 3];
        let id = if org == "hub" {
            ids[pick(k)].clone()
        } else {
            local(org, pick(k)).await?
        };
        bench
            .raw(
                org,
                &id,
                json!({"Status__c": "Missed", "SystemModstamp": now, "LastModifiedDate": now}),
            )
            .await?;
        expected.push((DriftClass::Stale, org));
    }
    // 5 lookups to the wrong parent
    for k in 14..19 {
        let org = spoke(k);
        let wrong = acct_local(org, (pick(k) + 1) % 100).await?;
        bench
            .raw(
                org,
                &local(org, pick(k)).await?,
                json!({"Account__c": wrong}),
            )
            .await?;
        expected.push((DriftClass::WrongParent, org));
    }
    // 5 copies gone for good
    for k in 19..24 {
        bench
            .purge(spoke(k), &local(spoke(k), pick(k)).await?)
            .await?;
        expected.push((DriftClass::Missing, spoke(k)));
    }
    // 4 deleted in one org only
    for k in 24..28 {
        let c = user(&bench, spoke(k)).await?;
        c.delete("Work_Item__c", &local(spoke(k), pick(k)).await?)
            .await?;
        expected.push((DriftClass::DeletedInSomeOrgs, spoke(k)));
    }
    // 4 records nobody synced
    for k in 28..32 {
        let org = ORGS[k % 3];
        user(&bench, org)
            .await?
            .create(
                "Work_Item__c",
                &rec(json!({"Name": format!("new {k}"), "Status__c": "New"})),
            )
            .await?;
        expected.push((DriftClass::UnknownNew, org));
    }
    // 3 copies replaced by another carrying the global id
    for k in 32..35 {
        let org = spoke(k);
        bench.purge(org, &local(org, pick(k)).await?).await?;
        let id = user(&bench, org)
            .await?
            .create(
                "Work_Item__c",
                &rec(json!({"Name": format!("item {}", pick(k)), "Status__c": "New"})),
            )
            .await?;
        bench
            .raw(
                org,
                &id,
                json!({"OrgSync_Global_Id__c": gid(pick(k)).to_string()}),
            )
            .await?;
        expected.push((DriftClass::UnknownWithGlobalId, org));
    }
    // 2 duplicates
    let mut twins = Vec::new();
    for k in 35..37 {
        let org = spoke(k);
        let id = user(&bench, org)
            .await?
            .create(
                "Work_Item__c",
                &rec(json!({"Name": "twin", "Status__c": "New"})),
            )
            .await?;
        bench
            .raw(
                org,
                &id,
                json!({"OrgSync_Global_Id__c": gid(pick(k)).to_string()}),
            )
            .await?;
        expected.push((DriftClass::DuplicateGlobalId, org));
        twins.push((org, id));
    }

    let quick = bench
        .run("quick pass, 37 drifted", false, Mode::DryRun)
        .await?;
    let full = bench
        .run("full pass, 37 drifted", true, Mode::DryRun)
        .await?;
    let mut want: BTreeMap<(DriftClass, String), usize> = BTreeMap::new();
    for (c, o) in &expected {
        *want.entry((*c, o.to_string())).or_default() += 1;
    }
    let count = |r: &Report| {
        let mut got: BTreeMap<(DriftClass, String), usize> = BTreeMap::new();
        for d in &r.drifts {
            *got.entry((d.class, d.org.to_string())).or_default() += 1;
        }
        got
    };
    println!(
        "expected {} drifted: full pass found {} (same classes and orgs: {}), quick pass found {}",
        expected.len(),
        full.drifts.len(),
        count(&full) == want,
        quick.drifts.len()
    );
    let t = Instant::now();
    let fixed = bench
        .run("full pass, repair (queue)", true, Mode::Repair)
        .await?;
    for (org, id) in &twins {
        bench.purge(org, id).await?; // the operator removes the duplicates
    }
    let before = bench.calls().await?;
    let engine = Engine::start(
        bench.settings.clone(),
        bench.store().await?,
        EngineOptions::default(),
    )
    .await?;
    anyhow::ensure!(
        engine.wait_idle(Duration::from_secs(3600)).await,
        "repairs did not finish"
    );
    let synced = engine.progress().borrow().synced;
    engine.shutdown().await;
    println!(
        "repairs applied by the engine: {synced} items written, {} calls, {:.1} s (queue + apply)",
        bench.calls().await? - before,
        t.elapsed().as_secs_f64()
    );
    let last = bench
        .run("full pass after the repair", true, Mode::DryRun)
        .await?;
    println!(
        "drift left: {} (false repairs would show here or as extra writes); queued {}",
        last.drifts.len(),
        fixed.queued
    );
    let q = bench
        .run("quick pass after the repair", false, Mode::DryRun)
        .await?;
    anyhow::ensure!(q.drifts.is_empty() && last.drifts.is_empty(), "drift left");
    bench.emu.shutdown().await;
    Ok(())
}
