//! Single-record calls: get, create, update, delete, get/upsert by external id.

use crate::client::Client;
use crate::error::{ApiError, SfError};
use crate::http::{Request, seg};
use crate::values::Record;
use reqwest::Method;
use serde::Deserialize;

/// A DML result as Salesforce returns it (single upsert, sObject Collections).
#[derive(Debug, Clone, Deserialize)]
pub struct SaveResult {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub success: bool,
    #[serde(default)]
    pub errors: Vec<ApiError>,
    /// Upserts (v46+): whether the record was created.
    #[serde(default)]
    pub created: Option<bool>,
}

/// A successful write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// The 18-character record id.
    pub id: String,
    /// For upserts: true when a record was created, false when one was updated.
    pub created: Option<bool>,
}

impl SaveResult {
    /// Turns Salesforce's result into the caller's result.
    pub(crate) fn into_result(self, org: &str) -> Result<Saved, SfError> {
        if self.success {
            Ok(Saved {
                id: self.id.unwrap_or_default(),
                created: self.created,
            })
        } else {
            Err(SfError::Record {
                org: org.to_owned(),
                errors: self.errors,
            })
        }
    }
}

/// The body of a single-record write: the record's fields without `attributes`.
fn write_body(fields: &Record) -> Record {
    let mut body = fields.clone();
    body.remove("attributes");
    body
}

fn fields_query(req: Request, fields: Option<&[&str]>) -> Request {
    match fields {
        Some(f) if !f.is_empty() => req.query("fields", f.join(",")),
        _ => req,
    }
}

impl Client {
    /// `GET /sobjects/{object}/{id}[?fields=…]`.
    pub async fn get_record(
        &self,
        object: &str,
        id: &str,
        fields: Option<&[&str]>,
    ) -> Result<Record, SfError> {
        let req = fields_query(
            Request::new(
                Method::GET,
                format!("/sobjects/{}/{}", seg(object), seg(id)),
            ),
            fields,
        );
        self.call_json(&req, true).await
    }

    /// `GET /sobjects/{object}/{field}/{value}`: a record by external id.
    pub async fn get_by_external_id(
        &self,
        object: &str,
        field: &str,
        value: &str,
        fields: Option<&[&str]>,
    ) -> Result<Record, SfError> {
        let path = format!("/sobjects/{}/{}/{}", seg(object), seg(field), seg(value));
        self.call_json(&fields_query(Request::new(Method::GET, path), fields), true)
            .await
    }

    /// `POST /sobjects/{object}`: creates a record and returns its id. Never retried inside the
    /// client: a create whose answer was lost may have happened.
    pub async fn create(&self, object: &str, fields: &Record) -> Result<String, SfError> {
        let req = Request::new(Method::POST, format!("/sobjects/{}", seg(object)))
            .json(&write_body(fields))?;
        let result: SaveResult = self.call_json(&req, false).await?;
        result.into_result(self.org()).map(|s| s.id)
    }

    /// `PATCH /sobjects/{object}/{id}`: sets the given fields (idempotent, so retried).
    pub async fn update(&self, object: &str, id: &str, fields: &Record) -> Result<(), SfError> {
        let req = Request::new(
            Method::PATCH,
            format!("/sobjects/{}/{}", seg(object), seg(id)),
        )
        .json(&write_body(fields))?;
        self.call(&req, true).await.map(drop)
    }

    /// `DELETE /sobjects/{object}/{id}`.
    pub async fn delete(&self, object: &str, id: &str) -> Result<(), SfError> {
        let req = Request::new(
            Method::DELETE,
            format!("/sobjects/{}/{}", seg(object), seg(id)),
        );
        self.call(&req, true).await.map(drop)
    }

    /// `PATCH /sobjects/{object}/{field}/{value}`: creates or updates by external id
    /// (idempotent, so retried). Several matches answer 300 (`MULTIPLE_CHOICES`, permanent).
    pub async fn upsert(
        &self,
        object: &str,
        ext_field: &str,
        ext_value: &str,
        fields: &Record,
    ) -> Result<Saved, SfError> {
        let mut body = write_body(fields);
        // The external id travels in the URL; Salesforce rejects it in the body as well.
        body.remove(ext_field);
        let path = format!(
            "/sobjects/{}/{}/{}",
            seg(object),
            seg(ext_field),
            seg(ext_value)
        );
        let req = Request::new(Method::PATCH, path).json(&body)?;
        let resp = self.call(&req, true).await?;
        if resp.body.is_empty() {
            // API ≤ 45 answers an update with 204 and no body: look the id up.
            let rec = self
                .get_by_external_id(object, ext_field, ext_value, Some(&["Id"]))
                .await?;
            let id = rec
                .get("Id")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned();
            return Ok(Saved {
                id,
                created: Some(resp.status == 201),
            });
        }
        let result: SaveResult = self.decode(&resp)?;
        let created = result.created.or(Some(resp.status == 201));
        result
            .into_result(self.org())
            .map(|s| Saved { created, ..s })
    }
}
