//! The per-org client: configuration, connection set-up (rustls on ring), shared state.

use crate::auth::token::TokenCache;
use crate::auth::{AuthFlow, Authenticator};
use crate::budget::{Budget, BudgetSnapshot, Ceiling};
use crate::error::SfError;
use crate::rest::describe::DescribeCache;
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use std::sync::Arc;
use std::time::Duration;

/// Timeouts for one org. A sync service prefers a timeout it can retry over a hung worker.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// TCP + TLS connect.
    pub connect: Duration,
    /// One whole request, response body included (Salesforce's own cap is 10 minutes; queries
    /// that take longer than this are better split).
    pub request: Duration,
    /// One file download or upload, body included (`rest/files.rs`): a 2 GB file needs far
    /// longer than a JSON call.
    pub file: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(120),
            file: Duration::from_secs(3600),
        }
    }
}

/// In-client retries of whole calls that failed with a retryable error. Only idempotent calls
/// are retried (reads, upserts by external id, updates by id, deletes); creates never are.
/// The engine runs the long schedule (minutes to hours) on top of this.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Extra attempts after the first (0 disables retries).
    pub max_retries: usize,
    pub min_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

/// Everything needed to talk to one org.
#[derive(Debug, Clone)]
pub struct OrgConfig {
    /// Our name for the org (appears in every error message).
    pub name: String,
    /// `https://login.salesforce.com`, `https://test.salesforce.com`, a My Domain URL, or the
    /// emulator's base URL.
    pub login_url: String,
    pub auth: AuthFlow,
    /// REST API version without `v` (`62.0`).
    pub api_version: String,
    /// Sent as `Sforce-Call-Options: client=<tag>` so change events caused by us are recognised.
    pub client_tag: String,
    /// Extra trusted CA certificates (PEM), e.g. the emulator's self-signed certificate.
    pub ca_pem: Option<String>,
    /// Also trust the operating system's CA store (needed for real Salesforce).
    pub use_system_roots: bool,
    pub timeouts: Timeouts,
    /// Cap on concurrent requests to this org (Salesforce: 25 long-running per org).
    pub max_concurrent: usize,
    pub retry: RetryPolicy,
    /// `Sforce-Query-Options: batchSize=N` (200..=2000); `None` leaves Salesforce's 2000.
    pub query_batch_size: Option<u32>,
    /// Hosts, besides Salesforce's own domains and the login URL's host, that a login may name
    /// as the instance (a gateway or proxy in front of the org). A login that names any other
    /// host fails with an auth error before the token is used (see [`crate::auth::instance`]).
    pub instance_hosts: Vec<String>,
}

impl OrgConfig {
    /// A configuration with the defaults: API 62.0, tag `orgsync`, 25 concurrent requests.
    pub fn new(name: impl Into<String>, login_url: impl Into<String>, auth: AuthFlow) -> Self {
        OrgConfig {
            name: name.into(),
            login_url: login_url.into(),
            auth,
            api_version: "62.0".into(),
            client_tag: "orgsync".into(),
            ca_pem: None,
            use_system_roots: true,
            timeouts: Timeouts::default(),
            max_concurrent: 25,
            retry: RetryPolicy::default(),
            query_batch_size: None,
            instance_hosts: Vec::new(),
        }
    }
}

/// A connection to one org. Cheap to clone; clones share the token, the budget, the describe
/// cache and the connection pool.
#[derive(Debug, Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub http: reqwest::Client,
    pub config: OrgConfig,
    pub tokens: TokenCache,
    pub budget: Budget,
    pub describes: DescribeCache,
}

impl Client {
    /// Builds the HTTPS client and obtains the first token, so bad credentials, keys or
    /// certificates fail here and not on the first write.
    pub async fn connect(config: OrgConfig) -> Result<Client, SfError> {
        let http = build_http(&config)?;
        let auth = Authenticator::new(
            http.clone(),
            &config.name,
            &config.login_url,
            &config.api_version,
            config.auth.clone(),
            config.instance_hosts.clone(),
        )?;
        let budget = Budget::new(config.max_concurrent);
        let client = Client {
            inner: Arc::new(Inner {
                http,
                tokens: TokenCache::new(auth),
                budget,
                describes: DescribeCache::default(),
                config,
            }),
        };
        client.inner.tokens.get().await?;
        Ok(client)
    }

    /// The org's name as configured.
    pub fn org(&self) -> &str {
        &self.inner.config.name
    }

    /// The configuration this client was built from.
    pub fn config(&self) -> &OrgConfig {
        &self.inner.config
    }

