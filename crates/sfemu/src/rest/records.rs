//! sObject Basic and Rows: create (JSON or multipart with a blob), retrieve, update, delete,
//! the `?_HttpMethod=` override on POST, `POST /sobjects/X/Id` (create, v37+) and blob
//! download (`GET /sobjects/ContentVersion/{id}/VersionData`).

use super::support::{
    Ctx, errors_response, json, no_content, parse_object, read_body, save_result, strip_attributes,
};
use crate::error::ApiError;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value as Json};
use sfemu_org::{DmlFailure, DmlOp, DmlOutcome, SfError};

/// The one result of a single-record DML call, or its errors as a whole-call error answer.
/// An injected per-record error (`recordErrorRate`) fails the record here as Salesforce fails
/// a single-record write: the error's status and `[{"errorCode","message","fields"}]`.
pub(crate) fn apply_one(ctx: &Ctx, op: DmlOp) -> Result<DmlOutcome, Result<Vec<String>, ApiError>> {
    if !ctx.internal
        && let Some(e) = ctx.state.faults.record_error()
    {
        return Err(Err(errors_response(vec![e])));
    }
    let object = match &op {
        DmlOp::Create { object, .. } | DmlOp::Upsert { object, .. } => Some(object.clone()),
        DmlOp::Update { object, .. } => object.clone(),
        _ => None,
    };
    let mut results = ctx.state.org.apply(&ctx.caller(), vec![op], true);
    match results.pop() {
        Some(Ok(outcome)) => Ok(outcome),
        Some(Err(DmlFailure::Errors(errs))) => Err(Err(errors_response(as_parser_errors(
            ctx,
            object.as_deref(),
            errs,
        )))),
        Some(Err(DmlFailure::MultipleMatches(ids))) => Err(Ok(ids)),
        None => Err(Err(errors_response(vec![SfError::new(
            "UNKNOWN_EXCEPTION",
            "no result",
        )]))),
    }
}

/// A single-record REST call deserializes its body against the object's field types before any
/// DML, so a value of the wrong type is a `JSON_PARSER_ERROR` there (Salesforce: "Cannot
/// deserialize instance of date from VALUE_STRING value 07/05/1980 or request may be missing a
/// required field at [line:1, column:40]"; we cannot know the column). The org reports it as
/// `INVALID_TYPE_ON_FIELD_IN_RECORD`, which stays as is in collections results (UNCONFIRMED).
fn as_parser_errors(ctx: &Ctx, object: Option<&str>, errs: Vec<SfError>) -> Vec<SfError> {
    if !errs
        .iter()
        .any(|e| e.code == "INVALID_TYPE_ON_FIELD_IN_RECORD")
    {
        return errs;
    }
    let describe = object.and_then(|o| {
        ctx.state
            .org
            .describe(ctx.user_id(), o, &ctx.version.number())
            .ok()
    });
    let type_of = |field: &str| -> String {
        describe
            .as_ref()
            .and_then(|d| d["fields"].as_array())
            .and_then(|fs| fs.iter().find(|f| f["name"] == field))
            .and_then(|f| f["type"].as_str())
            .unwrap_or("value")
            .to_string()
    };
    errs.into_iter()
        .map(|e| {
            if e.code != "INVALID_TYPE_ON_FIELD_IN_RECORD" {
                return e;
            }
            let value = e.message.split_once("value not of required type: ").map_or("", |(_, v)| v);
            let ty = e.fields.first().map(|f| type_of(f)).unwrap_or_else(|| "value".into());
            SfError::new(
                "JSON_PARSER_ERROR",
                format!("Cannot deserialize instance of {ty} from VALUE_STRING value {value} or request may be missing a required field"),
            )
        })
        .collect()
}

/// Flattens [`apply_one`]'s failure for calls that cannot match several records.
fn single(r: Result<DmlOutcome, Result<Vec<String>, ApiError>>) -> Result<DmlOutcome, ApiError> {
    r.map_err(|e| match e {
        Err(api) => api,
        Ok(ids) => errors_response(vec![SfError::new(
            "DUPLICATE_EXTERNAL_ID",
            format!(
                "more than one record found for external id field: [{}]",
                ids.join(", ")
            ),
        )]),
    })
}

/// The canonical object name of the `{object}` path parameter, or `404 NOT_FOUND`.
pub(crate) fn object_of(ctx: &Ctx) -> Result<String, ApiError> {
    ctx.state
        .org
        .object_name(ctx.param("object"))
        .map_err(|_| ApiError::not_found())
}

