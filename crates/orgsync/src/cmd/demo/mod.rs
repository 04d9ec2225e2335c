//! `orgsync demo`: the real service against three emulated orgs it starts itself (a hub and
//! two vendors, in-process `sfemu`, plain HTTP on loopback), with Delivery Hub–style data on
//! the hub, SQLite state, and a stream of edits on random orgs — showing per-org record counts,
//! the engine's counters, API calls per org, and whether the orgs have converged.

mod config;
mod converge;
mod data;
mod edits;
mod orgs;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use orgsync_engine::{EngineHost, EngineOptions};
use rand::SeedableRng;
use sfemu::server::{Emulator, EmulatorConfig, OrgConfig};

use self::converge::{Divergence, compare, snapshot};
use self::orgs::DemoOrg;

/// `orgsync demo` options.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Stop by itself after this many seconds of edits (default: run until Ctrl-C). It then
    /// stops editing, waits for the orgs to converge (up to 90 s) and exits 0 when they did.
    #[arg(long)]
    pub seconds: Option<u64>,
    /// Directory for the generated config and the SQLite state (default: a temporary one,
    /// removed at exit).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

const ORGS: [&str; 3] = ["hub", "vendor_a", "vendor_b"];

/// Run the command.
pub async fn run(args: &DemoArgs) -> anyhow::Result<u8> {
    let tmp;
    let dir = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
            d.clone()
        }
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let mut emu_cfg = EmulatorConfig::single_org();
    emu_cfg.orgs = ORGS
        .iter()
        .map(|n| {
            let mut o = OrgConfig::new(n, 0);
            // change events for every synced object: the demo syncs in real time
            o.spec.cdc_objects = config::OBJECTS.iter().map(|(n, _)| n.to_string()).collect();
            o
        })
        .collect();
    let emu = Emulator::start(emu_cfg).await?;
    let orgs: Vec<DemoOrg> = emu
        .orgs()
        .iter()
        .map(|o| DemoOrg {
            name: o.name.clone(),
            url: o.base_url.clone(),
            org: o.state.org.clone(),
            org_id: o.org_id.clone(),
        })
        .collect();
    println!(
        "Emulated orgs (user admin@sfemu.test / password sfemu; connected app sfemu-client / sfemu-secret):"
    );
    for (o, r) in orgs.iter().zip(["hub", "vendor", "vendor"]) {
        println!("  {:<9} {:<6} {}  org id {}", o.name, r, o.url, o.org_id);
    }
    println!("  try: curl -s {}/__sfemu/org", orgs[0].url);
    let mut rng = rand::rngs::StdRng::from_os_rng();
    let n = data::load_hub(&orgs[0], &mut rng)?;
    println!(
        "Loaded {n} records into the hub (Accounts, Opportunities, work items, comments, work logs, dependencies)."
    );

    let config_path = dir.join("orgsync.toml");
    std::fs::write(&config_path, config::render(&orgs))?;
    println!(
        "Config: {}   State: {}",
        config_path.display(),
        dir.join("orgsync.db").display()
    );
    let mut settings = orgsync_core::Settings::load(&config_path, None)?;
    // the dashboard's password lives only in this process (never in the written config)
    let password = demo_password(&mut rng);
    let monitor = orgsync_core::config::MonitorSettings {
        admin_password: orgsync_core::config::Secret(password.clone()),
    };
    settings.monitor = Some(monitor.clone());
    let metrics = orgsync_monitor::metrics::install()?;
    let api = settings.api.clone();
    let store = super::open_store(&super::state_url(&settings.engine.state, &config_path)).await?;
    // samples every 5 s: the dashboard's history charts and budget forecast fill while one watches
    let opts = EngineOptions {
        sample_every: std::time::Duration::from_secs(5),
        ..EngineOptions::default()
    };
    // the file's settings: the host lays the overlay over them, and again when it changes
    let file = Arc::new(settings.clone());
    let handle = EngineHost::start(settings, store.clone(), opts).await?;
    let server = orgsync_api::Server::bind(([127, 0, 0, 1], 0).into(), &api).await?;
    let url = format!("http://{}/", server.local_addr()?);
    let router = super::run::http_routes(&handle, &store, Some(metrics), Some(&monitor), &file);
    let (stop_server, server_stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(server.run(router, async {
        let _ = server_stopped.await;
    }));
    println!("Sync Monitor dashboard: {url}  (log in with the admin password {password})");
    println!("  metrics: {url}metrics");
    println!("Engine started; editing a random org about once a second. Ctrl-C stops cleanly.\n");
    println!("(record counts and convergence are read in-process from the emulator: no API calls;");
    println!(" API calls per org are the emulator's own counters of orgsync's requests)\n");

    let started = Instant::now();
    let limit = args.seconds.map(Duration::from_secs);
    let mut editor = edits::Editor::default();
    let stop = super::run::wait_for_stop(limit);
    tokio::pin!(stop);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let interrupted;
    loop {
        tokio::select! {
            why = &mut stop => {
                println!("\n{why}: no more edits");
                interrupted = why != "time is up";
                break;
            }
            _ = tick.tick() => {}
        }
        editor.step(&orgs, &mut rng);
        let secs = started.elapsed().as_secs();
        if secs.is_multiple_of(3) {
            show(&orgs, &emu, &handle, secs, Some(&editor))?;
        }
    }
    let converged = if interrupted {
        false
    } else {
        settle(&orgs, &emu, &handle, &store, started).await?
    };
    let _ = stop_server.send(());
    let _ = served.await;
    handle.shutdown().await;
    store.close().await;
    emu.shutdown().await;
    println!(
        "stopped cleanly; state kept in {}",
        if args.dir.is_some() {
            dir.display().to_string()
        } else {
            "a temporary directory (removed)".into()
        }
    );
    Ok(if converged || interrupted {
        0
    } else {
        crate::output::EXIT_FAILED
    })
}

