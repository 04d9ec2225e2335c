//! One subrequest of a composite, graph or batch request: its shape, the checks the whole
//! request must pass before anything runs, and its in-process dispatch to the REST router
//! (with the caller's `Session` and `CallOptions` and the `InternalCall` marker, so the
//! middleware neither counts nor faults it again).

use super::composite::bad_request;
use super::references::valid_reference_id;
use super::support::{ApiVersion, Ctx, read_body};
use crate::error::ApiError;
use crate::state::InternalCall;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, header};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};
use std::collections::HashSet;
use tower::ServiceExt;

/// One subrequest of a composite (or of one graph).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SubRequest {
    pub(super) method: String,
    pub(super) url: String,
    pub(super) reference_id: String,
    #[serde(default)]
    pub(super) body: Option<Json>,
    #[serde(default)]
    pub(super) http_headers: Option<Map<String, Json>>,
}

/// One subrequest's answer.
#[derive(Debug, Clone)]
pub(super) struct SubResponse {
    pub(super) status: u16,
    pub(super) location: Option<String>,
    pub(super) body: Json,
}

impl SubResponse {
    pub(super) fn error(status: u16, code: &str, message: &str) -> Self {
        SubResponse {
            status,
            location: None,
            body: json!([{"message": message, "errorCode": code}]),
        }
    }
    pub(super) fn failed(&self) -> bool {
        self.status >= 400
    }
}

/// The API path after `/services/data/vXX.X/` of a subrequest URL, or `None` when the URL does
/// not start with a served version.
pub(super) fn api_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("/services/data/")?;
    let (ver, path) = rest.split_once('/')?;
    ApiVersion::parse(ver)?;
    Some(path)
}

pub(super) fn is_heavy(path: &str) -> bool {
    path.starts_with("query") || path.starts_with("composite/sobjects")
}

pub(super) fn is_nested_composite(path: &str) -> bool {
    let p = path.split('?').next().unwrap_or("").trim_end_matches('/');
    p == "composite"
        || p == "composite/batch"
        || p.starts_with("composite/graph")
        || p.starts_with("composite/tree")
}

/// Whether a subrequest writes records (one per-record fault draw each).
pub(super) fn is_record_dml(method: &Method, path: &str) -> bool {
    *method != Method::GET && path.starts_with("sobjects/")
}

/// Validates the whole request before anything runs (Salesforce rejects it with one 400).
/// `max` subrequests at most; `heavy_max` query/collections subrequests at most (composite only).
pub(super) fn validate(
    subs: &[SubRequest],
    max: usize,
    heavy_max: Option<usize>,
) -> Result<(), ApiError> {
    let n = subs.len();
    if n == 0 || n > max {
        return Err(bad_request(
            "INVALID_INPUT",
            format!("A composite request must contain between 1 and {max} subrequests, not {n}."),
        ));
    }
    let mut seen = HashSet::new();
    let mut heavy = 0;
    for sub in subs {
        if !valid_reference_id(&sub.reference_id) {
            return Err(bad_request(
                "INVALID_INPUT",
                format!("Invalid referenceId: {}", sub.reference_id),
            ));
        }
        if !seen.insert(sub.reference_id.as_str()) {
            return Err(bad_request(
                "INVALID_INPUT",
                format!("Duplicate referenceId: {}", sub.reference_id),
            ));
        }
        if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&sub.method.as_str()) {
            return Err(bad_request(
                "INVALID_INPUT",
                format!("Invalid HTTP method: {}", sub.method),
            ));
        }
        let Some(path) = api_path(&sub.url) else {
            return Err(bad_request(
                "INVALID_INPUT",
                format!(
                    "The url of subrequest {} must begin with /services/data/vXX.X/",
                    sub.reference_id
                ),
            ));
        };
        heavy += usize::from(is_heavy(path));
        for name in sub.http_headers.iter().flat_map(|h| h.keys()) {
            if ["accept", "authorization", "content-type"]
                .contains(&name.to_ascii_lowercase().as_str())
            {
                return Err(bad_request(
                    "INVALID_INPUT",
                    format!("The {name} header is not allowed in a subrequest"),
                ));
            }
        }
    }
    if let Some(limit) = heavy_max
        && heavy > limit
    {
        return Err(bad_request(
            "INVALID_INPUT",
            format!(
                "A composite request can contain at most {limit} query or sObject Collections subrequests."
            ),
        ));
    }
    Ok(())
}

