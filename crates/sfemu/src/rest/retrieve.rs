//! sObject Collections retrieve: `GET /composite/sobjects/{SObject}?ids=…&fields=…` and
//! `POST /composite/sobjects/{SObject}` `{"ids":[…],"fields":[…]}` — records in id order,
//! `null` for ids that are unknown or invisible, `400` for an unknown field.

use super::collections::{SINCE, require_version, too_many};
use super::records::object_of;
use super::support::{Ctx, json, parse_json, read_body};
use crate::error::ApiError;
use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value as Json;

/// Most ids one `POST` retrieve takes.
const MAX_RETRIEVE_IDS: usize = 2000;

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn retrieve(
    ctx: &Ctx,
    object: &str,
    ids: &[String],
    fields: &[String],
) -> Result<Response, ApiError> {
    if ids.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "MISSING_ARGUMENT",
            "ids parameter is required",
        ));
    }
    if fields.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "MISSING_ARGUMENT",
            "fields parameter is required",
        ));
    }
    let v = ctx.version.number();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        match ctx
            .state
            .org
            .retrieve(ctx.user_id(), object, id, Some(fields), &v)
        {
            Ok(rec) => out.push(rec),
            Err(e) if e.code == "INVALID_FIELD" => return Err(e.into()),
            Err(_) => out.push(Json::Null),
        }
    }
    Ok(json(StatusCode::OK, &Json::Array(out)))
}

/// `GET /composite/sobjects/{SObject}?ids=…&fields=…` — records, `null` for unknown ids.
pub async fn retrieve_get(ctx: Ctx) -> Result<Response, ApiError> {
    require_version(&ctx, SINCE)?;
    let object = object_of(&ctx)?;
    let ids = split_list(ctx.query_param("ids").unwrap_or(""));
    if ids.len() > MAX_RETRIEVE_IDS {
        return Err(too_many(MAX_RETRIEVE_IDS));
    }
    let fields = split_list(ctx.query_param("fields").unwrap_or(""));
    retrieve(&ctx, &object, &ids, &fields)
}

/// `POST /composite/sobjects/{SObject}` `{"ids":[…],"fields":[…]}`.
pub async fn retrieve_post(ctx: Ctx, body: Body) -> Result<Response, ApiError> {
    require_version(&ctx, SINCE)?;
    let object = object_of(&ctx)?;
    let bytes = read_body(body).await?;
    let v: Json = parse_json(&bytes)?;
    let list = |key: &str| -> Result<Vec<String>, ApiError> {
        match v.get(key) {
            None | Some(Json::Null) => Ok(Vec::new()),
            Some(Json::Array(a)) => a
                .iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| ApiError::json_parser(format!("{key} must be strings")))
                })
                .collect(),
            Some(_) => Err(ApiError::json_parser(format!("{key} must be an array"))),
        }
    };
    let (ids, fields) = (list("ids")?, list("fields")?);
    if ids.len() > MAX_RETRIEVE_IDS {
        return Err(too_many(MAX_RETRIEVE_IDS));
    }
    retrieve(&ctx, &object, &ids, &fields)
}
