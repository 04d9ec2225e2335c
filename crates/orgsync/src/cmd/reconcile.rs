//! `orgsync reconcile`: find drift between the orgs and the ledger, report it, and optionally
//! repair it through the ledger (see `orgsync_engine::reconcile`). A progress bar per org and
//! object on a terminal, log lines otherwise; a table or `--json` at the end; the report is
//! kept in the ledger for `orgsync status`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use orgsync_core::reconcile::{DriftClass, Fix, Mode, PassKind, Report};
use orgsync_engine::reconcile::{PassProgress, ReconcileRequest, reconcile, save_report};
use orgsync_engine::{Engine, EngineOptions};
use orgsync_store::{ItemFilter, ItemState, Page, SqlStore, Store};

use crate::ConfigArgs;
use crate::output::Table;

/// `orgsync reconcile` options.
#[derive(Debug, Args)]
pub struct ReconcileArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Only this synced object (either side's name).
    #[arg(long)]
    pub object: Option<String>,
    /// Read every record's synced fields (⌈records / 2,000⌉ query calls per org and object)
    /// instead of the changes since the last run plus COUNT() (2 calls per org and object when
    /// nothing drifted; a count that disagrees with the ledger escalates to a full pass).
    #[arg(long)]
    pub full: bool,
    /// Queue the repairs in the ledger (each one audited), then APPLY THEM ITSELF: this command
    /// runs the engine until nothing is due (at most --apply-timeout) and reports how many were
    /// applied. With --queue-only it leaves them to a running `orgsync run` on the same ledger.
    #[arg(long, conflicts_with = "dry_run")]
    pub repair: bool,
    /// Report only (the default without --repair): nothing is queued and no org is written.
    #[arg(long)]
    pub dry_run: bool,
    /// With --repair: only queue the repairs; the running service applies them.
    #[arg(long, requires = "repair")]
    pub queue_only: bool,
    /// With --repair: how long to wait for the repairs to be applied, in seconds.
    #[arg(long, default_value_t = 300)]
    pub apply_timeout: u64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Run the command. Exit 0 when nothing drifted or every drift was repaired (or queued), 1
/// when drift was found and left (a dry run, a duplicate left to the operator, repairs not
/// applied in time), 2 on a configuration error.
pub async fn run(args: &ReconcileArgs) -> anyhow::Result<u8> {
    let settings = super::load(&args.config)?;
    let url = super::state_url(&settings.engine.state, &args.config.config);
    let store = super::open_store(&url).await?;
    let req = ReconcileRequest {
        objects: args.object.iter().cloned().collect(),
        full: args.full,
        mode: if args.repair {
            Mode::Repair
        } else {
            Mode::DryRun
        },
    };
    let bars = Arc::new(Bars::new(std::io::stderr().is_terminal() && !args.json));
    let shown = bars.clone();
    let tell = move |p: &PassProgress| shown.show(p);
    let opts = EngineOptions::default();
    let shared = Arc::new(store.clone());
    let mut report = reconcile(settings.clone(), shared, &opts, &req, &tell).await?;
    bars.clear();
    let mut unapplied = 0;
    if args.repair && !args.queue_only && report.queued > 0 {
        let engine = Engine::start(settings, store.clone(), opts).await?;
        let idle = engine
            .wait_idle(Duration::from_secs(args.apply_timeout))
            .await;
        engine.shutdown().await;
        if !idle {
            tracing::warn!(
                "repairs not all applied within --apply-timeout; the service applies the rest"
            );
        }
        unapplied = unfinished(&store, &report).await?;
        report.applied = repaired(&report).saturating_sub(unapplied);
    }
    save_report(&store, &report).await?;
    store.close().await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    let manual = report.drifts.iter().any(|d| d.fix == Fix::Manual);
    let left = report.mode == Mode::DryRun && !report.drifts.is_empty();
    Ok(u8::from(manual || left || unapplied > 0))
}

/// Drifts this run repairs (every one but those left to the operator).
fn repaired(r: &Report) -> u64 {
    r.drifts.iter().filter(|d| d.fix != Fix::Manual).count() as u64
}

/// Repaired drifts whose record still has an item waiting or failed after the engine ran.
async fn unfinished(store: &SqlStore, r: &Report) -> anyhow::Result<u64> {
    let mut n = 0;
    for d in r.drifts.iter().filter(|d| d.fix != Fix::Manual) {
        let Some(gid) = &d.global_id else { continue };
        let filter = ItemFilter {
            global_id: Some(gid.clone()),
            ..Default::default()
        };
        let items = store.items(&filter, Page::first(100)).await?;
        if items.iter().any(|i| i.state != ItemState::Synced) {
            n += 1;
        }
    }
    Ok(n)
}

/// One progress bar per org and object on a terminal; a log line per finished pass otherwise.
struct Bars {
    multi: Option<indicatif::MultiProgress>,
    bars: Mutex<BTreeMap<(String, String), indicatif::ProgressBar>>,
}

impl Bars {
    fn new(tty: bool) -> Bars {
        Bars {
            multi: tty.then(indicatif::MultiProgress::new),
            bars: Mutex::new(BTreeMap::new()),
        }
    }

    fn show(&self, p: &PassProgress) {
        let kind = match p.kind {
            PassKind::Quick => "quick",
            PassKind::Full => "full",
        };
        let Some(multi) = &self.multi else {
            if p.done {
                tracing::info!(org = %p.org, object = %p.object, pass = kind, read = p.read, calls = p.calls, "reconcile pass read");
            }
            return;
        };
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        let bar = bars
            .entry((p.org.clone(), p.object.clone()))
            .or_insert_with(|| {
                let b = multi.add(indicatif::ProgressBar::new(p.total.unwrap_or(0)));
                if let Ok(style) = indicatif::ProgressStyle::with_template(
                    "{prefix:24} [{bar:30}] {pos}/{len} records {msg}",
                ) {
                    b.set_style(style.progress_chars("=> "));
                }
                b.set_prefix(format!("{}/{}", p.org, p.object));
                b
            });
        if let Some(t) = p.total {
            bar.set_length(t.max(p.read));
        } else {
            bar.set_length(p.read);
        }
        bar.set_position(p.read);
        bar.set_message(format!("({kind}, {} calls)", p.calls));
        if p.done {
            bar.finish();
        }
    }

    fn clear(&self) {
        if let Some(m) = &self.multi {
            let _ = m.clear();
        }
    }
}

/// The human-readable report.
pub fn render(r: &Report) -> String {
    let mut out = format!(
        "Reconcile ({} pass{}, {}): {} drifted record(s), {} API call(s), {:.1} s\n",
        if r.full { "full" } else { "quick" },
        if r.full {
            ""
        } else {
            "; full where counts disagreed"
        },
        r.mode.as_str(),
        r.drifts.len(),
        r.total_calls(),
        r.duration_ms as f64 / 1000.0
    );
    out += "\nPasses\n";
    let mut t = Table::new(&[
        "org",
        "object",
        "pass",
        "records",
        "count org/ledger",
        "calls",
    ]);
    for p in &r.passes {
        let counts = match (p.org_count, p.ledger_count) {
            (Some(o), Some(l)) => format!("{o}/{l}"),
            _ => "-".into(),
        };
        let kind = if p.kind == PassKind::Full {
            "full"
        } else {
            "quick"
        };
        t.row(vec![
            p.org.to_string(),
            p.object.clone(),
            kind.into(),
            p.records.to_string(),
            counts,
            p.calls.to_string(),
        ]);
    }
    out += &t.render("  ");
    out += "\nDrift by object and class\n";
    let mut header = vec!["object"];
    header.extend(DriftClass::ALL.iter().map(|c| c.as_str()));
    let mut t = Table::new(&header);
    for (object, counts) in r.counts() {
        let mut row = vec![object];
        row.extend(
            DriftClass::ALL
                .iter()
                .map(|c| counts.get(c).copied().unwrap_or(0).to_string()),
        );
        t.row(row);
    }
    out += &t.render("  ");
    if !r.drifts.is_empty() {
        out += "\nDrifted records\n";
        let mut t = Table::new(&["class", "object", "org", "record", "fields", "repair"]);
        for d in &r.drifts {
            let record = match (&d.global_id, &d.local_id) {
                (Some(g), _) => g.to_string(),
                (None, Some(l)) => format!("{} {l}", d.org),
                (None, None) => "-".into(),
            };
            t.row(vec![
                d.class.as_str().into(),
                d.object.clone(),
                d.org.to_string(),
                record,
                d.fields.join(","),
                serde_json::to_value(d.fix)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
            ]);
        }
        out += &t.render("  ");
    }
    out += &format!(
        "\nRepairs: {} queued, {} applied by this command; {} record(s) skipped (an item for them is still waiting)\n",
        r.queued, r.applied, r.skipped_pending
    );
    out
}
