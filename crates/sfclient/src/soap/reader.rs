//! Reading a partner-API answer: the per-record `result`s of a `<call>Response`, the
//! `LimitInfoHeader`'s `API REQUESTS` figures, or a fault.
//!
//! Element names are matched by local name (Salesforce answers with a default namespace; other
//! servers may prefix). A DOCTYPE is refused and only XML's predefined entities and character
//! references are expanded.

use crate::budget::Usage;
use crate::error::ApiError;
use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;

/// One `result` (UndeleteResult, DeleteResult…): `errors` (`fields`, `message`, `statusCode`),
/// `id`, `success`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ResultItem {
    pub id: Option<String>,
    pub success: bool,
    pub errors: Vec<ApiError>,
}

/// What a SOAP answer says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Answer {
    pub results: Vec<ResultItem>,
    /// `LimitInfoHeader` `API REQUESTS`: `current` / `limit`.
    pub api_usage: Option<Usage>,
    /// The fault's exception code (or `faultcode` without its prefix) and message.
    pub fault: Option<ApiError>,
}

#[derive(Default)]
struct LimitInfo {
    current: Option<u64>,
    limit: Option<u64>,
    kind: String,
}

#[derive(Default)]
struct Fault {
    faultcode: Option<String>,
    faultstring: Option<String>,
    code: Option<String>,
    message: Option<String>,
}

/// Reads an answer; the error says why it is not one.
pub(crate) fn read(xml: &str) -> Result<Answer, String> {
    let mut reader = Reader::from_str(xml);
    let mut answer = Answer::default();
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut limit = LimitInfo::default();
    let mut fault = Fault::default();
    let mut saw_fault = false;
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::DocType(_) => return Err("DOCTYPE is not allowed".into()),
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let parent = path.last().map(String::as_str).unwrap_or("");
                match name.as_str() {
                    "result" if parent.ends_with("Response") => {
                        answer.results.push(ResultItem::default());
                    }
                    "errors" if parent == "result" => {
                        if let Some(r) = answer.results.last_mut() {
                            r.errors.push(ApiError::new("", ""));
                        }
                    }
                    "limitInfo" => limit = LimitInfo::default(),
                    "Fault" => saw_fault = true,
                    _ => {}
                }
                path.push(name);
                text.clear();
            }
            Event::Text(t) => text.push_str(&t.decode().map_err(|e| e.to_string())?),
            Event::CData(c) => text.push_str(&c.decode().map_err(|e| e.to_string())?),
            Event::GeneralRef(r) => match r.resolve_char_ref().map_err(|e| e.to_string())? {
                Some(ch) => text.push(ch),
                None => {
                    let name = r.decode().map_err(|e| e.to_string())?;
                    let v = resolve_predefined_entity(&name)
                        .ok_or_else(|| format!("unknown entity &{name};"))?;
                    text.push_str(v);
                }
            },
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                let parent = path.last().map(String::as_str).unwrap_or("");
                let value = std::mem::take(&mut text);
                close(&mut answer, &mut limit, &mut fault, parent, &name, value);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if saw_fault {
        let code = fault
            .code
            .or_else(|| {
                fault
                    .faultcode
                    .map(|c| c.rsplit(':').next().unwrap_or_default().to_string())
            })
            .unwrap_or_default();
        let message = fault.message.or(fault.faultstring).unwrap_or_default();
        answer.fault = Some(ApiError::new(code, message));
    }
    Ok(answer)
}

/// The error being read (the last one of the last result).
fn error(a: &mut Answer) -> Option<&mut ApiError> {
    a.results.last_mut().and_then(|r| r.errors.last_mut())
}

