//! `orgsync sync pause|resume|set|remove|restore` and `orgsync config export`: the sync
//! settings overlay from the command line — the same changes as the Sync Monitor's settings
//! page (`orgsync_monitor::admin`), audited with `cli:<user>`. A running service follows the
//! overlay by itself (`orgsync_engine::EngineHost`).
//!
//! Precedence: a key set in the overlay wins over the file's; unset keys follow the file.

use clap::{Args, Subcommand};
use orgsync_core::Settings;
use orgsync_monitor::admin::{self, Change};
use orgsync_store::overlay::{self, capture_name, duration_text};
use orgsync_store::{SqlStore, Store};

use crate::ConfigArgs;

/// `orgsync sync …`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(subcommand)]
    pub action: SyncAction,
}

/// What to change.
#[derive(Debug, Subcommand)]
pub enum SyncAction {
    /// Pause a sync's capture (a running service stops it within seconds).
    Pause {
        /// The synced object (as in the config's `[[sync]] object`).
        object: String,
    },
    /// Resume a paused sync.
    Resume {
        /// The synced object.
        object: String,
    },
    /// Change a sync's method or interval (a running service restarts its engine with it
    /// within seconds).
    Set {
        /// The synced object.
        object: String,
        /// Capture method: poll, cdc or outbound.
        #[arg(long)]
        capture: Option<String>,
        /// Poll interval (the backup poll for cdc and outbound), like 30s, 5m, 2h.
        #[arg(long)]
        interval: Option<String>,
    },
    /// Remove a sync: its checkpoints, queued and failed items, id-map and shadow rows and
    /// agreed values leave the ledger; records in the orgs stay.
    Remove {
        /// The synced object.
        object: String,
        /// Confirm (without it, only what would go is printed).
        #[arg(long)]
        yes: bool,
    },
    /// Forget a sync's overlay: the file's settings apply again.
    Restore {
        /// The synced object.
        object: String,
    },
    /// Add a sync of an object the file does not sync, over fields that exist and are
    /// writable in every org (checked first, naming any field and org that is not). It is
    /// created disabled — `orgsync sync resume` starts it — with Change Data Capture when
    /// every org publishes the object's change events, polling otherwise.
    Add {
        /// The object's API name (the same in every org).
        object: String,
        /// Its fields, comma-separated (`LastName,Email`).
        #[arg(long, value_delimiter = ',', required = true)]
        fields: Vec<String>,
    },
}

/// Who the CLI acts as, for the activity log.
fn who() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

