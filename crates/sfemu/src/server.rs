//! Running emulated orgs: one listener per org, optional TLS, persistence, graceful shutdown.
//!
//! This is also the in-process API other crates' integration tests use:
//! `Emulator::start(EmulatorConfig::single_org()).await?` then `emu.orgs()[0].base_url`.

use crate::auth::AuthState;
pub use crate::config::{ConfigError, EmulatorConfig, OrgConfig};
use crate::faults::Faults;
use crate::limits::Limits;
use crate::state::OrgServer;
use sfemu_org::{Caller, Org, SfError};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("org '{org}': cannot listen on {addr}: {source}")]
    Bind {
        org: String,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("org '{org}': {source}")]
    Org { org: String, source: SfError },
    #[error("org '{org}': cannot create the data directory {}: {source}", dir.display())]
    DataDir {
        org: String,
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("org '{org}': the seed data was refused: {source}")]
    Seed { org: String, source: SfError },
    #[error("org '{org}': the default user {username} does not exist")]
    NoUser { org: String, username: String },
    #[error("org '{org}': outbound messaging rule or platform event refused: {message}")]
    Realtime { org: String, message: String },
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

/// One org being served.
#[derive(Debug)]
pub struct RunningOrg {
    pub name: String,
    /// 18-character `00D…` id.
    pub org_id: String,
    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`; also the `instance_url`.
    pub base_url: String,
    /// The self-signed certificate's PEM when TLS is on (trust it as a root).
    pub ca_pem: Option<String>,
    pub state: Arc<OrgServer>,
    data_dir: Option<PathBuf>,
}

impl RunningOrg {
    /// Writes the org to its data directory now (no-op without one).
    pub fn save(&self) -> Result<(), SfError> {
        match &self.data_dir {
            Some(dir) => self.state.org.save(dir),
            None => Ok(()),
        }
    }
}

/// The running emulator: every configured org, listening.
#[derive(Debug)]
pub struct Emulator {
    orgs: Vec<RunningOrg>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

fn org_dir(data_dir: &Path, name: &str) -> PathBuf {
    data_dir.join(name)
}

fn has_state(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|mut d| d.next().is_some())
        .unwrap_or(false)
}

/// Builds (or reopens) one org and seeds it when new.
/// The org and whether it was created now (rather than reopened from the data dir).
fn build_org(cfg: &OrgConfig, data_dir: Option<&Path>) -> Result<(Arc<Org>, bool), ServerError> {
    let org_err = |source| ServerError::Org {
        org: cfg.name.clone(),
        source,
    };
    let (org, fresh) = match data_dir {
        Some(d) => {
            let dir = org_dir(d, &cfg.name);
            let fresh = !has_state(&dir);
            std::fs::create_dir_all(&dir).map_err(|source| ServerError::DataDir {
                org: cfg.name.clone(),
                dir: dir.clone(),
                source,
            })?;
            (Org::open(cfg.spec.clone(), &dir).map_err(org_err)?, fresh)
        }
        None => (Org::new(cfg.spec.clone()).map_err(org_err)?, true),
    };
    if let (Some(seed), true) = (&cfg.seed, fresh) {
        let admin = cfg.usernames().into_iter().next().unwrap_or_default();
        let user = org
            .user_by_username(&admin)
            .ok_or_else(|| ServerError::NoUser {
                org: cfg.name.clone(),
                username: admin.clone(),
            })?;
        let caller = Caller {
            user_id: user.id,
            api: "rest".into(),
            api_version: "66.0".into(),
            client: Some("sfemu-seed".into()),
        };
        let n = org
            .load_seed(&caller, seed)
            .map_err(|source| ServerError::Seed {
                org: cfg.name.clone(),
                source,
            })?;
        tracing::info!(org = %cfg.name, records = n, "seed data loaded");
    }
    Ok((org, fresh))
}

fn base_url(scheme: &str, addr: SocketAddr) -> String {
    let ip = addr.ip();
    let host = if ip.is_unspecified() {
        "127.0.0.1".to_string()
    } else if ip.is_ipv6() {
        format!("[{ip}]")
    } else {
        ip.to_string()
    };
    format!("{scheme}://{host}:{}", addr.port())
}

impl Emulator {
    /// Builds every org, binds every port and starts serving.
    pub async fn start(config: EmulatorConfig) -> Result<Emulator, ServerError> {
        let cert = if config.tls {
            let c = crate::tls::self_signed()?;
            let sc = crate::tls::server_config(&c)?;
            Some((c, sc))
        } else {
            None
        };
        let scheme = if config.tls { "https" } else { "http" };
        let (tx, rx) = watch::channel(false);
        let mut orgs = Vec::new();
        let mut tasks = Vec::new();
        for oc in &config.orgs {
            let addr = SocketAddr::new(config.host, oc.port);
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|source| ServerError::Bind {
                    org: oc.name.clone(),
                    addr,
                    source,
                })?;
            let local = listener.local_addr().map_err(|source| ServerError::Bind {
                org: oc.name.clone(),
                addr,
                source,
            })?;
            let url = base_url(scheme, local);
            let (org, fresh) = build_org(oc, config.data_dir.as_deref())?;
            let org_id = org.org_id().to_string();
            let auth = AuthState::new(
                &org_id,
                oc.apps.clone(),
                oc.token_ttl,
                oc.security_tokens.clone(),
            );
            let state = Arc::new(OrgServer::new(
                org,
                url.clone(),
                auth,
                Limits::new(oc.daily_api_requests),
                Faults::new(oc.faults.clone()),
                oc.usernames(),
            ));
            state.pubsub.set_settings(oc.pubsub);
            for pe in &oc.platform_events {
                let schema =
                    crate::pubsub::platform::build(pe).map_err(|e| ServerError::Realtime {
                        org: oc.name.clone(),
                        message: format!("platform event {}: {e}", pe.name),
                    })?;
                state.pubsub.catalog.add_platform(schema);
            }
            for rule in &oc.outbound {
                state
                    .outbound
                    .add_rule(rule.clone())
                    .map_err(|e| ServerError::Realtime {
                        org: oc.name.clone(),
                        message: e.to_string(),
                    })?;
            }
            tasks.push(tokio::spawn(crate::outbound::sender::run(
                state.clone(),
                rx.clone(),
            )));
            let app = crate::pubsub::with_grpc(crate::http::router(state.clone()), state.clone());
            tasks.push(tokio::spawn(crate::conn::serve(
                listener,
                cert.as_ref().map(|(_, sc)| sc.clone()),
                app,
                rx.clone(),
            )));
            let data_dir = config.data_dir.as_deref().map(|d| org_dir(d, &oc.name));
            if let Some(dir) = &data_dir {
                tasks.push(tokio::spawn(save_periodically(
                    state.clone(),
                    dir.clone(),
                    config.save_interval,
                    rx.clone(),
                    // A new org is saved at the first tick; a reopened one once it changes.
                    (!fresh).then(|| state.change_marker()),
                )));
            }
            tracing::info!(org = %oc.name, org_id = %org_id, url = %url, "org listening");
            orgs.push(RunningOrg {
                name: oc.name.clone(),
                org_id,
                base_url: url,
                ca_pem: cert.as_ref().map(|(c, _)| c.cert_pem.clone()),
                state,
                data_dir,
            });
        }
        Ok(Emulator {
            orgs,
            shutdown: tx,
            tasks,
        })
    }

    /// Every org, in config order.
    pub fn orgs(&self) -> &[RunningOrg] {
        &self.orgs
    }

    /// The org with this name.
    pub fn org(&self, name: &str) -> Option<&RunningOrg> {
        self.orgs.iter().find(|o| o.name == name)
    }

    /// Stops accepting, lets in-flight requests finish, and saves every org with a data dir.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for o in &self.orgs {
            o.state.pubsub.close();
        }
        for t in self.tasks {
            let _ = t.await;
        }
        for o in &self.orgs {
            if let Err(e) = o.save() {
                tracing::error!(org = %o.name, error = %e, "saving the org failed");
            }
        }
    }
}

/// Saves the org whenever it changed since `saved` (the change marker at the last save; `None`
/// = never saved), checking every `every`.
async fn save_periodically(
    state: Arc<OrgServer>,
    dir: PathBuf,
    every: std::time::Duration,
    mut stop: watch::Receiver<bool>,
    mut saved: Option<(u64, u64)>,
) {
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let now = Some(state.change_marker());
        if now == saved {
            continue;
        }
        let (s, d) = (state.clone(), dir.clone());
        match tokio::task::spawn_blocking(move || s.org.save(&d)).await {
            Ok(Ok(())) => saved = now,
            Ok(Err(e)) => tracing::error!(error = %e, "periodic save failed"),
            Err(e) => tracing::error!(error = %e, "periodic save panicked"),
        }
    }
}
