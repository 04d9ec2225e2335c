//! What every REST handler shares: the request context extractor (version, session, call
//! options, path and query parameters), JSON body parsing that fails the way Salesforce fails,
//! and JSON responses with Salesforce's content type.

use crate::error::ApiError;
use crate::state::{CallOptions, InternalCall, OrgServer, Session};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value as Json;
use sfemu_org::{Caller, SfError};
use std::collections::HashMap;
use std::sync::Arc;

/// Lowest API version served (Summer '14).
pub const MIN_VERSION: u32 = 31;
/// Highest API version served (Spring '26).
pub const MAX_VERSION: u32 = 66;

/// Salesforce's JSON content type (clients compare it loosely, but some log it).
pub const JSON_CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// Largest request body accepted (base64 ContentVersion uploads may be up to 50 MB of text).
pub const MAX_BODY_BYTES: usize = 50 * 1024 * 1024;

/// An API version from the URL (`v62.0`): `major` = 62, rendered `"62.0"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiVersion {
    pub major: u32,
}

impl ApiVersion {
    /// Parses `v62.0` (the URL segment); anything outside 31.0..=66.0 is not a served version.
    pub fn parse(segment: &str) -> Option<ApiVersion> {
        let rest = segment.strip_prefix('v')?;
        let (major, minor) = rest.split_once('.')?;
        if minor != "0" || major.is_empty() || !major.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let major: u32 = major.parse().ok()?;
        (MIN_VERSION..=MAX_VERSION)
            .contains(&major)
            .then_some(ApiVersion { major })
    }

    /// `"62.0"`, as the org API and the `version` fields expect it.
    pub fn number(&self) -> String {
        format!("{}.0", self.major)
    }

    /// `/services/data/v62.0`, the prefix of every URL this version renders.
    pub fn base_path(&self) -> String {
        format!("/services/data/v{}.0", self.major)
    }
}

/// Everything a handler needs about the request besides its body.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub state: Arc<OrgServer>,
    pub version: ApiVersion,
    pub session: Session,
    pub options: CallOptions,
    /// Path parameters by name (`object`, `a`, `b`, `locator`…).
    pub params: HashMap<String, String>,
    /// Decoded query-string pairs, in order.
    pub query: Vec<(String, String)>,
    /// Dispatched by the emulator to itself (a composite subrequest): its faults were drawn by
    /// the outer call.
    pub internal: bool,
}

impl Ctx {
    /// The org caller for DML: REST API, this version, the session's user, the `client=` tag.
    pub fn caller(&self) -> Caller {
        Caller {
            user_id: self.session.user.id.clone(),
            api: "rest".into(),
            api_version: self.version.number(),
            client: self.options.client.clone(),
        }
    }

    /// The session user's id.
    pub fn user_id(&self) -> &str {
        &self.session.user.id
    }

    /// A path parameter (empty when absent, which the router makes impossible).
    pub fn param(&self, name: &str) -> &str {
        self.params.get(name).map(String::as_str).unwrap_or("")
    }

    /// The first query-string value for `name` (case-sensitive, as Salesforce's).
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `/services/data/v62.0/sobjects/Account/001…`, the `url` of a record.
    pub fn record_url(&self, object: &str, id: &str) -> String {
        format!("{}/sobjects/{object}/{id}", self.version.base_path())
    }
}

impl FromRequestParts<Arc<OrgServer>> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<OrgServer>,
    ) -> Result<Self, Self::Rejection> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found())?;
        let version = params
            .get("version")
            .and_then(|v| ApiVersion::parse(v))
            .ok_or_else(ApiError::not_found)?;
        let session = parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(ApiError::invalid_session)?;
        let options = parts
            .extensions
            .get::<CallOptions>()
            .cloned()
            .unwrap_or_default();
        let query = parts
            .uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        Ok(Ctx {
            state: state.clone(),
            version,
            session,
            options,
            params,
            query,
            internal: parts.extensions.get::<InternalCall>().is_some(),
        })
    }
}

/// A JSON response with Salesforce's content type.
pub fn json(status: StatusCode, body: &Json) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"null".to_vec());
    let mut resp = (status, bytes).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    resp
}

/// `204 No Content`.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// Reads a whole request body, answering Salesforce JSON (never text) when it cannot.
pub async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "JSON_PARSER_ERROR",
                format!("Unable to read the request body: {e}"),
            )
        })
}

