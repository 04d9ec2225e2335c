//! sObject Basic / Rows / External ID routes, blobs, body errors.

use crate::harness::Api;
use serde_json::json;

#[tokio::test]
async fn record_crud_shapes_and_15_char_ids() {
    let api = Api::start().await;
    let r = api
        .send(
            "POST",
            "/sobjects/Account/",
            Some(&json!({"Name":"Acme","Phone":"123"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.is_sf_json());
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 18);
    assert!(id.starts_with("001"));
    assert_eq!(r.body, json!({"id": id, "success": true, "errors": []}));

    let got = api.get(&format!("/sobjects/Account/{}", &id[..15])).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["attributes"]["type"], "Account");
    assert_eq!(
        got.body["attributes"]["url"],
        format!("/services/data/v62.0/sobjects/Account/{id}")
    );
    assert_eq!(got.body["Id"], id.as_str());
    assert_eq!(got.body["Phone"], "123");

    let some = api
        .get(&format!("/sobjects/Account/{id}?fields=Name"))
        .await;
    assert_eq!(some.status, 200);
    assert_eq!(some.body["Name"], "Acme");
    assert!(some.body.get("Phone").is_none(), "{}", some.body);

    let bad = api
        .get(&format!("/sobjects/Account/{id}?fields=Nope__c"))
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body[0]["errorCode"], "INVALID_FIELD");

    let upd = api
        .send(
            "PATCH",
            &format!("/sobjects/Account/{id}"),
            Some(&json!({"Name":"Acme 2"})),
        )
        .await;
    assert_eq!(upd.status, 204);
    assert!(upd.bytes.is_empty());
    let over = api
        .send(
            "POST",
            &format!("/sobjects/Account/{id}?_HttpMethod=PATCH"),
            Some(&json!({"Phone":"9"})),
        )
        .await;
    assert_eq!(over.status, 204, "{}", over.body);
    let got = api.get(&format!("/sobjects/Account/{id}")).await;
    assert_eq!(got.body["Name"], "Acme 2");
    assert_eq!(got.body["Phone"], "9");

    let con = api
        .create("Contact", json!({"LastName":"Other object"}))
        .await;
    let wrong = api
        .send("DELETE", &format!("/sobjects/Account/{con}"), None)
        .await;
    assert!(wrong.status == 400 || wrong.status == 404, "{}", wrong.body);
    assert_eq!(
        api.get(&format!("/sobjects/Contact/{con}")).await.status,
        200,
        "the contact must survive"
    );
    let del = api
        .send("DELETE", &format!("/sobjects/Account/{id}"), None)
        .await;
    assert_eq!(del.status, 204);
    let gone = api.get(&format!("/sobjects/Account/{id}")).await;
    assert_eq!(gone.status, 404);
    let again = api
        .send("DELETE", &format!("/sobjects/Account/{id}"), None)
        .await;
    assert_eq!(again.status, 404);
    assert_eq!(
        again.body[0]["errorCode"], "ENTITY_IS_DELETED",
        "{}",
        again.body
    );
}

