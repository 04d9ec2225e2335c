//! Connecting, and the unary RPCs (GetTopic, GetSchema, Publish) with one auth refresh.

use crate::auth::TokenSource;
use crate::error::PubSubError;
use crate::proto::{self, pub_sub_client::PubSubClient as Grpc};
use crate::replay::ReplayId;
use crate::schema::EventSchema;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

/// How to reach the server. Defaults suit Salesforce; tests set `ca_pem` for the emulator.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Extra trusted root (PEM), e.g. the emulator's self-signed certificate. When set, only this
    /// root is trusted; otherwise the OS roots are.
    pub ca_pem: Option<String>,
    /// TLS server name when it differs from the endpoint's host.
    pub tls_domain: Option<String>,
    /// Limit for establishing the connection.
    pub connect_timeout: Duration,
    /// Deadline of each unary RPC (Subscribe streams have none: they live for hours).
    pub rpc_timeout: Duration,
    /// HTTP/2 pings so a dead connection is noticed between the server's 270 s keepalives.
    pub http2_keepalive: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            ca_pem: None,
            tls_domain: None,
            connect_timeout: Duration::from_secs(10),
            rpc_timeout: Duration::from_secs(60),
            http2_keepalive: Duration::from_secs(60),
        }
    }
}

/// A Pub/Sub API client. Cheap to clone: clones share one HTTP/2 connection and schema cache.
#[derive(Clone)]
pub struct PubSubClient {
    pub(crate) grpc: Grpc<Channel>,
    pub(crate) auth: Arc<dyn TokenSource>,
    schemas: Arc<Mutex<HashMap<String, Arc<EventSchema>>>>,
    rpc_timeout: Duration,
}

impl std::fmt::Debug for PubSubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PubSubClient")
            .field("rpc_timeout", &self.rpc_timeout)
            .finish_non_exhaustive()
    }
}

/// Responses are capped at 4 MB by default in tonic; a batch of 100 events up to 1 MB each can
/// exceed that, so allow more on receive.
const MAX_DECODE: usize = 128 * 1024 * 1024;

impl PubSubClient {
    /// Connects to `endpoint` (`https://api.pubsub.salesforce.com:7443`, or the emulator's
    /// `http://127.0.0.1:PORT`) with default options.
    pub async fn connect(
        endpoint: &str,
        auth: Arc<dyn TokenSource>,
    ) -> Result<PubSubClient, PubSubError> {
        Self::connect_with(endpoint, auth, ConnectOptions::default()).await
    }

    /// Connects with explicit options. `http://` is plain HTTP/2 (h2c), `https://` is TLS
    /// (rustls with ring) with ALPN h2.
    pub async fn connect_with(
        endpoint: &str,
        auth: Arc<dyn TokenSource>,
        opts: ConnectOptions,
    ) -> Result<PubSubClient, PubSubError> {
        let mut ep = Endpoint::from_shared(endpoint.to_string())
            .map_err(|e| PubSubError::Config(format!("endpoint '{endpoint}': {e}")))?
            .connect_timeout(opts.connect_timeout)
            .http2_keep_alive_interval(opts.http2_keepalive)
            .keep_alive_while_idle(true)
            .tcp_nodelay(true);
        if endpoint.starts_with("https://") {
            let mut tls = ClientTlsConfig::new();
            tls = match &opts.ca_pem {
                Some(pem) => tls.ca_certificate(Certificate::from_pem(pem)),
                None => tls.with_native_roots(),
            };
            if let Some(d) = &opts.tls_domain {
                tls = tls.domain_name(d.clone());
            }
            ep = ep
                .tls_config(tls)
                .map_err(|e| PubSubError::Config(format!("TLS: {e}")))?;
        }
        let channel = ep.connect().await?;
        Ok(PubSubClient {
            grpc: Grpc::new(channel).max_decoding_message_size(MAX_DECODE),
            auth,
            schemas: Arc::default(),
            rpc_timeout: opts.rpc_timeout,
        })
    }

    /// Runs a unary RPC with the current credentials; after an auth failure refreshes once and
    /// retries, because an expired token is routine and must not surface as an error.
    async fn unary<Req, Resp, F, Fut>(&self, req: Req, call: F) -> Result<Resp, PubSubError>
    where
        Req: Clone,
        F: Fn(Grpc<Channel>, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        let mut creds = self.auth.current().await?;
        let mut refreshed = false;
        loop {
            let mut r = tonic::Request::new(req.clone());
            creds.apply(r.metadata_mut())?;
            r.set_timeout(self.rpc_timeout);
            match call(self.grpc.clone(), r).await {
                Ok(resp) => return Ok(resp.into_inner()),
                Err(status) => {
                    let e = PubSubError::from(status);
                    if e.is_auth() && !refreshed {
                        refreshed = true;
                        creds = self.auth.refresh(&creds.access_token).await?;
                        continue;
                    }
                    return Err(e);
                }
            }
        }
    }

    /// Topic metadata: whether this user may subscribe/publish, and the current schema id.
    pub async fn get_topic(&self, topic: &str) -> Result<proto::TopicInfo, PubSubError> {
        let req = proto::TopicRequest {
            topic_name: topic.to_string(),
        };
        self.unary(req, |mut g, r| async move { g.get_topic(r).await })
            .await
    }

    /// The parsed schema for `schema_id`, fetched once per client: schema ids are immutable, and
    /// every event names one, so caching saves an RPC per event.
    pub async fn get_schema(&self, schema_id: &str) -> Result<Arc<EventSchema>, PubSubError> {
        if let Some(s) = self.cached(schema_id) {
            return Ok(s);
        }
        let req = proto::SchemaRequest {
            schema_id: schema_id.to_string(),
        };
        let info = self
            .unary(req, |mut g, r| async move { g.get_schema(r).await })
            .await?;
        let parsed = EventSchema::parse(schema_id, &info.schema_json).map_err(|reason| {
            PubSubError::Decode {
                replay_id: ReplayId::default(),
                schema_id: schema_id.to_string(),
                reason: format!("schema: {reason}"),
            }
        })?;
        let parsed = Arc::new(parsed);
        if let Ok(mut m) = self.schemas.lock() {
            m.insert(schema_id.to_string(), parsed.clone());
        }
        Ok(parsed)
    }

    fn cached(&self, schema_id: &str) -> Option<Arc<EventSchema>> {
        self.schemas.lock().ok()?.get(schema_id).cloned()
    }

    /// Publishes events (already Avro-encoded with their schema id) to a topic: one result per
    /// event, matched by `correlation_key` = `ProducerEvent.id`. Salesforce recommends ≤ 200
    /// events and ≤ 3 MB per call. Per-event failures are in the results, not an `Err`.
    pub async fn publish(
        &self,
        topic: &str,
        events: Vec<proto::ProducerEvent>,
    ) -> Result<proto::PublishResponse, PubSubError> {
        let req = proto::PublishRequest {
            topic_name: topic.to_string(),
            events,
            auth_refresh: String::new(),
        };
        self.unary(req, |mut g, r| async move { g.publish(r).await })
            .await
    }
}
