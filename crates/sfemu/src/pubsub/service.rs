//! The `eventbus.v1.PubSub` gRPC service: authentication, GetTopic, GetSchema, Publish and
//! PublishStream (Subscribe lives in `subscribe`).
//!
//! Every RPC is counted in the org's api-usage counters under `pubsub.<Rpc>`, without consuming
//! the REST daily allocation (Pub/Sub has its own event-delivery allocations).

use super::bus::EventBus;
use super::proto::pub_sub_server::PubSub;
use super::proto::{
    self, FetchRequest, FetchResponse, ManagedFetchRequest, ManagedFetchResponse, PublishRequest,
    PublishResponse, PublishResult, SchemaInfo, SchemaRequest, TopicInfo, TopicRequest,
};
use crate::state::OrgServer;
use futures::Stream;
use std::pin::Pin;
use std::sync::Arc;
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Code, Request, Response, Status, Streaming};

/// Custom trailer naming Salesforce's error code.
pub const ERROR_CODE: &str = "error-code";
/// `error-code` of a failed authentication.
pub const AUTH_ERROR: &str = "sfdc.platform.eventbus.grpc.service.auth.error";
/// `error-code` of a replay id outside retention or foreign.
pub const REPLAY_CORRUPTED: &str =
    "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted";
/// `error-code` of a malformed or inconsistent fetch request (UNCONFIRMED name).
pub const VALIDATION_FAILED: &str =
    "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.validation.failed";
/// `error-code` of an unknown topic or schema (UNCONFIRMED name).
pub const NOT_FOUND: &str = "sfdc.platform.eventbus.grpc.topic.not.found";

/// A response stream of the service.
pub type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// The service of one org.
#[derive(Debug, Clone)]
pub struct PubSubService {
    pub state: Arc<OrgServer>,
}

impl PubSubService {
    pub fn bus(&self) -> &Arc<EventBus> {
        &self.state.pubsub
    }
}

/// A fresh rpc id (reported in messages, the `rpc-id` trailer and every response).
pub fn rpc_id() -> String {
    sfemu_org::changelog::new_transaction_key()
}

/// A gRPC error as Salesforce shapes it: message ending in `rpcId: <id>`, trailers `error-code`
/// and `rpc-id`.
pub fn status(code: Code, error_code: &str, msg: &str, rpc: &str) -> Status {
    let mut md = MetadataMap::new();
    if let Ok(v) = MetadataValue::try_from(error_code) {
        md.insert(ERROR_CODE, v);
    }
    if let Ok(v) = MetadataValue::try_from(rpc) {
        md.insert("rpc-id", v);
    }
    Status::with_metadata(code, format!("{msg} rpcId: {rpc}"), md)
}

/// `UNAVAILABLE` with the `error-code` Salesforce uses for an unavailable service (OBS name).
pub fn unavailable(msg: &str, rpc: &str) -> Status {
    status(
        Code::Unavailable,
        "sfdc.platform.eventbus.grpc.service.unavailable",
        msg,
        rpc,
    )
}

/// Checks the `accesstoken`, `instanceurl` and `tenantid` metadata (every RPC carries them).
/// The token is validated exactly as a REST bearer token; the tenant must be this org.
pub fn authenticate(state: &OrgServer, md: &MetadataMap, rpc: &str) -> Result<(), Status> {
    let get = |k: &str| md.get(k).and_then(|v| v.to_str().ok()).unwrap_or("");
    let fail = |why: &str| Err(status(Code::Unauthenticated, AUTH_ERROR, why, rpc));
    let token = get("accesstoken");
    if token.is_empty() || get("instanceurl").is_empty() || get("tenantid").is_empty() {
        return fail("accesstoken, instanceurl and tenantid are required");
    }
    if sfemu_org::ids::to18(get("tenantid")).as_deref() != Some(state.org.org_id()) {
        return fail("the tenant id does not match the token's org");
    }
    if state.auth.tokens.check_access(token).is_err() {
        return fail("the access token is invalid or expired");
    }
    Ok(())
}

impl PubSubService {
    /// Counts the RPC and authenticates it; returns the rpc id.
    fn begin(&self, rpc_name: &str, md: &MetadataMap) -> Result<String, Status> {
        self.state
            .limits
            .count_uncharged(&format!("pubsub.{rpc_name}"));
        let rpc = rpc_id();
        if self.state.faults.offline() {
            return Err(unavailable("the service is unavailable", &rpc));
        }
        authenticate(&self.state, md, &rpc)?;
        Ok(rpc)
    }

    fn topic_info(&self, topic: &str, rpc: &str) -> Result<TopicInfo, Status> {
        let cat = &self.bus().catalog;
        if !cat.has_topic(topic) {
            return Err(status(
                Code::NotFound,
                NOT_FOUND,
                &format!("topic {topic} does not exist or CDC is not enabled for it"),
                rpc,
            ));
        }
        Ok(TopicInfo {
            topic_name: topic.to_string(),
            tenant_guid: self.state.org.org_id().to_string(),
            can_publish: cat.by_topic(topic).is_some_and(|s| s.platform),
            can_subscribe: true,
            // UNCONFIRMED: the multi-entity channel has no single schema; its events name theirs.
            schema_id: cat
                .by_topic(topic)
                .map(|s| s.schema_id.clone())
                .unwrap_or_default(),
            rpc_id: rpc.to_string(),
        })
    }

