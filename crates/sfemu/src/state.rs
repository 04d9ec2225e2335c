//! The state one emulated org's HTTP server shares between handlers.

use sfemu_org::{Org, User};
use std::sync::Arc;

/// Everything a request to one org may touch. One per org, shared as `Arc<OrgServer>`.
///
/// The auth, limits and faults members are owned by their modules (`auth`, `limits`,
/// `faults`); handlers reach the data through `org`.
#[derive(Debug)]
pub struct OrgServer {
    /// The org's data.
    pub org: Arc<Org>,
    /// Base URL clients reach this org at (`https://127.0.0.1:8484`), the `instance_url`.
    pub base_url: String,
    /// API request counting and the daily allocation.
    pub limits: crate::limits::Limits,
    /// Injected faults.
    pub faults: crate::faults::Faults,
}

/// Marks a request that the emulator dispatches to itself (a composite subrequest): it is not
/// counted against the API limits and not subject to fault injection again.
#[derive(Debug, Clone, Copy)]
pub struct InternalCall;

/// The authenticated caller of a REST request, extracted from `Authorization: Bearer …`.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    /// The connected app's consumer key the token was issued to.
    pub client_id: String,
}

/// The parsed `Sforce-Call-Options` request header (`client=…`, `defaultNamespace=…`), split on
/// `;` or `,` as different client libraries join it differently.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    pub client: Option<String>,
    pub default_namespace: Option<String>,
}