/// Parses a JSON body the way Salesforce's parser reports failures: `400 JSON_PARSER_ERROR`
/// with the position (`… at [line:1, column:2]`). Message wording UNCONFIRMED beyond the code;
/// the empty-body text is Jackson's, which Salesforce surfaces.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::json_parser(
            "No content to map due to end-of-input",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Eof => "Unexpected end-of-input".to_string(),
            serde_json::error::Category::Syntax => "Unexpected character".to_string(),
            _ => {
                let text = e.to_string();
                text.split(" at line ").next().unwrap_or(&text).to_string()
            }
        };
        ApiError::json_parser(format!(
            "{what} at [line:{}, column:{}]",
            e.line(),
            e.column()
        ))
    })
}

/// Parses a body that must be a JSON object (a record's fields).
pub fn parse_object(body: &[u8]) -> Result<serde_json::Map<String, Json>, ApiError> {
    match parse_json::<Json>(body)? {
        Json::Object(map) => Ok(map),
        other => Err(ApiError::json_parser(format!(
            "Cannot deserialize instance of SObject out of {} token at [line:1, column:1]",
            token_name(&other)
        ))),
    }
}

/// Jackson's token names, as Salesforce's deserialization messages use them.
pub fn token_name(v: &Json) -> &'static str {
    match v {
        Json::Array(_) => "START_ARRAY",
        Json::Object(_) => "START_OBJECT",
        Json::String(_) => "VALUE_STRING",
        Json::Number(_) => "VALUE_NUMBER",
        Json::Bool(true) => "VALUE_TRUE",
        Json::Bool(false) => "VALUE_FALSE",
        Json::Null => "VALUE_NULL",
    }
}

/// The `{"id","success":true,"errors":[]}` SaveResult of a successful operation.
pub fn save_result(id: &str, created: Option<bool>) -> Json {
    let mut m = serde_json::Map::new();
    m.insert("id".into(), id.into());
    m.insert("success".into(), true.into());
    m.insert("errors".into(), Json::Array(Vec::new()));
    if let Some(c) = created {
        m.insert("created".into(), c.into());
    }
    Json::Object(m)
}

/// The error answer for a whole single-record call: status from the first error's code.
pub fn errors_response(errors: Vec<SfError>) -> ApiError {
    let status = errors
        .first()
        .and_then(|e| StatusCode::from_u16(e.http_status()).ok())
        .unwrap_or(StatusCode::BAD_REQUEST);
    ApiError { status, errors }
}

/// Removes the `attributes` key a client may send with record fields (Salesforce ignores it).
pub fn strip_attributes(fields: &mut serde_json::Map<String, Json>) -> Option<Json> {
    fields.shift_remove("attributes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_only_served_range() {
        assert_eq!(ApiVersion::parse("v62.0"), Some(ApiVersion { major: 62 }));
        assert_eq!(ApiVersion::parse("v31.0"), Some(ApiVersion { major: 31 }));
        assert_eq!(ApiVersion::parse("v66.0"), Some(ApiVersion { major: 66 }));
        for bad in [
            "v30.0", "v67.0", "62.0", "v62", "v62.1", "v+62.0", "latest", "v.0", "",
        ] {
            assert_eq!(ApiVersion::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn json_errors_carry_position() {
        let e = parse_json::<Json>(b"{\"a\": }").unwrap_err();
        assert_eq!(e.errors[0].code, "JSON_PARSER_ERROR");
        assert!(
            e.errors[0].message.contains("[line:1, column:7]"),
            "{}",
            e.errors[0].message
        );
        let e = parse_json::<Json>(b"  ").unwrap_err();
        assert_eq!(e.errors[0].message, "No content to map due to end-of-input");
        assert!(parse_object(b"[1]").is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_body_parses_or_fails_as_json_parser_error(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            if let Err(e) = parse_json::<Json>(&bytes) {
                proptest::prop_assert_eq!(e.status, StatusCode::BAD_REQUEST);
                proptest::prop_assert_eq!(&e.errors[0].code, "JSON_PARSER_ERROR");
            }
        }

        #[test]
        fn every_served_version_round_trips(major in 0u32..200) {
            let parsed = ApiVersion::parse(&format!("v{major}.0"));
            proptest::prop_assert_eq!(parsed.is_some(), (MIN_VERSION..=MAX_VERSION).contains(&major));
            if let Some(v) = parsed {
                proptest::prop_assert_eq!(v.base_path(), format!("/services/data/v{major}.0"));
            }
        }
    }
}
