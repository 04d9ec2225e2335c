//! sObject Tree: `POST /composite/tree/{SObject}` — create up to 200 records with nested
//! children (up to 5 levels) in one all-or-nothing call (v42+).
//!
//! Levels are created parent-first, one `Org::apply` per level (each child gets its parent's new
//! id in the relationship's lookup field); a failure rolls everything back through the org
//! savepoint. Answers `201 {"hasErrors":false,"results":[{"referenceId","id"}]}` or
//! `400 {"hasErrors":true,"results":[{"referenceId","errors":[…]}]}` (failing records only).

use super::records::object_of;
use super::support::{Ctx, json, parse_json, read_body};
use crate::error::{ApiError, dml_error_json};
use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value as Json, json};
use sfemu_org::{DmlFailure, DmlOp, SfError};

const MAX_RECORDS: usize = 200;
const MAX_DEPTH: usize = 5;
const SINCE: u32 = 42;

/// One record to create: its object, fields, referenceId, and (parent index, lookup field).
#[derive(Debug)]
struct Node {
    object: String,
    reference_id: String,
    fields: Map<String, Json>,
    parent: Option<(usize, String)>,
    depth: usize,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "INVALID_INPUT", message)
}

/// Flattens the nested request into nodes (parents before their children).
fn flatten(
    ctx: &Ctx,
    records: &[Json],
    object: &str,
    parent: Option<(usize, String)>,
    depth: usize,
    out: &mut Vec<Node>,
) -> Result<(), ApiError> {
    if depth >= MAX_DEPTH {
        return Err(bad(format!(
            "A tree can be at most {MAX_DEPTH} levels deep"
        )));
    }
    let describe = ctx
        .state
        .org
        .describe(ctx.user_id(), object, &ctx.version.number())?;
    for rec in records {
        let Json::Object(rec) = rec else {
            return Err(ApiError::json_parser("Each record must be an object"));
        };
        let attrs = rec.get("attributes").cloned().unwrap_or(Json::Null);
        let ty = attrs["type"].as_str().unwrap_or("");
        if !ty.eq_ignore_ascii_case(object) {
            return Err(bad(format!(
                "Each record of this level must have attributes.type {object}, not '{ty}'"
            )));
        }
        let reference_id = attrs["referenceId"].as_str().unwrap_or("").to_string();
        if reference_id.is_empty() {
            return Err(bad("Each record must have attributes.referenceId"));
        }
        let index = out.len();
        out.push(Node {
            object: object.to_string(),
            reference_id,
            fields: Map::new(),
            parent: parent.clone(),
            depth,
        });
        let mut fields = Map::new();
        for (k, v) in rec {
            if k == "attributes" {
                continue;
            }
            let child = describe["childRelationships"].as_array().and_then(|rels| {
                rels.iter().find(|r| {
                    r["relationshipName"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case(k))
                })
            });
            match (child, v) {
                (Some(rel), Json::Object(sub)) => {
                    let child_object = rel["childSObject"].as_str().unwrap_or("").to_string();
                    let field = rel["field"].as_str().unwrap_or("").to_string();
                    let kids = sub
                        .get("records")
                        .and_then(Json::as_array)
                        .cloned()
                        .unwrap_or_default();
                    flatten(
                        ctx,
                        &kids,
                        &child_object,
                        Some((index, field)),
                        depth + 1,
                        out,
                    )?;
                }
                _ => {
                    fields.insert(k.clone(), v.clone());
                }
            }
        }
        out[index].fields = fields;
    }
    if out.len() > MAX_RECORDS {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "EXCEEDED_ID_LIMIT",
            format!(
                "record limit reached. cannot submit more than {MAX_RECORDS} records into this call"
            ),
        ));
    }
    Ok(())
}

/// `POST /composite/tree/{SObject}`.
pub async fn tree(ctx: Ctx, body: Body) -> Result<Response, ApiError> {
    if ctx.version.major < SINCE {
        return Err(ApiError::not_found());
    }
    let object = object_of(&ctx)?;
    let bytes = read_body(body).await?;
    let v: Json = parse_json(&bytes)?;
    let records = v
        .get("records")
        .and_then(Json::as_array)
        .ok_or_else(|| ApiError::json_parser("The request body must contain a records array"))?;
    let mut nodes = Vec::new();
    flatten(&ctx, records, &object, None, 0, &mut nodes)?;
    let org = ctx.state.org.clone();
    let savepoint = org
        .savepoint()
        .map_err(|e| tracing::warn!("sObject tree without rollback: {e}"))
        .ok();
    let mut ids: Vec<Option<String>> = vec![None; nodes.len()];
    let mut errors: Vec<(usize, Vec<SfError>)> = Vec::new();
    for depth in 0..MAX_DEPTH {
        let level: Vec<usize> = (0..nodes.len())
            .filter(|&i| nodes[i].depth == depth)
            .collect();
        if level.is_empty() {
            break;
        }
        let mut ops = Vec::with_capacity(level.len());
        for &i in &level {
            let mut fields = nodes[i].fields.clone();
            if let Some((p, field)) = &nodes[i].parent {
                fields.insert(
                    field.clone(),
                    ids[*p].clone().map_or(Json::Null, Json::String),
                );
            }
            if let Some(e) = ctx.state.faults.record_error() {
                errors.push((i, vec![e]));
            }
            ops.push(DmlOp::Create {
                object: nodes[i].object.clone(),
                fields,
            });
        }
        if !errors.is_empty() {
            break;
        }
        for (&i, r) in level.iter().zip(org.apply(&ctx.caller(), ops, true)) {
            match r {
                Ok(o) => ids[i] = Some(o.id),
                Err(DmlFailure::Errors(e))
                    if e.iter()
                        .all(|e| e.code == "ALL_OR_NONE_OPERATION_ROLLED_BACK") => {}
                Err(DmlFailure::Errors(e)) => errors.push((i, e)),
                Err(DmlFailure::MultipleMatches(_)) => {}
            }
        }
        if !errors.is_empty() {
            break;
        }
    }
    if errors.is_empty() {
        let results: Vec<Json> = nodes
            .iter()
            .zip(&ids)
            .map(|(n, id)| json!({"referenceId": n.reference_id, "id": id}))
            .collect();
        return Ok(json(
            StatusCode::CREATED,
            &json!({"hasErrors": false, "results": results}),
        ));
    }
    if let Some(sp) = savepoint
        && let Err(e) = org.rollback_to(sp)
    {
        tracing::error!("sObject tree rollback failed: {e}");
    }
    let results: Vec<Json> = errors
        .iter()
        .map(|(i, errs)| {
            json!({"referenceId": nodes[*i].reference_id, "errors": errs.iter().map(dml_error_json).collect::<Vec<_>>()})
        })
        .collect();
    Ok(json(
        StatusCode::BAD_REQUEST,
        &json!({"hasErrors": true, "results": results}),
    ))
}
