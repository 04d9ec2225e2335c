//! Reading a SOAP 1.1 request envelope: the operation (the first element of `Body`), the
//! values of the header blocks (`SessionHeader/sessionId`, `CallOptions/client`,
//! `AllOrNoneHeader/allOrNone`) and the operation's child elements in order.
//!
//! The reader is quick-xml's pull parser: no DTD processing, no entity expansion beyond XML's
//! five predefined entities and character references (a DOCTYPE is refused outright), and the
//! caller caps the body size. Names are matched by local name, whatever the prefix. A bare
//! operation element without an envelope is accepted too.

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};

/// Why an envelope could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SoapError {
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error("DOCTYPE is not allowed")]
    Doctype,
    #[error("the request names no operation")]
    NoOperation,
}

/// A request envelope, reduced to what the emulated calls read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// Local name of the operation element (`login`, `undelete`).
    pub operation: String,
    /// `(header block, field, text)`, e.g. `("SessionHeader", "sessionId", "00D…")`.
    pub headers: Vec<(String, String, String)>,
    /// The operation's child elements in order: `(local name, text)`.
    pub args: Vec<(String, String)>,
}

impl Envelope {
    /// The text of a header block's field.
    pub fn header(&self, block: &str, field: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(b, f, _)| b == block && f == field)
            .map(|(_, _, v)| v.as_str())
    }

    /// The text of the first argument named `name`.
    pub fn arg(&self, name: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The texts of every argument named `name`, in order.
    pub fn args<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.args
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Where an element sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    HeaderField,
    Arg,
    Other,
}

fn local(e: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(e.local_name().as_ref()).into_owned()
}

fn malformed(e: impl std::fmt::Display) -> SoapError {
    SoapError::Malformed(e.to_string())
}

/// Reads an envelope.
pub fn parse(xml: &str) -> Result<Envelope, SoapError> {
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut env = Envelope::default();
    let mut op_depth: Option<usize> = None;
    let mut text = String::new();
    loop {
        match reader.read_event().map_err(malformed)? {
            Event::DocType(_) => return Err(SoapError::Doctype),
            Event::Start(e) => {
                let name = local(&e);
                open(&mut env, &path, &name, &mut op_depth);
                path.push(name);
                text.clear();
            }
            Event::Empty(e) => {
                let name = local(&e);
                open(&mut env, &path, &name, &mut op_depth);
                path.push(name);
                close(&mut env, &path, op_depth, String::new());
                path.pop();
            }
            Event::Text(t) => text.push_str(&t.decode().map_err(malformed)?),
            Event::CData(c) => text.push_str(&c.decode().map_err(malformed)?),
            Event::GeneralRef(r) => match r.resolve_char_ref().map_err(malformed)? {
                Some(ch) => text.push(ch),
                None => {
                    let name = r.decode().map_err(malformed)?;
                    let value = resolve_predefined_entity(&name)
                        .ok_or_else(|| malformed(format!("unknown entity &{name};")))?;
                    text.push_str(value);
                }
            },
            Event::End(_) => {
                close(&mut env, &path, op_depth, std::mem::take(&mut text));
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if env.operation.is_empty() {
        return Err(SoapError::NoOperation);
    }
    Ok(env)
}

/// The role of an element whose ancestors are `path` (the element itself last).
fn role(path: &[String], op_depth: Option<usize>) -> Role {
    let in_envelope = path.first().is_some_and(|r| r == "Envelope");
    match path.len() {
        4 if in_envelope && path[1] == "Header" => Role::HeaderField,
        n if op_depth.is_some_and(|d| n == d + 2) => Role::Arg,
        _ => Role::Other,
    }
}

/// Notes the operation when `name` is the first element of `Body` (or a bare root).
fn open(env: &mut Envelope, path: &[String], name: &str, op_depth: &mut Option<usize>) {
    if op_depth.is_some() {
        return;
    }
    let is_op = match path {
        [] => name != "Envelope",
        [root, body] => root == "Envelope" && body == "Body",
        _ => false,
    };
    if is_op {
        env.operation = name.to_string();
        *op_depth = Some(path.len());
    }
}

/// Records the text of a header field or an argument as its element closes (`path` still
/// ends with that element).
fn close(env: &mut Envelope, path: &[String], op_depth: Option<usize>, text: String) {
    let n = path.len();
    match role(path, op_depth) {
        Role::HeaderField => env
            .headers
            .push((path[n - 2].clone(), path[n - 1].clone(), text)),
        Role::Arg => env.args.push((path[n - 1].clone(), text)),
        Role::Other => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOGIN: &str = r#"<?xml version="1.0" encoding="utf-8" ?>
<env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com">
  <env:Header><urn:CallOptions><urn:client>x</urn:client></urn:CallOptions></env:Header>
  <env:Body><n1:login xmlns:n1="urn:partner.soap.sforce.com">
    <n1:username>admin@sfemu.test</n1:username>
    <n1:password><![CDATA[s<f&emu]]>&amp;&#65;</n1:password>
  </n1:login></env:Body></env:Envelope>"#;

    #[test]
    fn reads_prefixed_names_cdata_entities_and_headers() {
        let e = parse(LOGIN).unwrap();
        assert_eq!(e.operation, "login");
        assert_eq!(e.arg("username"), Some("admin@sfemu.test"));
        assert_eq!(e.arg("password"), Some("s<f&emu&A"));
        assert_eq!(e.header("CallOptions", "client"), Some("x"));
        assert_eq!(e.header("SessionHeader", "sessionId"), None);
    }

    #[test]
    fn repeated_arguments_keep_their_order() {
        let xml = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><SessionHeader><sessionId>tok</sessionId></SessionHeader><AllOrNoneHeader><allOrNone>true</allOrNone></AllOrNoneHeader></s:Header><s:Body><undelete><ids>a</ids><ids>b</ids><ids/></undelete></s:Body></s:Envelope>"#;
        let e = parse(xml).unwrap();
        assert_eq!(e.operation, "undelete");
        assert_eq!(e.args("ids").collect::<Vec<_>>(), vec!["a", "b", ""]);
        assert_eq!(e.header("SessionHeader", "sessionId"), Some("tok"));
        assert_eq!(e.header("AllOrNoneHeader", "allOrNone"), Some("true"));
    }

    #[test]
    fn refuses_doctype_garbage_and_empty_bodies() {
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><login><username>&a;</username></login>"#;
        assert_eq!(parse(bomb), Err(SoapError::Doctype));
        assert!(matches!(
            parse("<login><username>a</login>"),
            Err(SoapError::Malformed(_))
        ));
        assert!(matches!(
            parse("<login><username>&bogus;</username></login>"),
            Err(SoapError::Malformed(_))
        ));
        assert_eq!(
            parse("<Envelope><Body></Body></Envelope>"),
            Err(SoapError::NoOperation)
        );
        let bare = parse("<logout/>").unwrap();
        assert_eq!(bare.operation, "logout");
    }
}
