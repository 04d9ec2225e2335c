//! sObject Collections (`/composite/sobjects`): create, update, upsert, delete and retrieve up
//! to 200 records in ONE call and ONE org transaction, results in request order.

use super::records::object_of;
use super::support::{Ctx, json, parse_json, read_body, save_result};
use super::upsert::ext_field;
use crate::error::{ApiError, dml_error_json};
use crate::state::OrgServer;
use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value as Json};
use sfemu_org::{Caller, DmlFailure, DmlOp, DmlOutcome, SfError};

/// Most records (or ids) one create/update/upsert/delete call takes.
pub const MAX_RECORDS: usize = 200;
/// Collections exist from v42; upsert from v46.
pub(super) const SINCE: u32 = 42;
const UPSERT_SINCE: u32 = 46;

const ROLLED_BACK: &str = "Record rolled back because not all records were valid and the request was using AllOrNone header";

/// Too many records. Code as SOAP/collections answer it; wording UNCONFIRMED for REST.
pub(crate) fn too_many(max: usize) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "EXCEEDED_ID_LIMIT",
        format!("record limit reached. cannot submit more than {max} records into this call"),
    )
}

pub(super) fn require_version(ctx: &Ctx, since: u32) -> Result<(), ApiError> {
    if ctx.version.major < since {
        Err(ApiError::not_found())
    } else {
        Ok(())
    }
}

/// One record of a request: its operation, or the error that stops it before the org sees it.
pub(crate) type Slot = Result<DmlOp, SfError>;

/// Which kind of answer each record gets (upserts carry `created`, deletes keep their id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Save,
    Upsert,
    Delete,
}

/// The `200` answer of every collections call: one result per record, in request order.
fn respond(
    ctx: &Ctx,
    slots: Vec<Slot>,
    all_or_none: bool,
    kind: Kind,
    ids: &[Option<String>],
) -> Response {
    json(
        StatusCode::OK,
        &Json::Array(execute(ctx, slots, all_or_none, kind, ids)),
    )
}

/// Runs the slots and renders one result per record.
fn execute(
    ctx: &Ctx,
    slots: Vec<Slot>,
    all_or_none: bool,
    kind: Kind,
    ids: &[Option<String>],
) -> Vec<Json> {
    apply_slots(&ctx.state, &ctx.caller(), slots, all_or_none)
        .into_iter()
        .enumerate()
        .map(|(i, r)| render(r, kind, ids.get(i).cloned().flatten()))
        .collect()
}

/// Runs the records of one multi-record call (sObject Collections, SOAP `undelete`):
/// per-record injected faults first (one draw per record, before anything is applied), then
/// ONE `Org::apply` for the records still standing, then one result per record in order.
/// With `all_or_none`, any failure means nothing is applied and every other record reports
/// `ALL_OR_NONE_OPERATION_ROLLED_BACK`.
pub(crate) fn apply_slots(
    state: &OrgServer,
    caller: &Caller,
    slots: Vec<Slot>,
    all_or_none: bool,
) -> Vec<Result<DmlOutcome, DmlFailure>> {
    let slots: Vec<Slot> = slots
        .into_iter()
        .map(|s| match (state.faults.record_error(), s) {
            (Some(fault), Ok(_)) => Err(fault),
            (_, s) => s,
        })
        .collect();
    let any_failed = slots.iter().any(Result::is_err);
    let mut results: Vec<Option<Result<DmlOutcome, DmlFailure>>> = Vec::with_capacity(slots.len());
    let mut ops = Vec::new();
    let mut positions = Vec::new();
    for (i, slot) in slots.into_iter().enumerate() {
        match slot {
            Err(e) => results.push(Some(Err(DmlFailure::Errors(vec![e])))),
            Ok(_) if all_or_none && any_failed => {
                let e = SfError::new("ALL_OR_NONE_OPERATION_ROLLED_BACK", ROLLED_BACK);
                results.push(Some(Err(DmlFailure::Errors(vec![e]))));
            }
            Ok(op) => {
                ops.push(op);
                positions.push(i);
                results.push(None);
            }
        }
    }
    if !ops.is_empty() {
        let applied = state.org.apply(caller, ops, all_or_none);
        for (pos, r) in positions.into_iter().zip(applied) {
            results[pos] = Some(r);
        }
    }
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                Err(DmlFailure::Errors(vec![SfError::new(
                    "UNKNOWN_EXCEPTION",
                    "no result",
                )]))
            })
        })
        .collect()
}

