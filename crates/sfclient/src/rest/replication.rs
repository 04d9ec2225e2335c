//! Get Updated / Get Deleted (`/sobjects/{object}/updated|deleted`): ids changed in a window,
//! the replication API's cheap alternative to a full query.

use crate::client::Client;
use crate::error::SfError;
use crate::http::{Request, seg};
use crate::values::sf_datetime;
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::Deserialize;

/// Ids of records updated in a window.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdatedIds {
    pub ids: Vec<String>,
    /// Start the next poll here (it may lag `end` for long transactions).
    #[serde(with = "sf_datetime")]
    pub latest_date_covered: DateTime<Utc>,
}

/// One deleted record.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedRecord {
    pub id: String,
    #[serde(with = "sf_datetime")]
    pub deleted_date: DateTime<Utc>,
}

/// Records deleted in a window.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedRecords {
    pub deleted_records: Vec<DeletedRecord>,
    #[serde(with = "sf_datetime")]
    pub earliest_date_available: DateTime<Utc>,
    #[serde(with = "sf_datetime")]
    pub latest_date_covered: DateTime<Utc>,
}

/// The `start`/`end` parameter form (ISO 8601, UTC; reqwest URL-encodes the `+`).
fn iso(dt: &DateTime<Utc>) -> String {
    dt.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

impl Client {
    /// `GET /sobjects/{object}/updated/?start=…&end=…`.
    pub async fn updated(
        &self,
        object: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<UpdatedIds, SfError> {
        let req = Request::new(Method::GET, format!("/sobjects/{}/updated/", seg(object)))
            .query("start", iso(&start))
            .query("end", iso(&end));
        self.call_json(&req, true).await
    }

    /// `GET /sobjects/{object}/deleted/?start=…&end=…`.
    pub async fn deleted(
        &self,
        object: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<DeletedRecords, SfError> {
        let req = Request::new(Method::GET, format!("/sobjects/{}/deleted/", seg(object)))
            .query("start", iso(&start))
            .query("end", iso(&end));
        self.call_json(&req, true).await
    }
}