/// Percent-encodes what a URI may not contain (spaces and quotes in an unencoded SOQL query
/// string, which composite users often send), leaving everything else as written.
pub(super) fn encode_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for b in url.bytes() {
        match b {
            b'!'
            | b'#'..=b';'
            | b'='
            | b'?'
            | b'@'
            | b'A'..=b'Z'
            | b'['
            | b']'
            | b'_'
            | b'a'..=b'z'
            | b'~' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Runs one subrequest through the REST router in-process.
pub(super) async fn dispatch(
    ctx: &Ctx,
    method: Method,
    url: &str,
    body: Option<Json>,
    headers: Option<&Map<String, Json>>,
) -> SubResponse {
    let svc: Router = Router::new()
        .nest("/services/data/{version}", super::router())
        .with_state(ctx.state.clone());
    let mut builder = Request::builder().method(method).uri(encode_url(url));
    for (k, v) in headers.into_iter().flatten() {
        let value = match v {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        if let (Ok(n), Ok(v)) = (
            HeaderName::try_from(k.as_str()),
            HeaderValue::from_str(&value),
        ) {
            builder = builder.header(n, v);
        }
    }
    let bytes = body
        .map(|b| serde_json::to_vec(&b).unwrap_or_default())
        .unwrap_or_default();
    if !bytes.is_empty() {
        builder = builder.header(header::CONTENT_TYPE, "application/json");
    }
    let Ok(mut req) = builder.body(Body::from(bytes)) else {
        return SubResponse::error(400, "NOT_FOUND", "The requested resource does not exist");
    };
    req.extensions_mut().insert(ctx.session.clone());
    req.extensions_mut().insert(ctx.options.clone());
    req.extensions_mut().insert(InternalCall);
    let Ok(resp) = svc.oneshot(req).await;
    collect(resp).await
}

pub(super) async fn collect(resp: Response) -> SubResponse {
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = read_body(resp.into_body()).await.unwrap_or_default();
    let body = if bytes.is_empty() {
        Json::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Json::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    SubResponse {
        status,
        location,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_made_valid_without_double_encoding() {
        assert_eq!(
            encode_url("/services/data/v62.0/query/?q=SELECT Id FROM Account WHERE Name = 'É'"),
            "/services/data/v62.0/query/?q=SELECT%20Id%20FROM%20Account%20WHERE%20Name%20=%20'%C3%89'"
        );
        let done = "/services/data/v62.0/query/?q=SELECT+Id+FROM+Account%20x";
        assert_eq!(encode_url(done), done);
        assert!(encode_url(done).parse::<axum::http::Uri>().is_ok());
    }

    #[test]
    fn subrequest_paths_need_a_served_version() {
        assert_eq!(
            api_path("/services/data/v62.0/sobjects/Account"),
            Some("sobjects/Account")
        );
        assert_eq!(api_path("/services/data/v20.0/sobjects/Account"), None);
        assert_eq!(api_path("/sobjects/Account"), None);
        assert!(is_nested_composite("composite/batch"));
        assert!(is_nested_composite("composite/?x=1"));
        assert!(!is_nested_composite("composite/sobjects"));
    }

    proptest::proptest! {
        #[test]
        fn encoded_urls_always_parse_and_decode_back(tail in "[^%]*") {
            let url = format!("/services/data/v62.0/query/?q={tail}");
            let enc = encode_url(&url);
            proptest::prop_assert!(enc.parse::<axum::http::Uri>().is_ok(), "{}", enc);
            let back = percent_encoding::percent_decode_str(&enc).decode_utf8().unwrap();
            proptest::prop_assert_eq!(back, url);
        }
    }
}
