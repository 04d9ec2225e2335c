//! One seed, start to end: plan, start the orgs, load the first org, write the config, start
//! orgsync, turn the faults on, edit for `seconds` (killing and restarting orgsync and taking
//! an org offline when the plan says), stop editing, drain the peer's outbox, lift the faults,
//! wait for the end ([`crate::settle`]), judge, explain.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use orgsync_store::SqlStore;

use crate::edits::Editor;
use crate::faults::{self, Faults};
use crate::orgs::{self, ChaosOrg};
use crate::outcome::{self, Outcome};
use crate::plan::{BACKUP_INTERVAL, Capture, Mode, POLL_INTERVAL, Plan, Topology, objects};
use crate::push::Peer;
use crate::service::Service;
use crate::settle::{Settled, Watch, settle};
use crate::{config, judge, snapshot};

/// How to run a seed.
#[derive(Debug, Clone)]
pub struct Options {
    /// The seed.
    pub seed: u64,
    /// Seconds of edits.
    pub seconds: u64,
    /// Number of orgs (≥ 2).
    pub orgs: usize,
    /// Capture mode (default: by seed).
    pub mode: Option<Mode>,
    /// Topology (default: hub and spoke; peer for two orgs).
    pub topology: Option<Topology>,
    /// User edits (steps) per second.
    pub rate: f64,
    /// Upper bound of the final wait.
    pub settle: Duration,
    /// The `orgsync` binary.
    pub orgsync_bin: PathBuf,
    /// Keep the run's directory (config, ledger, orgsync logs).
    pub keep_dir: bool,
    /// `RUST_LOG` for orgsync.
    pub log: String,
    /// Progress lines on stderr.
    pub progress: bool,
    /// Findings and records shown per check.
    pub max_details: usize,
}

impl Options {
    /// Defaults for `seed` and the binary at `orgsync_bin`: 60 s, 3 orgs, 5 edits/s, 120 s.
    pub fn new(seed: u64, orgsync_bin: PathBuf) -> Self {
        Options {
            seed,
            seconds: 60,
            orgs: 3,
            mode: None,
            topology: None,
            rate: 5.0,
            settle: Duration::from_secs(120),
            orgsync_bin,
            keep_dir: false,
            log: "warn".into(),
            progress: true,
            max_details: 60,
        }
    }
}

fn free_port() -> anyhow::Result<std::net::SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// The plan in one paragraph.
fn describe(plan: &Plan, orgs: &[ChaosOrg]) -> String {
    let captures: Vec<String> = objects()
        .iter()
        .zip(&plan.captures)
        .map(|(s, c)| format!("{}={c:?}", s.name).to_lowercase())
        .collect();
    let kills: Vec<String> = plan
        .kills
        .iter()
        .map(|k| format!("{}s", k.as_secs()))
        .collect();
    let mut s = format!(
        "  plan: {:?} over {} · capture {} · kills at [{}] · latency ms {:?}",
        plan.topology,
        orgs.iter()
            .map(|o| format!("{} ({})", o.name, o.url))
            .collect::<Vec<_>>()
            .join(", "),
        captures.join(" "),
        kills.join(", "),
        plan.latency_ms
    );
    if let Some(p) = plan.push_org {
        let _ = write!(s, " · {} pushes", plan.orgs[p]);
    }
    if let Some(o) = plan.outage {
        let _ = write!(
            s,
            " · {} offline at {}s for {}s",
            plan.orgs[o.org],
            o.at.as_secs(),
            o.lasts.as_secs()
        );
    }
    s
}