/// After the edits stop: poll, wait for the engine to go idle, and check, up to 90 s.
async fn settle(
    orgs: &[DemoOrg],
    emu: &Emulator,
    handle: &EngineHost,
    store: &orgsync_store::SqlStore,
    started: Instant,
) -> anyhow::Result<bool> {
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut last = Divergence::default();
    while Instant::now() < deadline {
        let engine = handle.current();
        engine.poll_now().await;
        engine.wait_idle(Duration::from_secs(10)).await;
        // files follow once their records are there: one round for each hop (spoke → hub →
        // the other spoke happens within a round; a second one finds nothing left)
        for _ in 0..2 {
            let _ = engine.sync_files_now().await;
        }
        last = show(orgs, emu, handle, started.elapsed().as_secs(), None)?;
        if last.converged() {
            println!("final: converged ✓ — every org holds the same records with the same values");
            return Ok(true);
        }
    }
    println!("final: NOT converged after 90 s");
    print!("{}", converge::explain(store, orgs, &last).await?);
    Ok(false)
}

/// Print one status block; returns the divergence.
fn show(
    orgs: &[DemoOrg],
    emu: &Emulator,
    handle: &EngineHost,
    secs: u64,
    editor: Option<&edits::Editor>,
) -> anyhow::Result<Divergence> {
    let mut out = format!("[{secs:>4}s]\n");
    for o in orgs {
        let counts: Vec<String> = config::OBJECTS
            .iter()
            .map(|(obj, _)| {
                format!(
                    "{} {}",
                    obj.trim_end_matches("__c").replace('_', " "),
                    o.count(obj)
                )
            })
            .collect();
        let calls = emu.org(&o.name).map_or(0, |r| r.state.limits.usage().used);
        out += &format!(
            "  {:<9} {} · Files {} · API calls {calls}\n",
            o.name,
            counts.join(" · "),
            o.count("ContentDocument")
        );
    }
    let p = handle.progress().borrow().clone();
    out += &format!("  engine    {}\n", super::run::summary(&p));
    if let Some(e) = editor {
        let made: Vec<String> = e.made.iter().map(|(k, n)| format!("{k} {n}")).collect();
        out += &format!("  edits     {}\n", made.join(" · "));
    }
    let snaps = orgs
        .iter()
        .map(snapshot)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let d = compare(&snaps);
    if d.converged() {
        out += "  converged ✓\n";
    } else {
        out += &format!(
            "  converging… ({} records not everywhere yet, {} with differing values)\n",
            d.missing, d.different
        );
    }
    println!("{out}");
    Ok(d)
}

/// A random password for the demo's dashboard: 20 letters and digits.
fn demo_password(rng: &mut impl rand::Rng) -> String {
    const CHARS: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..20)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}
