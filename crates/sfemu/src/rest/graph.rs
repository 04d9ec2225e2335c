//! Composite graph: `POST /composite/graph` — several independent graphs of composite
//! subrequests, each all-or-nothing, in one API call (v50+).
//!
//! Response shape `{"graphs":[{"graphId","graphResponse":{"compositeResponse":[…]},
//! "isSuccessful"}]}` as Salesforce documents it in its examples (not verified on the wire).

use super::composite::{bad_request, run_all};
use super::subrequest::{SubRequest, validate};
use super::support::{Ctx, json, parse_json, read_body};
use crate::error::ApiError;
use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashSet;

/// Most graphs per request, nodes per request, and the first version with graphs.
const MAX_GRAPHS: usize = 75;
const MAX_NODES: usize = 500;
const SINCE: u32 = 50;

#[derive(Debug, Deserialize)]
struct GraphRequest {
    graphs: Vec<Graph>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Graph {
    graph_id: String,
    composite_request: Vec<SubRequest>,
}

/// `POST /composite/graph`.
pub async fn graph(ctx: Ctx, body: Body) -> Result<Response, ApiError> {
    if ctx.version.major < SINCE {
        return Err(ApiError::not_found());
    }
    let bytes = read_body(body).await?;
    let req: GraphRequest = parse_json(&bytes)?;
    if req.graphs.is_empty() || req.graphs.len() > MAX_GRAPHS {
        return Err(bad_request(
            "INVALID_INPUT",
            format!("A graph request must contain between 1 and {MAX_GRAPHS} graphs."),
        ));
    }
    let nodes: usize = req.graphs.iter().map(|g| g.composite_request.len()).sum();
    if nodes > MAX_NODES {
        return Err(bad_request(
            "INVALID_INPUT",
            format!("A graph request can contain at most {MAX_NODES} nodes, not {nodes}."),
        ));
    }
    let mut ids = HashSet::new();
    for g in &req.graphs {
        if !ids.insert(g.graph_id.as_str()) {
            return Err(bad_request(
                "INVALID_INPUT",
                format!("Duplicate graphId: {}", g.graph_id),
            ));
        }
        validate(&g.composite_request, MAX_NODES, None)?;
    }
    let mut graphs = Vec::with_capacity(req.graphs.len());
    for g in req.graphs {
        let (items, failed) = run_all(&ctx, g.composite_request, true).await;
        graphs.push(json!({
            "graphId": g.graph_id,
            "graphResponse": {"compositeResponse": items},
            "isSuccessful": !failed,
        }));
    }
    Ok(json(StatusCode::OK, &json!({"graphs": graphs})))
}