    /// One result per event. Platform events are stored and delivered (a wrong schema id or
    /// an event over 1 MB fails that event only). Publishing to change-event channels is refused
    /// per event (UNCONFIRMED: Salesforce refuses it; the exact code is not documented).
    /// Unknown topics fail the call.
    fn publish_one(&self, req: PublishRequest, rpc: &str) -> Result<PublishResponse, Status> {
        let info = self.topic_info(&req.topic_name, rpc)?;
        let schema = self.bus().catalog.by_topic(&req.topic_name);
        let fail = |key: String, msg: String| PublishResult {
            replay_id: Vec::new(),
            error: Some(proto::Error {
                code: proto::ErrorCode::Publish as i32,
                msg,
            }),
            correlation_key: key,
        };
        let results = req
            .events
            .into_iter()
            .map(|e| match &schema {
                Some(s) if s.platform => {
                    if e.schema_id != s.schema_id {
                        fail(
                            e.id,
                            format!(
                                "schema id {} is not the topic's {}",
                                e.schema_id, s.schema_id
                            ),
                        )
                    } else if e.payload.len() > super::platform::MAX_EVENT_BYTES {
                        fail(e.id, "the event exceeds 1 MB".into())
                    } else {
                        let key = e.id.clone();
                        let id = self.bus().publish(s, e.id, e.payload);
                        PublishResult {
                            replay_id: super::bus::replay_bytes(id),
                            error: None,
                            correlation_key: key,
                        }
                    }
                }
                _ => fail(
                    e.id,
                    format!(
                        "publishing to the change event channel {} is not allowed",
                        info.topic_name
                    ),
                ),
            })
            .collect();
        Ok(PublishResponse {
            results,
            schema_id: info.schema_id,
            rpc_id: rpc.to_string(),
        })
    }
}

#[tonic::async_trait]
impl PubSub for PubSubService {
    type SubscribeStream = BoxStream<FetchResponse>;
    type PublishStreamStream = BoxStream<PublishResponse>;
    type ManagedSubscribeStream = BoxStream<ManagedFetchResponse>;

    async fn subscribe(
        &self,
        request: Request<Streaming<FetchRequest>>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let offline = self.state.faults.watch_offline();
        let rpc = self.begin("Subscribe", request.metadata())?;
        let stream =
            super::subscribe::start(self.bus().clone(), request.into_inner(), rpc, offline);
        Ok(Response::new(stream))
    }

    async fn get_schema(
        &self,
        request: Request<SchemaRequest>,
    ) -> Result<Response<SchemaInfo>, Status> {
        let rpc = self.begin("GetSchema", request.metadata())?;
        let id = &request.get_ref().schema_id;
        let s = self.bus().catalog.by_id(id).ok_or_else(|| {
            status(
                Code::NotFound,
                NOT_FOUND,
                &format!("schema {id} not found"),
                &rpc,
            )
        })?;
        Ok(Response::new(SchemaInfo {
            schema_json: s.json.clone(),
            schema_id: s.schema_id.clone(),
            rpc_id: rpc,
        }))
    }

    async fn get_topic(
        &self,
        request: Request<TopicRequest>,
    ) -> Result<Response<TopicInfo>, Status> {
        let rpc = self.begin("GetTopic", request.metadata())?;
        Ok(Response::new(
            self.topic_info(&request.get_ref().topic_name, &rpc)?,
        ))
    }

    async fn publish(
        &self,
        request: Request<PublishRequest>,
    ) -> Result<Response<PublishResponse>, Status> {
        let rpc = self.begin("Publish", request.metadata())?;
        Ok(Response::new(self.publish_one(request.into_inner(), &rpc)?))
    }

    async fn publish_stream(
        &self,
        request: Request<Streaming<PublishRequest>>,
    ) -> Result<Response<Self::PublishStreamStream>, Status> {
        let rpc = self.begin("PublishStream", request.metadata())?;
        let me = self.clone();
        let out = futures::stream::unfold(
            (request.into_inner(), me, rpc, false),
            |(mut input, me, rpc, done)| async move {
                if done {
                    return None;
                }
                match input.message().await {
                    Ok(Some(req)) => {
                        let r = me.publish_one(req, &rpc);
                        let end = r.is_err();
                        Some((r, (input, me, rpc, end)))
                    }
                    Ok(None) => None,
                    Err(e) => Some((Err(e), (input, me, rpc, true))),
                }
            },
        );
        Ok(Response::new(Box::pin(out)))
    }

    async fn managed_subscribe(
        &self,
        request: Request<Streaming<ManagedFetchRequest>>,
    ) -> Result<Response<Self::ManagedSubscribeStream>, Status> {
        let rpc = self.begin("ManagedSubscribe", request.metadata())?;
        Err(status(
            Code::Unimplemented,
            "sfdc.platform.eventbus.grpc.service.unimplemented",
            "ManagedSubscribe is not emulated",
            &rpc,
        ))
    }
}
