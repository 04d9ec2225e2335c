//! The SOAP partner API, for the record call REST lacks (`undelete`).
//!
//! A SOAP call uses the client's session exactly as REST does: the OAuth access token is the
//! session id (`SessionHeader/sessionId`), a rejected session (`INVALID_SESSION_ID` fault) gets
//! the same single-flight refresh and one resend, the call takes a slot of the org's
//! concurrency cap and counts in [`crate::BudgetSnapshot::requests_sent`], and the answer's
//! `LimitInfoHeader` updates the org's API usage as `Sforce-Limit-Info` does for REST. Our writes
//! carry `CallOptions/client` = the configured client tag, so the change events they cause are
//! recognised as echoes (`changeOrigin` `…;client=<tag>`), as `Sforce-Call-Options` does for REST.
//!
//! Endpoint: `POST {instance}/services/Soap/u/{version}` (the `serverUrl` of a SOAP login without
//! its org id suffix), `Content-Type: text/xml`, `SOAPAction: <call>`.

pub(crate) mod reader;
pub mod undelete;

use crate::auth::Token;
use crate::client::Client;
use crate::error::SfError;
use crate::http::parse_error_body;
use quick_xml::escape::escape;
use reader::Answer;
use std::sync::Arc;

impl Client {
    /// One SOAP call whose `Body` holds `operation_xml` (the call element, `urn:` prefix bound
    /// to the partner namespace). Retried on retryable errors: the calls sent this way are
    /// idempotent in effect (an undelete sent twice answers "not in the recycle bin" the second
    /// time, which the caller handles like any record that cannot come back).
    pub(crate) async fn soap_call(
        &self,
        operation: &str,
        operation_xml: &str,
    ) -> Result<Answer, SfError> {
        self.with_retries(true, || {
            self.with_session(false, |token| {
                self.soap_attempt(operation, operation_xml, token)
            })
        })
        .await
    }

    async fn soap_attempt(
        &self,
        operation: &str,
        operation_xml: &str,
        token: Arc<Token>,
    ) -> Result<Answer, SfError> {
        let cfg = &self.inner.config;
        let url = format!("{}/services/Soap/u/{}", token.instance_url, cfg.api_version);
        let body = format!(
            concat!(
                r#"<?xml version="1.0" encoding="utf-8"?>"#,
                r#"<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com">"#,
                r#"<env:Header><urn:SessionHeader><urn:sessionId>{}</urn:sessionId></urn:SessionHeader>"#,
                r#"<urn:CallOptions><urn:client>{}</urn:client></urn:CallOptions></env:Header>"#,
                r#"<env:Body>{}</env:Body></env:Envelope>"#
            ),
            escape(token.access_token.expose().as_str()),
            escape(cfg.client_tag.as_str()),
            operation_xml
        );
        let org = self.org();
        let resp = self
            .inner
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=UTF-8")
            .header("SOAPAction", operation)
            .body(body)
            .send()
            .await
            .map_err(|e| SfError::from_reqwest(org, &e))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| SfError::from_reqwest(org, &e))?;
        let answer = std::str::from_utf8(&bytes)
            .map_err(|e| e.to_string())
            .and_then(reader::read);
        match answer {
            Ok(a) => {
                if let Some(u) = a.api_usage {
                    self.inner
                        .budget
                        .observe(&format!("api-usage={}/{}", u.used, u.max));
                }
                match a.fault {
                    Some(f) => Err(SfError::Fault {
                        org: org.to_owned(),
                        status,
                        errors: vec![f],
                    }),
                    None if (200..300).contains(&status) => Ok(a),
                    None => Err(SfError::Api {
                        org: org.to_owned(),
                        status,
                        errors: parse_error_body(status, &bytes),
                    }),
                }
            }
            // Not SOAP: a proxy's or an outage's answer (JSON, HTML, empty).
            Err(_) if !(200..300).contains(&status) => Err(SfError::Api {
                org: org.to_owned(),
                status,
                errors: parse_error_body(status, &bytes),
            }),
            Err(e) => Err(SfError::Protocol {
                org: org.to_owned(),
                status,
                message: format!("undecodable SOAP answer: {e}"),
            }),
        }
    }
}
