//! File bodies, streamed both ways so moving a 2 GB file costs a few chunks of memory:
//! `GET /sobjects/ContentVersion/{id}/VersionData` as a byte stream, and the multipart
//! `POST /sobjects/ContentVersion` (a JSON part `entity_content` and a binary part
//! `VersionData`) whose file part is fed from any byte stream — typically another org's
//! download, so bytes flow from one org to the other without touching disk or memory whole.
//!
//! Both go through the same session, budget and error machinery as every other call (one API
//! call each). The multipart framing is written here (head + stream + tail) so the request can
//! carry a `Content-Length` when the size is known (Salesforce documents no chunked uploads;
//! UNCONFIRMED whether it accepts them).

use crate::auth::Token;
use crate::client::Client;
use crate::error::{SfError, TransportKind};
use crate::http::{parse_error_body, seg};
use crate::rest::records::SaveResult;
use crate::values::Record;
use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use std::pin::Pin;
use std::sync::Mutex;

/// A file body as a stream of chunks.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, SfError>> + Send>>;

/// A download in progress: the body is read as the stream is polled.
pub struct Download {
    /// `Content-Length` when the server sent one.
    pub size: Option<u64>,
    /// The bytes.
    pub stream: ByteStream,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// What a new ContentVersion is made of besides its bytes.
#[derive(Debug, Clone)]
pub struct NewVersion {
    /// The record's fields (`Title`, `PathOnClient`, `ContentDocumentId` for a new version of
    /// a document, `FirstPublishLocationId`, an external id…), sent as `entity_content`.
    pub fields: Record,
    /// The file name of the binary part.
    pub file_name: String,
    /// The size of the stream, when known: the request then carries a `Content-Length`.
    pub size: Option<u64>,
}

impl Client {
    /// `GET /sobjects/ContentVersion/{id}/VersionData`: the bytes as a stream. One API call;
    /// errors before the first byte are typed like any call's (the session refreshed once on
    /// 401); a broken stream yields a retryable transport error.
    pub async fn download_version_data(&self, version_id: &str) -> Result<Download, SfError> {
        let path = format!("/sobjects/ContentVersion/{}/VersionData", seg(version_id));
        self.with_session(false, |token| {
            let path = path.clone();
            async move {
                let rb = self
                    .inner
                    .http
                    .get(self.data_url(&token, &path))
                    .header(reqwest::header::ACCEPT, "*/*");
                let resp = self.send_file_request(rb, &token).await?;
                let org = self.org().to_owned();
                let size = resp.content_length();
                let stream = resp
                    .bytes_stream()
                    .map_err(move |e| SfError::from_reqwest(&org, &e));
                Ok(Download {
                    size,
                    stream: Box::pin(stream),
                })
            }
        })
        .await
    }

