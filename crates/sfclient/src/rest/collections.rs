//! sObject Collections: create, update, upsert, delete and retrieve many records in calls of
//! 200 (one API call each), with `allOrNone=false`.
//!
//! Results come back as one `Result` per input item, in the caller's order, across chunks.
//! A chunk that fails as a whole (e.g. 503 after the in-client retries, or a malformed request)
//! reports that same whole-call error for each of its items, so the caller handles every item
//! the same way. After a quota or auth error no further chunks are sent (they would fail the
//! same way and spend calls); their items carry that error too.

use crate::client::Client;
use crate::error::{ErrorKind, SfError};
use crate::http::{Request, seg};
use crate::rest::records::{SaveResult, Saved};
use crate::values::Record;
use futures::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

/// Records per collections call (Salesforce's maximum).
pub const CHUNK: usize = 200;
/// Ids per retrieve call (Salesforce's maximum for the POST form).
pub const RETRIEVE_CHUNK: usize = 2000;
/// Chunks of one call in flight at once (each also takes a slot of the org's concurrency cap).
const PARALLEL_CHUNKS: usize = 4;

/// Set once a chunk failed in a way every later chunk would too.
#[derive(Default)]
struct Stop {
    flag: AtomicBool,
    error: std::sync::Mutex<Option<SfError>>,
}

/// The outcome of one item of a collections call.
pub type ItemResult = Result<Saved, SfError>;

/// Sets `attributes.type` (required by collections create/update), keeping other attributes.
fn typed(object: &str, record: &Record) -> Record {
    let mut r = record.clone();
    match r.get_mut("attributes") {
        Some(Value::Object(attrs)) => {
            attrs
                .entry("type")
                .or_insert_with(|| Value::String(object.to_owned()));
        }
        _ => {
            r.insert("attributes".into(), json!({ "type": object }));
        }
    }
    r
}

impl Client {
    /// Creates records (`POST /composite/sobjects`). Not retried inside the client.
    pub async fn create_many(&self, object: &str, records: &[Record]) -> Vec<ItemResult> {
        let typed: Vec<Record> = records.iter().map(|r| typed(object, r)).collect();
        self.chunked(&typed, false, |chunk| {
            Request::new(Method::POST, "/composite/sobjects")
                .json(&json!({ "allOrNone": false, "records": chunk }))
        })
        .await
    }

    /// Updates records by `Id` (`PATCH /composite/sobjects`).
    pub async fn update_many(&self, object: &str, records: &[Record]) -> Vec<ItemResult> {
        let typed: Vec<Record> = records.iter().map(|r| typed(object, r)).collect();
        self.chunked(&typed, true, |chunk| {
            Request::new(Method::PATCH, "/composite/sobjects")
                .json(&json!({ "allOrNone": false, "records": chunk }))
        })
        .await
    }

    /// Upserts records on an external id field (`PATCH /composite/sobjects/{object}/{field}`);
    /// each record carries its external id value. Idempotent, so retried.
    pub async fn upsert_many(
        &self,
        object: &str,
        ext_field: &str,
        records: &[Record],
    ) -> Vec<ItemResult> {
        let typed: Vec<Record> = records.iter().map(|r| typed(object, r)).collect();
        let path = format!("/composite/sobjects/{}/{}", seg(object), seg(ext_field));
        self.chunked(&typed, true, |chunk| {
            Request::new(Method::PATCH, path.clone())
                .json(&json!({ "allOrNone": false, "records": chunk }))
        })
        .await
    }

    /// Deletes records by id (`DELETE /composite/sobjects?ids=…&allOrNone=false`).
    pub async fn delete_many(&self, ids: &[String]) -> Vec<ItemResult> {
        self.chunked(ids, true, |chunk| {
            Ok(Request::new(Method::DELETE, "/composite/sobjects")
                .query("ids", chunk.join(","))
                .query("allOrNone", "false"))
        })
        .await
    }

