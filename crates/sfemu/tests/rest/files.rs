//! Files: the multipart ContentVersion insert streamed to disk (beyond the 50 MB JSON body
//! limit), `Checksum` and the other platform-set fields, versions of a ContentDocument,
//! ContentDocumentLink with Salesforce's query rule, deletes that cascade, and change tracking
//! by `queryAll`.

use crate::harness::Api;
use futures::StreamExt;
use md5::{Digest, Md5};
use serde_json::json;

const BOUNDARY: &str = "sfemuFileBoundary7";

fn head(fields: &serde_json::Value, file_name: &str) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"entity_content\"\r\nContent-Type: application/json\r\n\r\n").as_bytes());
    b.extend_from_slice(fields.to_string().as_bytes());
    b.extend_from_slice(format!("\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"VersionData\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
    b
}

fn tail() -> Vec<u8> {
    format!("\r\n--{BOUNDARY}--\r\n").into_bytes()
}

fn ctype() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

fn md5_hex(b: &[u8]) -> String {
    Md5::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

async fn upload(api: &Api, fields: serde_json::Value, data: &[u8]) -> String {
    let mut body = head(&fields, "f.bin");
    body.extend_from_slice(data);
    body.extend_from_slice(&tail());
    let r = api
        .send_raw("POST", "/sobjects/ContentVersion", &ctype(), body)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn versions_checksums_and_links() {
    let api = Api::start().await;
    let acc = api.create("Account", json!({"Name":"Acme"})).await;
    let v1 = upload(
        &api,
        json!({"Title":"Spec","PathOnClient":"spec.PDF","FirstPublishLocationId":acc}),
        b"hello",
    )
    .await;
    let r = api.get(&format!("/sobjects/ContentVersion/{v1}")).await;
    assert_eq!(
        r.body["Checksum"], "5d41402abc4b2a76b9719d911017c592",
        "{}",
        r.body
    );
    assert_eq!(r.body["ContentSize"], 5);
    assert_eq!(r.body["FileExtension"], "pdf");
    assert_eq!(r.body["VersionNumber"], "1");
    assert_eq!(r.body["PathOnClient"], "spec.PDF");
    assert_eq!(r.body["IsLatest"], true);
    let doc = r.body["ContentDocumentId"].as_str().unwrap().to_string();
    assert!(doc.starts_with("069"));
    let v2 = upload(
        &api,
        json!({"PathOnClient":"spec-2.pdf","ContentDocumentId":doc,"ReasonForChange":"typo"}),
        b"hello again",
    )
    .await;
    let d = api.get(&format!("/sobjects/ContentDocument/{doc}")).await;
    assert_eq!(d.body["LatestPublishedVersionId"], v2.as_str());
    let r2 = api.get(&format!("/sobjects/ContentVersion/{v2}")).await;
    assert_eq!(r2.body["VersionNumber"], "2");
    assert_eq!(r2.body["Checksum"], md5_hex(b"hello again"));
    let back = api
        .get(&format!("/sobjects/ContentVersion/{v1}/VersionData"))
        .await;
    assert_eq!(back.bytes, b"hello");
    assert_eq!(back.headers["content-length"], "5");

    // The link FirstPublishLocationId made, found only with the required filter.
    let q = api
        .query(&format!("SELECT Id, ShareType, Visibility, ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId IN ('{acc}')"))
        .await;
    assert_eq!(q.body["totalSize"], 1, "{}", q.body);
    let refused = api.query("SELECT Id FROM ContentDocumentLink").await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.body[0]["errorCode"], "MALFORMED_QUERY");
    assert!(
        refused.body[0]["message"]
            .as_str()
            .unwrap()
            .contains("Implementation restriction: ContentDocumentLink")
    );

    // A second link to another record (any object: the reference is polymorphic), then unlink.
    let wi = api.create("Work_Item__c", json!({"Name":"W"})).await;
    let link = api
        .create(
            "ContentDocumentLink",
            json!({"ContentDocumentId":doc,"LinkedEntityId":wi,"ShareType":"C","Visibility":"InternalUsers"}),
        )
        .await;
    assert!(link.starts_with("06A"));
    let bad = api
        .send(
            "POST",
            "/sobjects/ContentDocumentLink",
            Some(&json!({"ContentDocumentId":doc,"LinkedEntityId":wi,"ShareType":"X"})),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(
        api.count(&format!(
            "ContentDocumentLink WHERE ContentDocumentId = '{doc}'"
        ))
        .await,
        2
    );
    let del = api
        .send(
            "DELETE",
            &format!("/sobjects/ContentDocumentLink/{link}"),
            None,
        )
        .await;
    assert_eq!(del.status, 204);
    assert_eq!(
        api.count(&format!(
            "ContentDocumentLink WHERE ContentDocumentId = '{doc}'"
        ))
        .await,
        1
    );

    // Deleting the document deletes its versions and links; queryAll still sees them.
    let del = api
        .send("DELETE", &format!("/sobjects/ContentDocument/{doc}"), None)
        .await;
    assert_eq!(del.status, 204, "{}", del.body);
    assert_eq!(
        api.count(&format!("ContentVersion WHERE ContentDocumentId = '{doc}'"))
            .await,
        0
    );
    assert_eq!(
        api.count(&format!(
            "ContentDocumentLink WHERE ContentDocumentId = '{doc}'"
        ))
        .await,
        0
    );
    let all = api
        .get(&format!("/queryAll?q={}", crate::harness::enc(&format!("SELECT Id, IsDeleted FROM ContentVersion WHERE ContentDocumentId = '{doc}' AND SystemModstamp >= 2000-01-01T00:00:00Z"))))
        .await;
    assert_eq!(all.body["totalSize"], 2, "{}", all.body);
    assert!(
        all.body["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["IsDeleted"] == true)
    );
}

/// A file larger than the 50 MB JSON body limit, sent as a chunked stream, is stored and read
/// back as a stream with the right checksum.
#[tokio::test]
async fn large_upload_is_streamed() {
    let api = Api::start().await;
    const MB: usize = 1024 * 1024;
    let total = 72 * MB;
    let chunk: Vec<u8> = (0..MB).map(|i| (i % 251) as u8).collect();
    let mut md5 = Md5::new();
    for _ in 0..total / MB {
        md5.update(&chunk);
    }
    let want: String = md5.finalize().iter().map(|x| format!("{x:02x}")).collect();
    let parts: Vec<Vec<u8>> = std::iter::once(head(&json!({"PathOnClient":"big.bin"}), "big.bin"))
        .chain(std::iter::repeat_n(chunk.clone(), total / MB))
        .chain(std::iter::once(tail()))
        .collect();
    let stream = futures::stream::iter(parts.into_iter().map(Ok::<_, std::io::Error>));
    let r = api
        .post_stream(
            "/sobjects/ContentVersion",
            &ctype(),
            reqwest::Body::wrap_stream(stream),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap();
    let rec = api.get(&format!("/sobjects/ContentVersion/{id}")).await;
    assert_eq!(rec.body["ContentSize"], total as u64);
    assert_eq!(rec.body["Checksum"], want.as_str());
    let resp = api
        .get_raw(&format!("/sobjects/ContentVersion/{id}/VersionData"))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.content_length(), Some(total as u64));
    let mut got = Md5::new();
    let mut n = 0usize;
    let mut body = resp.bytes_stream();
    while let Some(c) = body.next().await {
        let c = c.unwrap();
        n += c.len();
        got.update(&c);
    }
    assert_eq!(n, total);
    let got: String = got.finalize().iter().map(|x| format!("{x:02x}")).collect();
    assert_eq!(got, want);
}

/// A multipart insert that fails validation stores nothing and says why.
#[tokio::test]
async fn failed_multipart_insert_is_refused() {
    let api = Api::start().await;
    let mut body = head(
        &json!({"Title":"x","ContentDocumentId":"069000000000000AAA"}),
        "x.bin",
    );
    body.extend_from_slice(b"abc");
    body.extend_from_slice(&tail());
    let r = api
        .send_raw("POST", "/sobjects/ContentVersion", &ctype(), body)
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let no_json = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"VersionData\"; filename=\"a\"\r\n\r\nabc\r\n--{BOUNDARY}--\r\n"
    );
    let r = api
        .send_raw(
            "POST",
            "/sobjects/ContentVersion",
            &ctype(),
            no_json.into_bytes(),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
}
