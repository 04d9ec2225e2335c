//! Credentials for every RPC, from a source the engine controls.
//!
//! Pub/Sub authenticates each RPC with three metadata entries — `accesstoken`, `instanceurl`,
//! `tenantid` — built from the same OAuth session the REST client holds. Tokens expire, so the
//! client asks a [`TokenSource`] for the current ones on every RPC and, after UNAUTHENTICATED,
//! asks it once to refresh before giving up: the engine plugs in sfclient's session and gets one
//! refresh path for REST and Pub/Sub alike.

use crate::error::PubSubError;
use futures::future::BoxFuture;
use tonic::metadata::{MetadataMap, MetadataValue};

/// What every RPC must carry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// OAuth access token or session id.
    pub access_token: String,
    /// `https://MyDomainName.my.salesforce.com` (the emulator's base URL locally).
    pub instance_url: String,
    /// The org id (`00D…`).
    pub tenant_id: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the token.
        f.debug_struct("Credentials")
            .field("instance_url", &self.instance_url)
            .field("tenant_id", &self.tenant_id)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Adds the three auth entries to an RPC's metadata.
    pub(crate) fn apply(&self, md: &mut MetadataMap) -> Result<(), PubSubError> {
        let value = |name: &str, v: &str| {
            MetadataValue::try_from(v)
                .map_err(|_| PubSubError::Token(format!("{name} is not a valid header value")))
        };
        md.insert(
            "accesstoken",
            value("the access token", &self.access_token)?,
        );
        md.insert(
            "instanceurl",
            value("the instance URL", &self.instance_url)?,
        );
        md.insert("tenantid", value("the tenant id", &self.tenant_id)?);
        Ok(())
    }
}

/// Where the client gets credentials. Implementations must be cheap on `current` (called per
/// RPC) and deduplicate concurrent `refresh` calls (several streams may fail at once).
pub trait TokenSource: Send + Sync + 'static {
    /// The credentials to use now.
    fn current(&self) -> BoxFuture<'_, Result<Credentials, PubSubError>>;

    /// Called after the server rejected `rejected_token`: obtain a new token (unless another
    /// caller already replaced that one) and return the credentials to retry with.
    fn refresh<'a>(
        &'a self,
        rejected_token: &'a str,
    ) -> BoxFuture<'a, Result<Credentials, PubSubError>>;
}

/// Fixed credentials: for tests and short-lived tools. Refreshing returns the same token, so an
/// expired one ends in [`PubSubError::Auth`] after one retry.
#[derive(Debug, Clone)]
pub struct StaticToken(pub Credentials);

impl TokenSource for StaticToken {
    fn current(&self) -> BoxFuture<'_, Result<Credentials, PubSubError>> {
        let c = self.0.clone();
        Box::pin(async move { Ok(c) })
    }

    fn refresh<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Credentials, PubSubError>> {
        self.current()
    }
}
