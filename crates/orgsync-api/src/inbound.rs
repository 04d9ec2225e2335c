//! The engine as the endpoints see it. A seam for wiring (the HTTP layer does not depend on
//! how the engine is built or on its store type), not for mocking: tests run the real engine.

use std::future::Future;
use std::sync::Arc;

use orgsync_core::push::PushRequest;
use orgsync_core::{OrgId, OrgName, Settings};
use orgsync_engine::{EngineError, EngineHandle, EngineHost, PushError, PushOutcome};

/// What the endpoints need from the engine.
pub trait Inbound: Send + Sync + 'static {
    /// The settings the engine runs with (tokens, secrets, limits).
    fn settings(&self) -> &Settings;
    /// A configured org's Salesforce id, once logged in.
    fn org_id(&self, org: &OrgName) -> Option<OrgId>;
    /// Apply a pushed request; committed to the ledger before it resolves.
    fn push(&self, req: PushRequest)
    -> impl Future<Output = Result<PushOutcome, PushError>> + Send;
    /// Re-read records and ingest their current state; committed before it resolves.
    fn reread(
        &self,
        org: &OrgName,
        object: &str,
        ids: &[String],
    ) -> impl Future<Output = Result<usize, EngineError>> + Send;
}

impl Inbound for Arc<EngineHandle> {
    fn settings(&self) -> &Settings {
        EngineHandle::settings(self)
    }
    fn org_id(&self, org: &OrgName) -> Option<OrgId> {
        EngineHandle::org_id(self, org)
    }
    fn push(
        &self,
        req: PushRequest,
    ) -> impl Future<Output = Result<PushOutcome, PushError>> + Send {
        EngineHandle::push(self, req)
    }
    fn reread(
        &self,
        org: &OrgName,
        object: &str,
        ids: &[String],
    ) -> impl Future<Output = Result<usize, EngineError>> + Send {
        EngineHandle::reread(self, org, object, ids)
    }
}

/// The running service's engine, resolved per request: a request arriving while the host
/// restarts the engine for new sync settings goes to the stopped one, whose ingest still
/// commits to the ledger (the new engine writes it). The settings used here (tokens, limits,
/// orgs) are the same in every engine the host runs.
impl Inbound for Arc<EngineHost> {
    fn settings(&self) -> &Settings {
        EngineHost::settings(self)
    }
    fn org_id(&self, org: &OrgName) -> Option<OrgId> {
        self.current().org_id(org)
    }
    async fn push(&self, req: PushRequest) -> Result<PushOutcome, PushError> {
        self.current().push(req).await
    }
    async fn reread(
        &self,
        org: &OrgName,
        object: &str,
        ids: &[String],
    ) -> Result<usize, EngineError> {
        self.current().reread(org, object, ids).await
    }
}
