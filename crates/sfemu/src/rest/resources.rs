//! `GET /services/data/vXX.X/` — the map of resource names to URLs for one API version.

use super::support::{ApiVersion, Ctx, json};
use crate::error::ApiError;
use crate::state::{CallOptions, OrgServer};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value as Json};
use std::sync::Arc;

/// Resources listed for every served version (name, first version that lists it). The full key
/// list of real orgs is UNCONFIRMED and larger; these are the ones clients look up.
const RESOURCES: &[(&str, u32)] = &[
    ("tooling", 31),
    ("metadata", 31),
    ("folders", 31),
    ("eclair", 42),
    ("jobs", 36),
    ("prechatForms", 31),
    ("chatter", 31),
    ("tabs", 31),
    ("appMenu", 31),
    ("quickActions", 31),
    ("queryAll", 31),
    ("commerce", 43),
    ("wave", 36),
    ("iot", 39),
    ("analytics", 31),
    ("search", 31),
    ("identity", 31),
    ("composite", 31),
    ("parameterizedSearch", 36),
    ("fingerprint", 39),
    ("theme", 31),
    ("nouns", 31),
    ("event", 38),
    ("recent", 31),
    ("connect", 31),
    ("licensing", 31),
    ("limits", 31),
    ("process", 31),
    ("async-queries", 37),
    ("query", 31),
    ("match", 38),
    ("emailConnect", 41),
    ("compactLayouts", 31),
    ("knowledgeManagement", 38),
    ("sobjects", 31),
    ("actions", 32),
    ("support", 31),
];

/// The resource map body: `{"sobjects":"/services/data/v62.0/sobjects", …}` with `identity`
/// pointing at this org's identity URL for the session user.
pub fn body(ctx: &Ctx) -> Json {
    let base = ctx.version.base_path();
    let mut map = Map::new();
    for (name, since) in RESOURCES {
        if ctx.version.major < *since {
            continue;
        }
        let url = if *name == "identity" {
            format!(
                "{}/id/{}/{}",
                ctx.state.base_url,
                ctx.state.org.org_id(),
                ctx.session.user.id
            )
        } else {
            format!("{base}/{name}")
        };
        map.insert((*name).to_string(), url.into());
    }
    Json::Object(map)
}

/// `GET /services/data/vXX.X/`.
pub async fn get(ctx: Ctx) -> Response {
    json(StatusCode::OK, &body(&ctx))
}

/// `GET /services/data/vXX.X/` (trailing slash), served from the root router because a router
/// nested at `/services/data/{version}` cannot match it: authenticates itself (not counted).
pub async fn get_with_slash(
    State(state): State<Arc<OrgServer>>,
    Path(version): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let version = ApiVersion::parse(&version).ok_or_else(ApiError::not_found)?;
    let session = crate::auth::authenticate(&state, &headers)?;
    let ctx = Ctx {
        state,
        version,
        session,
        options: CallOptions::default(),
        params: Default::default(),
        query: Vec::new(),
        internal: false,
    };
    Ok(json(StatusCode::OK, &body(&ctx)))
}