/// Records the text of the element `name` (child of `parent`) as it closes.
fn close(
    answer: &mut Answer,
    limit: &mut LimitInfo,
    fault: &mut Fault,
    parent: &str,
    name: &str,
    value: String,
) {
    match (parent, name) {
        ("errors", "fields") => {
            if let Some(e) = error(answer) {
                e.fields.push(value);
            }
        }
        ("errors", "message") => {
            if let Some(e) = error(answer) {
                e.message = value;
            }
        }
        ("errors", "statusCode") => {
            if let Some(e) = error(answer) {
                e.code = value;
            }
        }
        ("result", "id") => {
            if let Some(r) = answer.results.last_mut() {
                r.id = Some(value.trim().to_string()).filter(|v| !v.is_empty());
            }
        }
        ("result", "success") => {
            if let Some(r) = answer.results.last_mut() {
                r.success = value.trim() == "true";
            }
        }
        ("limitInfo", "current") => limit.current = value.trim().parse().ok(),
        ("limitInfo", "limit") => limit.limit = value.trim().parse().ok(),
        ("limitInfo", "type") => limit.kind = value.trim().to_string(),
        (_, "limitInfo") if limit.kind == "API REQUESTS" => {
            if let (Some(used), Some(max)) = (limit.current, limit.limit) {
                answer.api_usage = Some(Usage { used, max });
            }
        }
        ("Fault", "faultcode") => fault.faultcode = Some(value.trim().to_string()),
        ("Fault", "faultstring") => fault.faultstring = Some(value),
        (_, "exceptionCode") => fault.code = Some(value.trim().to_string()),
        (_, "exceptionMessage") => fault.message = Some(value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `undeleteResponse` in the shape Salesforce answers (see tests/fixtures/README.md).
    const UNDELETE: &str = include_str!("../../tests/fixtures/soap-undelete-response.xml");
    /// An `INVALID_SESSION_ID` fault in the shape Salesforce answers.
    const FAULT: &str = include_str!("../../tests/fixtures/soap-fault-invalid-session.xml");

    #[test]
    fn reads_salesforce_undelete_results_and_limit_info() {
        let a = read(UNDELETE).unwrap();
        assert_eq!(
            a.api_usage,
            Some(Usage {
                used: 3917,
                max: 15000
            })
        );
        assert_eq!(a.fault, None);
        assert_eq!(a.results.len(), 3);
        assert_eq!(
            a.results[0],
            ResultItem {
                id: Some("001D000000IqhSLIAZ".into()),
                success: true,
                errors: vec![],
            }
        );
        let failed = &a.results[1];
        assert_eq!(
            (failed.id.as_deref(), failed.success),
            (Some("001D000000IRFmaIAH"), false)
        );
        assert_eq!(
            failed.errors,
            vec![ApiError::new(
                "UNDELETE_FAILED",
                "Entity is not in the recycle bin"
            )]
        );
        let e = &a.results[2].errors[0];
        assert_eq!(
            (e.code.as_str(), e.message.as_str(), e.fields.clone()),
            (
                "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
                "Entity type is not undeletable",
                vec!["Id".to_string()]
            )
        );
    }

    #[test]
    fn reads_a_fault_by_its_exception_code() {
        let a = read(FAULT).unwrap();
        assert!(a.results.is_empty());
        assert_eq!(
            a.fault,
            Some(ApiError::new(
                "INVALID_SESSION_ID",
                "Invalid Session ID found in SessionHeader: Illegal Session"
            ))
        );
        // Without a detail element, the faultcode's local part and the faultstring.
        let bare = r#"<Envelope><Body><Fault><faultcode>sf:SERVER_UNAVAILABLE</faultcode><faultstring>down &amp; out</faultstring></Fault></Body></Envelope>"#;
        assert_eq!(
            read(bare).unwrap().fault,
            Some(ApiError::new("SERVER_UNAVAILABLE", "down & out"))
        );
    }

    #[test]
    fn refuses_doctype_and_garbage() {
        assert!(read(r#"<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>"#).is_err());
        assert!(read("<a><b></a>").is_err());
        assert!(read("<a>&nope;</a>").is_err());
    }
}
