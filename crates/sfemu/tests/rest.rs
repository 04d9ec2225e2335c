//! The REST data routes over real HTTP on loopback, against an in-process emulator: every
//! route's success and failure shapes, as Salesforce answers them.
#![allow(clippy::unwrap_used)]

#[path = "rest/bulk_data.rs"]
mod bulk_data;
mod common;
#[path = "rest/composite.rs"]
mod composite;
#[path = "rest/files.rs"]
mod files;
#[path = "rest/harness.rs"]
mod harness;
#[path = "rest/records.rs"]
mod records;

use harness::Api;
use serde_json::json;

#[tokio::test]
async fn version_list_needs_no_auth_and_is_not_counted() {
    let api = Api::start().await;
    assert_eq!(
        api.control("POST", "/__sfemu/api-usage/reset", None)
            .await
            .status,
        204
    );
    for path in ["/services/data/", "/services/data"] {
        let r = api.anon_get(path).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(r.headers.get("sforce-limit-info").is_none());
        let arr = r.body.as_array().unwrap();
        assert_eq!(arr.len(), 36);
        assert_eq!(
            arr[0],
            json!({"label":"Summer '14","url":"/services/data/v31.0","version":"31.0"})
        );
        assert_eq!(arr[35]["version"], "66.0");
    }
    let usage = api.control("GET", "/__sfemu/api-usage", None).await;
    assert_eq!(usage.body["total"], 0, "{}", usage.body);
}

#[tokio::test]
async fn resource_map_with_and_without_slash() {
    let api = Api::start().await;
    for path in ["/services/data/v62.0/", "/services/data/v62.0"] {
        let r = api.get(path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(r.body["sobjects"], "/services/data/v62.0/sobjects");
        assert_eq!(r.body["query"], "/services/data/v62.0/query");
        assert_eq!(r.body["composite"], "/services/data/v62.0/composite");
        let identity = r.body["identity"].as_str().unwrap();
        assert!(
            identity.contains(&format!("/id/{}/", api.org_id)),
            "{identity}"
        );
    }
    // Without a token the slash form answers exactly as the authenticated pipeline does.
    let unauth = api.anon_get("/services/data/v62.0/").await;
    assert_eq!(unauth.status, 401);
    assert_eq!(
        unauth.body,
        api.anon_get("/services/data/v62.0/sobjects").await.body
    );
}

#[tokio::test]
async fn unknown_versions_and_paths_are_404_json() {
    let api = Api::start().await;
    for path in [
        "/services/data/v30.0/sobjects",
        "/services/data/v67.0/sobjects",
        "/services/data/v62.0/nope",
    ] {
        let r = api.get(path).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.body[0]["errorCode"], "NOT_FOUND", "{path}");
        assert_eq!(
            r.body[0]["message"],
            "The requested resource does not exist"
        );
        assert!(r.is_sf_json(), "{path}");
    }
}

#[tokio::test]
async fn describe_global_basic_and_full() {
    let api = Api::start().await;
    let g = api.get("/sobjects/").await;
    assert_eq!(g.status, 200);
    assert!(g.is_sf_json());
    assert_eq!(g.body["encoding"], "UTF-8");
    assert_eq!(g.body["maxBatchSize"], 200);
    let acc = g.body["sobjects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "Account")
        .unwrap();
    assert_eq!(acc["keyPrefix"], "001");
    assert_eq!(
        acc["urls"]["sobject"],
        "/services/data/v62.0/sobjects/Account"
    );
    assert_eq!(api.get("/sobjects").await.status, 200);

    let later = api
        .send_with(
            "GET",
            "/sobjects/",
            None,
            &[("If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT")],
        )
        .await;
    assert_eq!(later.status, 304);
    let earlier = api
        .send_with(
            "GET",
            "/sobjects/",
            None,
            &[("If-Modified-Since", "Sat, 01 Jan 2000 00:00:00 GMT")],
        )
        .await;
    assert_eq!(earlier.status, 200);

    let basic = api.get("/sobjects/Account").await;
    assert_eq!(basic.status, 200);
    assert_eq!(basic.body["objectDescribe"]["name"], "Account");
    assert_eq!(basic.body["recentItems"], json!([]));

    let full = api.get("/sobjects/Account/describe").await;
    assert_eq!(full.status, 200);
    let fields = full.body["fields"].as_array().unwrap();
    let id = fields.iter().find(|f| f["name"] == "Id").unwrap();
    assert_eq!(id["type"], "id");
    assert_eq!(api.get("/sobjects/Account/describe/").await.status, 200);

    let pretty = api
        .send_with("GET", "/sobjects/Account", None, &[("X-PrettyPrint", "1")])
        .await;
    assert_eq!(pretty.body, basic.body);
    assert!(String::from_utf8_lossy(&pretty.bytes).contains("\n  \"objectDescribe\""));
    assert!(!String::from_utf8_lossy(&basic.bytes).contains('\n'));

    let missing = api.get("/sobjects/Nope__c/describe").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body[0]["errorCode"], "NOT_FOUND");
}
