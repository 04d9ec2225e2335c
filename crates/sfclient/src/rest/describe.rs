//! Describe calls, cached per org and object: a sync run describes each object once.

use crate::client::Client;
use crate::error::SfError;
use crate::http::{Request, seg};
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The parts of a field's describe the sync engine needs; everything else stays in `raw`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDescribe {
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: String,
    #[serde(default)]
    pub length: u64,
    #[serde(default)]
    pub external_id: bool,
    #[serde(default)]
    pub nillable: bool,
    #[serde(default)]
    pub createable: bool,
    #[serde(default)]
    pub updateable: bool,
    #[serde(default)]
    pub calculated: bool,
    #[serde(default)]
    pub reference_to: Vec<String>,
    #[serde(default)]
    pub relationship_name: Option<String>,
}

/// An object's describe: typed fields plus the full JSON.
#[derive(Debug, Clone)]
pub struct ObjectDescribe {
    pub name: String,
    pub fields: Vec<FieldDescribe>,
    pub raw: Value,
}

impl ObjectDescribe {
    /// A field by name, case-insensitively (as Salesforce matches names).
    pub fn field(&self, name: &str) -> Option<&FieldDescribe> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }
}

/// Describes already fetched, keyed by lower-cased object name.
#[derive(Debug, Default)]
pub(crate) struct DescribeCache(Mutex<HashMap<String, Arc<ObjectDescribe>>>);

impl Client {
    /// `GET /sobjects/{object}/describe`, from the cache after the first call.
    pub async fn describe(&self, object: &str) -> Result<Arc<ObjectDescribe>, SfError> {
        let key = object.to_ascii_lowercase();
        if let Some(d) = self
            .inner
            .describes
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(d.clone());
        }
        let req = Request::new(Method::GET, format!("/sobjects/{}/describe", seg(object)));
        let raw: Value = self.call_json(&req, true).await?;
        let name = raw
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(object)
            .to_owned();
        let fields: Vec<FieldDescribe> =
            serde_json::from_value(raw.get("fields").cloned().unwrap_or(Value::Array(vec![])))
                .map_err(|e| SfError::Protocol {
                    org: self.org().to_owned(),
                    status: 200,
                    message: format!("describe {object}: {e}"),
                })?;
        let d = Arc::new(ObjectDescribe { name, fields, raw });
        self.inner
            .describes
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, d.clone());
        Ok(d)
    }

    /// Forgets cached describes (after a schema change).
    pub fn clear_describe_cache(&self) {
        self.inner
            .describes
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// `GET /sobjects/`: the names of all objects (not cached).
    pub async fn describe_global(&self) -> Result<Vec<String>, SfError> {
        let raw: Value = self
            .call_json(&Request::new(Method::GET, "/sobjects/"), true)
            .await?;
        Ok(raw
            .get("sobjects")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|o| o.get("name").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }
}