#[tokio::test]
async fn create_errors_and_create_by_id_path() {
    let api = Api::start().await;
    let missing = api
        .send("POST", "/sobjects/Account", Some(&json!({"Phone":"1"})))
        .await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.body[0]["errorCode"], "REQUIRED_FIELD_MISSING");
    assert_eq!(missing.body[0]["fields"], json!(["Name"]));

    let unknown = api
        .send("POST", "/sobjects/Nope__c", Some(&json!({"Name":"x"})))
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body[0]["errorCode"], "NOT_FOUND");

    let bad_date = json!({"LastName":"bad date","Birthdate":"07/05/1980"});
    let typed = api.send("POST", "/sobjects/Contact", Some(&bad_date)).await;
    assert_eq!(typed.status, 400);
    assert_eq!(
        typed.body[0]["errorCode"], "JSON_PARSER_ERROR",
        "{}",
        typed.body
    );
    let msg = typed.body[0]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("Cannot deserialize instance of date from VALUE_STRING value 07/05/1980"),
        "{msg}"
    );

    let by_id = api
        .send(
            "POST",
            "/sobjects/Account/Id",
            Some(&json!({"Name":"ById"})),
        )
        .await;
    assert_eq!(by_id.status, 201, "{}", by_id.body);
    assert_eq!(by_id.body["success"], true);
    let old = api
        .send(
            "POST",
            "/services/data/v36.0/sobjects/Account/Id",
            Some(&json!({"Name":"ById"})),
        )
        .await;
    assert_eq!(old.status, 405);
    assert_eq!(old.body[0]["errorCode"], "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn malformed_bodies_and_methods_answer_json() {
    let api = Api::start().await;
    for (path, body) in [
        ("/sobjects/Account", &b"{\"Name\": "[..]),
        ("/sobjects/Account", &b""[..]),
        ("/sobjects/Account", &b"[1,2]"[..]),
        ("/composite/sobjects", &b"{\"records\": [1"[..]),
        ("/composite", &b"nope"[..]),
        ("/composite", &b"{\"compositeRequest\": 5}"[..]),
    ] {
        let r = api
            .send_raw("POST", path, "application/json", body.to_vec())
            .await;
        assert_eq!(r.status, 400, "{path} {:?}", String::from_utf8_lossy(body));
        assert_eq!(
            r.body[0]["errorCode"], "JSON_PARSER_ERROR",
            "{path}: {}",
            r.body
        );
        assert!(r.is_sf_json(), "{path}");
    }
    let put = api.send("PUT", "/sobjects/Account", Some(&json!({}))).await;
    assert_eq!(put.status, 405);
    assert_eq!(put.body[0]["errorCode"], "METHOD_NOT_ALLOWED");
    assert!(
        put.body[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("HTTP Method 'PUT' not allowed. Allowed are ")
    );
}

#[tokio::test]
async fn upsert_status_codes_by_version() {
    let api = Api::start().await;
    let ext = "/sobjects/Account/OrgSync_Global_Id__c";
    let c = api
        .send("PATCH", &format!("{ext}/G1"), Some(&json!({"Name":"G1"})))
        .await;
    assert_eq!(c.status, 201, "{}", c.body);
    let id = c.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        c.body,
        json!({"id": id, "success": true, "errors": [], "created": true})
    );

    let u = api
        .send(
            "PATCH",
            &format!("{ext}/G1"),
            Some(&json!({"Name":"G1 again"})),
        )
        .await;
    assert_eq!(u.status, 200);
    assert_eq!(
        u.body,
        json!({"id": id, "success": true, "errors": [], "created": false})
    );

    let old = format!("/services/data/v45.0{ext}");
    let u45 = api
        .send(
            "PATCH",
            &format!("{old}/G1"),
            Some(&json!({"Name":"G1 v45"})),
        )
        .await;
    assert_eq!(u45.status, 204);
    let c45 = api
        .send("PATCH", &format!("{old}/G2"), Some(&json!({"Name":"G2"})))
        .await;
    assert_eq!(c45.status, 201);
    assert!(c45.body.get("created").is_none(), "{}", c45.body);

    let got = api.get(&format!("{ext}/G1")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["Id"], id.as_str());
    assert_eq!(got.body["Name"], "G1 v45");

    let nofield = api
        .send(
            "PATCH",
            "/sobjects/Account/Nope__c/x",
            Some(&json!({"Name":"x"})),
        )
        .await;
    assert_eq!(nofield.status, 404);
    assert_eq!(nofield.body[0]["errorCode"], "NOT_FOUND");

    let only = api
        .send(
            "PATCH",
            &format!("{ext}/G3?updateOnly=true"),
            Some(&json!({"Name":"G3"})),
        )
        .await;
    assert_eq!(only.status, 404);
    assert_eq!(only.body[0]["errorCode"], "NOT_FOUND");
    let only_hit = api
        .send(
            "PATCH",
            &format!("{ext}/G1?updateOnly=true"),
            Some(&json!({"Name":"G1 only"})),
        )
        .await;
    assert_eq!(only_hit.status, 200);
    assert_eq!(only_hit.body["created"], false);
}

#[tokio::test]
async fn upsert_with_several_matches_is_300() {
    let api = Api::start().await;
    let a = api.create("Account", json!({"Name":"A"})).await;
    let b = api.create("Account", json!({"Name":"B"})).await;
    for id in [&a, &b] {
        let r = api
            .control(
                "PATCH",
                &format!("/__sfemu/records/Account/{id}"),
                Some(&json!({"OrgSync_Global_Id__c":"DUP"})),
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.body);
    }
    let r = api
        .send(
            "PATCH",
            "/sobjects/Account/OrgSync_Global_Id__c/DUP",
            Some(&json!({"Name":"C"})),
        )
        .await;
    assert_eq!(r.status, 300, "{}", r.body);
    let mut urls: Vec<String> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_string())
        .collect();
    urls.sort();
    let mut want = vec![
        format!("/services/data/v62.0/sobjects/Account/{a}"),
        format!("/services/data/v62.0/sobjects/Account/{b}"),
    ];
    want.sort();
    assert_eq!(urls, want);
    assert_eq!(
        api.get("/sobjects/Account/OrgSync_Global_Id__c/DUP")
            .await
            .status,
        300
    );
}

