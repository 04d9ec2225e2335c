//! Salesforce's limits on a request's head, and its answers when they are exceeded.
//!
//! Salesforce documents one limit: "In each REST call, the maximum length for the combined URI
//! and headers is 16,384 bytes. A request exceeding this limit returns a 431 Request Header
//! Fields Too Large error. If the URI itself exceeds this limit, the request returns a 414 URI
//! Too Long error" (Salesforce Help, knowledge article 000386264; REST API Developer Guide,
//! "Status Codes and Error Responses": 414 / 431 "…exceeds the 16,384 byte limit").
//!
//! The answer is the REST API's JSON error array, like every other error the emulator gives, so
//! a client reads one shape: `[{"message": …, "errorCode": "URI_TOO_LONG"}]` (414),
//! `REQUEST_HEADER_FIELDS_TOO_LARGE` (431), `BAD_REQUEST` (400, a request line that does not
//! parse), and the connection is closed. The codes are UNCONFIRMED: Salesforce documents the
//! statuses, not a body, and real orgs have been quoted answering from their web server with a
//! small HTML page instead (`<h1>Bad Message 414</h1>…`: simple-salesforce#271, jsforce#1134,
//! forcedotcom/cli#63).
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

/// The content type of the API's error answers.
const CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// The reason phrase of a status line.
fn reason(status: StatusCode) -> &'static str {
    match status.as_u16() {
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        _ => status.canonical_reason().unwrap_or("Bad Request"),
    }
}

/// The body of the answer to a head that is refused: Salesforce's JSON error array.
pub fn bad_message_body(status: StatusCode) -> String {
    let (code, message) = match status.as_u16() {
        414 => (
            "URI_TOO_LONG",
            "The length of the URI exceeds the 16,384 byte limit.",
        ),
        431 => (
            "REQUEST_HEADER_FIELDS_TOO_LARGE",
            "The combined length of the URI and headers exceeds the 16,384 byte limit.",
        ),
        _ => ("BAD_REQUEST", "The request could not be parsed."),
    };
    serde_json::json!([{ "message": message, "errorCode": code }]).to_string()
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
        let body: serde_json::Value =
            serde_json::from_str(&bad_message_body(StatusCode::URI_TOO_LONG)).unwrap_or_default();
        assert_eq!(body[0]["errorCode"], "URI_TOO_LONG");
        let raw = bad_message_bytes(
            "HTTP/1.1",
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Some("x"),
        );
        let text = String::from_utf8(raw).unwrap_or_default();
        assert!(text.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\ndate: x\r\n"));
        let body = bad_message_body(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        assert!(text.contains("content-type: application/json;charset=UTF-8\r\n"));
        assert!(text.ends_with(&format!(
            "content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )));
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