/// Run one seed.
pub async fn run(opts: &Options) -> anyhow::Result<Outcome> {
    let plan = Plan::new(opts.seed, opts.orgs, opts.seconds, opts.mode, opts.topology);
    let tmp = tempfile::Builder::new()
        .prefix(&format!("orgsync-chaos-{}-", plan.seed))
        .tempdir()?;
    let dir = tmp.path().to_path_buf();
    let listen = free_port()?;
    let (emu, orgs) = orgs::start(&plan, listen).await?;
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()?;
    let faults = Faults::new(http.clone(), &orgs);
    if plan.uses_outbound() {
        faults.quick_outbound_retries().await?;
    }
    let (peer, outbox) = match plan.push_org {
        Some(o) => {
            let url = format!("http://{listen}/api/v1/sync");
            let (p, t) = Peer::spawn(
                http.clone(),
                url,
                config::push_token(&plan.orgs[o]),
                o,
                plan.seed,
            );
            (Some(p), Some(t))
        }
        None => (None, None),
    };
    let mut editor = Editor::new(plan.edit_seed, peer);
    let loaded = editor.load(&orgs[0]).context("loading the first org")?;
    let urls: Vec<String> = orgs.iter().map(|o| o.url.clone()).collect();
    std::fs::write(
        dir.join("orgsync.toml"),
        config::render(&plan, &urls, listen),
    )?;
    let mut svc = Service::new(opts.orgsync_bin.clone(), dir.clone(), opts.log.clone());
    svc.start()?;
    let mut details = describe(&plan, &orgs) + "\n";
    let _ = writeln!(details, "  loaded {loaded} records into {}", orgs[0].name);
    if opts.progress {
        eprintln!("seed {} ({}): {}", plan.seed, plan.mode, details.trim_end());
    }

    faults.start(&plan).await?;
    let kills = edit_phase(opts, &plan, &orgs, &mut editor, &mut svc, &faults).await?;

    // the end: no more edits, the outbox delivered, no more faults
    let pushes = editor.peer.as_ref().map(|p| p.stats.clone());
    let drain = Instant::now();
    while pushes.as_ref().is_some_and(|p| p.pending() > 0)
        && drain.elapsed() < Duration::from_secs(60)
    {
        if svc.exited() {
            svc.start()?;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    faults.lift().await?;
    let interval = if plan.captures.iter().all(|c| *c == Capture::Poll) {
        POLL_INTERVAL
    } else {
        BACKUP_INTERVAL
    };
    let settled = settle(Watch {
        orgs: &orgs,
        service: &mut svc,
        faults: &faults,
        pushes: pushes.as_deref(),
        quiet: interval * 2 + Duration::from_secs(2),
        limit: opts.settle,
    })
    .await;
    let world = snapshot::world(&orgs, |i| plan.snapshot_objects(i))?;
    let verdict = judge::judge(&world);
    let status = svc.status().await;
    svc.stop();
    let status = status.context("orgsync status at the end")?;
    if let Some(t) = outbox {
        t.abort();
    }

    let failed_list: Vec<serde_json::Value> = status
        .get("failed_items")
        .and_then(|f| f.as_array())
        .cloned()
        .unwrap_or_default();
    let failed = crate::service::item_counts(&status)
        .get("failed")
        .copied()
        .unwrap_or(0);
    details += &run_notes(&editor, &settled, &svc, pushes.as_deref()).await;
    for f in &failed_list {
        let _ = writeln!(details, "  failed item: {f}");
    }
    let store = SqlStore::open(&format!("sqlite://{}", svc.state_path().display()))
        .await
        .ok();
    if let Some(s) = &store {
        details += &crate::explain::busiest(s, 5).await;
    }
    details += &crate::explain::findings(&world, &verdict, store.as_ref(), opts.max_details).await;
    if let Some(s) = store {
        s.close().await;
    }
    emu.shutdown().await;
    let kept = opts.keep_dir.then(|| tmp.keep());
    if let Some(d) = &kept {
        let _ = writeln!(details, "  kept {}", d.display());
    }
    let line = outcome::line(plan.seed, plan.mode, editor.edits, kills, &verdict, failed);
    Ok(Outcome {
        seed: plan.seed,
        mode: plan.mode,
        edits: editor.edits,
        kills,
        verdict,
        failed_items: failed,
        failed_list,
        line,
        details,
        dir: kept,
    })
}

/// Edit for `opts.seconds`, killing and restarting orgsync and taking an org offline on the
/// plan's schedule; returns the number of kills.
async fn edit_phase(
    opts: &Options,
    plan: &Plan,
    orgs: &[ChaosOrg],
    editor: &mut Editor,
    svc: &mut Service,
    faults: &Faults,
) -> anyhow::Result<u32> {
    let start = Instant::now();
    let end = start + Duration::from_secs(opts.seconds);
    let period = Duration::from_secs_f64(1.0 / opts.rate.max(0.01));
    let mut next_edit = start;
    let mut kills = plan.kills.iter().map(|k| start + *k).peekable();
    let mut killed = 0;
    let mut outage = plan
        .outage
        .map(|o| (o.org, start + o.at, start + o.at + o.lasts, false));
    let mut next_note = start + Duration::from_secs(15);
    let mut restart_at: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        if kills.next_if(|k| *k <= now).is_some() {
            svc.kill()?;
            svc.start()?;
            restart_at = None;
            killed += 1;
        }
        if restart_at.is_none() && svc.exited() {
            // it died by itself (recorded): restart it a second later, as a supervisor would
            restart_at = Some(now + Duration::from_secs(1));
        }
        if restart_at.is_some_and(|t| now >= t) {
            svc.start()?;
            restart_at = None;
        }
        if let Some((org, from, to, on)) = outage.as_mut() {
            if !*on && now >= *from {
                faults.set(*org, &faults::config(plan, *org, true)).await?;
                *on = true;
            } else if *on && now >= *to {
                faults.set(*org, &faults::config(plan, *org, false)).await?;
                outage = None;
            }
        }
        if now >= next_edit {
            editor.step(orgs).await;
            next_edit += period;
        }
        if opts.progress && now >= next_note {
            eprintln!(
                "seed {} [{:>4}s] edits {} kills {killed} starts {}",
                plan.seed,
                now.duration_since(start).as_secs(),
                editor.edits,
                svc.starts
            );
            next_note += Duration::from_secs(15);
        }
        let wake = next_edit.min(end).min(now + Duration::from_millis(100));
        tokio::time::sleep_until(wake.into()).await;
    }
    Ok(killed)
}

async fn run_notes(
    editor: &Editor,
    settled: &Settled,
    svc: &Service,
    pushes: Option<&crate::push::PushStats>,
) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    let mut s = String::new();
    let made: Vec<String> = editor
        .made
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    let _ = writeln!(s, "  steps: {}", made.join(" · "));
    let items: Vec<String> = settled
        .items
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    let _ = writeln!(
        s,
        "  settle: {} after {} s; ledger items: {}{}",
        if settled.idle { "idle" } else { "NOT idle" },
        settled.waited.as_secs(),
        items.join(", "),
        if settled.idle {
            String::new()
        } else {
            format!(" (still busy: {})", settled.busy)
        }
    );
    if let Some(p) = pushes {
        let _ = writeln!(
            s,
            "  pushes: queued {} delivered {} stale (409) {} refused {}",
            p.queued.load(Relaxed),
            p.delivered.load(Relaxed),
            p.stale.load(Relaxed),
            p.refused_n.load(Relaxed)
        );
        for r in p.refused.lock().await.iter().take(20) {
            let _ = writeln!(s, "    refused: {r}");
        }
    }
    for (n, status, tail) in &svc.exits {
        let _ = writeln!(
            s,
            "  orgsync start {n} exited by itself ({status}); log tail:\n{tail}"
        );
    }
    s
}
