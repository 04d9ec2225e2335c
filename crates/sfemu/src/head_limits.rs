//! Salesforce's limits on a request's head, and its answers when they are exceeded.
//!
//! Salesforce documents one limit: "In each REST call, the maximum length for the combined URI
//! and headers is 16,384 bytes. A request exceeding this limit returns a 431 Request Header
//! Fields Too Large error. If the URI itself exceeds this limit, the request returns a 414 URI
//! Too Long error" (Salesforce Help, knowledge article 000386264; REST API Developer Guide,
//! "Status Codes and Error Responses": 414 / 431 "…exceeds the 16,384 byte limit").
//!
//! The answer is not the REST API's JSON error array: the request never reaches the API. Real
//! Salesforce answers from its web server (Jetty) with a small HTML page and closes the
//! connection. Quoted from real orgs in public issue trackers: `<h1>Bad Message 414</h1><pre>reason:
//! URI Too Long</pre>` (simple-salesforce#271, jsforce#1134, sfpowerscripts#860,
//! SFDX-Data-Move-Utility#189) and `<h1>Bad Message 431</h1><pre>reason: Request Header Fields
//! Too Large</pre>` (forcedotcom/cli#63, SFDX-Data-Move-Utility#649). The content type and the
//! 400 page for a request line that does not parse at all are UNCONFIRMED (Jetty's defaults
//! are used). A client that expects JSON on every error must cope with these pages on
//! Salesforce too, so the emulator does not dress them up.
//!
//! Two places produce them: [`enforce`], a middleware that sees every head hyper could parse,
//! and `conn.rs`, which replaces hyper's own empty answers to heads it cannot parse (URIs over
//! 65,534 bytes, heads over its buffer, garbage) with the same pages.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Largest URI plus headers, in bytes (and largest URI alone).
pub const MAX_HEAD_BYTES: usize = 16_384;

/// Jetty's content type for its error pages.
const CONTENT_TYPE: &str = "text/html;charset=iso-8859-1";

/// The reason Jetty gives for a status.
fn reason(status: StatusCode) -> &'static str {
    match status.as_u16() {
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        _ => status.canonical_reason().unwrap_or("Bad Request"),
    }
}

/// The body of Salesforce's answer to a head it refuses.
pub fn bad_message_body(status: StatusCode) -> String {
    format!(
        "<h1>Bad Message {}</h1><pre>reason: {}</pre>",
        status.as_u16(),
        reason(status)
    )
}

/// Salesforce's answer to a head it refuses, as a response (the connection is closed after).
pub fn bad_message(status: StatusCode) -> Response {
    let mut resp = (status, bad_message_body(status)).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// The same answer as raw HTTP/1 bytes, for the connection layer. `version` is the status
/// line's (`HTTP/1.1`), `date` the Date value to keep, if any.
pub fn bad_message_bytes(version: &str, status: StatusCode, date: Option<&str>) -> Vec<u8> {
    let body = bad_message_body(status);
    let mut out = format!("{version} {} {}\r\n", status.as_u16(), reason(status));
    if let Some(d) = date {
        out.push_str(&format!("date: {d}\r\n"));
    }
    out.push_str(&format!(
        "content-type: {CONTENT_TYPE}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    ));
    out.into_bytes()
}

/// The head's size as it came on the wire (HTTP/1.1 form): the request line, every header
/// line and the blank line. Returns (URI bytes, head bytes).
pub fn head_size(req: &Request) -> (usize, usize) {
    let uri = req.uri().path_and_query().map_or(1, |p| p.as_str().len());
    let line = req.method().as_str().len() + 1 + uri + " HTTP/1.1\r\n".len();
    let headers: usize = req
        .headers()
        .iter()
        .map(|(n, v)| n.as_str().len() + 2 + v.len() + 2)
        .sum();
    (uri, line + headers + 2)
}

/// Refuses a head over Salesforce's limit: 414 when the URI alone is over it, else 431.
pub async fn enforce(req: Request, next: Next) -> Response {
    let (uri, head) = head_size(&req);
    if uri > MAX_HEAD_BYTES {
        return bad_message(StatusCode::URI_TOO_LONG);
    }
    if head > MAX_HEAD_BYTES {
        return bad_message(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_raw_answers_agree() {
        assert_eq!(
            bad_message_body(StatusCode::URI_TOO_LONG),
            "<h1>Bad Message 414</h1><pre>reason: URI Too Long</pre>"
        );
        let raw = bad_message_bytes(
            "HTTP/1.1",
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Some("x"),
        );
        let text = String::from_utf8(raw).unwrap_or_default();
        assert!(text.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\ndate: x\r\n"));
        assert!(text.ends_with(
            "content-length: 74\r\nconnection: close\r\n\r\n<h1>Bad Message 431</h1><pre>reason: Request Header Fields Too Large</pre>"
        ));
    }

    #[test]
    fn the_head_is_measured_as_sent() {
        let req = Request::builder()
            .method("GET")
            .uri("/a?b=c")
            .header("host", "x")
            .body(axum::body::Body::empty())
            .unwrap_or_default();
        // "GET /a?b=c HTTP/1.1\r\n" + "host: x\r\n" + "\r\n"
        assert_eq!(head_size(&req), (6, 21 + 9 + 2));
    }
}
