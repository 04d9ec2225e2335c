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
    /// Connected apps and issued tokens.
    pub auth: crate::auth::AuthState,
    /// Usernames of the org's users (the control surface lists them).
    pub usernames: Vec<String>,
    /// Direct edits through the control surface (they bypass the change log, so persistence
    /// watches this counter too).
    pub direct_edits: std::sync::atomic::AtomicU64,
    /// Change events for the Pub/Sub API.
    pub pubsub: Arc<crate::pubsub::EventBus>,
    /// Outbound Messaging rules and queue.
    pub outbound: Arc<crate::outbound::Outbound>,
}

impl OrgServer {
    /// Shared state of one org.
    pub fn new(
        org: Arc<Org>,
        base_url: String,
        auth: crate::auth::AuthState,
        limits: crate::limits::Limits,
        faults: crate::faults::Faults,
        usernames: Vec<String>,
    ) -> Self {
        OrgServer {
            pubsub: crate::pubsub::EventBus::new(org.clone()),
            outbound: crate::outbound::Outbound::new(org.clone()),
            org,
            base_url,
            limits,
            faults,
            auth,
            usernames,
            direct_edits: Default::default(),
        }
    }

    /// Records a direct edit (see `direct_edits`).
    pub fn note_direct_edit(&self) {
        self.direct_edits
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// A number that changes whenever the org's data changed (change log or direct edit).
    pub fn change_marker(&self) -> (u64, u64) {
        (
            self.org.last_change_seq(),
            self.direct_edits.load(std::sync::atomic::Ordering::Relaxed),
        )
    }
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallOptions {
    pub client: Option<String>,
    pub default_namespace: Option<String>,
}

impl CallOptions {
    /// Parses the header value: `client=x; defaultNamespace=y` or `client=x, defaultNamespace=y`.
    /// Unknown keys are ignored; key names are matched case-insensitively.
    pub fn parse(value: &str) -> Self {
        let mut o = CallOptions::default();
        for part in value.split([';', ',']) {
            let Some((k, v)) = part.split_once('=') else {
                continue;
            };
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            match k.trim().to_ascii_lowercase().as_str() {
                "client" => o.client = Some(v.to_string()),
                "defaultnamespace" => o.default_namespace = Some(v.to_string()),
                _ => {}
            }
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_options_both_separators() {
        let a = CallOptions::parse("client=orgsync/1.0; defaultNamespace=battle");
        let b = CallOptions::parse("client=orgsync/1.0, defaultNamespace=battle");
        assert_eq!(a, b);
        assert_eq!(a.client.as_deref(), Some("orgsync/1.0"));
        assert_eq!(a.default_namespace.as_deref(), Some("battle"));
        assert_eq!(CallOptions::parse("junk"), CallOptions::default());
    }
}
