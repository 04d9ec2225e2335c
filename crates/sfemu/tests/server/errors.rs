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
    let r = t
        .http
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
    t.shutdown().await;
}
