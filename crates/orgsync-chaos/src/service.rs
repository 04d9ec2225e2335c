//! The real `orgsync` binary as a child process: `orgsync run --config orgsync.toml` in the
//! run's directory (each start logging to its own `orgsync-N.log` there), killed with SIGKILL
//! and restarted, stopped with SIGTERM at the end; `orgsync status --json` for the ledger's
//! item counts.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::config::STATE_FILE;

/// The service under test.
#[derive(Debug)]
pub struct Service {
    bin: PathBuf,
    dir: PathBuf,
    log: String,
    child: Option<Child>,
    /// How many times it was started.
    pub starts: u32,
    /// Exits nobody asked for: (start number, status, last log lines).
    pub exits: Vec<(u32, String, String)>,
}

fn command(bin: &Path, dir: &Path, log: &str) -> Command {
    let mut c = Command::new(bin);
    c.current_dir(dir)
        .env_remove("ORGSYNC_ENV")
        .env_remove("ORGSYNC_CONFIG")
        .env("RUST_LOG", log)
        .env("NO_COLOR", "1");
    c
}

impl Service {
    /// `bin` run in `dir` (which holds `orgsync.toml`), with `RUST_LOG=log`.
    pub fn new(bin: PathBuf, dir: PathBuf, log: String) -> Self {
        Service {
            // it runs in `dir`: a relative path must not be taken from there
            bin: std::fs::canonicalize(&bin).unwrap_or(bin),
            dir,
            log,
            child: None,
            starts: 0,
            exits: Vec::new(),
        }
    }

    fn log_path(&self, n: u32) -> PathBuf {
        self.dir.join(format!("orgsync-{n}.log"))
    }

    /// Start `orgsync run`.
    pub fn start(&mut self) -> anyhow::Result<()> {
        self.starts += 1;
        let path = self.log_path(self.starts);
        let out = File::create(&path).with_context(|| path.display().to_string())?;
        let err = out.try_clone()?;
        let child = command(&self.bin, &self.dir, &self.log)
            .args(["run", "--config", "orgsync.toml"])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {}", self.bin.display()))?;
        self.child = Some(child);
        Ok(())
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut c) = self.child.take() {
            c.kill().context("SIGKILL orgsync")?;
            c.wait()?;
        }
        Ok(())
    }

    /// If it exited by itself, record how (with its log's tail) and return true.
    pub fn exited(&mut self) -> bool {
        let Some(c) = self.child.as_mut() else {
            return false;
        };
        let Ok(Some(status)) = c.try_wait() else {
            return false;
        };
        self.child = None;
        let tail = tail(&self.log_path(self.starts), 15);
        self.exits.push((self.starts, describe(status), tail));
        true
    }

    /// SIGTERM, wait up to 20 s for a clean stop, then SIGKILL.
    pub fn stop(&mut self) {
        let Some(mut c) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = c.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
    }

    /// The ledger file.
    pub fn state_path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// `orgsync status --json` (every failed item listed).
    pub async fn status(&self) -> anyhow::Result<Value> {
        let mut c = command(&self.bin, &self.dir, "error");
        c.args(["status", "--json", "--recent", "100000", "--state"])
            .arg(self.state_path());
        let out = tokio::task::spawn_blocking(move || c.output()).await??;
        if !out.status.success() {
            bail!(
                "orgsync status: {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(serde_json::from_slice(&out.stdout)?)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Items per state over every target, from `orgsync status --json`.
pub fn item_counts(status: &Value) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    if let Some(per_org) = status.get("items").and_then(Value::as_object) {
        for states in per_org.values() {
            for (state, n) in states.as_object().into_iter().flatten() {
                *out.entry(state.clone()).or_default() += n.as_u64().unwrap_or(0);
            }
        }
    }
    out
}

fn describe(s: ExitStatus) -> String {
    match s.code() {
        Some(c) => format!("exit code {c}"),
        None => format!("{s}"),
    }
}

/// The last `n` lines of a file.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