    /// Retrieves records by id (`POST /composite/sobjects/{object}` with `ids` and `fields`),
    /// 2000 ids per call; `None` where Salesforce returns `null` (no such or inaccessible id).
    pub async fn retrieve_many(
        &self,
        object: &str,
        ids: &[String],
        fields: &[&str],
    ) -> Result<Vec<Option<Record>>, SfError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(RETRIEVE_CHUNK) {
            let req = Request::new(Method::POST, format!("/composite/sobjects/{}", seg(object)))
                .json(&json!({ "ids": chunk, "fields": fields }))?;
            let got: Vec<Option<Record>> = self.call_json(&req, true).await?;
            if got.len() != chunk.len() {
                return Err(self.count_mismatch(chunk.len(), got.len()));
            }
            out.extend(got);
        }
        Ok(out)
    }

    pub(crate) fn count_mismatch(&self, sent: usize, got: usize) -> SfError {
        SfError::Protocol {
            org: self.org().to_owned(),
            status: 200,
            message: format!("sent {sent} items, got {got} results"),
        }
    }

    /// Sends `items` in chunks of 200 and maps every result back to its item.
    async fn chunked<T, F>(&self, items: &[T], idempotent: bool, build: F) -> Vec<ItemResult>
    where
        F: Fn(&[T]) -> Result<Request, SfError>,
    {
        let build = &build;
        self.in_chunks(items, |chunk| async move {
            let req = build(chunk)?;
            self.chunk_call(&req, chunk.len(), idempotent).await
        })
        .await
    }

    /// Runs `call` on each chunk of at most 200 items (a few chunks at once) and returns one
    /// result per item in order. After a quota or auth failure the remaining chunks are not
    /// sent: their items carry that error.
    pub(crate) async fn in_chunks<'a, T, F, Fut>(
        &'a self,
        items: &'a [T],
        call: F,
    ) -> Vec<ItemResult>
    where
        F: Fn(&'a [T]) -> Fut,
        Fut: Future<Output = Result<Vec<ItemResult>, SfError>> + 'a,
    {
        let stop = Stop::default();
        let stop = &stop;
        let per_chunk: Vec<Vec<ItemResult>> = futures::stream::iter(items.chunks(CHUNK))
            .map(|chunk| self.run_chunk(chunk.len(), call(chunk), stop))
            .buffered(PARALLEL_CHUNKS)
            .collect()
            .await;
        per_chunk.into_iter().flatten().collect()
    }

    /// One chunk: skipped (with the stopping error) after a quota/auth failure, else sent.
    async fn run_chunk(
        &self,
        len: usize,
        call: impl Future<Output = Result<Vec<ItemResult>, SfError>>,
        stop: &Stop,
    ) -> Vec<ItemResult> {
        if stop.flag.load(Ordering::Acquire)
            && let Some(e) = stop.error.lock().unwrap_or_else(|p| p.into_inner()).clone()
        {
            return vec![Err(e); len];
        }
        match call.await {
            Ok(results) => results,
            Err(e) => {
                if matches!(e.kind(), ErrorKind::Quota | ErrorKind::Auth) {
                    *stop.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.clone());
                    stop.flag.store(true, Ordering::Release);
                }
                vec![Err(e); len]
            }
        }
    }

    async fn chunk_call(
        &self,
        req: &Request,
        len: usize,
        idempotent: bool,
    ) -> Result<Vec<ItemResult>, SfError> {
        let results: Vec<SaveResult> = self.call_json(req, idempotent).await?;
        if results.len() != len {
            return Err(self.count_mismatch(len, results.len()));
        }
        Ok(results
            .into_iter()
            .map(|r| r.into_result(self.org()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::typed;
    use serde_json::json;

    #[test]
    fn typed_adds_or_keeps_attributes() {
        let r = json!({"Name": "a"}).as_object().unwrap().clone();
        assert_eq!(
            typed("Account", &r)["attributes"],
            json!({"type": "Account"})
        );
        let r = json!({"attributes": {"type": "Contact", "url": "/x"}, "Name": "a"})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(
            typed("Account", &r)["attributes"],
            json!({"type": "Contact", "url": "/x"})
        );
    }
}