fn render(r: Result<DmlOutcome, DmlFailure>, kind: Kind, id: Option<String>) -> Json {
    match r {
        Ok(o) => save_result(
            &o.id,
            (kind == Kind::Upsert).then(|| o.created.unwrap_or(false)),
        ),
        Err(f) => {
            let errors: Vec<Json> = match f {
                DmlFailure::Errors(errs) => errs.iter().map(dml_error_json).collect(),
                DmlFailure::MultipleMatches(ids) => vec![dml_error_json(&SfError::new(
                    "DUPLICATE_EXTERNAL_ID",
                    format!(
                        "more than one record found for external id field: [{}]",
                        ids.join(", ")
                    ),
                ))],
            };
            let mut m = Map::new();
            if let (Kind::Delete, Some(id)) = (kind, id) {
                m.insert("id".into(), id.into());
            }
            m.insert("success".into(), false.into());
            m.insert("errors".into(), Json::Array(errors));
            Json::Object(m)
        }
    }
}

/// The `{"allOrNone":…,"records":[…]}` body, each record an object.
async fn records_body(body: Body) -> Result<(bool, Vec<Map<String, Json>>), ApiError> {
    let bytes = read_body(body).await?;
    let v: Json = parse_json(&bytes)?;
    let Json::Object(mut top) = v else {
        return Err(ApiError::json_parser(
            "Expected an object with a records array at [line:1, column:1]",
        ));
    };
    let all_or_none = match top.get("allOrNone") {
        None | Some(Json::Null) => false,
        Some(Json::Bool(b)) => *b,
        Some(_) => return Err(ApiError::json_parser("allOrNone must be a boolean")),
    };
    let Some(Json::Array(records)) = top.shift_remove("records") else {
        return Err(ApiError::json_parser(
            "The request body must contain a records array",
        ));
    };
    if records.len() > MAX_RECORDS {
        return Err(too_many(MAX_RECORDS));
    }
    let records = records
        .into_iter()
        .map(|r| match r {
            Json::Object(m) => Ok(m),
            other => Err(ApiError::json_parser(format!(
                "Cannot deserialize instance of SObject out of {} token",
                super::support::token_name(&other)
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((all_or_none, records))
}

/// Takes `attributes.type` out of a record.
fn take_type(rec: &mut Map<String, Json>) -> Option<String> {
    let attrs = rec.shift_remove("attributes")?;
    attrs.get("type").and_then(Json::as_str).map(str::to_string)
}

/// Takes the `id`/`Id` key out of a record.
fn take_id(rec: &mut Map<String, Json>) -> Option<Json> {
    let key = rec.keys().find(|k| k.eq_ignore_ascii_case("id"))?.clone();
    rec.shift_remove(&key)
}

fn no_type() -> SfError {
    SfError::new("INVALID_TYPE", "Must send a concrete entity type.")
}

/// One slot per record: `attributes.type` is taken out first (a record without it fails
/// alone with `INVALID_TYPE`), then `op` turns the type and the rest into the operation.
fn typed_slots(
    records: Vec<Map<String, Json>>,
    mut op: impl FnMut(String, Map<String, Json>) -> Slot,
) -> Vec<Slot> {
    records
        .into_iter()
        .map(|mut rec| {
            let ty = take_type(&mut rec).ok_or_else(no_type)?;
            op(ty, rec)
        })
        .collect()
}

/// `POST /composite/sobjects` — create.
pub async fn create(ctx: Ctx, body: Body) -> Result<Response, ApiError> {
    require_version(&ctx, SINCE)?;
    let (all_or_none, records) = records_body(body).await?;
    let slots = typed_slots(records, |object, mut rec| {
        if take_id(&mut rec).is_some_and(|v| !v.is_null()) {
            return Err(SfError::new(
                "INVALID_FIELD",
                "cannot specify Id in an insert call",
            ));
        }
        Ok(DmlOp::Create {
            object,
            fields: rec,
        })
    });
    Ok(respond(&ctx, slots, all_or_none, Kind::Save, &[]))
}

/// `PATCH /composite/sobjects` — update (records need `attributes.type` and `id`).
pub async fn update(ctx: Ctx, body: Body) -> Result<Response, ApiError> {
    require_version(&ctx, SINCE)?;
    let (all_or_none, records) = records_body(body).await?;
    let slots = typed_slots(records, |object, mut rec| {
        let id = match take_id(&mut rec) {
            Some(Json::String(id)) if !id.is_empty() => id,
            _ => {
                return Err(SfError::new(
                    "MISSING_ARGUMENT",
                    "Id not specified in an update call",
                ));
            }
        };
        Ok(DmlOp::Update {
            object: Some(object),
            id,
            fields: rec,
        })
    });
    Ok(respond(&ctx, slots, all_or_none, Kind::Save, &[]))
}

/// `PATCH /composite/sobjects/{SObject}/{ExtIdField}` — upsert, one object type.
pub async fn upsert(ctx: Ctx, body: Body) -> Result<Response, ApiError> {
    require_version(&ctx, UPSERT_SINCE)?;
    let object = object_of(&ctx)?;
    let field = ext_field(&ctx, &object, ctx.param("a"))?;
    let (all_or_none, records) = records_body(body).await?;
    let slots = typed_slots(records, |ty, mut rec| {
        if !ty.eq_ignore_ascii_case(&object) {
            return Err(SfError::new(
                "INVALID_TYPE",
                format!("Record type {ty} does not match {object}"),
            ));
        }
        let key = rec.keys().find(|k| k.eq_ignore_ascii_case(&field)).cloned();
        let value = match key.as_ref().and_then(|k| rec.get(k)) {
            Some(Json::String(s)) if !s.is_empty() => s.clone(),
            Some(Json::Number(n)) => n.to_string(),
            _ => {
                return Err(SfError::with_fields(
                    "MISSING_ARGUMENT",
                    format!("{field} not specified"),
                    vec![field.clone()],
                ));
            }
        };
        if field == "Id" {
            if let Some(k) = key {
                rec.shift_remove(&k);
            }
            return Ok(DmlOp::Update {
                object: Some(object.clone()),
                id: value,
                fields: rec,
            });
        }
        Ok(DmlOp::Upsert {
            object: object.clone(),
            ext_field: field.clone(),
            ext_value: value,
            fields: rec,
        })
    });
    Ok(respond(&ctx, slots, all_or_none, Kind::Upsert, &[]))
}

/// `DELETE /composite/sobjects?ids=…&allOrNone=…`.
pub async fn delete(ctx: Ctx) -> Result<Response, ApiError> {
    require_version(&ctx, SINCE)?;
    let ids: Vec<String> = ctx
        .query_param("ids")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if ids.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "MISSING_ARGUMENT",
            "ids parameter is required",
        ));
    }
    if ids.len() > MAX_RECORDS {
        return Err(too_many(MAX_RECORDS));
    }
    let all_or_none = ctx
        .query_param("allOrNone")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let slots = ids
        .iter()
        .map(|id| Ok(DmlOp::Delete { id: id.clone() }))
        .collect();
    let keep: Vec<Option<String>> = ids.into_iter().map(Some).collect();
    Ok(respond(&ctx, slots, all_or_none, Kind::Delete, &keep))
}
