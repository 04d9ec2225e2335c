//! Salesforce-shaped query errors: an error code plus a message that quotes the offending line,
//! points a caret at the column and names the row/column, exactly as the REST API renders them.

use std::fmt;

/// The `errorCode` a failed query reports. Clients branch on these strings, so they are Salesforce's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// Syntax errors and semantic restrictions Salesforce reports as syntax (`unexpected token`).
    MalformedQuery,
    /// Unknown field or relationship in a path, a field used where its kind is not allowed, or a
    /// literal of the wrong type.
    InvalidField,
    /// Unknown object, or unknown child relationship in a subquery's FROM.
    InvalidType,
    /// A filter operator that does not apply to the field's type, or a malformed Id literal.
    InvalidQueryFilterOperator,
    /// OFFSET above Salesforce's maximum (2000).
    NumberOutsideValidRange,
}

impl ErrorCode {
    /// The wire spelling (`"MALFORMED_QUERY"` …).
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorCode::MalformedQuery => "MALFORMED_QUERY",
            ErrorCode::InvalidField => "INVALID_FIELD",
            ErrorCode::InvalidType => "INVALID_TYPE",
            ErrorCode::InvalidQueryFilterOperator => "INVALID_QUERY_FILTER_OPERATOR",
            ErrorCode::NumberOutsideValidRange => "NUMBER_OUTSIDE_VALID_RANGE",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A query that cannot run. `message` is the full Salesforce text, including the leading newline,
/// the quoted line, the caret and `ERROR at Row:r:Column:c`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SoqlError {
    pub code: ErrorCode,
    pub message: String,
}

/// Lines longer than this are shown as a window around the error, as Salesforce does.
const WINDOW: usize = 100;

impl SoqlError {
    /// An error pointing at byte offset `at` of `text`.
    pub fn at(code: ErrorCode, text: &str, at: usize, detail: impl fmt::Display) -> Self {
        let at = clamp_boundary(text, at);
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
        let row = text[..at].matches('\n').count() + 1;
        let line = text[line_start..line_end].trim_end_matches('\r');
        let col0 = text[line_start..at].chars().count();
        let chars: Vec<char> = line.chars().collect();
        // Window: the whole line when short, else ~WINDOW chars starting a little before the error.
        let (from, to) = if chars.len() <= WINDOW {
            (0, chars.len())
        } else {
            let from = col0
                .saturating_sub(WINDOW / 5)
                .min(chars.len().saturating_sub(WINDOW));
            (from, (from + WINDOW).min(chars.len()))
        };
        let shown: String = chars[from..to].iter().collect();
        let caret = col0.saturating_sub(from);
        let message = format!(
            "\n{shown}\n{}^\nERROR at Row:{row}:Column:{}\n{detail}",
            " ".repeat(caret),
            col0 + 1
        );
        SoqlError { code, message }
    }

    /// The detail text after the position header (what a human reads first).
    pub fn detail(&self) -> &str {
        self.message
            .rsplit_once('\n')
            .map_or(&self.message, |(_, d)| d)
    }
}

fn clamp_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Salesforce's wording for an unknown column.
pub(crate) fn no_such_column(field: &str, entity: &str) -> String {
    format!(
        "No such column '{field}' on entity '{entity}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
    )
}

/// Salesforce's wording for an unknown parent relationship in a field path.
pub(crate) fn bad_relationship(rel: &str) -> String {
    format!(
        "Didn't understand relationship '{rel}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."
    )
}

/// Salesforce's wording for an unknown object.
pub(crate) fn bad_object(name: &str) -> String {
    format!(
        "sObject type '{name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."
    )
}

/// Salesforce's wording for an unknown child relationship in a subquery.
pub(crate) fn bad_child_relationship(name: &str) -> String {
    format!(
        "Didn't understand relationship '{name}' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_salesforce() {
        let q = "SELECT Id, Foo FROM Account";
        let e = SoqlError::at(
            ErrorCode::InvalidField,
            q,
            11,
            no_such_column("Foo", "Account"),
        );
        assert!(e.message.starts_with(
            "\nSELECT Id, Foo FROM Account\n           ^\nERROR at Row:1:Column:12\nNo such column 'Foo'"
        ));
        assert_eq!(e.code.as_str(), "INVALID_FIELD");
    }

    #[test]
    fn counts_rows_and_windows_long_lines() {
        let q = "SELECT Id\nFROM Account\nWHERE Bad = 1";
        let e = SoqlError::at(ErrorCode::InvalidField, q, q.find("Bad").unwrap(), "x");
        assert_eq!(
            e.message,
            "\nWHERE Bad = 1\n      ^\nERROR at Row:3:Column:7\nx"
        );
        let long = format!("SELECT {} FROM Account", "Name, ".repeat(40));
        let at = long.find("FROM").unwrap();
        let e = SoqlError::at(ErrorCode::MalformedQuery, &long, at, "y");
        let shown = e.message.lines().nth(1).unwrap();
        assert!(shown.len() <= WINDOW && shown.contains("FROM"));
        assert!(e.message.contains(&format!("Column:{}", at + 1)));
    }
}
