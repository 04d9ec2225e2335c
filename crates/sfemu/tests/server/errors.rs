//! Never HTML: JSON 404/405/400, gzip requests and responses.

use super::*;

#[tokio::test]
async fn every_error_is_salesforce_json() {
    let t = common::start().await;
    for path in [
        "/nope",
        "/services",
        "/services/oauth2/nope",
        "/__sfemu/nope",
    ] {
        let r = t.http.get(t.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        assert_eq!(
            json(r).await,
            json!([{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}])
        );
    }
    let r = t
        .http
        .delete(t.url("/services/oauth2/token"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let body = json(r).await;
    assert_eq!(body[0]["errorCode"], "METHOD_NOT_ALLOWED");
    assert_eq!(
        body[0]["message"],
        "HTTP Method 'DELETE' not allowed. Allowed are POST"
    );
    let r = t
        .http
        .put(t.url("/__sfemu/limits"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(json(r).await[0]["errorCode"], "JSON_PARSER_ERROR");
    let r = t
        .http
        .get(t.url("/__sfemu/changes?after=minus-one"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(json(r).await[0]["message"].is_string());
    t.shutdown().await;
}

/// A gzip member holding `data` in one stored (uncompressed) deflate block.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut crc = 0xffff_ffffu32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    let crc = !crc;
    let len = data.len() as u16;
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255, 1];
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

#[tokio::test]
async fn gzip_requests_and_responses() {
    let t = common::start().await;
    let r = t
        .http
        .put(t.url("/__sfemu/limits"))
        .header("Content-Encoding", "gzip")
        .header("Content-Type", "application/json")
        .body(gzip_stored(br#"{"used": 5}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    // A client that never decodes, so the test sees the wire. When the workspace is built as a
    // whole, feature unification turns on reqwest's `gzip` feature (sfclient enables it) and a
    // default client then decompresses transparently and drops `Content-Encoding`.
    assert!(t.base.starts_with("http://"), "{}", t.base);
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let r = raw
        .get(t.data("/limits"))
        .bearer_auth(&t.token)
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert_eq!(r.headers()["sforce-limit-info"], "api-usage=6/100000");
    let bytes = r.bytes().await.unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b]);
    // Without Accept-Encoding the same resource comes back plain.
    let r = raw
        .get(t.data("/limits"))
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("content-encoding").is_none());
    assert!(json(r).await["DailyApiRequests"].is_object());
    t.shutdown().await;
}

/// Reads one HTTP/1.1 response (headers + Content-Length body) from `s`; None on EOF.
async fn read_response(s: &mut tokio::net::TcpStream) -> Option<(u16, String)> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let status = head.split(' ').nth(1)?.parse().ok()?;
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_string())
                })
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = s.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some((
                status,
                String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string(),
            ));
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[tokio::test]
async fn keep_alive_survives_answers_that_ignore_the_body() {
    use tokio::io::AsyncWriteExt;
    let t = common::start().await;
    let addr = t.base.trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let body = format!("{{\"Name\":\"{}\"}}", "x".repeat(20_000));
    // Early answers: 401 before the body is read, an injected fault, an unknown route.
    let requests = [
        (
            "POST",
            "/services/data/v66.0/sobjects/Account",
            "Bearer nope",
            401,
        ),
        ("POST", "/services/data/v66.0/nope", "Bearer nope", 401),
        ("PUT", "/nope", "Bearer nope", 404),
    ];
    for (method, path, auth, status) in requests {
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        // Headers and half the body, a pause (the server may answer before the rest arrives, as
        // over TLS where records trickle in), then the rest.
        let (first, rest) = req.split_at(req.len() - body.len() / 2);
        s.write_all(first.as_bytes()).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        s.write_all(rest.as_bytes()).await.unwrap();
        let (got, _) = read_response(&mut s).await.expect("answer");
        assert_eq!(got, status, "{method} {path}");
    }
    // The same connection still serves the next request.
    let req = format!("GET /services/data/ HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let (got, text) = read_response(&mut s)
        .await
        .expect("the connection was closed");
    assert_eq!(got, 200);
    assert!(text.contains("\"version\""));
    t.shutdown().await;
}

#[tokio::test]
async fn oversized_bodies_get_a_json_413() {
    use tokio::io::AsyncWriteExt;
    let t = common::start().await;
    let addr = t.base.trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let req = format!(
        "POST /services/data/v66.0/composite/sobjects HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        sfemu::http::MAX_BODY_BYTES + 1
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let (status, body) = read_response(&mut s).await.expect("answer");
    assert_eq!(status, 413);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v[0]["errorCode"], "REQUEST_ENTITY_TOO_LARGE");
    t.shutdown().await;
}
