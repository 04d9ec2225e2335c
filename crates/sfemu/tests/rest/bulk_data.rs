//! sObject Collections and queries (paging, queryAll).

use crate::harness::{Api, enc};
use serde_json::{Value, json};

fn accounts(names: &[Option<&str>]) -> Value {
    let recs: Vec<Value> = names
        .iter()
        .map(|n| match n {
            Some(n) => json!({"attributes":{"type":"Account"},"Name":n}),
            None => json!({"attributes":{"type":"Account"},"Phone":"1"}),
        })
        .collect();
    json!(recs)
}

#[tokio::test]
async fn collections_create_partial_failure_both_ways() {
    let api = Api::start().await;
    let body = json!({"allOrNone": false, "records": accounts(&[Some("A"), None, Some("C")])});
    let r = api.send("POST", "/composite/sobjects", Some(&body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let res = r.body.as_array().unwrap();
    assert_eq!(res.len(), 3);
    assert_eq!(res[0]["success"], true);
    assert_eq!(res[0]["errors"], json!([]));
    assert_eq!(res[1]["success"], false);
    assert!(res[1].get("id").is_none(), "{}", res[1]);
    assert_eq!(res[1]["errors"][0]["statusCode"], "REQUIRED_FIELD_MISSING");
    assert_eq!(res[1]["errors"][0]["fields"], json!(["Name"]));
    assert_eq!(res[2]["success"], true);
    assert_eq!(api.count("Account").await, 2);

    let body = json!({"allOrNone": true, "records": accounts(&[Some("D"), None, Some("F")])});
    let r = api.send("POST", "/composite/sobjects", Some(&body)).await;
    assert_eq!(r.status, 200);
    let res = r.body.as_array().unwrap();
    assert!(res.iter().all(|x| x["success"] == false), "{}", r.body);
    assert_eq!(res[1]["errors"][0]["statusCode"], "REQUIRED_FIELD_MISSING");
    for i in [0, 2] {
        assert_eq!(
            res[i]["errors"][0]["statusCode"],
            "ALL_OR_NONE_OPERATION_ROLLED_BACK"
        );
        assert_eq!(
            res[i]["errors"][0]["message"],
            "Record rolled back because not all records were valid and the request was using AllOrNone header"
        );
    }
    assert_eq!(api.count("Account").await, 2);
}

#[tokio::test]
async fn collections_update_upsert_retrieve_delete() {
    let api = Api::start().await;
    let a = api.create("Account", json!({"Name":"A"})).await;
    let b = api.create("Account", json!({"Name":"B"})).await;

    let upd = json!({"records":[
        {"attributes":{"type":"Account"},"id":a,"Name":"A2"},
        {"attributes":{"type":"Account"},"Name":"no id"}]});
    let r = api.send("PATCH", "/composite/sobjects", Some(&upd)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body[0], json!({"id": a, "success": true, "errors": []}));
    assert_eq!(r.body[1]["success"], false);
    assert_eq!(r.body[1]["errors"][0]["statusCode"], "MISSING_ARGUMENT");

    let ups = json!({"allOrNone": false, "records":[
        {"attributes":{"type":"Account"},"OrgSync_Global_Id__c":"U1","Name":"U1"},
        {"attributes":{"type":"Account"},"OrgSync_Global_Id__c":"U1","Name":"U1 again"}]});
    let r = api
        .send(
            "PATCH",
            "/composite/sobjects/Account/OrgSync_Global_Id__c",
            Some(&ups),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body[0]["created"], true);
    let r2 = api
        .send(
            "PATCH",
            "/composite/sobjects/Account/OrgSync_Global_Id__c",
            Some(&ups),
        )
        .await;
    assert_eq!(r2.body[0]["created"], false, "{}", r2.body);
    assert_eq!(r2.body[0]["id"], r.body[0]["id"]);
    let bad_field = api
        .send("PATCH", "/composite/sobjects/Account/Nope__c", Some(&ups))
        .await;
    assert_eq!(bad_field.status, 404);

    let missing = "001000000000000AAA";
    let got = api
        .get(&format!(
            "/composite/sobjects/Account?ids={a},{missing},{}&fields=Id,Name",
            &b[..15]
        ))
        .await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body[0]["Name"], "A2");
    assert_eq!(got.body[1], Value::Null);
    assert_eq!(got.body[2]["Id"], b.as_str());
    let posted = api
        .send(
            "POST",
            "/composite/sobjects/Account",
            Some(&json!({"ids":[a],"fields":["Name"]})),
        )
        .await;
    assert_eq!(posted.body[0]["Name"], "A2");
    let bad = api
        .get(&format!(
            "/composite/sobjects/Account?ids={a}&fields=Nope__c"
        ))
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body[0]["errorCode"], "INVALID_FIELD");

    let del = api
        .send(
            "DELETE",
            &format!("/composite/sobjects?ids={a},{missing}&allOrNone=true"),
            None,
        )
        .await;
    assert_eq!(del.status, 200, "{}", del.body);
    assert_eq!(del.body[0]["success"], false);
    assert_eq!(
        del.body[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(del.body[1]["success"], false);
    assert_eq!(api.get(&format!("/sobjects/Account/{a}")).await.status, 200);
    let del = api
        .send(
            "DELETE",
            &format!("/composite/sobjects?ids={a},{missing}"),
            None,
        )
        .await;
    assert_eq!(del.body[0], json!({"id": a, "success": true, "errors": []}));
    assert_eq!(del.body[1]["id"], missing);
    assert_eq!(del.body[1]["success"], false);
    assert_eq!(api.get(&format!("/sobjects/Account/{a}")).await.status, 404);
}

#[tokio::test]
async fn collections_refuse_more_than_200_records() {
    let api = Api::start().await;
    let names: Vec<String> = (0..201).map(|i| format!("N{i}")).collect();
    let names: Vec<Option<&str>> = names.iter().map(|s| Some(s.as_str())).collect();
    let r = api
        .send(
            "POST",
            "/composite/sobjects",
            Some(&json!({"records": accounts(&names)})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body[0]["errorCode"], "EXCEEDED_ID_LIMIT");
    let ids: Vec<String> = (0..201).map(|_| "001000000000000AAA".to_string()).collect();
    let r = api
        .send(
            "DELETE",
            &format!("/composite/sobjects?ids={}", ids.join(",")),
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(api.count("Account").await, 0);
}

#[tokio::test]
async fn collections_with_injected_record_faults() {
    let api = Api::start().await;
    let f = api
        .control(
            "PUT",
            "/__sfemu/faults",
            Some(&json!({"recordErrorRate":{"UNABLE_TO_LOCK_ROW":0.2},"seed":7})),
        )
        .await;
    assert_eq!(f.status, 204, "{}", f.body);
    let names: Vec<String> = (0..200).map(|i| format!("F{i}")).collect();
    let names: Vec<Option<&str>> = names.iter().map(|s| Some(s.as_str())).collect();

    let r = api
        .send(
            "POST",
            "/composite/sobjects",
            Some(&json!({"allOrNone": false, "records": accounts(&names)})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let res = r.body.as_array().unwrap();
    let ok = res.iter().filter(|x| x["success"] == true).count();
    let locked = res
        .iter()
        .filter(|x| x["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW")
        .count();
    assert_eq!(ok + locked, 200, "{}", r.body);
    assert!(locked > 0 && ok > 0, "ok {ok} locked {locked}");
    assert_eq!(api.count("Account").await as usize, ok);

    let r = api
        .send(
            "POST",
            "/composite/sobjects",
            Some(&json!({"allOrNone": true, "records": accounts(&names)})),
        )
        .await;
    let res = r.body.as_array().unwrap();
    assert!(res.iter().all(|x| x["success"] == false));
    let locked = res
        .iter()
        .filter(|x| x["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW")
        .count();
    let rolled = res
        .iter()
        .filter(|x| x["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK")
        .count();
    assert!(locked > 0);
    assert_eq!(locked + rolled, 200);
    assert_eq!(api.count("Account").await as usize, ok);
    assert_eq!(
        api.control("DELETE", "/__sfemu/faults", None).await.status,
        204
    );
}

/// 5,000 rows created with 25 collection calls, read back page by page through nextRecordsUrl.
#[tokio::test]
async fn query_pages_over_5000_rows() {
    let api = Api::start().await;
    for call in 0..25 {
        let names: Vec<String> = (0..200).map(|i| format!("Row {call}-{i}")).collect();
        let names: Vec<Option<&str>> = names.iter().map(|s| Some(s.as_str())).collect();
        let r = api
            .send(
                "POST",
                "/composite/sobjects",
                Some(&json!({"allOrNone": true, "records": accounts(&names)})),
            )
            .await;
        assert_eq!(r.status, 200);
        assert!(
            r.body
                .as_array()
                .unwrap()
                .iter()
                .all(|x| x["success"] == true)
        );
    }
    for (batch, pages) in [(None, 3), (Some("batchSize=1000"), 5)] {
        let headers: Vec<(&str, &str)> =
            batch.iter().map(|b| ("Sforce-Query-Options", *b)).collect();
        let mut r = api
            .send_with(
                "GET",
                &format!("/query/?q={}", enc("SELECT Id, Name FROM Account")),
                None,
                &headers,
            )
            .await;
        let mut seen = std::collections::HashSet::new();
        let mut n = 0;
        loop {
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.body["totalSize"], 5000);
            n += 1;
            for rec in r.body["records"].as_array().unwrap() {
                assert!(seen.insert(rec["Id"].as_str().unwrap().to_string()));
            }
            if r.body["done"] == true {
                assert!(r.body.get("nextRecordsUrl").is_none());
                break;
            }
            let next = r.body["nextRecordsUrl"].as_str().unwrap().to_string();
            assert!(next.starts_with("/services/data/v62.0/query/"), "{next}");
            r = api.send_with("GET", &next, None, &headers).await;
        }
        assert_eq!(seen.len(), 5000);
        assert_eq!(n, pages, "{batch:?}");
    }
    let all = api
        .get(&format!("/queryAll?q={}", enc("SELECT Id FROM Account")))
        .await;
    assert!(
        all.body["nextRecordsUrl"]
            .as_str()
            .unwrap()
            .starts_with("/services/data/v62.0/queryAll/")
    );
    let more = api.get(all.body["nextRecordsUrl"].as_str().unwrap()).await;
    assert_eq!(more.status, 200);
}

#[tokio::test]
async fn query_all_sees_deleted_rows_and_query_errors_are_shaped() {
    let api = Api::start().await;
    let id = api.create("Account", json!({"Name":"Doomed"})).await;
    assert_eq!(
        api.send("DELETE", &format!("/sobjects/Account/{id}"), None)
            .await
            .status,
        204
    );
    let soql = format!("SELECT Id, IsDeleted FROM Account WHERE Id = '{id}'");
    let q = api.query(&soql).await;
    assert_eq!(q.body["totalSize"], 0);
    assert_eq!(q.body["done"], true);
    let all = api.get(&format!("/queryAll/?q={}", enc(&soql))).await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(all.body["totalSize"], 1);
    assert_eq!(all.body["records"][0]["IsDeleted"], true);
    assert_eq!(all.body["records"][0]["attributes"]["type"], "Account");

    for path in ["/query", "/query/?q=", "/queryAll"] {
        let r = api.get(path).await;
        assert_eq!(r.status, 400, "{path}");
        assert_eq!(r.body[0]["errorCode"], "MALFORMED_QUERY", "{path}");
    }
    let bad = api.query("SELECT Nope__c FROM Account").await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body[0]["errorCode"], "INVALID_FIELD");
    let locator = api.get("/query/01gXXXXXXXXXXXXXXX-2000").await;
    assert_eq!(locator.status, 400, "{}", locator.body);
}

#[tokio::test]
async fn sosl_search_by_name_and_email() {
    let api = Api::start().await;
    let acme = api.create("Account", json!({"Name":"Acme Widgets"})).await;
    api.create("Account", json!({"Name":"Globex"})).await;
    let jane = api
        .create(
            "Contact",
            json!({"LastName":"Doe","Email":"jane@acme.example"}),
        )
        .await;
    let q = "FIND {acme} RETURNING Account(Id, Name ORDER BY Name), Contact(Id, Email)";
    let r = api.get(&format!("/search?q={}", enc(q))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let recs = r.body["searchRecords"].as_array().unwrap();
    let ids: Vec<&str> = recs.iter().map(|x| x["Id"].as_str().unwrap()).collect();
    assert_eq!(ids, [acme.as_str(), jane.as_str()]);
    assert_eq!(recs[0]["attributes"]["type"], "Account");
    assert_eq!(recs[0]["Name"], "Acme Widgets");

    let email_only = api
        .get(&format!(
            "/search?q={}",
            enc("FIND {acme} IN EMAIL FIELDS RETURNING Account, Contact")
        ))
        .await;
    let ids: Vec<&str> = email_only.body["searchRecords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["Id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [jane.as_str()]);

    let bad = api.get(&format!("/search?q={}", enc("FIND acme"))).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body[0]["errorCode"], "MALFORMED_SEARCH");
}