    /// The instance URL of the current token.
    pub async fn instance_url(&self) -> Result<String, SfError> {
        Ok(self.inner.tokens.get().await?.1.instance_url.clone())
    }

    /// The identity URL of the current token (`…/id/<orgId>/<userId>`), when the token
    /// response carried one (OAuth flows do; SOAP login does not). The sync engine learns the
    /// org id from it without spending an API call.
    pub async fn identity_url(&self) -> Result<Option<String>, SfError> {
        Ok(self.inner.tokens.get().await?.1.id_url.clone())
    }

    /// The current session, for protocols that authenticate with the same OAuth token but
    /// are not REST (the Pub/Sub API's `accesstoken` / `instanceurl` metadata). The token is
    /// a [`Secret`](crate::Secret) so it never reaches a log by accident.
    pub async fn session(&self) -> Result<Session, SfError> {
        let (generation, token) = self.inner.tokens.get().await?;
        Ok(Session::of(generation, &token))
    }

    /// Replace the session whose token was rejected elsewhere (by the Pub/Sub API), unless
    /// another caller already did: one refresh for REST and Pub/Sub alike.
    pub async fn refresh_session(&self, rejected: &Session) -> Result<Session, SfError> {
        let (generation, token) = self.inner.tokens.refresh(Some(rejected.generation)).await?;
        Ok(Session::of(generation, &token))
    }

    /// The org's API budget as last reported by Salesforce, and our request counters.
    pub fn budget(&self) -> BudgetSnapshot {
        self.inner.budget.snapshot()
    }

    /// Hold every call that would take the org past `ceiling` (None lifts it); see
    /// [`crate::budget`]. Shared by every clone of this client.
    pub fn set_ceiling(&self, ceiling: Option<Ceiling>) {
        self.inner.budget.set_ceiling(ceiling);
    }

    /// Whether an ordinary call would be sent now (not held at the ceiling).
    pub fn budget_admits(&self) -> bool {
        self.inner.budget.admits()
    }

    /// Whether a `/limits` probe would be sent now (the reserve below the ceiling is not spent).
    pub fn probe_admitted(&self) -> bool {
        self.inner.budget.probe_admitted()
    }

    /// Resolves at the next change of the budget's figures or ceiling.
    pub async fn budget_changed(&self) {
        self.inner.budget.changed().await;
    }

    /// How many tokens this client has obtained (1 after connect; +1 per refresh).
    pub fn token_fetches(&self) -> u64 {
        self.inner.tokens.fetches()
    }

    /// How many times the auth flow has run, failed runs included.
    pub fn token_attempts(&self) -> u64 {
        self.inner.tokens.attempts()
    }
}

fn build_http(config: &OrgConfig) -> Result<reqwest::Client, SfError> {
    // Installing twice is harmless ("already installed"); the config below names ring anyway.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = RootCertStore::empty();
    if config.use_system_roots {
        for cert in rustls_native_certs::load_native_certs().certs {
            // A malformed system certificate must not stop us from trusting the rest.
            let _ = roots.add(cert);
        }
    }
    if let Some(pem) = &config.ca_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert =
                cert.map_err(|e| SfError::Config(format!("org {}: bad CA PEM: {e}", config.name)))?;
            roots.add(cert).map_err(|e| {
                SfError::Config(format!("org {}: bad CA certificate: {e}", config.name))
            })?;
            added += 1;
        }
        if added == 0 {
            return Err(SfError::Config(format!(
                "org {}: CA PEM holds no certificate",
                config.name
            )));
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| SfError::Config(format!("TLS: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(config.timeouts.connect)
        .timeout(config.timeouts.request)
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(config.max_concurrent.max(1))
        .tcp_keepalive(Duration::from_secs(60))
        .gzip(true)
        .user_agent(concat!("orgsync-sfclient/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SfError::Config(format!("org {}: HTTP client: {e}", config.name)))
}

/// An OAuth session as other protocols need it (see [`Client::session`]).
#[derive(Debug, Clone)]
pub struct Session {
    /// The access token.
    pub access_token: crate::Secret<String>,
    /// `https://MyDomain.my.salesforce.com` (no trailing slash).
    pub instance_url: String,
    /// The identity URL (`…/id/00D…/005…`), when the token response carried one.
    pub id_url: Option<String>,
    /// Which token this is (increases with every refresh).
    pub generation: u64,
}

impl Session {
    fn of(generation: u64, t: &crate::auth::Token) -> Session {
        Session {
            access_token: t.access_token.clone(),
            instance_url: t.instance_url.clone(),
            id_url: t.id_url.clone(),
            generation,
        }
    }
}
