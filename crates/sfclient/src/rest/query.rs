//! `query` / `queryAll` as async streams that follow `nextRecordsUrl` page by page.
//!
//! One page = one API call (up to 2000 records). Each page request goes through the normal
//! send path, so a token that expires in the middle of a long stream is refreshed once and the
//! stream carries on from the page it was on.

use crate::client::Client;
use crate::error::SfError;
use crate::http::Request;
use crate::values::Record;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use reqwest::Method;
use serde::Deserialize;

/// One page of a query result.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryPage {
    /// Rows matching the whole query (the count, for `SELECT COUNT()`).
    pub total_size: u64,
    pub done: bool,
    #[serde(default)]
    pub next_records_url: Option<String>,
    #[serde(default)]
    pub records: Vec<Record>,
}

enum Cursor {
    Start { soql: String, all: bool },
    Next(String),
    Done,
}

impl Client {
    /// The first page of `query` (or `queryAll` when `all`).
    pub async fn query_page(&self, soql: &str, all: bool) -> Result<QueryPage, SfError> {
        let path = if all { "/queryAll" } else { "/query" };
        let mut req = Request::new(Method::GET, path).query("q", soql);
        req.query_options = true;
        self.call_json(&req, true).await
    }

    /// The page behind a `nextRecordsUrl`.
    pub async fn query_more(&self, next_records_url: &str) -> Result<QueryPage, SfError> {
        self.call_json(&Request::absolute(next_records_url), true)
            .await
    }

    /// Pages of a query, lazily: a page is fetched only when the previous one is consumed.
    pub fn query_pages(
        &self,
        soql: &str,
        all: bool,
    ) -> BoxStream<'static, Result<QueryPage, SfError>> {
        let client = self.clone();
        stream::try_unfold(
            Cursor::Start {
                soql: soql.to_owned(),
                all,
            },
            move |cursor| {
                let client = client.clone();
                async move {
                    let page = match cursor {
                        Cursor::Start { soql, all } => client.query_page(&soql, all).await?,
                        Cursor::Next(url) => client.query_more(&url).await?,
                        Cursor::Done => return Ok(None),
                    };
                    let next = match (&page.done, &page.next_records_url) {
                        (false, Some(url)) => Cursor::Next(url.clone()),
                        _ => Cursor::Done,
                    };
                    Ok(Some((page, next)))
                }
            },
        )
        .boxed()
    }

    /// All records of a query, following `nextRecordsUrl`.
    pub fn query(&self, soql: &str) -> BoxStream<'static, Result<Record, SfError>> {
        self.query_records(soql, false)
    }

    /// All records of a `queryAll` (deleted and archived rows included).
    pub fn query_all(&self, soql: &str) -> BoxStream<'static, Result<Record, SfError>> {
        self.query_records(soql, true)
    }

    fn query_records(&self, soql: &str, all: bool) -> BoxStream<'static, Result<Record, SfError>> {
        self.query_pages(soql, all)
            .map_ok(|page| stream::iter(page.records.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }
}
