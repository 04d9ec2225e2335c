//! The SOAP shapes of Outbound Messaging (wire facts §11): the `notifications` request
//! Salesforce sends, the `notificationsResponse` Ack it waits for, and a SOAP fault for refusals.
//!
//! Parsing is deliberately narrow and safe: quick-xml never fetches or expands external
//! entities; a `<!DOCTYPE` (the only way to declare entities) is refused outright; any entity
//! reference other than XML's five predefined ones and character references is an error; the
//! body size is capped by the caller before parsing.

use quick_xml::escape::{escape, resolve_xml_entity};
use quick_xml::events::Event;

/// At most this many `Notification` elements per message (the WSDL's maxOccurs).
pub const MAX_NOTIFICATIONS: usize = 100;

/// One parsed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `OrganizationId` as sent (15 or 18 characters).
    pub organization_id: String,
    /// `ActionId` (the outbound message definition), when present.
    pub action_id: Option<String>,
    /// The notifications in document order.
    pub notifications: Vec<Notification>,
}

/// One `Notification`: which record of which object changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// `Notification/Id` (04l…), for logs.
    pub id: String,
    /// The sObject type from `sObject/@xsi:type` (`sf:Account` → `Account`).
    pub object: String,
    /// `sObject/sf:Id`.
    pub record_id: String,
}

/// Why a body is not an acceptable notifications message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SoapError {
    /// A document type declaration: refused, whatever it declares.
    #[error("DOCTYPE declarations are not accepted")]
    Doctype,
    /// An entity reference other than the predefined ones.
    #[error("entity reference &{0}; is not accepted (only XML's predefined entities)")]
    Entity(String),
    /// Not well-formed XML.
    #[error("the body is not well-formed XML: {0}")]
    Xml(String),
    /// A required element is absent.
    #[error("{0} is missing")]
    Missing(&'static str),
    /// A value has the wrong shape.
    #[error("{0}")]
    Invalid(String),
}

#[derive(Default)]
struct Partial {
    id: String,
    object: Option<String>,
    record_id: String,
}

/// Parse a `notifications` message.
pub fn parse(body: &[u8]) -> Result<Message, SoapError> {
    let mut reader = quick_xml::Reader::from_reader(body);
    reader.config_mut().expand_empty_elements = true;
    let mut stack: Vec<Vec<u8>> = Vec::new();
    let mut text = String::new();
    let mut org = None;
    let mut action = None;
    let mut seen_notifications = false;
    let mut notes = Vec::new();
    let mut current: Option<Partial> = None;
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| SoapError::Xml(e.to_string()))?;
        match ev {
            Event::DocType(_) => return Err(SoapError::Doctype),
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_vec();
                text.clear();
                match (parent(&stack), name.as_slice()) {
                    (_, b"notifications") => seen_notifications = true,
                    (Some(b"notifications"), b"Notification") => {
                        if notes.len() >= MAX_NOTIFICATIONS {
                            return Err(SoapError::Invalid(format!(
                                "more than {MAX_NOTIFICATIONS} Notification elements"
                            )));
                        }
                        current = Some(Partial::default());
                    }
                    (Some(b"Notification"), b"sObject") => {
                        let ty = e
                            .attributes()
                            .flatten()
                            .find(|a| a.key.local_name().as_ref() == b"type")
                            .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
                            .ok_or(SoapError::Missing("sObject/@xsi:type"))?;
                        let object = ty.rsplit(':').next().unwrap_or_default().to_string();
                        if !is_api_name(&object) {
                            return Err(SoapError::Invalid(format!(
                                "sObject type `{ty}` is not an sObject name"
                            )));
                        }
                        if let Some(c) = current.as_mut() {
                            c.object = Some(object);
                        }
                    }
                    _ => {}
                }
                stack.push(name);
            }
            Event::End(_) => {
                let name = stack.pop().unwrap_or_default();
                let value = std::mem::take(&mut text).trim().to_string();
                match (parent(&stack), name.as_slice()) {
                    (Some(b"notifications"), b"OrganizationId") => org = Some(value),
                    (Some(b"notifications"), b"ActionId") => action = Some(value),
                    (Some(b"Notification"), b"Id") => {
                        if let Some(c) = current.as_mut() {
                            c.id = value;
                        }
                    }
                    (Some(b"sObject"), b"Id") => {
                        if let Some(c) = current.as_mut() {
                            c.record_id = value;
                        }
                    }
                    (Some(b"notifications"), b"Notification") => {
                        let c = current.take().unwrap_or_default();
                        notes.push(finish(c)?);
                    }
                    _ => {}
                }
            }
            Event::Text(t) => text.push_str(&t.xml_content().map_err(xml_err)?),
            Event::CData(t) => text.push_str(&t.decode().map_err(xml_err)?),
            Event::GeneralRef(r) => {
                if r.is_char_ref() {
                    let c = r
                        .resolve_char_ref()
                        .map_err(|e| SoapError::Xml(e.to_string()))?
                        .ok_or_else(|| SoapError::Xml("empty character reference".into()))?;
                    text.push(c);
                } else {
                    let name = r.decode().map_err(xml_err)?;
                    let v = resolve_xml_entity(&name)
                        .ok_or_else(|| SoapError::Entity(name.to_string()))?;
                    text.push_str(v);
                }
            }
            Event::Eof => break,
            Event::Empty(_) | Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
    if !seen_notifications {
        return Err(SoapError::Missing("notifications"));
    }
    let organization_id = org.ok_or(SoapError::Missing("OrganizationId"))?;
    if notes.is_empty() {
        return Err(SoapError::Missing("Notification"));
    }
    Ok(Message {
        organization_id,
        action_id: action,
        notifications: notes,
    })
}

fn xml_err(e: impl std::fmt::Display) -> SoapError {
    SoapError::Xml(e.to_string())
}

fn parent(stack: &[Vec<u8>]) -> Option<&[u8]> {
    stack.last().map(Vec::as_slice)
}

fn finish(c: Partial) -> Result<Notification, SoapError> {
    let object = c.object.ok_or(SoapError::Missing("Notification/sObject"))?;
    if c.record_id.is_empty() {
        return Err(SoapError::Missing("Notification/sObject/sf:Id"));
    }
    if orgsync_core::model::to_id18(&c.record_id).is_err() {
        return Err(SoapError::Invalid(format!(
            "sf:Id `{}` is not a Salesforce id",
            c.record_id
        )));
    }
    Ok(Notification {
        id: c.id,
        object,
        record_id: c.record_id,
    })
}

fn is_api_name(s: &str) -> bool {
    s.len() <= 80
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The acknowledgement Salesforce waits for (HTTP 200, text/xml).
pub fn ack() -> &'static str {
    concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?>"#,
        r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>"#,
        r#"<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>"#,
        r#"</soapenv:Body></soapenv:Envelope>"#
    )
}

/// A SOAP 1.1 fault; `code` is `Client` (do not retry as is) or `Server` (retry later).
pub fn fault(code: &str, message: &str) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>"#,
            r#"<soapenv:Fault><faultcode>soapenv:{}</faultcode><faultstring>{}</faultstring></soapenv:Fault>"#,
            r#"</soapenv:Body></soapenv:Envelope>"#
        ),
        escape(code),
        escape(message)
    )
}
