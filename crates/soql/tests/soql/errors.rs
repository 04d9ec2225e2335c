//! Salesforce's error codes and messages for bad queries.

use crate::query::org;
use soql::*;

fn err(q: &str) -> SoqlError {
    match plan(q, &org()) {
        Ok(_) => panic!("expected an error for {q}"),
        Err(e) => e,
    }
}

fn check(q: &str, code: &str, detail: &str) {
    let e = err(q);
    assert_eq!(e.code.as_str(), code, "{q}: {}", e.message);
    assert!(e.detail().starts_with(detail), "{q}: {}", e.message);
}

#[test]
fn unknown_names() {
    let e = err("SELECT Id, Foo FROM Account");
    assert_eq!(e.code, ErrorCode::InvalidField);
    assert_eq!(
        e.message,
        "\nSELECT Id, Foo FROM Account\n           ^\nERROR at Row:1:Column:12\nNo such column 'Foo' on entity 'Account'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
    );
    assert_eq!(e.to_string(), e.message);
    check(
        "SELECT Foo.Name FROM Contact",
        "INVALID_FIELD",
        "Didn't understand relationship 'Foo' in field path.",
    );
    check(
        "SELECT Account.Bar FROM Contact",
        "INVALID_FIELD",
        "No such column 'Bar' on entity 'Account'.",
    );
    check(
        "SELECT Id FROM Foo",
        "INVALID_TYPE",
        "sObject type 'Foo' is not supported.",
    );
    check(
        "SELECT Id, (SELECT Id FROM Foos) FROM Account",
        "INVALID_TYPE",
        "Didn't understand relationship 'Foos' in FROM part of query call.",
    );
    check(
        "SELECT Id FROM Account WHERE Bogus__c = 1",
        "INVALID_FIELD",
        "No such column 'Bogus__c'",
    );
    check(
        "SELECT Id FROM Account ORDER BY Nope",
        "INVALID_FIELD",
        "No such column 'Nope'",
    );
}

#[test]
fn literal_types() {
    check(
        "SELECT Id FROM Account WHERE CreatedDate > 2024-01-01",
        "INVALID_FIELD",
        "value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in quotes",
    );
    check(
        "SELECT Id FROM Account WHERE Founded__c = '2024-01-01'",
        "INVALID_FIELD",
        "value of filter criterion for field 'Founded__c' must be of type date",
    );
    check(
        "SELECT Id FROM Account WHERE NumberOfEmployees = '5'",
        "INVALID_FIELD",
        "value of filter criterion for field 'NumberOfEmployees' must be of type integer",
    );
    check(
        "SELECT Id FROM Account WHERE Active__c = 'true'",
        "INVALID_FIELD",
        "value of filter criterion for field 'Active__c' must be of type boolean",
    );
    check(
        "SELECT Id FROM Account WHERE Name = 5",
        "INVALID_FIELD",
        "value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes",
    );
    check(
        "SELECT Id FROM Account WHERE Name = TODAY",
        "INVALID_FIELD",
        "value of filter criterion for field 'Name'",
    );
    check(
        "SELECT Id FROM Account WHERE Id = 'abc'",
        "INVALID_QUERY_FILTER_OPERATOR",
        "invalid ID field: abc",
    );
    check(
        "SELECT Id FROM Account WHERE NumberOfEmployees LIKE '1%'",
        "INVALID_FIELD",
        "invalid operator",
    );
    check(
        "SELECT Id FROM Account WHERE Name INCLUDES ('a')",
        "INVALID_FIELD",
        "includes or excludes",
    );
    check(
        "SELECT Id FROM Account WHERE Description = 'x'",
        "INVALID_FIELD",
        "field 'Description' can not be filtered",
    );
}