#[tokio::test]
async fn parent_by_external_id_in_body() {
    let api = Api::start().await;
    let acc = api
        .create(
            "Account",
            json!({"Name":"Parent","OrgSync_Global_Id__c":"P1"}),
        )
        .await;
    let con = api
        .create(
            "Contact",
            json!({"LastName":"Kid","Account":{"OrgSync_Global_Id__c":"P1"}}),
        )
        .await;
    let got = api.get(&format!("/sobjects/Contact/{con}")).await;
    assert_eq!(got.body["AccountId"], acc.as_str());
    let bad = api
        .send(
            "POST",
            "/sobjects/Contact",
            Some(&json!({"LastName":"Kid","Account":{"OrgSync_Global_Id__c":"nope"}})),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
}

/// A multipart upload (JSON part + binary part) downloads byte-for-byte; so does a JSON base64 one.
#[tokio::test]
async fn content_version_blob_round_trip() {
    let api = Api::start().await;
    let data: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let boundary = "sfemuBoundary42";
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"entity_content\"\r\nContent-Type: application/json\r\n\r\n").as_bytes());
    body.extend_from_slice(br#"{"Title":"Q1","PathOnClient":"q1.bin"}"#);
    body.extend_from_slice(format!("\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"VersionData\"; filename=\"q1.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
    body.extend_from_slice(&data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let r = api
        .send_raw(
            "POST",
            "/sobjects/ContentVersion",
            &format!("multipart/form-data; boundary={boundary}"),
            body,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("068"));
    let down = api
        .get(&format!("/sobjects/ContentVersion/{id}/VersionData"))
        .await;
    assert_eq!(down.status, 200);
    assert_eq!(down.headers["content-type"], "application/octet-stream");
    assert_eq!(down.bytes, data);

    let id2 = api
        .create(
            "ContentVersion",
            json!({"Title":"T","PathOnClient":"t.txt","VersionData":"aGVsbG8="}),
        )
        .await;
    let down2 = api
        .get(&format!("/sobjects/ContentVersion/{id2}/VersionData"))
        .await;
    assert_eq!(down2.bytes, b"hello");
    let none = api
        .get("/sobjects/ContentVersion/068000000000000AAA/VersionData")
        .await;
    assert_eq!(none.status, 404);
}

#[tokio::test]
async fn updated_and_deleted_replication() {
    let api = Api::start().await;
    let kept = api.create("Account", json!({"Name":"Kept"})).await;
    let gone = api.create("Account", json!({"Name":"Gone"})).await;
    assert_eq!(
        api.send("DELETE", &format!("/sobjects/Account/{gone}"), None)
            .await
            .status,
        204
    );
    let now = chrono::Utc::now();
    let start = (now - chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string();
    let end = (now + chrono::Duration::minutes(2))
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string();
    let q = format!(
        "?start={}&end={}",
        crate::harness::enc(&start),
        crate::harness::enc(&end)
    );

    let up = api.get(&format!("/sobjects/Account/updated/{q}")).await;
    assert_eq!(up.status, 200, "{}", up.body);
    assert!(
        up.body["ids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i == kept.as_str()),
        "{}",
        up.body
    );
    assert!(
        up.body["latestDateCovered"]
            .as_str()
            .unwrap()
            .ends_with("+0000")
    );

    let del = api.get(&format!("/sobjects/Account/deleted/{q}")).await;
    assert_eq!(del.status, 200, "{}", del.body);
    let recs = del.body["deletedRecords"].as_array().unwrap();
    assert!(
        recs.iter()
            .any(|r| r["id"] == gone.as_str() && r["deletedDate"].is_string()),
        "{}",
        del.body
    );
    assert!(del.body["earliestDateAvailable"].is_string());
    assert!(del.body["latestDateCovered"].is_string());

    let backwards = format!(
        "?start={}&end={}",
        crate::harness::enc(&end),
        crate::harness::enc(&start)
    );
    let bad = api
        .get(&format!("/sobjects/Account/updated/{backwards}"))
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body[0]["errorCode"], "INVALID_REPLICATION_DATE");
    let missing = api.get("/sobjects/Account/deleted/").await;
    assert_eq!(missing.status, 400);
}

/// The `client=` call option tags the change origin of every write path (orgsync's echo filter
/// relies on it), including composite subrequests and collections; one collections call is one
/// transaction.
#[tokio::test]
async fn call_options_client_reaches_the_change_log() {
    let api = Api::start().await;
    let tag = [("Sforce-Call-Options", "client=orgsync, defaultNamespace=ns")];
    let single = api
        .send_with(
            "POST",
            "/sobjects/Account",
            Some(&json!({"Name":"Tagged"})),
            &tag,
        )
        .await;
    assert_eq!(single.status, 201);
    let batch = json!({"records":[
        {"attributes":{"type":"Account"},"Name":"C1"},{"attributes":{"type":"Account"},"Name":"C2"}]});
    assert_eq!(
        api.send_with("POST", "/composite/sobjects", Some(&batch), &tag)
            .await
            .status,
        200
    );
    let comp = json!({"compositeRequest":[{"method":"POST","url":"/services/data/v62.0/sobjects/Account","referenceId":"a","body":{"Name":"Comp"}}]});
    assert_eq!(
        api.send_with("POST", "/composite", Some(&comp), &tag)
            .await
            .status,
        200
    );
    api.create("Account", json!({"Name":"Untagged"})).await;

    let changes = api
        .control("GET", "/__sfemu/changes?after=0&max=100", None)
        .await;
    let changes = changes.body["changes"].as_array().unwrap();
    let origins: Vec<&str> = changes
        .iter()
        .map(|c| c["changeOrigin"].as_str().unwrap())
        .collect();
    assert_eq!(
        origins,
        [
            "com/salesforce/api/rest/62.0;client=orgsync",
            "com/salesforce/api/rest/62.0;client=orgsync",
            "com/salesforce/api/rest/62.0;client=orgsync",
            "com/salesforce/api/rest/62.0;client=orgsync",
            "com/salesforce/api/rest/62.0",
        ]
    );
    assert_eq!(changes[1]["transactionKey"], changes[2]["transactionKey"]);
    assert_ne!(changes[0]["transactionKey"], changes[1]["transactionKey"]);
}

/// An early error (unknown external-id field, unknown version, wrong method) must not leave the
/// request body unread: hyper would close the connection, and keep-alive clients (requests,
/// undici) see their next call die. With `Expect: 100-continue` the emulator must ask for the
/// body (`100 Continue`) before it answers, and the connection must serve the next request.
#[tokio::test]
async fn early_errors_read_the_body_and_keep_the_connection_alive() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let api = Api::start().await;
    let addr = api.base.trim_start_matches("http://").to_string();
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let body = format!("{{\"Name\":\"{}\"}}", "x".repeat(64 * 1024));
    let early = [
        (
            "PATCH",
            "/services/data/v62.0/sobjects/Account/Nope__c/x",
            404,
        ),
        ("POST", "/services/data/v20.0/sobjects/Account", 404),
        ("PUT", "/services/data/v62.0/sobjects/Account", 405),
        ("POST", "/services/data/v62.0/sobjects/Nope__c", 404),
        ("POST", "/services/data/v62.0/nowhere", 404),
    ];
    for (method, path, want) in early {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
            api.token,
            body.len()
        );
        sock.write_all(head.as_bytes()).await.unwrap();
        assert_eq!(
            read_status(&mut sock).await,
            100,
            "{method} {path} answered before reading its body"
        );
        sock.write_all(body.as_bytes()).await.unwrap();
        assert_eq!(read_status(&mut sock).await, want, "{method} {path}");
    }
    let get = format!(
        "GET /services/data/v62.0/sobjects/Account/describe HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\r\n",
        api.token
    );
    sock.write_all(get.as_bytes()).await.unwrap();
    assert_eq!(read_status(&mut sock).await, 200);

    /// Reads one response (status line, headers, Content-Length body) and returns its status.
    async fn read_status(sock: &mut tokio::net::TcpStream) -> u16 {
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        while !buf.ends_with(b"\r\n\r\n") {
            let n = sock.read(&mut byte).await.unwrap();
            assert_eq!(
                n,
                1,
                "connection closed after {:?}",
                String::from_utf8_lossy(&buf)
            );
            buf.push(byte[0]);
        }
        let head = String::from_utf8(buf).unwrap();
        let status: u16 = head[9..12].parse().unwrap();
        let len: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap())
            })
            .unwrap_or(0);
        let mut rest = vec![0u8; len];
        sock.read_exact(&mut rest).await.unwrap();
        status
    }
}
