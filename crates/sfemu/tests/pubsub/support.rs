//! Helpers: an org with CDC on Account and Contact, a Pub/Sub client with auth metadata,
//! REST writes, and event decoding against GetSchema.
#![allow(dead_code)]

use crate::common::{self, TestOrg};
use apache_avro::types::Value as Avro;
use serde_json::{Value, json};
use sfemu::pubsub::proto::pub_sub_client::PubSubClient;
use sfemu::pubsub::proto::{
    ConsumerEvent, FetchRequest, FetchResponse, ReplayPreset, SchemaRequest,
};
use sfemu::server::EmulatorConfig;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Status, Streaming};

pub type Client = PubSubClient<InterceptedService<Channel, Auth>>;

/// Adds `accesstoken`, `instanceurl` and `tenantid` to every call.
#[derive(Clone, Debug)]
pub struct Auth {
    pub token: String,
    pub instance: String,
    pub tenant: String,
}

impl tonic::service::Interceptor for Auth {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        let md = req.metadata_mut();
        md.insert("accesstoken", self.token.parse().unwrap());
        md.insert("instanceurl", self.instance.parse().unwrap());
        md.insert("tenantid", self.tenant.parse().unwrap());
        Ok(req)
    }
}

/// An org with CDC on Account and Contact and a keepalive of `keepalive_ms`.
pub async fn start(keepalive_ms: u64) -> TestOrg {
    let mut cfg = EmulatorConfig::single_org();
    cfg.orgs[0].spec.cdc_objects = vec!["Account".into(), "Contact".into()];
    cfg.orgs[0].pubsub.keepalive = Duration::from_millis(keepalive_ms);
    common::start_with(cfg).await
}

/// The auth metadata of the test org's admin.
pub fn auth(t: &TestOrg) -> Auth {
    Auth {
        token: t.token.clone(),
        instance: t.base.clone(),
        tenant: t.org().org_id.clone(),
    }
}

/// A client with `auth`.
pub async fn client_with(t: &TestOrg, auth: Auth) -> Client {
    let ch = tonic::transport::Endpoint::from_shared(t.base.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    PubSubClient::with_interceptor(ch, auth)
}

pub async fn client(t: &TestOrg) -> Client {
    client_with(t, auth(t)).await
}

/// An open Subscribe call: send more FetchRequests through `tx`, read from `rx`.
pub struct Sub {
    pub tx: mpsc::UnboundedSender<FetchRequest>,
    pub rx: Streaming<FetchResponse>,
    pub topic: String,
}

pub fn fetch(topic: &str, preset: ReplayPreset, replay_id: Vec<u8>, n: i32) -> FetchRequest {
    FetchRequest {
        topic_name: topic.into(),
        replay_preset: preset as i32,
        replay_id,
        num_requested: n,
        auth_refresh: String::new(),
    }
}

/// Opens Subscribe with `first`; Err is the call's status.
pub async fn subscribe(c: &mut Client, first: FetchRequest) -> Result<Sub, Status> {
    let (tx, rx) = mpsc::unbounded_channel();
    let topic = first.topic_name.clone();
    tx.send(first).unwrap();
    let out = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|r| (r, rx)) });
    let rx = c.subscribe(out).await?.into_inner();
    Ok(Sub { tx, rx, topic })
}

/// A LATEST subscription to `topic` with credit 10, established (its first keepalive read).
pub async fn ready_sub(c: &mut Client, topic: &str) -> Sub {
    let mut sub = subscribe(c, fetch(topic, ReplayPreset::Latest, vec![], 10))
        .await
        .unwrap();
    sub.ready().await;
    sub
}

