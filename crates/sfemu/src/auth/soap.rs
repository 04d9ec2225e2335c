//! SOAP partner `login()`: reading the request envelope and writing the response or fault.
//!
//! The reader is quick-xml's pull parser: no DTD processing, no entity expansion beyond XML's
//! five predefined entities and character references (a DOCTYPE is refused outright), and the
//! caller caps the body size. The writer emits `result`'s children in exactly the partner WSDL's
//! sequence, because some clients read them by position.

use quick_xml::Reader;
use quick_xml::escape::{escape, resolve_predefined_entity};
use quick_xml::events::Event;

/// Largest SOAP request we read.
pub const MAX_SOAP_BODY: usize = 256 * 1024;

/// Why an envelope could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SoapError {
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error("DOCTYPE is not allowed")]
    Doctype,
    #[error("the request is not a login call")]
    NotLogin,
    #[error("login without {0}")]
    Missing(&'static str),
}

/// `username` and `password` of a `login` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// Reads a `login` envelope. The operation is found by local name (any namespace prefix).
pub fn parse_login(xml: &str) -> Result<LoginRequest, SoapError> {
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut saw_login = false;
    let mut username = None;
    let mut password = None;
    let mut text = String::new();
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| SoapError::Malformed(e.to_string()))?;
        match ev {
            Event::DocType(_) => return Err(SoapError::Doctype),
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if name == "login" {
                    saw_login = true;
                }
                path.push(name);
                text.clear();
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let in_login = path.last().map(String::as_str) == Some("login");
                match name.as_str() {
                    "login" => saw_login = true,
                    "username" if in_login => username = Some(String::new()),
                    "password" if in_login => password = Some(String::new()),
                    _ => {}
                }
            }
            Event::Text(t) => {
                text.push_str(
                    &t.decode()
                        .map_err(|e| SoapError::Malformed(e.to_string()))?,
                );
            }
            Event::CData(c) => {
                text.push_str(
                    &c.decode()
                        .map_err(|e| SoapError::Malformed(e.to_string()))?,
                );
            }
            Event::GeneralRef(r) => {
                if let Some(ch) = r
                    .resolve_char_ref()
                    .map_err(|e| SoapError::Malformed(e.to_string()))?
                {
                    text.push(ch);
                } else {
                    let name = r
                        .decode()
                        .map_err(|e| SoapError::Malformed(e.to_string()))?;
                    let value = resolve_predefined_entity(&name)
                        .ok_or_else(|| SoapError::Malformed(format!("unknown entity &{name};")))?;
                    text.push_str(value);
                }
            }
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                let parent = path.last().map(String::as_str);
                if parent == Some("login") {
                    match name.as_str() {
                        "username" => username = Some(std::mem::take(&mut text)),
                        "password" => password = Some(std::mem::take(&mut text)),
                        _ => {}
                    }
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_login {
        return Err(SoapError::NotLogin);
    }
    Ok(LoginRequest {
        username: username
            .ok_or(SoapError::Missing("username"))?
            .trim()
            .to_string(),
        password: password.ok_or(SoapError::Missing("password"))?,
    })
}

/// Everything the login response reports.
#[derive(Debug, Clone)]
pub struct LoginResult {
    /// `https://host:port` of the org.
    pub base_url: String,
    /// API version from the request path (`62.0`).
    pub version: String,
    pub org_id: String,
    pub org_name: String,
    pub session_id: String,
    pub session_seconds_valid: u64,
    pub user_id: String,
    pub username: String,
    pub user_full_name: String,
    pub user_email: String,
    pub profile_id: String,
}

