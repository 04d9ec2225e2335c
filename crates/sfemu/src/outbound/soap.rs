//! The SOAP shapes of Outbound Messaging: the `notifications` envelope the org sends and the
//! `notificationsResponse` acknowledgement it expects back.

use quick_xml::escape::escape;
use quick_xml::events::Event;
use serde_json::{Map, Value};

/// Namespace of the notification elements.
pub const NS: &str = "http://soap.sforce.com/2005/09/outbound";

/// One `<Notification>`: its id (04l…) and the record's current field values.
#[derive(Debug, Clone)]
pub struct Note {
    pub id: String,
    pub record_id: String,
    /// Selected fields (name, value) in rule order; nulls are left out.
    pub fields: Vec<(String, Value)>,
}

/// The message header.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    pub org_id: &'a str,
    pub action_id: &'a str,
    pub session_id: Option<&'a str>,
    pub enterprise_url: &'a str,
    pub partner_url: &'a str,
    pub object: &'a str,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The SOAP request body (at most 100 notifications: the caller batches).
pub fn envelope(e: &Envelope<'_>, notes: &[Note]) -> String {
    let mut x = String::with_capacity(512 + notes.len() * 256);
    x.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    x.push_str(r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#);
    x.push_str("<soapenv:Body>");
    x.push_str(&format!(r#"<notifications xmlns="{NS}">"#));
    x.push_str(&format!(
        "<OrganizationId>{}</OrganizationId>",
        escape(e.org_id)
    ));
    x.push_str(&format!("<ActionId>{}</ActionId>", escape(e.action_id)));
    match e.session_id {
        Some(s) => x.push_str(&format!("<SessionId>{}</SessionId>", escape(s))),
        None => x.push_str(r#"<SessionId xsi:nil="true"/>"#),
    }
    x.push_str(&format!(
        "<EnterpriseUrl>{}</EnterpriseUrl>",
        escape(e.enterprise_url)
    ));
    x.push_str(&format!(
        "<PartnerUrl>{}</PartnerUrl>",
        escape(e.partner_url)
    ));
    for n in notes {
        x.push_str("<Notification>");
        x.push_str(&format!("<Id>{}</Id>", escape(&n.id)));
        x.push_str(&format!(
            r#"<sObject xsi:type="sf:{}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">"#,
            escape(e.object)
        ));
        x.push_str(&format!("<sf:Id>{}</sf:Id>", escape(&n.record_id)));
        for (k, v) in &n.fields {
            if k == "Id" || v.is_null() {
                continue;
            }
            x.push_str(&format!("<sf:{k}>{}</sf:{k}>", escape(text(v))));
        }
        x.push_str("</sObject></Notification>");
    }
    x.push_str("</notifications></soapenv:Body></soapenv:Envelope>");
    x
}

/// True when `body` is a `notificationsResponse` whose `Ack` is `true`. Anything else (another
/// element, `false`, malformed XML, a DTD) is a failed delivery.
pub fn is_ack(body: &[u8]) -> bool {
    let mut r = quick_xml::Reader::from_reader(body);
    let mut in_response = false;
    let mut in_ack = false;
    let mut buf = Vec::new();
    loop {
        match r.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => match e.local_name().as_ref() {
                b"notificationsResponse" => in_response = true,
                b"Ack" => in_ack = in_response,
                _ => {}
            },
            Ok(Event::Text(t)) if in_ack => {
                return t
                    .decode()
                    .map(|s| s.trim().eq_ignore_ascii_case("true"))
                    .unwrap_or(false);
            }
            Ok(Event::End(e)) if e.local_name().as_ref() == b"Ack" => in_ack = false,
            Ok(Event::DocType(_)) | Err(_) | Ok(Event::Eof) => return false,
            _ => {}
        }
        buf.clear();
    }
}

/// The fields of a retrieved record (`attributes` dropped), in `wanted` order.
pub fn pick(record: &Map<String, Value>, wanted: &[String]) -> Vec<(String, Value)> {
    wanted
        .iter()
        .filter_map(|w| {
            record
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(w))
                .map(|(k, v)| (k.clone(), v.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_must_be_true_inside_notifications_response() {
        let ok = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"#;
        assert!(is_ack(ok.as_bytes()));
        assert!(!is_ack(ok.replace(">true<", ">false<").as_bytes()));
        assert!(!is_ack(b"<Ack>true</Ack>"));
        assert!(!is_ack(b"not xml <<<"));
        assert!(!is_ack(b""));
    }

    #[test]
    fn envelope_escapes_values_and_nils_the_session() {
        let e = Envelope {
            org_id: "00D",
            action_id: "04k",
            session_id: None,
            enterprise_url: "e",
            partner_url: "p",
            object: "Account",
        };
        let n = Note {
            id: "04l".into(),
            record_id: "001".into(),
            fields: vec![("Name".into(), Value::String("A & <B>".into()))],
        };
        let x = envelope(&e, &[n]);
        assert!(x.contains(r#"<SessionId xsi:nil="true"/>"#));
        assert!(x.contains("<sf:Name>A &amp; &lt;B&gt;</sf:Name>"));
    }
}
