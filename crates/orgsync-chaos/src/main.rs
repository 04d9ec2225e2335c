//! `orgsync-chaos`: run the chaos suite for one seed or many (see the library docs).
//!
//! Exit codes: 0 every count of every seed is zero, 1 some count is not, 2 the harness itself
//! failed (bad arguments, the emulator or orgsync could not start).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use orgsync_chaos::{Mode, Options, Topology, run};

/// The chaos suite: N emulated orgs, seeded concurrent edits, faults, an outage and SIGKILLs
/// of the real orgsync, then a full comparison by global id.
#[derive(Debug, Parser)]
#[command(name = "orgsync-chaos", version)]
struct Args {
    /// The seed (decides the capture mode, edits, faults and kill times).
    #[arg(long, default_value_t = 1, conflicts_with = "seeds")]
    seed: u64,
    /// Many seeds, run one after another and summarised: `1..20` (inclusive) or `3,7,9`.
    #[arg(long)]
    seeds: Option<String>,
    /// Seconds of edits.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// A soak: 10 minutes of edits (overrides --seconds).
    #[arg(long)]
    soak: bool,
    /// Number of emulated orgs.
    #[arg(long, default_value_t = 3)]
    orgs: usize,
    /// Capture mode (default: by seed, seed % 5 → poll, cdc, outbound, push, mixed).
    #[arg(long)]
    mode: Option<Mode>,
    /// Topology (default: hub and spoke; peer for --orgs 2).
    #[arg(long)]
    topology: Option<Topology>,
    /// User edits per second.
    #[arg(long, default_value_t = 5.0)]
    rate: f64,
    /// Upper bound of the final wait for orgsync to go idle, seconds.
    #[arg(long, default_value_t = 120)]
    settle: u64,
    /// The orgsync binary (default: build it with cargo, same profile, and use it).
    #[arg(long, env = "ORGSYNC_BIN")]
    orgsync_bin: Option<PathBuf>,
    /// Keep each run's directory (config, SQLite ledger, orgsync logs) and print it.
    #[arg(long)]
    keep_dir: bool,
    /// RUST_LOG for orgsync (its logs go to orgsync-N.log in the run's directory).
    #[arg(long, default_value = "warn")]
    log: String,
    /// Findings and records printed per check.
    #[arg(long, default_value_t = 60)]
    max_details: usize,
}

fn seeds(a: &Args) -> anyhow::Result<Vec<u64>> {
    let Some(s) = &a.seeds else {
        return Ok(vec![a.seed]);
    };
    if let Some((from, to)) = s.split_once("..") {
        let from: u64 = from
            .trim()
            .parse()
            .context("--seeds: the start is not a number")?;
        let to: u64 = to
            .trim()
            .trim_start_matches('=')
            .parse()
            .context("--seeds: the end is not a number")?;
        if to < from {
            bail!("--seeds {s}: the end is before the start");
        }
        return Ok((from..=to).collect());
    }
    s.split(',')
        .map(|x| {
            x.trim()
                .parse()
                .with_context(|| format!("--seeds: `{x}` is not a number"))
        })
        .collect()
}

/// The orgsync binary: given, or built now by cargo (same profile as this binary) beside it,
/// so a run never measures a stale engine.
fn orgsync_bin(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(p) = given {
        return Ok(p);
    }
    let mut cmd = std::process::Command::new(env!("CARGO"));
    cmd.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .args(["build", "--quiet", "-p", "orgsync", "--bin", "orgsync"]);
    if !cfg!(debug_assertions) {
        cmd.arg("--release");
    }
    let status = cmd
        .status()
        .context("running cargo to build orgsync (or give --orgsync-bin)")?;
    if !status.success() {
        bail!("building orgsync failed ({status}); give --orgsync-bin");
    }
    let bin = std::env::current_exe()?.with_file_name("orgsync");
    if !bin.exists() {
        bail!("{} not found; give --orgsync-bin", bin.display());
    }
    Ok(bin)
}

async fn main_inner(a: Args) -> anyhow::Result<bool> {
    let seeds = seeds(&a)?;
    let bin = orgsync_bin(a.orgsync_bin.clone())?;
    let mut lines = Vec::new();
    let mut failed = Vec::new();
    for seed in seeds {
        let mut o = Options::new(seed, bin.clone());
        o.seconds = if a.soak { 600 } else { a.seconds };
        o.orgs = a.orgs;
        o.mode = a.mode;
        o.topology = a.topology;
        o.rate = a.rate;
        o.settle = Duration::from_secs(a.settle);
        o.keep_dir = a.keep_dir;
        o.log = a.log.clone();
        o.max_details = a.max_details;
        let out = run(&o).await.with_context(|| format!("seed {seed}"))?;
        println!("{}", out.line);
        if !out.passed() || a.keep_dir {
            print!("{}", out.details);
        }
        if !out.passed() {
            failed.push(seed);
        }
        lines.push(out.line);
    }
    if lines.len() > 1 {
        println!("\nsummary of {} seeds:", lines.len());
        for l in &lines {
            println!("  {l}");
        }
        println!(
            "passed {}, failed {}{}",
            lines.len() - failed.len(),
            failed.len(),
            if failed.is_empty() {
                String::new()
            } else {
                format!(" (seeds {failed:?})")
            }
        );
    }
    Ok(failed.is_empty())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("orgsync-chaos: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(main_inner(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("orgsync-chaos: {e:#}");
            ExitCode::from(2)
        }
    }
}
