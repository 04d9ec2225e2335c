//! Partner `undelete(ids[])`: restores records from the recycle bin with their original Id,
//! the records their delete cascaded to and the lookups it cleared.
//!
//! Like every API call: the session (`SessionHeader/sessionId`, the OAuth access token or a SOAP
//! login's session id) is checked, the call counts ONE against the org's daily allocation,
//! injected whole-call errors answer a fault and per-record ones fail that id only. Changes carry
//! `changeOrigin` `com/salesforce/api/soap/<version>[;client=<CallOptions client>]` and produce
//! `UNDELETE` change events. `AllOrNoneHeader` is honoured.
//!
//! Answer: `undeleteResponse`, one `result` per id in request order, children in the partner
//! WSDL's order (`errors` — themselves `fields`, `message`, `statusCode` — then `id`, then
//! `success`), and the `LimitInfoHeader` every call but `login()` carries [CONF partner WSDL 56.0;
//! D: "LimitInfoHeader"; a Salesforce answer quoted on salesforce.stackexchange 138077].

use super::envelope::Envelope;
use super::xml::{self, ENVELOPE_OPEN, el, nil};
use crate::error::ApiError;
use crate::rest::{ApiVersion, MAX_RECORDS, Slot, apply_slots, too_many};
use crate::state::OrgServer;
use axum::http::StatusCode;
use axum::response::Response;
use sfemu_org::{Caller, DmlFailure, DmlOp, DmlOutcome, SfError, User};

/// What Salesforce answers for a missing or unknown session id (message as observed).
const INVALID_SESSION: &str = "Invalid Session ID found in SessionHeader: Illegal Session";

/// The session's user, from `SessionHeader/sessionId`.
fn session_user(state: &OrgServer, env: &Envelope) -> Option<User> {
    let token = env.header("SessionHeader", "sessionId")?.trim();
    state.auth.tokens.check_access(token).ok().map(|g| g.user)
}

/// An injected whole-call error as a fault. SOAP answers faults with 500; a 502/503/504 keeps
/// its status, as a load balancer in front of Salesforce would.
fn injected(e: &ApiError) -> Response {
    let (code, message) = e
        .errors
        .first()
        .map_or(("UNKNOWN_EXCEPTION", "Injected error"), |e| {
            (e.code.as_str(), e.message.as_str())
        });
    let mut resp = xml::unexpected(code, message);
    if e.status.is_server_error() && e.status != StatusCode::INTERNAL_SERVER_ERROR {
        *resp.status_mut() = e.status;
    }
    resp
}

/// `undelete()`.
pub fn undelete(state: &OrgServer, version: &str, env: &Envelope) -> Response {
    let Some(user) = session_user(state, env) else {
        return xml::unexpected("INVALID_SESSION_ID", INVALID_SESSION);
    };
    if ApiVersion::parse(&format!("v{version}")).is_none() {
        // UNCONFIRMED code for a version the endpoint does not serve.
        return xml::unexpected(
            "UNSUPPORTED_API_VERSION",
            &format!("Invalid Api version specified on URL: {version}"),
        );
    }
    let (used, max) = match state.limits.try_count("soap") {
        Ok(u) => u,
        Err(_) => {
            return xml::unexpected("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.");
        }
    };
    if let Some(e) = state.faults.call_error() {
        tracing::debug!(code = %e.errors.first().map(|e| e.code.as_str()).unwrap_or(""), "injected call error");
        return injected(&e);
    }
    let ids: Vec<String> = env.args("ids").map(|i| i.trim().to_string()).collect();
    if ids.len() > MAX_RECORDS {
        let e = too_many(MAX_RECORDS);
        return xml::unexpected("EXCEEDED_ID_LIMIT", &e.errors[0].message);
    }
    let caller = Caller {
        user_id: user.id,
        api: "soap".into(),
        api_version: version.to_string(),
        client: env
            .header("CallOptions", "client")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string),
    };
    let all_or_none = env
        .header("AllOrNoneHeader", "allOrNone")
        .is_some_and(|v| v.trim() == "true" || v.trim() == "1");
    let slots: Vec<Slot> = ids
        .iter()
        .map(|id| Ok(DmlOp::Undelete { id: id.clone() }))
        .collect();
    let results = apply_slots(state, &caller, slots, all_or_none);
    xml::response(StatusCode::OK, render(&ids, &results, used, max))
}

/// The `undeleteResponse` envelope.
fn render(
    ids: &[String],
    results: &[Result<DmlOutcome, DmlFailure>],
    used: u64,
    max: u64,
) -> String {
    let mut o = String::with_capacity(256 + 160 * results.len());
    o.push_str(ENVELOPE_OPEN);
    o.push_str("<soapenv:Header><LimitInfoHeader><limitInfo>");
    el(&mut o, "current", &used.to_string());
    el(&mut o, "limit", &max.to_string());
    el(&mut o, "type", "API REQUESTS");
    o.push_str("</limitInfo></LimitInfoHeader></soapenv:Header>");
    o.push_str("<soapenv:Body><undeleteResponse>");
    for (id, r) in ids.iter().zip(results) {
        o.push_str("<result>");
        match r {
            Ok(outcome) => {
                el(&mut o, "id", &outcome.id);
                el(&mut o, "success", "true");
            }
            Err(f) => {
                for e in failure_errors(f) {
                    o.push_str("<errors>");
                    for field in &e.fields {
                        el(&mut o, "fields", field);
                    }
                    el(&mut o, "message", &e.message);
                    el(&mut o, "statusCode", &e.code);
                    o.push_str("</errors>");
                }
                // Failed results still name the id, in its 18-character form.
                match sfemu_org::ids::to18(id) {
                    Some(id18) => el(&mut o, "id", &id18),
                    None => nil(&mut o, "id"),
                }
                el(&mut o, "success", "false");
            }
        }
        o.push_str("</result>");
    }
    o.push_str("</undeleteResponse></soapenv:Body></soapenv:Envelope>");
    o
}

fn failure_errors(f: &DmlFailure) -> Vec<SfError> {
    match f {
        DmlFailure::Errors(errs) => errs.clone(),
        DmlFailure::MultipleMatches(_) => vec![SfError::new("UNKNOWN_EXCEPTION", "no result")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_in_wsdl_order_with_limit_info() {
        let ids = vec!["001000000000001".to_string(), "bad".to_string()];
        let results = vec![
            Ok(DmlOutcome {
                id: "001000000000001AAA".into(),
                created: None,
            }),
            Err(DmlFailure::Errors(vec![SfError::with_fields(
                "MALFORMED_ID",
                "bad <id>",
                vec!["Id".into()],
            )])),
        ];
        let x = render(&ids, &results, 7, 100);
        assert!(x.contains(
            "<limitInfo><current>7</current><limit>100</limit><type>API REQUESTS</type></limitInfo>"
        ));
        assert!(x.contains("<result><id>001000000000001AAA</id><success>true</success></result>"));
        assert!(x.contains("<result><errors><fields>Id</fields><message>bad &lt;id&gt;</message><statusCode>MALFORMED_ID</statusCode></errors><id xsi:nil=\"true\"/><success>false</success></result>"));
    }
}
