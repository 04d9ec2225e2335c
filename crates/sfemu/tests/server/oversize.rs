//! Request heads over Salesforce's limit (URI + headers ≤ 16,384 bytes): 414 when the URI
//! alone is over it, else 431, answered with Salesforce's JSON error array and a closed
//! connection — whether the emulator's own check or hyper's parser (URIs over 65,534 bytes,
//! heads over its buffer) refused the head. Raw TCP, so any size can be sent.

use crate::common;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const PAGE_414: &str = r#"[{"message":"The length of the URI exceeds the 16,384 byte limit.","errorCode":"URI_TOO_LONG"}]"#;
const PAGE_431: &str = r#"[{"message":"The combined length of the URI and headers exceeds the 16,384 byte limit.","errorCode":"REQUEST_HEADER_FIELDS_TOO_LARGE"}]"#;
const PAGE_400: &str =
    r#"[{"message":"The request could not be parsed.","errorCode":"BAD_REQUEST"}]"#;

/// One answer: status, lower-cased head, body; and whether the server then closed.
struct Answer {
    status: u16,
    head: String,
    body: String,
    closed: bool,
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S, request: &[u8]) -> Answer {
    // The server may answer (and close) before it has read everything: ignore write errors.
    let _ = s.write_all(request).await;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let n = s.read(&mut chunk).await.unwrap_or(0);
        assert!(
            n > 0,
            "closed without an answer: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap());
    while buf.len() < end + 4 + len {
        let n = s.read(&mut chunk).await.unwrap();
        assert!(n > 0, "body cut short");
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string();
    let closed = if head.contains("connection: close") {
        matches!(s.read(&mut chunk).await, Ok(0) | Err(_))
    } else {
        false
    };
    Answer {
        status,
        head,
        body,
        closed,
    }
}

fn get(addr: &str, target: &str, extra_headers: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\n{extra_headers}\r\n").into_bytes()
}

/// A versions-list URI (served without auth) padded to `len` bytes.
fn uri_of(len: usize) -> String {
    let base = "/services/data/?pad=";
    format!("{base}{}", "x".repeat(len - base.len()))
}

#[tokio::test]
async fn oversize_heads_get_salesforces_page_over_plain_http() {
    let t = common::start().await;
    let addr = t.base.trim_start_matches("http://").to_string();
    let big_header = |n: usize| format!("X-Pad: {}\r\n", "y".repeat(n));
    let many_headers = (0..5_000)
        .map(|i| format!("X-H{i}: {}\r\n", "z".repeat(90)))
        .collect::<String>();
    // (what, request, status, page)
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "URI over 16,384 bytes (the emulator's check)",
            get(&addr, &uri_of(16_385), ""),
            414,
            PAGE_414,
        ),
        (
            "URI of 40,000 bytes",
            get(&addr, &uri_of(40_000), ""),
            414,
            PAGE_414,
        ),
        (
            "URI over 64 KiB (hyper's parser)",
            get(&addr, &uri_of(70_000), ""),
            414,
            PAGE_414,
        ),
        // Past hyper's read buffer (~400 KiB) the head is refused before its request line is
        // complete, so the emulator cannot tell a URI from headers: 431 (Salesforce: 414).
        (
            "URI of 1 MiB",
            get(&addr, &uri_of(1 << 20), ""),
            431,
            PAGE_431,
        ),
        (
            "one 20 KiB header",
            get(&addr, "/services/data/", &big_header(20_000)),
            431,
            PAGE_431,
        ),
        (
            "URI and headers together over 16,384",
            get(&addr, &uri_of(16_000), &big_header(1_000)),
            431,
            PAGE_431,
        ),
        (
            "headers over hyper's buffer (~450 KiB)",
            get(&addr, "/services/data/", &many_headers),
            431,
            PAGE_431,
        ),
        (
            "a request line that does not parse",
            b"GET /a b c HTTP/1.1\r\n\r\n".to_vec(),
            400,
            PAGE_400,
        ),
    ];
    for (what, request, status, page) in cases {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let a = exchange(&mut s, &request).await;
        assert_eq!(a.status, status, "{what}: {}", a.head);
        assert_eq!(a.body, page, "{what}");
        assert!(
            a.head
                .contains("content-type: application/json;charset=utf-8"),
            "{what}: {}",
            a.head
        );
        assert!(a.closed, "{what}: the connection stays open: {}", a.head);
    }
    t.shutdown().await;
}

#[tokio::test]
async fn heads_within_the_limit_are_served_as_before() {
    let t = common::start().await;
    let addr = t.base.trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    // A URI just under the limit, with room left for the request line and Host header.
    let a = exchange(&mut s, &get(&addr, &uri_of(16_300), "")).await;
    assert_eq!(a.status, 200, "{}", a.head);
    assert!(a.body.contains("\"version\""));
    // Keep-alive: the same connection serves an API error as JSON.
    let a = exchange(
        &mut s,
        &get(
            &addr,
            "/services/data/v66.0/limits",
            "Authorization: Bearer nope\r\n",
        ),
    )
    .await;
    assert_eq!(a.status, 401, "{}", a.head);
    assert!(
        a.head.contains("content-type: application/json"),
        "{}",
        a.head
    );
    assert!(a.body.contains("INVALID_SESSION_ID"), "{}", a.body);
    // reqwest: a long (not oversize) query still reaches the API…
    let query = |name_len: usize| {
        let soql = format!(
            "SELECT Id FROM Account WHERE Name = '{}'",
            "n".repeat(name_len)
        );
        t.http
            .get(t.data("/query"))
            .query(&[("q", soql)])
            .bearer_auth(&t.token)
            .send()
    };
    assert_eq!(query(10_000).await.unwrap().status(), 200);
    // …and an oversize one gets the page, as a client sees it.
    let r = query(20_000).await.unwrap();
    assert_eq!(r.status(), 414);
    assert_eq!(r.text().await.unwrap(), PAGE_414);
    t.shutdown().await;
}

#[tokio::test]
async fn oversize_heads_get_salesforces_page_over_tls() {
    let t = common::start_with(common::EmulatorConfig::single_org().with_tls(true)).await;
    let org = &t.emu.orgs()[0];
    let addr = t.base.trim_start_matches("https://").to_string();
    let mut roots = rustls::RootCertStore::empty();
    let pem = org.ca_pem.clone().unwrap();
    for c in rustls_pki_types::pem::PemObject::pem_slice_iter(pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    for (target, status, page) in [
        (uri_of(20_000), 414, PAGE_414),
        (uri_of(70_000), 414, PAGE_414),
    ] {
        let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let mut s = connector.connect(name, tcp).await.unwrap();
        let a = exchange(&mut s, &get(&addr, &target, "")).await;
        assert_eq!((a.status, a.body.as_str()), (status, page), "{}", a.head);
    }
    t.shutdown().await;
}