/// Run `orgsync sync …`.
pub async fn run(args: &SyncArgs) -> anyhow::Result<u8> {
    let settings = super::load(&args.config)?;
    let store = super::open_store(&super::state_url(
        &settings.engine.state,
        &args.config.config,
    ))
    .await?;
    let who = who();
    let change = |enabled, capture, interval| Change {
        capture,
        interval,
        enabled,
    };
    // the settings in effect: an added sync is paused, resumed or removed like the file's
    let now = |store: &SqlStore| {
        let store = store.clone();
        let settings = settings.clone();
        async move {
            let overrides = store.sync_overrides().await?;
            anyhow::Ok(admin::effective(&settings, &overrides))
        }
    };
    let said = match &args.action {
        SyncAction::Pause { object } => {
            let c = change(Some(false), None, None);
            let row = admin::change(&store, &now(&store).await?, object, &c, &who).await?;
            format!(
                "{}: paused (a running service stops its capture within seconds)",
                row.object
            )
        }
        SyncAction::Resume { object } => {
            let c = change(Some(true), None, None);
            let row = admin::change(&store, &now(&store).await?, object, &c, &who).await?;
            format!("{}: resumed", row.object)
        }
        SyncAction::Set {
            object,
            capture,
            interval,
        } => {
            anyhow::ensure!(
                capture.is_some() || interval.is_some(),
                "give --capture and/or --interval"
            );
            let c = change(None, capture.clone(), interval.clone());
            let row = admin::change(&store, &now(&store).await?, object, &c, &who).await?;
            format!(
                "{}: changed (a running service restarts its engine with it within seconds; writes under way finish first)",
                row.object
            )
        }
        SyncAction::Remove { object, yes } => {
            let goes = admin::what_goes(&now(&store).await?, object)?;
            if !yes {
                println!("Removing {object} deletes from the ledger:");
                for g in goes {
                    println!("  - {g}");
                }
                println!("Records already in the orgs stay. Run again with --yes to remove it.");
                store.close().await;
                return Ok(1);
            }
            let r = admin::remove(&store, &now(&store).await?, object, &who).await?;
            format!(
                "{object}: removed ({} checkpoint(s), {} item(s), {} id-map row(s), {} agreed row(s) deleted; records in the orgs stay)",
                r.checkpoints, r.items, r.records, r.agreed
            )
        }
        SyncAction::Add { object, fields } => {
            let overrides = store.sync_overrides().await?;
            let now = admin::effective(&settings, &overrides);
            let fields: Vec<String> = fields.iter().map(|f| f.trim().to_string()).collect();
            let v = super::catalog::vet(&now, object, &fields).await?;
            if !v.problems.is_empty() {
                println!("{object} cannot be added as asked:");
                for p in &v.problems {
                    println!("  - {p}");
                }
                store.close().await;
                return Ok(1);
            }
            let row = admin::add(&store, &now, object, &fields, v.capture, &who).await?;
            format!(
                "{}: added, disabled (`orgsync sync resume {}` starts it; a running service picks it up within seconds). {}.",
                row.object, row.object, v.capture_text
            )
        }
        SyncAction::Restore { object } => match admin::restore(&store, object, &who).await? {
            true => format!(
                "{object}: the file's settings apply again (a running service picks them up within seconds)"
            ),
            false => format!("{object}: had no overlay"),
        },
    };
    store.close().await;
    println!("{said}");
    Ok(0)
}

/// `orgsync config export`: the sync settings in effect (the file with the overlay over
/// it), as `[[sync]]` TOML keys to paste back into the file.
pub async fn export(args: &ConfigArgs) -> anyhow::Result<u8> {
    let mut settings = super::load(args)?;
    let store = super::open_store(&super::state_url(&settings.engine.state, &args.config)).await?;
    let overrides = store.sync_overrides().await?;
    store.close().await;
    let removed = overlay::apply(&mut settings, &overrides);
    print!("{}", export_text(&settings, &overrides, &removed));
    Ok(0)
}

/// The export's text (pure, for tests).
pub fn export_text(
    settings: &Settings,
    overrides: &[orgsync_store::SyncOverride],
    removed: &[String],
) -> String {
    let mut out = String::from(
        "# orgsync config export: the sync settings in effect — the configuration file with the\n\
         # ledger's overlay (Sync Monitor, `orgsync sync`) over it. Keys the overlay can change;\n\
         # copy them into the file's [[sync]] tables, then `orgsync sync restore <object>`.\n",
    );
    for s in &settings.syncs {
        out.push_str("\n[[sync]]\n");
        out.push_str(&format!("object = {}\n", quoted(&s.object)));
        if let Some(fields) = overlay::find(overrides, &s.object).and_then(|o| o.fields.as_ref()) {
            // an added sync: the file has none, so its fields go with it
            let list: Vec<String> = fields.iter().map(|f| quoted(f)).collect();
            out.push_str(&format!("fields = [{}]\n", list.join(", ")));
        }
        out.push_str(&format!("capture = {}\n", quoted(capture_name(s.capture))));
        let key = match s.capture {
            orgsync_core::config::Capture::Poll => "interval",
            _ => "backup_interval",
        };
        out.push_str(&format!("{key} = {}\n", quoted(&duration_text(s.interval))));
        out.push_str(&format!("enabled = {}\n", s.enabled));
        if let Some(o) = overlay::find(overrides, &s.object) {
            out.push_str(&format!(
                "# changed by {} at {}\n",
                o.updated_by,
                o.updated_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ));
        }
    }
    for r in removed {
        out.push_str(&format!(
            "\n# [[sync]] object = {} was removed: delete it from the file\n",
            quoted(r)
        ));
    }
    out
}

/// A TOML basic string.
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