/// `201 {"id","success":true,"errors":[]}` with a `Location` header (composite copies it).
pub(crate) fn created_response(ctx: &Ctx, object: &str, id: &str, body: &Json) -> Response {
    let mut resp = json(StatusCode::CREATED, body);
    if let Ok(v) = HeaderValue::from_str(&ctx.record_url(object, id)) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// `POST /sobjects/X` — create from JSON fields or from a multipart body carrying a blob.
pub async fn create(ctx: Ctx, req: Request) -> Result<Response, ApiError> {
    let object = object_of(&ctx)?;
    if super::files::is_multipart(req.headers()) {
        let (fields, stored) = super::files::multipart_fields(&ctx, &object, req).await?;
        let out = create_with(&ctx, &object, fields);
        if let (Err(_), Some(meta)) = (&out, &stored) {
            super::files::remove(&ctx, meta).await;
        }
        return out;
    }
    create_with(&ctx, &object, body_fields(req).await?)
}

fn create_with(ctx: &Ctx, object: &str, fields: Map<String, Json>) -> Result<Response, ApiError> {
    let outcome = single(apply_one(
        ctx,
        DmlOp::Create {
            object: object.to_string(),
            fields,
        },
    ))?;
    Ok(created_response(
        ctx,
        object,
        &outcome.id,
        &save_result(&outcome.id, None),
    ))
}

async fn body_fields(req: Request) -> Result<Map<String, Json>, ApiError> {
    let bytes = read_body(req.into_body()).await?;
    let mut fields = parse_object(&bytes)?;
    strip_attributes(&mut fields);
    Ok(fields)
}

/// The `fields` query parameter as a list (`?fields=Name,Phone`).
pub(crate) fn fields_param(ctx: &Ctx) -> Option<Vec<String>> {
    ctx.query_param("fields").map(|f| {
        f.split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    })
}

/// `GET /sobjects/X/{id}[?fields=…]`.
pub async fn get(ctx: Ctx) -> Result<Response, ApiError> {
    let object = object_of(&ctx)?;
    let fields = fields_param(&ctx);
    let rec = ctx.state.org.retrieve(
        ctx.user_id(),
        &object,
        ctx.param("a"),
        fields.as_deref(),
        &ctx.version.number(),
    )?;
    Ok(json(StatusCode::OK, &rec))
}

/// `PATCH /sobjects/X/{id}` → `204`.
pub async fn update(ctx: Ctx, req: Request) -> Result<Response, ApiError> {
    let object = object_of(&ctx)?;
    let fields = body_fields(req).await?;
    update_with(&ctx, &object, fields)
}

fn update_with(ctx: &Ctx, object: &str, fields: Map<String, Json>) -> Result<Response, ApiError> {
    let id = ctx.param("a").to_string();
    single(apply_one(
        ctx,
        DmlOp::Update {
            object: Some(object.to_string()),
            id,
            fields,
        },
    ))?;
    Ok(no_content())
}

/// `DELETE /sobjects/X/{id}` → `204`.
pub async fn delete(ctx: Ctx) -> Result<Response, ApiError> {
    let object = object_of(&ctx)?;
    // The id must be a record of the URL's object (`DELETE /sobjects/Account/003…` deletes
    // nothing): the org's retrieve answers MALFORMED_ID / NOT_FOUND / ENTITY_IS_DELETED.
    let only_id = [String::from("Id")];
    let v = ctx.version.number();
    ctx.state
        .org
        .retrieve(ctx.user_id(), &object, ctx.param("a"), Some(&only_id), &v)?;
    single(apply_one(
        &ctx,
        DmlOp::Delete {
            id: ctx.param("a").to_string(),
        },
    ))?;
    Ok(no_content())
}

/// `POST /sobjects/X/{id}`: `?_HttpMethod=PATCH|DELETE` overrides the method (for clients that
/// cannot send PATCH); `POST /sobjects/X/Id` creates (v37+); anything else is 405.
pub async fn post(ctx: Ctx, req: Request) -> Result<Response, ApiError> {
    match ctx
        .query_param("_HttpMethod")
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("PATCH") => return update(ctx, req).await,
        Some("DELETE") => return delete(ctx).await,
        Some("GET") => return get(ctx).await,
        _ => {}
    }
    if ctx.param("a") == "Id" && ctx.version.major >= 37 {
        return create(ctx, req).await;
    }
    Err(ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        "HTTP Method 'POST' not allowed. Allowed are HEAD,GET,PATCH,DELETE",
    ))
}

/// Whether `GET /sobjects/X/{a}/{field}` is a blob download rather than an external-id lookup.
pub(crate) fn is_blob_request(object: &str, field: &str) -> bool {
    matches!(
        (
            object.to_ascii_lowercase().as_str(),
            field.to_ascii_lowercase().as_str()
        ),
        ("contentversion", "versiondata") | ("attachment", "body") | ("document", "body")
    )
}
