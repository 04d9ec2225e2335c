//! SOAP partner `login()`: username + password without a connected app.

use super::{Authenticator, Token};
use crate::error::SfError;
use crate::secret::Secret;
use quick_xml::Reader;
use quick_xml::escape::{escape, unescape};
use quick_xml::events::Event;

pub(super) async fn login(
    auth: &Authenticator,
    username: &str,
    password: &Secret<String>,
) -> Result<Token, SfError> {
    let body = format!(
        concat!(
            r#"<?xml version="1.0" encoding="utf-8"?>"#,
            r#"<env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:env="http://schemas.xmlsoap.org/soap/envelope/">"#,
            r#"<env:Body><n1:login xmlns:n1="urn:partner.soap.sforce.com"><n1:username>{}</n1:username><n1:password>{}</n1:password></n1:login></env:Body></env:Envelope>"#
        ),
        escape(username),
        escape(password.expose().as_str())
    );
    let url = format!("{}/services/Soap/u/{}", auth.login_url, auth.api_version);
    let resp = auth
        .http
        .post(&url)
        .header("Content-Type", "text/xml; charset=UTF-8")
        .header("SOAPAction", "login")
        .body(body)
        .send()
        .await
        .map_err(|e| SfError::from_reqwest(&auth.org, &e))?;
    let status = resp.status().as_u16();
    let text = resp
        .text()
        .await
        .map_err(|e| SfError::from_reqwest(&auth.org, &e))?;
    let fields = extract(
        &text,
        &[
            "sessionId",
            "serverUrl",
            "exceptionCode",
            "exceptionMessage",
            "faultcode",
            "faultstring",
        ],
    );
    let get = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    if status == 200 {
        let (Some(session), Some(server_url)) = (get("sessionId"), get("serverUrl")) else {
            return Err(SfError::Protocol {
                org: auth.org.clone(),
                status,
                message: "SOAP login response without sessionId/serverUrl".into(),
            });
        };
        let parsed = url::Url::parse(&server_url).map_err(|e| SfError::Protocol {
            org: auth.org.clone(),
            status,
            message: format!("serverUrl {server_url:?}: {e}"),
        })?;
        // The origin drops a user name and password silently: check the URL as sent.
        auth.trusted_instance(&server_url)?;
        let instance_url = auth.trusted_instance(&parsed.origin().ascii_serialization())?;
        return Ok(Token {
            access_token: Secret::new(session),
            instance_url,
            id_url: None,
        });
    }
    let code = get("exceptionCode").or_else(|| get("faultcode"));
    let message = get("exceptionMessage").or_else(|| get("faultstring"));
    match (code, message) {
        (Some(c), Some(m))
            if status < 500 || c.contains("INVALID_LOGIN") || c.contains("LOGIN") =>
        {
            Err(auth.auth_error(c, m))
        }
        _ => Err(SfError::Protocol {
            org: auth.org.clone(),
            status,
            message: text.chars().take(500).collect(),
        }),
    }
}

/// The text of the first element with each local name (namespace prefixes ignored).
fn extract(xml: &str, names: &[&str]) -> Vec<(String, String)> {
    let mut reader = Reader::from_str(xml);
    let mut out: Vec<(String, String)> = Vec::new();
    let mut current: Option<String> = None;
    let mut raw = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                current = names.contains(&local.as_str()).then_some(local);
                raw.clear();
            }
            Ok(Event::Text(t)) if current.is_some() => {
                raw.push_str(&t.decode().unwrap_or_default())
            }
            Ok(Event::GeneralRef(r)) if current.is_some() => {
                raw.push('&');
                raw.push_str(&r.decode().unwrap_or_default());
                raw.push(';');
            }
            Ok(Event::CData(c)) if current.is_some() => {
                raw.push_str(&c.decode().unwrap_or_default())
            }
            Ok(Event::End(_)) => {
                if let Some(name) = current.take()
                    && !out.iter().any(|(n, _)| *n == name)
                {
                    let value = unescape(&raw)
                        .map(|c| c.into_owned())
                        .unwrap_or_else(|_| raw.clone());
                    out.push((name, value));
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::extract;

    #[test]
    fn reads_login_result_and_fault() {
        let ok = r#"<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><loginResponse xmlns="urn:partner.soap.sforce.com"><result><serverUrl>https://127.0.0.1:9/services/Soap/u/62.0/00D</serverUrl><sessionId>00D!AR&amp;x</sessionId></result></loginResponse></soapenv:Body></soapenv:Envelope>"#;
        let f = extract(ok, &["sessionId", "serverUrl"]);
        assert_eq!(
            f,
            vec![
                (
                    "serverUrl".into(),
                    "https://127.0.0.1:9/services/Soap/u/62.0/00D".into()
                ),
                ("sessionId".into(), "00D!AR&x".into())
            ]
        );
        let fault = r#"<soapenv:Envelope xmlns:soapenv="s" xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: Invalid username</faultstring><detail><sf:LoginFault><sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode><sf:exceptionMessage><![CDATA[Invalid username, password]]></sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#;
        let f = extract(fault, &["exceptionCode", "exceptionMessage", "faultcode"]);
        assert_eq!(f[0], ("faultcode".into(), "sf:INVALID_LOGIN".into()));
        assert!(f.contains(&(
            "exceptionMessage".into(),
            "Invalid username, password".into()
        )));
    }
}