/// The `error-code` trailer of a status.
pub fn error_code(s: &Status) -> String {
    s.metadata()
        .get("error-code")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

impl Sub {
    /// The next response (10 s at most, so a broken emulator fails instead of hanging).
    pub async fn next(&mut self) -> Result<FetchResponse, Status> {
        match tokio::time::timeout(Duration::from_secs(10), self.rx.message()).await {
            Ok(Ok(Some(r))) => Ok(r),
            Ok(Ok(None)) => panic!("stream ended"),
            Ok(Err(s)) => Err(s),
            Err(_) => panic!("no response within 10 s"),
        }
    }

    /// Waits for the first keepalive: the subscription is then established on the server.
    pub async fn ready(&mut self) -> FetchResponse {
        let r = self.next().await.unwrap();
        assert!(r.events.is_empty(), "expected a keepalive, got events");
        r
    }

    /// Collects `n` events, skipping keepalives.
    pub async fn events(&mut self, n: usize) -> Vec<ConsumerEvent> {
        let mut out = Vec::new();
        while out.len() < n {
            out.extend(self.next().await.unwrap().events);
        }
        assert_eq!(out.len(), n, "more events than expected");
        out
    }

    pub fn more(&self, n: i32) {
        let f = fetch(&self.topic, ReplayPreset::Latest, Vec::new(), n);
        self.tx.send(f).unwrap();
    }
}

/// A decoded change event: header fields and the non-null object fields.
#[derive(Debug)]
pub struct Decoded {
    pub header: HashMap<String, Avro>,
    pub fields: HashMap<String, Avro>,
    /// Top-level schema field names, in order (for the bitmaps).
    pub names: Vec<String>,
}

impl Decoded {
    pub fn s(&self, k: &str) -> String {
        match &self.header[k] {
            Avro::String(s) => s.clone(),
            Avro::Enum(_, s) => s.clone(),
            other => panic!("{k}: {other:?}"),
        }
    }
    pub fn list(&self, k: &str) -> Vec<String> {
        match &self.header[k] {
            Avro::Array(a) => a
                .iter()
                .map(|v| match v {
                    Avro::String(s) => s.clone(),
                    o => panic!("{o:?}"),
                })
                .collect(),
            other => panic!("{k}: {other:?}"),
        }
    }
    /// Field names of a bitmap header field (element 0 only: no compound fields here).
    pub fn bitmap_names(&self, k: &str) -> Vec<String> {
        let l = self.list(k);
        let Some(hex) = l.first() else { return vec![] };
        let n = u128::from_str_radix(hex.trim_start_matches("0x"), 16).unwrap();
        (0..128)
            .filter(|i| n >> i & 1 == 1)
            .map(|i| self.names[i].clone())
            .collect()
    }
}

/// Decodes an event with the schema GetSchema returns for its schema id.
pub async fn decode(c: &mut Client, e: &ConsumerEvent) -> Decoded {
    let ev = e.event.as_ref().unwrap();
    let info = c
        .get_schema(SchemaRequest {
            schema_id: ev.schema_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let schema = apache_avro::Schema::parse_str(&info.schema_json).unwrap();
    let json: Value = serde_json::from_str(&info.schema_json).unwrap();
    let names = json["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    let v = apache_avro::reader::datum::GenericDatumReader::builder(&schema)
        .build()
        .unwrap()
        .read_value(&mut &ev.payload[..])
        .unwrap();
    let Avro::Record(top) = v else {
        panic!("not a record")
    };
    let mut header = HashMap::new();
    let mut fields = HashMap::new();
    for (k, v) in top {
        match (k.as_str(), v) {
            ("ChangeEventHeader", Avro::Record(h)) => header.extend(h),
            (_, Avro::Union(0, _)) => {}
            (_, Avro::Union(_, v)) => {
                fields.insert(k, *v);
            }
            (k, v) => panic!("{k}: {v:?}"),
        }
    }
    Decoded {
        header,
        fields,
        names,
    }
}

pub fn replay(e: &ConsumerEvent) -> u64 {
    u64::from_be_bytes(e.replay_id.clone().try_into().unwrap())
}

/// POST /sobjects/{object} with an optional Sforce-Call-Options client; returns the id.
pub async fn create(t: &TestOrg, object: &str, body: Value, client: Option<&str>) -> String {
    let mut req = t
        .http
        .post(t.data(&format!("/sobjects/{object}")))
        .bearer_auth(&t.token);
    if let Some(c) = client {
        req = req.header("Sforce-Call-Options", format!("client={c}"));
    }
    let r = req.json(&body).send().await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    common::json(r).await["id"].as_str().unwrap().to_string()
}

/// A REST call with a JSON body; asserts a 2xx answer.
pub async fn call(t: &TestOrg, method: reqwest::Method, path: &str, body: Option<Value>) {
    let mut req = t.http.request(method, t.data(path)).bearer_auth(&t.token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    assert!(
        r.status().is_success(),
        "{path}: {}",
        r.text().await.unwrap()
    );
}

/// A control-surface POST/PUT with a JSON body.
pub async fn control(t: &TestOrg, method: reqwest::Method, path: &str, body: Value) -> Value {
    let r = t
        .http
        .request(method, t.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap_or(json!(null))
}
