//! Composite (references, allOrNone rollback, limits) and composite batch (per-subrequest counting).

use crate::harness::Api;
use serde_json::{Value, json};

fn sub(method: &str, url: &str, reference_id: &str, body: Option<Value>) -> Value {
    let mut v = json!({"method": method, "url": url, "referenceId": reference_id});
    if let Some(b) = body {
        v["body"] = b;
    }
    v
}

#[tokio::test]
async fn composite_resolves_references() {
    let api = Api::start().await;
    let req = json!({"allOrNone": false, "compositeRequest": [
        sub("POST", "/services/data/v62.0/sobjects/Account", "refAccount", Some(json!({"Name":"Sample"}))),
        sub("POST", "/services/data/v62.0/sobjects/Contact", "refContact", Some(json!({"LastName":"X","AccountId":"@{refAccount.id}"}))),
        sub("GET", "/services/data/v62.0/query/?q=SELECT+Id+FROM+Contact+WHERE+AccountId+=+'@{refAccount.id}'", "refQuery", None),
        sub("PATCH", "/services/data/v62.0/sobjects/Contact/@{refQuery.records[0].Id}", "refUpdate", Some(json!({"FirstName":"Y"}))),
        sub("GET", "/services/data/v62.0/sobjects/Contact/@{refContact.id}?fields=FirstName,AccountId", "refGet", None),
    ]});
    let r = api.send("POST", "/composite", Some(&req)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let res = r.body["compositeResponse"].as_array().unwrap();
    assert_eq!(res.len(), 5);
    let acc = res[0]["body"]["id"].as_str().unwrap().to_string();
    assert_eq!(res[0]["httpStatusCode"], 201);
    assert_eq!(res[0]["referenceId"], "refAccount");
    assert_eq!(
        res[0]["body"],
        json!({"id": acc, "success": true, "errors": []})
    );
    assert_eq!(
        res[0]["httpHeaders"]["Location"],
        format!("/services/data/v62.0/sobjects/Account/{acc}")
    );
    assert_eq!(res[1]["httpStatusCode"], 201, "{}", res[1]);
    assert_eq!(res[2]["httpStatusCode"], 200, "{}", res[2]);
    assert_eq!(res[2]["body"]["totalSize"], 1);
    assert_eq!(res[2]["httpHeaders"], json!({}));
    assert_eq!(res[3]["httpStatusCode"], 204, "{}", res[3]);
    assert_eq!(res[3]["body"], Value::Null);
    assert_eq!(res[4]["body"]["FirstName"], "Y");
    assert_eq!(res[4]["body"]["AccountId"], acc.as_str());
}

#[tokio::test]
async fn composite_failures_halt_dependents_and_all_or_none_rolls_back() {
    let api = Api::start().await;
    // allOrNone=false: a failure only stops the subrequests that reference it.
    let req = json!({"compositeRequest": [
        sub("POST", "/services/data/v62.0/sobjects/Account", "bad", Some(json!({"Phone":"1"}))),
        sub("POST", "/services/data/v62.0/sobjects/Contact", "dependent", Some(json!({"LastName":"X","AccountId":"@{bad.id}"}))),
        sub("POST", "/services/data/v62.0/sobjects/Account", "independent", Some(json!({"Name":"Kept"}))),
        sub("GET", "/services/data/v62.0/sobjects/Account/@{nobody.id}", "unknownRef", None),
    ]});
    let r = api.send("POST", "/composite", Some(&req)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let res = r.body["compositeResponse"].as_array().unwrap();
    assert_eq!(res[0]["httpStatusCode"], 400);
    assert_eq!(res[0]["body"][0]["errorCode"], "REQUIRED_FIELD_MISSING");
    assert_eq!(res[0]["httpHeaders"], json!({}));
    assert_eq!(res[1]["httpStatusCode"], 400);
    assert_eq!(res[1]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert_eq!(res[2]["httpStatusCode"], 201);
    assert_eq!(res[3]["httpStatusCode"], 400);
    assert_eq!(res[3]["body"][0]["errorCode"], "INVALID_REFERENCE");
    assert_eq!(api.count("Account").await, 1);

    // allOrNone=true: the earlier success is rolled back and reported halted.
    let req = json!({"allOrNone": true, "collateSubrequests": false, "compositeRequest": [
        sub("POST", "/services/data/v62.0/sobjects/Account", "first", Some(json!({"Name":"Rolled back"}))),
        sub("POST", "/services/data/v62.0/sobjects/Contact", "fails", Some(json!({"AccountId":"@{first.id}"}))),
        sub("POST", "/services/data/v62.0/sobjects/Account", "after", Some(json!({"Name":"Never"}))),
    ]});
    let r = api.send("POST", "/composite", Some(&req)).await;
    let res = r.body["compositeResponse"].as_array().unwrap();
    assert_eq!(res[0]["httpStatusCode"], 400, "{}", r.body);
    assert_eq!(res[0]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert_eq!(res[1]["body"][0]["errorCode"], "REQUIRED_FIELD_MISSING");
    assert_eq!(res[2]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert_eq!(
        api.count("Account").await,
        1,
        "the rolled-back account must not exist"
    );
    assert_eq!(api.count("Account WHERE Name = 'Rolled back'").await, 0);
}

#[tokio::test]
async fn composite_request_validation() {
    let api = Api::start().await;
    let many: Vec<Value> = (0..26)
        .map(|i| {
            sub(
                "GET",
                "/services/data/v62.0/sobjects/Account/describe",
                &format!("r{i}"),
                None,
            )
        })
        .collect();
    let r = api
        .send(
            "POST",
            "/composite",
            Some(&json!({"compositeRequest": many})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.body[0]["errorCode"].is_string());
    for bad in [
        sub("GET", "/sobjects/Account/describe", "relative", None),
        sub(
            "get",
            "/services/data/v62.0/sobjects/Account/describe",
            "lower",
            None,
        ),
        sub(
            "GET",
            "/services/data/v62.0/sobjects/Account/describe",
            "bad-id",
            None,
        ),
    ] {
        let r = api
            .send(
                "POST",
                "/composite",
                Some(&json!({"compositeRequest": [bad]})),
            )
            .await;
        assert_eq!(r.status, 400, "{}", r.body);
    }
    let hdr = json!({"compositeRequest": [{"method":"GET","url":"/services/data/v62.0/sobjects/","referenceId":"a","httpHeaders":{"Authorization":"Bearer x"}}]});
    assert_eq!(api.send("POST", "/composite", Some(&hdr)).await.status, 400);
}

#[tokio::test]
async fn composite_is_one_call_and_batch_counts_each_subrequest() {
    let api = Api::start().await;
    let id = api.create("Account", json!({"Name":"B"})).await;
    assert_eq!(
        api.control("POST", "/__sfemu/api-usage/reset", None)
            .await
            .status,
        204
    );

    let req = json!({"compositeRequest": [
        sub("GET", &format!("/services/data/v62.0/sobjects/Account/{id}"), "a", None),
        sub("GET", &format!("/services/data/v62.0/sobjects/Account/{id}"), "b", None),
    ]});
    assert_eq!(api.send("POST", "/composite", Some(&req)).await.status, 200);
    let usage = api.control("GET", "/__sfemu/api-usage", None).await;
    assert_eq!(usage.body["total"], 1, "{}", usage.body);

    let batch = json!({"batchRequests": [
        {"method":"GET","url": format!("v62.0/sobjects/Account/{id}")},
        {"method":"PATCH","url": format!("v62.0/sobjects/Account/{id}"),"richInput":{"Name":"B2"}},
        {"method":"GET","url":"v62.0/sobjects/Account/001000000000000AAA"},
    ]});
    let r = api.send("POST", "/composite/batch", Some(&batch)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["hasErrors"], true);
    let res = r.body["results"].as_array().unwrap();
    assert_eq!(res[0]["statusCode"], 200);
    assert_eq!(res[0]["result"]["Name"], "B");
    assert_eq!(res[1], json!({"statusCode": 204, "result": null}));
    assert_eq!(res[2]["statusCode"], 404);
    assert!(res[2]["result"][0]["errorCode"].is_string());
    let usage = api.control("GET", "/__sfemu/api-usage", None).await;
    assert_eq!(
        usage.body["total"], 4,
        "1 composite + 3 batch subrequests: {}",
        usage.body
    );

    let halting = json!({"haltOnError": true, "batchRequests": [
        {"method":"GET","url":"v62.0/sobjects/Account/001000000000000AAA"},
        {"method":"GET","url": format!("v62.0/sobjects/Account/{id}")},
    ]});
    let r = api.send("POST", "/composite/batch", Some(&halting)).await;
    assert_eq!(r.body["results"][1]["statusCode"], 412, "{}", r.body);
    assert_eq!(
        r.body["results"][1]["result"][0]["errorCode"],
        "BATCH_PROCESSING_HALTED"
    );
}

#[tokio::test]
async fn composite_subrequests_draw_record_faults_and_batch_respects_the_limit() {
    let api = Api::start().await;
    let id = api.create("Account", json!({"Name":"Locked"})).await;
    let f = api
        .control(
            "PUT",
            "/__sfemu/faults",
            Some(&json!({"recordErrorRate":{"UNABLE_TO_LOCK_ROW":1.0}})),
        )
        .await;
    assert_eq!(f.status, 204, "{}", f.body);
    let req = json!({"compositeRequest": [
        sub("PATCH", &format!("/services/data/v62.0/sobjects/Account/{id}"), "write", Some(json!({"Name":"X"}))),
        sub("GET", &format!("/services/data/v62.0/sobjects/Account/{id}"), "read", None),
    ]});
    let r = api.send("POST", "/composite", Some(&req)).await;
    let res = r.body["compositeResponse"].as_array().unwrap();
    assert_eq!(res[0]["httpStatusCode"], 400, "{}", r.body);
    assert_eq!(res[0]["body"][0]["errorCode"], "UNABLE_TO_LOCK_ROW");
    assert_eq!(res[1]["httpStatusCode"], 200);
    assert_eq!(res[1]["body"]["Name"], "Locked");
    assert_eq!(
        api.control("DELETE", "/__sfemu/faults", None).await.status,
        204
    );

    // Two calls left: the batch itself and its second subrequest; the third is refused.
    let usage = api.control("GET", "/__sfemu/api-usage", None).await;
    let used = usage.body["total"].as_u64().unwrap();
    let set = api
        .control(
            "PUT",
            "/__sfemu/limits",
            Some(&json!({"dailyApiRequests": used + 2})),
        )
        .await;
    assert_eq!(set.status, 204, "{}", set.body);
    let url = format!("v62.0/sobjects/Account/{id}");
    let batch = json!({"batchRequests": [
        {"method":"GET","url": url}, {"method":"GET","url": url}, {"method":"GET","url": url}]});
    let r = api.send("POST", "/composite/batch", Some(&batch)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["results"][0]["statusCode"], 200);
    assert_eq!(r.body["results"][1]["statusCode"], 200);
    assert_eq!(r.body["results"][2]["statusCode"], 403);
    assert_eq!(
        r.body["results"][2]["result"][0]["errorCode"],
        "REQUEST_LIMIT_EXCEEDED"
    );
    assert_eq!(api.get("/recent").await.status, 403);
}

#[tokio::test]
async fn composite_graph_runs_each_graph_all_or_nothing() {
    let api = Api::start().await;
    let req = json!({"graphs": [
        {"graphId": "g1", "compositeRequest": [
            sub("POST", "/services/data/v62.0/sobjects/Account", "acc", Some(json!({"Name":"G1"}))),
            sub("POST", "/services/data/v62.0/sobjects/Contact", "con", Some(json!({"LastName":"L","AccountId":"@{acc.id}"}))),
        ]},
        {"graphId": "g2", "compositeRequest": [
            sub("POST", "/services/data/v62.0/sobjects/Account", "acc", Some(json!({"Name":"G2"}))),
            sub("POST", "/services/data/v62.0/sobjects/Contact", "con", Some(json!({"AccountId":"@{acc.id}"}))),
        ]},
    ]});
    let r = api.send("POST", "/composite/graph", Some(&req)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let graphs = r.body["graphs"].as_array().unwrap();
    assert_eq!(graphs[0]["graphId"], "g1");
    assert_eq!(graphs[0]["isSuccessful"], true);
    let g1 = graphs[0]["graphResponse"]["compositeResponse"]
        .as_array()
        .unwrap();
    assert_eq!(g1[1]["httpStatusCode"], 201);
    assert_eq!(graphs[1]["isSuccessful"], false);
    let g2 = graphs[1]["graphResponse"]["compositeResponse"]
        .as_array()
        .unwrap();
    assert_eq!(g2[0]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert_eq!(g2[1]["body"][0]["errorCode"], "REQUIRED_FIELD_MISSING");
    let old = api
        .send("POST", "/services/data/v49.0/composite/graph", Some(&req))
        .await;
    assert_eq!(old.status, 404);
}

#[tokio::test]
async fn composite_accepts_unencoded_soql_in_urls() {
    let api = Api::start().await;
    api.create("Account", json!({"Name":"O'Brien Ltd"})).await;
    let req = json!({"compositeRequest": [sub(
        "GET",
        "/services/data/v62.0/query/?q=SELECT Id, Name FROM Account WHERE Name = 'O\\'Brien Ltd'",
        "q",
        None
    )]});
    let r = api.send("POST", "/composite", Some(&req)).await;
    let res = &r.body["compositeResponse"][0];
    assert_eq!(res["httpStatusCode"], 200, "{}", r.body);
    assert_eq!(res["body"]["totalSize"], 1);
}

#[tokio::test]
async fn sobject_tree_creates_parents_then_children() {
    let api = Api::start().await;
    let req = json!({"records": [
        {"attributes": {"type": "Account", "referenceId": "ref1"}, "Name": "Tree A",
         "Contacts": {"records": [
            {"attributes": {"type": "Contact", "referenceId": "ref2"}, "LastName": "Kid 1"},
            {"attributes": {"type": "Contact", "referenceId": "ref3"}, "LastName": "Kid 2"}]}},
        {"attributes": {"type": "Account", "referenceId": "ref4"}, "Name": "Tree B"},
    ]});
    let r = api
        .send("POST", "/composite/tree/Account", Some(&req))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["hasErrors"], false);
    let results = r.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    let id_of = |rid: &str| {
        results.iter().find(|x| x["referenceId"] == rid).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let kid = api
        .get(&format!("/sobjects/Contact/{}", id_of("ref2")))
        .await;
    assert_eq!(kid.body["AccountId"], id_of("ref1").as_str());

    let bad = json!({"records": [
        {"attributes": {"type": "Account", "referenceId": "p"}, "Name": "Tree C",
         "Contacts": {"records": [{"attributes": {"type": "Contact", "referenceId": "c"}, "FirstName": "No last name"}]}}]});
    let r = api
        .send("POST", "/composite/tree/Account", Some(&bad))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["hasErrors"], true);
    assert_eq!(r.body["results"][0]["referenceId"], "c");
    assert_eq!(
        r.body["results"][0]["errors"][0]["statusCode"],
        "REQUIRED_FIELD_MISSING"
    );
    let wrong = json!({"records": [{"attributes": {"type": "Contact", "referenceId": "x"}, "LastName": "L"}]});
    assert_eq!(
        api.send("POST", "/composite/tree/Account", Some(&wrong))
            .await
            .status,
        400
    );
    assert_eq!(
        api.count("Account WHERE Name = 'Tree C'").await,
        0,
        "the tree must be rolled back"
    );
}