    /// `POST /sobjects/ContentVersion` as `multipart/form-data`, the file part read from
    /// `body` as it is sent. Returns the new ContentVersion's id. Never retried inside the
    /// client (a create whose answer was lost may have happened, and the stream is spent); a
    /// rejected session is refreshed, but the spent stream cannot be sent again, so that case
    /// fails with a retryable error and the caller starts the transfer over.
    pub async fn insert_content_version(
        &self,
        version: &NewVersion,
        body: ByteStream,
    ) -> Result<String, SfError> {
        let mut fields = version.fields.clone();
        fields.remove("attributes");
        let json = serde_json::to_vec(&fields)
            .map_err(|e| SfError::Config(format!("ContentVersion fields: {e}")))?;
        let boundary = boundary()?;
        let head = multipart_head(&boundary, &json, &version.file_name);
        let tail = format!("\r\n--{boundary}--\r\n").into_bytes();
        let length = version
            .size
            .map(|n| n + head.len() as u64 + tail.len() as u64);
        let content_type = format!("multipart/form-data; boundary={boundary}");
        let slot = Mutex::new(Some(body));
        let resp = self
            .with_session(false, |token| {
                let taken = slot.lock().ok().and_then(|mut s| s.take());
                let (head, tail, content_type) = (head.clone(), tail.clone(), content_type.clone());
                async move {
                    let Some(body) = taken else {
                        return Err(SfError::Transport {
                            org: self.org().to_owned(),
                            kind: TransportKind::Body,
                            message: "the upload's stream was spent by an attempt the org \
                                      refused; start the transfer again"
                                .into(),
                        });
                    };
                    let framed = futures::stream::once(async move { Ok(Bytes::from(head)) })
                        .chain(body)
                        .chain(futures::stream::once(async move { Ok(Bytes::from(tail)) }));
                    let mut rb = self
                        .inner
                        .http
                        .post(self.data_url(&token, "/sobjects/ContentVersion"))
                        .header(reqwest::header::ACCEPT, "application/json")
                        .header(reqwest::header::CONTENT_TYPE, content_type)
                        .body(reqwest::Body::wrap_stream(framed));
                    if let Some(n) = length {
                        rb = rb.header(reqwest::header::CONTENT_LENGTH, n);
                    }
                    let resp = self.send_file_request(rb, &token).await?;
                    let status = resp.status().as_u16();
                    let bytes = resp
                        .bytes()
                        .await
                        .map_err(|e| SfError::from_reqwest(self.org(), &e))?;
                    Ok((status, bytes))
                }
            })
            .await?;
        let (status, bytes) = resp;
        let result: SaveResult = serde_json::from_slice(&bytes).map_err(|e| SfError::Protocol {
            org: self.org().to_owned(),
            status,
            message: format!("undecodable body: {e}"),
        })?;
        result.into_result(self.org()).map(|s| s.id)
    }

    fn data_url(&self, token: &Token, path: &str) -> String {
        format!(
            "{}/services/data/v{}{}",
            token.instance_url, self.inner.config.api_version, path
        )
    }

    /// Sends a file request with the session, call options and the file timeout; reads the
    /// limit info; turns a non-2xx answer into the typed error every call gives.
    async fn send_file_request(
        &self,
        rb: reqwest::RequestBuilder,
        token: &Token,
    ) -> Result<reqwest::Response, SfError> {
        let cfg = &self.inner.config;
        let org = self.org();
        let rb = rb
            .bearer_auth(token.access_token.expose())
            .header("Sforce-Call-Options", format!("client={}", cfg.client_tag))
            .timeout(cfg.timeouts.file);
        let resp = self.send_observed(rb).await?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(resp);
        }
        let body = resp
            .bytes()
            .await
            .map_err(|e| SfError::from_reqwest(org, &e))?;
        Err(SfError::Api {
            org: org.to_owned(),
            status,
            errors: parse_error_body(status, &body),
        })
    }
}

/// A random multipart boundary (never found in a JSON part; a file part may contain any
/// bytes, but 32 random hex digits colliding is not a practical concern).
fn boundary() -> Result<String, SfError> {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| SfError::Config("no system randomness for a multipart boundary".into()))?;
    Ok(format!(
        "orgsync{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    ))
}

/// The JSON part and the file part's headers, up to the first byte of the file.
fn multipart_head(boundary: &str, json: &[u8], file_name: &str) -> Vec<u8> {
    // A file name is a header parameter: quotes, backslashes and line breaks would break it.
    let safe: String = file_name
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\r' | '\n' => '_',
            c => c,
        })
        .collect();
    let mut head = Vec::with_capacity(json.len() + 256);
    head.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"entity_content\"\r\n\
             Content-Type: application/json\r\n\r\n"
        )
        .as_bytes(),
    );
    head.extend_from_slice(json);
    head.extend_from_slice(
        format!(
            "\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"VersionData\"; \
             filename=\"{safe}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_quotes_file_names_safely() {
        let h = multipart_head("B", br#"{"Title":"x"}"#, "a\"b\r\nc.pdf");
        let text = String::from_utf8(h).unwrap_or_default();
        assert!(text.starts_with("--B\r\n"));
        assert!(text.contains(r#"filename="a_b__c.pdf""#), "{text}");
        assert!(text.ends_with("\r\n\r\n"));
        assert!(boundary().is_ok_and(|b| b.len() == 39));
    }
}
