//! Writing SOAP answers: elements with escaped text, `xsi:nil` elements, faults, and the HTTP
//! response around them.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use quick_xml::escape::escape;

/// `<name>value</name>` with the value escaped.
pub fn el(out: &mut String, name: &str, value: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    out.push_str(&escape(value));
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// `<name xsi:nil="true"/>`.
pub fn nil(out: &mut String, name: &str) {
    out.push('<');
    out.push_str(name);
    out.push_str(" xsi:nil=\"true\"/>");
}

/// The opening of a partner-API answer envelope (default namespace `urn:partner.soap.sforce.com`).
pub const ENVELOPE_OPEN: &str = r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#;

/// A SOAP fault (`sf:INVALID_LOGIN`, `sf:INVALID_SESSION_ID`…) with a `detail` naming the fault
/// type (`LoginFault`, `UnexpectedErrorFault`) and carrying `exceptionCode` and
/// `exceptionMessage`, which clients read by name.
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

/// An XML answer.
pub fn response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/xml;charset=UTF-8")],
        body,
    )
        .into_response()
}

/// A fault answer: HTTP 500, as Salesforce answers every SOAP fault.
pub fn fault(code: &str, message: &str, fault_type: &str) -> Response {
    response(
        StatusCode::INTERNAL_SERVER_ERROR,
        render_fault(code, message, fault_type),
    )
}

/// An `UnexpectedErrorFault`, the fault type of every call's general errors.
pub fn unexpected(code: &str, message: &str) -> Response {
    fault(code, message, "UnexpectedErrorFault")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_names_code_and_message() {
        let f = render_fault("INVALID_LOGIN", "Invalid <user>", "LoginFault");
        assert!(f.contains("<faultcode>sf:INVALID_LOGIN</faultcode>"));
        assert!(f.contains("<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>"));
        assert!(f.contains("<sf:exceptionMessage>Invalid &lt;user&gt;</sf:exceptionMessage>"));
        assert!(f.contains("<sf:LoginFault"));
    }
}