#[test]
fn syntax_and_structure() {
    let e = err("SELECT LastModifiedDate, From Account");
    assert_eq!(e.code, ErrorCode::MalformedQuery);
    assert!(
        e.message
            .ends_with("ERROR at Row:1:Column:26\nunexpected token: 'From'"),
        "{}",
        e.message
    );
    check(
        "SELECT Id FROM Account WHERE",
        "MALFORMED_QUERY",
        "unexpected token: <EOF>",
    );
    check(
        "SELECT COUNT(), Name FROM Account",
        "MALFORMED_QUERY",
        "COUNT()",
    );
    check(
        "SELECT COUNT() FROM Account ORDER BY Name",
        "MALFORMED_QUERY",
        "COUNT()",
    );
    check(
        "SELECT Name, COUNT(Id) FROM Account",
        "MALFORMED_QUERY",
        "Field must be grouped or aggregated: Name",
    );
    check(
        "SELECT Type, COUNT(Id) FROM Account GROUP BY Type ORDER BY Name",
        "MALFORMED_QUERY",
        "Field must be grouped or aggregated: Name",
    );
    check(
        "SELECT SUM(Name) FROM Account",
        "INVALID_FIELD",
        "field Name does not support aggregate operator SUM",
    );
    check(
        "SELECT Id, Id FROM Account",
        "MALFORMED_QUERY",
        "duplicate field selected: Id",
    );
    check(
        "SELECT FIELDS(ALL) FROM Account",
        "MALFORMED_QUERY",
        "The SOQL FIELDS function must have a LIMIT",
    );
    check(
        "SELECT Id FROM Account WHERE COUNT(Id) > 1",
        "MALFORMED_QUERY",
        "Aggregate functions",
    );
    check(
        "SELECT Id FROM Account LIMIT 10 OFFSET 2001",
        "NUMBER_OUTSIDE_VALID_RANGE",
        "Maximum SOQL offset allowed is 2000",
    );
    check(
        "SELECT Id FROM ContentDocumentLink",
        "MALFORMED_QUERY",
        "Implementation restriction: ContentDocumentLink requires a filter by a single Id on ContentDocumentId or LinkedEntityId using the equals operator or multiple Id's using the IN operator.",
    );
    check(
        "SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId != null",
        "MALFORMED_QUERY",
        "Implementation restriction",
    );
    check(
        "SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId NOT IN (SELECT Id FROM Account)",
        "MALFORMED_QUERY",
        "Implementation restriction",
    );
    check(
        "SELECT Account.Parent.Parent.Parent.Parent.Parent.Name FROM Contact",
        "MALFORMED_QUERY",
        "SOQL statements cannot query more than 5 levels",
    );
}

#[test]
fn date_function_rules() {
    check(
        "SELECT Id FROM Account WHERE CALENDAR_YEAR(Name) = 2024",
        "MALFORMED_QUERY",
        "CALENDAR_YEAR can only be applied",
    );
    check(
        "SELECT CALENDAR_YEAR(CreatedDate) FROM Account",
        "MALFORMED_QUERY",
        "Field must be grouped or aggregated",
    );
    check(
        "SELECT Id FROM Account WHERE CALENDAR_YEAR(CreatedDate) = '2024'",
        "INVALID_FIELD",
        "value of filter criterion",
    );
}

#[test]
fn semi_join_rules() {
    check(
        "SELECT Id FROM Account WHERE Name IN (SELECT AccountId FROM Contact)",
        "INVALID_FIELD",
        "semi join",
    );
    check(
        "SELECT Id FROM Account WHERE Id IN (SELECT LastName FROM Contact)",
        "MALFORMED_QUERY",
        "The selected field in a semi join",
    );
    check(
        "SELECT Id FROM Account WHERE Id IN (SELECT Id, AccountId FROM Contact)",
        "MALFORMED_QUERY",
        "The selected field in a semi join",
    );
    check(
        "SELECT Id FROM Account WHERE Id IN (SELECT Id FROM Nope)",
        "INVALID_TYPE",
        "sObject type 'Nope'",
    );
    check(
        "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact WHERE Id IN (SELECT Id FROM Contact))",
        "MALFORMED_QUERY",
        "Nesting of semi join",
    );
}

#[test]
fn positions_in_multiline_queries() {
    let e = err("SELECT Id,\n  Name\nFROM Account\nWHERE Nope = 1");
    assert!(
        e.message
            .starts_with("\nWHERE Nope = 1\n      ^\nERROR at Row:4:Column:7\n"),
        "{}",
        e.message
    );
}