fn el(out: &mut String, name: &str, value: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    out.push_str(&escape(value));
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn nil(out: &mut String, name: &str) {
    out.push('<');
    out.push_str(name);
    out.push_str(" xsi:nil=\"true\"/>");
}

/// The `loginResponse` envelope; children in the partner WSDL's order.
pub fn render_login_response(r: &LoginResult) -> String {
    let org15: String = r.org_id.chars().take(15).collect();
    let mut o = String::with_capacity(2048);
    o.push_str(r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><loginResponse><result>"#);
    el(
        &mut o,
        "metadataServerUrl",
        &format!("{}/services/Soap/m/{}/{}", r.base_url, r.version, org15),
    );
    el(&mut o, "passwordExpired", "false");
    el(&mut o, "sandbox", "false");
    el(
        &mut o,
        "serverUrl",
        &format!("{}/services/Soap/u/{}/{}", r.base_url, r.version, org15),
    );
    el(&mut o, "sessionId", &r.session_id);
    el(&mut o, "userId", &r.user_id);
    o.push_str("<userInfo>");
    el(&mut o, "accessibilityMode", "false");
    el(&mut o, "chatterExternal", "false");
    el(&mut o, "currencySymbol", "$");
    el(&mut o, "orgAttachmentFileSizeLimit", "5242880");
    el(&mut o, "orgDefaultCurrencyIsoCode", "USD");
    el(&mut o, "orgDefaultCurrencyLocale", "en_US");
    el(&mut o, "orgDisallowHtmlAttachments", "false");
    el(&mut o, "orgHasPersonAccounts", "false");
    el(&mut o, "organizationId", &r.org_id);
    el(&mut o, "organizationMultiCurrency", "false");
    el(&mut o, "organizationName", &r.org_name);
    el(&mut o, "profileId", &r.profile_id);
    nil(&mut o, "roleId");
    el(
        &mut o,
        "sessionSecondsValid",
        &r.session_seconds_valid.to_string(),
    );
    el(&mut o, "userDefaultCurrencyIsoCode", "USD");
    el(&mut o, "userEmail", &r.user_email);
    el(&mut o, "userFullName", &r.user_full_name);
    el(&mut o, "userId", &r.user_id);
    el(&mut o, "userLanguage", "en_US");
    el(&mut o, "userLocale", "en_US");
    el(&mut o, "userName", &r.username);
    el(&mut o, "userTimeZone", "America/Los_Angeles");
    el(&mut o, "userType", "Standard");
    el(&mut o, "userUiSkin", "Theme3");
    o.push_str("</userInfo></result></loginResponse></soapenv:Body></soapenv:Envelope>");
    o
}

/// A SOAP fault (`sf:INVALID_LOGIN`, `sf:UNKNOWN_EXCEPTION`…) with a `detail` naming the fault
/// type (`LoginFault`, `UnexpectedErrorFault`).
pub fn render_fault(code: &str, message: &str, fault_type: &str) -> String {
    let mut o = String::with_capacity(1024);
    o.push_str(r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>"#);
    el(&mut o, "faultcode", &format!("sf:{code}"));
    el(&mut o, "faultstring", &format!("{code}: {message}"));
    o.push_str(&format!(
        "<detail><sf:{fault_type} xsi:type=\"sf:{fault_type}\">"
    ));
    el(&mut o, "sf:exceptionCode", code);
    el(&mut o, "sf:exceptionMessage", message);
    o.push_str(&format!(
        "</sf:{fault_type}></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    ));
    o
}

/// The message of `INVALID_LOGIN`.
pub const INVALID_LOGIN_MESSAGE: &str =
    "Invalid username, password, security token; or user locked out.";

#[cfg(test)]
mod tests {
    use super::*;

    const REQ: &str = r#"<?xml version="1.0" encoding="utf-8" ?>
<env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com">
  <env:Header><urn:CallOptions><urn:client>x</urn:client></urn:CallOptions></env:Header>
  <env:Body><n1:login xmlns:n1="urn:partner.soap.sforce.com">
    <n1:username>admin@sfemu.test</n1:username>
    <n1:password><![CDATA[s<f&emu]]>&amp;&#65;</n1:password>
  </n1:login></env:Body></env:Envelope>"#;

    #[test]
    fn reads_prefixed_cdata_and_entities() {
        let r = parse_login(REQ).unwrap();
        assert_eq!(r.username, "admin@sfemu.test");
        assert_eq!(r.password, "s<f&emu&A");
    }

    #[test]
    fn refuses_doctype_and_other_calls() {
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><login><username>&a;</username></login>"#;
        assert_eq!(parse_login(bomb), Err(SoapError::Doctype));
        assert_eq!(
            parse_login("<Envelope><Body><logout/></Body></Envelope>"),
            Err(SoapError::NotLogin)
        );
        assert_eq!(
            parse_login("<login><username>a</username></login>"),
            Err(SoapError::Missing("password"))
        );
        assert!(matches!(
            parse_login("<login><username>a</login>"),
            Err(SoapError::Malformed(_))
        ));
    }

    #[test]
    fn fault_names_code_and_message() {
        let f = render_fault("INVALID_LOGIN", INVALID_LOGIN_MESSAGE, "LoginFault");
        assert!(f.contains("<faultcode>sf:INVALID_LOGIN</faultcode>"));
        assert!(f.contains("<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>"));
        assert!(f.contains("<sf:LoginFault"));
    }
}
