//! What "Add object" asks of the orgs — supplied by the binary (the engine's `catalog`), so
//! this crate needs no Salesforce client, and tests can answer without any org.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use orgsync_core::Settings;
use orgsync_core::config::Capture;

/// A boxed answer; Err is the message to show the operator (a login refused, an org down).
pub type Answer<T> = Pin<Box<dyn Future<Output = Result<T, String>> + Send>>;

/// What vetting an object and its chosen fields in every org found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vetting {
    /// Each thing that stops the sync, naming the field and the org; empty: it can be added.
    pub problems: Vec<String>,
    /// The method to create it with: CDC when every org publishes its change events.
    pub capture: Capture,
    /// One sentence on that method and why ("Change Data Capture is not enabled … polling").
    pub capture_text: String,
}

/// The orgs as "Add object" sees them. Each call gets the settings in effect (the file with
/// the overlay over it), so objects added since the start are not offered again.
pub trait Catalog: Send + Sync {
    /// Objects present in every org (describeGlobal) and not synced yet.
    fn objects(&self, settings: Arc<Settings>) -> Answer<Vec<String>>;
    /// Fields of `object` present and writable (createable and updateable) in every org.
    fn fields(&self, settings: Arc<Settings>, object: String) -> Answer<Vec<String>>;
    /// Vet `object` with `fields` in every org, and learn whether CDC is enabled for it.
    fn vet(&self, settings: Arc<Settings>, object: String, fields: Vec<String>) -> Answer<Vetting>;
}
