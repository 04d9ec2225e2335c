//! The engine's errors. Per-record failures never surface here: they become item outcomes in
//! the ledger. These are the failures that stop the engine from starting or running at all.

use orgsync_core::OrgName;

/// Why the engine could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The settings cannot be used as given.
    #[error("configuration: {0}")]
    Config(String),
    /// An org refused our credentials (or could not be reached at login).
    #[error("org {org}: login failed: {source}")]
    Auth {
        /// The org.
        org: OrgName,
        /// The client's error.
        #[source]
        source: sfclient::SfError,
    },
    /// The ledger failed.
    #[error("ledger: {0}")]
    Store(#[from] orgsync_store::StoreError),
    /// A Salesforce call failed where the engine cannot carry on.
    #[error("org {org}: {source}")]
    Api {
        /// The org.
        org: OrgName,
        /// The client's error.
        #[source]
        source: sfclient::SfError,
    },
    /// A change-event subscription failed (it is resubscribed; the poll covers the gap).
    #[error("org {org}: change events: {message}")]
    Stream {
        /// The org.
        org: OrgName,
        /// What the Pub/Sub API said.
        message: String,
    },
    /// A captured record could not be processed.
    #[error("pipeline: {0}")]
    Pipeline(#[from] orgsync_core::pipeline::PipelineError),
}

impl EngineError {
    /// The org refused the credentials (rather than being unreachable): retrying soon will not
    /// help, a person must fix them.
    pub fn is_auth_refusal(&self) -> bool {
        match self {
            EngineError::Auth { source, .. } => source.kind() == sfclient::ErrorKind::Auth,
            _ => false,
        }
    }
}
