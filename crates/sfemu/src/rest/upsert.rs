//! sObject Rows by External ID: `GET|PATCH|DELETE /sobjects/X/{ExtField}/{value}` (upsert with
//! its version-dependent answers) and, on the same path shape, blob downloads.

use super::records::{apply_one, created_response, fields_param, is_blob_request, object_of};
use super::support::{
    Ctx, errors_response, json, no_content, parse_object, read_body, save_result, strip_attributes,
};
use crate::error::ApiError;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value as Json;
use sfemu_org::{DmlFailure, DmlOp, SfError};

/// First version whose upsert answers `200 {…,"created":false}` on update (and carries `created`).
const CREATED_FLAG_SINCE: u32 = 46;

/// The canonical name of an external-id field usable for upserts on `object` (`Id` or a field
/// with `externalId`), or `404 NOT_FOUND` as Salesforce answers for an unknown field.
pub(crate) fn ext_field(ctx: &Ctx, object: &str, field: &str) -> Result<String, ApiError> {
    if field.eq_ignore_ascii_case("Id") {
        return Ok("Id".into());
    }
    let describe = ctx
        .state
        .org
        .describe(ctx.user_id(), object, &ctx.version.number())?;
    let found = describe["fields"].as_array().and_then(|fs| {
        fs.iter().find(|f| {
            f["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(field))
        })
    });
    match found {
        Some(f) if f["externalId"] == Json::Bool(true) => {
            Ok(f["name"].as_str().unwrap_or(field).to_string())
        }
        // Wording as Salesforce reports an unknown or non-external field (UNCONFIRMED for the
        // non-external case; the status and code are the documented 404 NOT_FOUND).
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("Provided external ID field does not exist or is not accessible: {field}"),
        )),
    }
}

/// `300 Multiple Choices` body: the matching records' URLs. Body shape UNCONFIRMED (Salesforce
/// documents only "a list of matching records"); clients key on the status alone.
fn multiple_choices(ctx: &Ctx, object: &str, ids: &[String]) -> Response {
    let urls: Vec<Json> = ids
        .iter()
        .map(|id| Json::String(ctx.record_url(object, id)))
        .collect();
    json(StatusCode::MULTIPLE_CHOICES, &Json::Array(urls))
}

/// The record whose `field` holds the path's `{value}`, rendered for the request's version.
fn by_external_id(
    ctx: &Ctx,
    object: &str,
    field: &str,
    fields: Option<&[String]>,
) -> Result<Json, DmlFailure> {
    let v = ctx.version.number();
    ctx.state
        .org
        .retrieve_by_external_id(ctx.user_id(), object, field, ctx.param("b"), fields, &v)
}

/// `GET /sobjects/X/{ExtField}/{value}` (or a blob download when the path names a blob field).
pub async fn get(ctx: Ctx) -> Result<Response, ApiError> {
    let object = object_of(&ctx)?;
    if is_blob_request(&object, ctx.param("b")) {
        return super::files::download(&ctx, &object).await;
    }
    let field = ext_field(&ctx, &object, ctx.param("a"))?;
    let fields = fields_param(&ctx);
    match by_external_id(&ctx, &object, &field, fields.as_deref()) {
        Ok(rec) => Ok(json(StatusCode::OK, &rec)),
        Err(DmlFailure::Errors(errs)) => Err(errors_response(errs)),
        Err(DmlFailure::MultipleMatches(ids)) => Ok(multiple_choices(&ctx, &object, &ids)),
    }
}

/// `PATCH /sobjects/X/{ExtField}/{value}` — upsert. No match → `201` (created); one match →
/// `200 {…,"created":false}` (v46+) or `204` (≤v45); several → `300`; `?updateOnly=true` and no
/// match → `404 NOT_FOUND`.
pub async fn upsert(ctx: Ctx, req: Request) -> Result<Response, ApiError> {
    let object = object_of(&ctx)?;
    let field = ext_field(&ctx, &object, ctx.param("a"))?;
    let bytes = read_body(req.into_body()).await?;
    let mut fields = parse_object(&bytes)?;
    strip_attributes(&mut fields);
    let value = ctx.param("b").to_string();
    let update_only = ctx
        .query_param("updateOnly")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let op = if field == "Id" {
        DmlOp::Update {
            object: Some(object.clone()),
            id: value,
            fields,
        }
    } else if update_only {
        let v = ctx.version.number();
        let only_id = [String::from("Id")];
        match ctx.state.org.retrieve_by_external_id(
            ctx.user_id(),
            &object,
            &field,
            &value,
            Some(&only_id),
            &v,
        ) {
            Ok(rec) => {
                let id = rec["Id"].as_str().unwrap_or_default().to_string();
                DmlOp::Update {
                    object: Some(object.clone()),
                    id,
                    fields,
                }
            }
            Err(DmlFailure::MultipleMatches(ids)) => {
                return Ok(multiple_choices(&ctx, &object, &ids));
            }
            Err(DmlFailure::Errors(_)) => return Err(ApiError::not_found()),
        }
    } else {
        DmlOp::Upsert {
            object: object.clone(),
            ext_field: field,
            ext_value: value,
            fields,
        }
    };
    let is_update = matches!(op, DmlOp::Update { .. });
    let outcome = match apply_one(&ctx, op) {
        Ok(o) => o,
        Err(Ok(ids)) => return Ok(multiple_choices(&ctx, &object, &ids)),
        Err(Err(e)) => return Err(e),
    };
    let created = outcome.created.unwrap_or(!is_update);
    let flag = ctx.version.major >= CREATED_FLAG_SINCE;
    if created {
        let body = save_result(&outcome.id, flag.then_some(true));
        Ok(created_response(&ctx, &object, &outcome.id, &body))
    } else if flag {
        Ok(json(StatusCode::OK, &save_result(&outcome.id, Some(false))))
    } else {
        Ok(no_content())
    }
}

/// `DELETE /sobjects/X/{ExtField}/{value}` → `204`.
pub async fn delete(ctx: Ctx) -> Result<Response, ApiError> {
    let object = object_of(&ctx)?;
    let field = ext_field(&ctx, &object, ctx.param("a"))?;
    let id = if field == "Id" {
        ctx.param("b").to_string()
    } else {
        let only_id = [String::from("Id")];
        match by_external_id(&ctx, &object, &field, Some(&only_id)) {
            Ok(rec) => rec["Id"].as_str().unwrap_or_default().to_string(),
            Err(DmlFailure::MultipleMatches(ids)) => {
                return Ok(multiple_choices(&ctx, &object, &ids));
            }
            Err(DmlFailure::Errors(errs)) => return Err(errors_response(errs)),
        }
    };
    match apply_one(&ctx, DmlOp::Delete { id }) {
        Ok(_) => Ok(no_content()),
        Err(Err(e)) => Err(e),
        Err(Ok(ids)) => Ok(multiple_choices(&ctx, &object, &ids)),
    }
}

/// `POST /sobjects/X/{ExtField}/{value}` with `?_HttpMethod=PATCH|DELETE|GET`; else 405.
pub async fn post(ctx: Ctx, req: Request) -> Result<Response, ApiError> {
    match ctx
        .query_param("_HttpMethod")
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("PATCH") => upsert(ctx, req).await,
        Some("DELETE") => delete(ctx).await,
        Some("GET") => get(ctx).await,
        _ => Err(ApiError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            errors: vec![SfError::new(
                "METHOD_NOT_ALLOWED",
                "HTTP Method 'POST' not allowed. Allowed are HEAD,GET,PATCH,DELETE",
            )],
        }),
    }
}
