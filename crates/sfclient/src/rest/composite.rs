//! Composite (`POST /composite`): up to 25 subrequests in one API call, later ones referring to
//! earlier results with `@{referenceId.field}`.

use crate::client::Client;
use crate::error::SfError;
use crate::http::{Request, parse_error_body};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Salesforce's cap on subrequests per composite call.
pub const MAX_SUBREQUESTS: usize = 25;

/// One subrequest.
#[derive(Debug, Clone, Serialize)]
pub struct Subrequest {
    /// `GET`, `POST`, `PATCH`, `PUT`, `DELETE`.
    pub method: String,
    /// `/services/data/vXX.X/…`; a path relative to the API version (`/sobjects/Account`) is
    /// completed with the client's version.
    pub url: String,
    #[serde(rename = "referenceId")]
    pub reference_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

impl Subrequest {
    /// A subrequest; `url` may be relative to the API version.
    pub fn new(
        method: &str,
        url: impl Into<String>,
        reference_id: impl Into<String>,
        body: Option<Value>,
    ) -> Self {
        Subrequest {
            method: method.to_owned(),
            url: url.into(),
            reference_id: reference_id.into(),
            body,
        }
    }
}

/// One subrequest's answer.
#[derive(Debug, Clone, Deserialize)]
pub struct SubResponse {
    #[serde(default)]
    pub body: Value,
    #[serde(rename = "httpStatusCode")]
    pub status: u16,
    #[serde(rename = "referenceId", default)]
    pub reference_id: String,
    #[serde(rename = "httpHeaders", default)]
    pub headers: Map<String, Value>,
}

impl SubResponse {
    /// The body of a successful subrequest, or its errors as a typed error.
    pub fn result(&self, org: &str) -> Result<&Value, SfError> {
        if (200..300).contains(&self.status) {
            Ok(&self.body)
        } else {
            let body = serde_json::to_vec(&self.body).unwrap_or_default();
            Err(SfError::Api {
                org: org.to_owned(),
                status: self.status,
                errors: parse_error_body(self.status, &body),
            })
        }
    }
}

#[derive(Deserialize)]
struct CompositeResponse {
    #[serde(rename = "compositeResponse")]
    responses: Vec<SubResponse>,
}

impl Client {
    /// Sends subrequests as one composite call. Not retried inside the client (it may create).
    pub async fn composite(
        &self,
        all_or_none: bool,
        subrequests: Vec<Subrequest>,
    ) -> Result<Vec<SubResponse>, SfError> {
        if subrequests.len() > MAX_SUBREQUESTS {
            return Err(SfError::Config(format!(
                "composite: {} subrequests (max {MAX_SUBREQUESTS})",
                subrequests.len()
            )));
        }
        let version = format!("/services/data/v{}", self.inner.config.api_version);
        let subrequests: Vec<Subrequest> = subrequests
            .into_iter()
            .map(|mut s| {
                if !s.url.starts_with("/services/") {
                    s.url = format!("{version}{}", s.url);
                }
                s
            })
            .collect();
        let body = serde_json::json!({ "allOrNone": all_or_none, "compositeRequest": subrequests });
        let req = Request::new(Method::POST, "/composite").json(&body)?;
        let resp: CompositeResponse = self.call_json(&req, false).await?;
        Ok(resp.responses)
    }
}
