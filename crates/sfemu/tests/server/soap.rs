//! SOAP partner login(): result order and faults.

use super::*;

fn soap_login(username: &str, password: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8" ?><env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com"><env:Body><n1:login xmlns:n1="urn:partner.soap.sforce.com"><n1:username>{username}</n1:username><n1:password><![CDATA[{password}]]></n1:password></n1:login></env:Body></env:Envelope>"#
    )
}

/// Local names of the child elements of the first element named `parent`, in order.
fn children(xml: &str, parent: &str) -> Vec<String> {
    let mut r = quick_xml::Reader::from_str(xml);
    let mut depth_in: Option<usize> = None;
    let mut depth = 0;
    let mut out = Vec::new();
    loop {
        match r.read_event().unwrap() {
            quick_xml::events::Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                depth += 1;
                if depth_in == Some(depth - 1) {
                    out.push(name.clone());
                }
                if depth_in.is_none() && name == parent {
                    depth_in = Some(depth);
                }
            }
            quick_xml::events::Event::Empty(e) if depth_in == Some(depth) => {
                out.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
            }
            quick_xml::events::Event::End(_) => {
                if depth_in == Some(depth) {
                    return out;
                }
                depth -= 1;
            }
            quick_xml::events::Event::Eof => return out,
            _ => {}
        }
    }
}

fn element_text<'a>(xml: &'a str, name: &str) -> &'a str {
    let start = xml.find(&format!("<{name}>")).unwrap() + name.len() + 2;
    let end = start + xml[start..].find('<').unwrap();
    &xml[start..end]
}

#[tokio::test]
async fn soap_login_result_in_wsdl_order_and_fault() {
    let t = common::start().await;
    let r = t
        .http
        .post(t.url("/services/Soap/u/62.0"))
        .header("Content-Type", "text/xml; charset=UTF-8")
        .header("SOAPAction", "login")
        .body(soap_login(USERNAME, PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/xml")
    );
    let xml = r.text().await.unwrap();
    assert_eq!(
        children(&xml, "result"),
        [
            "metadataServerUrl",
            "passwordExpired",
            "sandbox",
            "serverUrl",
            "sessionId",
            "userId",
            "userInfo"
        ]
    );
    let info = children(&xml, "userInfo");
    assert_eq!(info.len(), 24);
    assert_eq!(info[8], "organizationId");
    assert_eq!(
        info,
        [
            "accessibilityMode",
            "chatterExternal",
            "currencySymbol",
            "orgAttachmentFileSizeLimit",
            "orgDefaultCurrencyIsoCode",
            "orgDefaultCurrencyLocale",
            "orgDisallowHtmlAttachments",
            "orgHasPersonAccounts",
            "organizationId",
            "organizationMultiCurrency",
            "organizationName",
            "profileId",
            "roleId",
            "sessionSecondsValid",
            "userDefaultCurrencyIsoCode",
            "userEmail",
            "userFullName",
            "userId",
            "userLanguage",
            "userLocale",
            "userName",
            "userTimeZone",
            "userType",
            "userUiSkin"
        ]
    );
    let org_id = &t.org().org_id;
    assert_eq!(element_text(&xml, "organizationId"), org_id);
    assert_eq!(
        element_text(&xml, "serverUrl"),
        format!("{}/services/Soap/u/62.0/{}", t.base, &org_id[..15])
    );
    let session = element_text(&xml, "sessionId").to_string();
    assert_eq!(
        t.http
            .get(t.data("/limits"))
            .bearer_auth(&session)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // The org-specific endpoint works too; bad password → 500 fault with LoginFault detail.
    let r = t
        .http
        .post(t.url(&format!("/services/Soap/u/62.0/{}", &org_id[..15])))
        .header("Content-Type", "text/xml")
        .body(soap_login(USERNAME, "wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    let xml = r.text().await.unwrap();
    assert_eq!(element_text(&xml, "faultcode"), "sf:INVALID_LOGIN");
    assert_eq!(element_text(&xml, "sf:exceptionCode"), "INVALID_LOGIN");
    assert_eq!(
        element_text(&xml, "sf:exceptionMessage"),
        "Invalid username, password, security token; or user locked out."
    );
    assert_eq!(children(&xml, "detail"), ["LoginFault"]);

    // Not XML → a fault, never HTML.
    let r = t
        .http
        .post(t.url("/services/Soap/u/62.0"))
        .body("<oops")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    assert!(r.text().await.unwrap().contains("<soapenv:Fault>"));
    t.shutdown().await;
}
