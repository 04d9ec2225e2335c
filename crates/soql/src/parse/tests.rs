//! Grammar tests: every clause and operator, round-trips through Display, error tokens.
use super::*;

fn p(s: &str) -> Query {
    parse_query(s).unwrap_or_else(|e| panic!("{s}: {}", e.message))
}

fn err(s: &str) -> String {
    parse_query(s).unwrap_err().message
}

#[test]
fn full_grammar_round_trips() {
    for q in [
        "SELECT Id, Name, Account.Owner.Name FROM Contact",
        "SELECT Id, (SELECT Id, LastName FROM Contacts WHERE LastName LIKE 'a%' ORDER BY LastName LIMIT 5) FROM Account",
        "SELECT Id FROM Account WHERE (Name = 'x' OR Name != null) AND NOT (Type IN ('a', 'b')) AND Rating NOT IN ('c')",
        "SELECT Id FROM X__c WHERE M__c INCLUDES ('a;b', 'c') AND M__c EXCLUDES ('d')",
        "SELECT Id FROM Opportunity WHERE CloseDate = 2005-10-08 AND CreatedDate > 1999-01-01T23:01:01.000Z",
        "SELECT Id FROM Opportunity WHERE CreatedDate = LAST_N_DAYS:3 OR CreatedDate < TODAY",
        "SELECT Id FROM Account ORDER BY Name DESC NULLS FIRST, Id LIMIT 10 OFFSET 5",
        "SELECT COUNT() FROM Account",
        "SELECT Type, COUNT(Id) c, SUM(Amount), COUNT_DISTINCT(Name) FROM Opportunity GROUP BY Type HAVING COUNT(Id) > 1 ORDER BY COUNT(Id) DESC",
        "SELECT FIELDS(ALL) FROM Account LIMIT 200",
        "SELECT Id FROM Account WHERE Amount >= -1.5 AND Active = true AND Deleted = false",
        "SELECT Id FROM Order",
        "SELECT HOUR_IN_DAY(convertTimezone(CreatedDate)), COUNT(Id) FROM Account GROUP BY HOUR_IN_DAY(convertTimezone(CreatedDate))",
        "SELECT CALENDAR_YEAR(CreatedDate) y, DAY_ONLY(CreatedDate), COUNT(Id) FROM Account WHERE CALENDAR_MONTH(CreatedDate) = 5 GROUP BY CALENDAR_YEAR(CreatedDate), DAY_ONLY(CreatedDate) ORDER BY CALENDAR_YEAR(CreatedDate) DESC",
        "SELECT a.Id FROM Account a WHERE a.Name = 'x'",
    ] {
        let ast = p(q);
        assert_eq!(ast.to_string(), q);
        assert_eq!(p(&ast.to_string()), p(&ast.to_string()));
    }
}

#[test]
fn accepted_and_ignored_clauses() {
    for q in [
        "SELECT Id FROM Account USING SCOPE Mine WHERE Name = 'x'",
        "SELECT Id FROM Account WITH SECURITY_ENFORCED",
        "SELECT Id FROM Account LIMIT 1 FOR UPDATE",
    ] {
        p(q);
    }
}

#[test]
fn keywords_are_case_insensitive() {
    let a = p("select id from account where name like 'x' order by name asc nulls last limit 1");
    assert_eq!(
        a.to_string(),
        "SELECT id FROM account WHERE name LIKE 'x' ORDER BY name NULLS LAST LIMIT 1"
    );
}

#[test]
fn operators() {
    for (text, op) in [
        ("=", CmpOp::Eq),
        ("!=", CmpOp::Ne),
        ("<>", CmpOp::Ne),
        ("<", CmpOp::Lt),
        ("<=", CmpOp::Le),
        (">", CmpOp::Gt),
        (">=", CmpOp::Ge),
        ("LIKE", CmpOp::Like),
    ] {
        let q = p(&format!("SELECT Id FROM A WHERE F {text} 1"));
        assert!(
            matches!(q.where_, Some(Cond::Cmp { op: o, .. }) if o == op),
            "{text}"
        );
    }
}

#[test]
fn errors_name_the_token() {
    assert!(err("SELECT LastModifiedDate, From Account").ends_with("unexpected token: 'From'"));
    assert!(err("SELECT Id FROM").ends_with("unexpected token: <EOF>"));
    assert!(
        err("SELECT Id FROM A WHERE a = 1 AND b = 2 OR c = 3").ends_with("unexpected token: 'OR'")
    );
    assert!(err("SELECT Id FROM A LIMIT x").contains("Column:24"));
    assert!(err("SELECT Id FROM A WHERE d = LAST_N_DAYS").ends_with("unexpected token: <EOF>"));
    assert!(
        err("SELECT (SELECT (SELECT Id FROM C) FROM B) FROM A").contains("unexpected token: '('")
    );
    let deep = format!(
        "SELECT Id FROM A WHERE {}a = 1{}",
        "(".repeat(500),
        ")".repeat(500)
    );
    assert!(parse_query(&deep).is_err());
    let nots = format!("SELECT Id FROM A WHERE {}a = 1", "NOT ".repeat(500));
    assert!(parse_query(&nots).is_err());
}

#[test]
fn multiline_positions() {
    let m = err("SELECT Id\nFROM Account\nWHERE Name = = 'x'");
    assert!(m.contains("ERROR at Row:3:Column:14"), "{m}");
}

#[test]
fn semi_joins() {
    let q = "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact WHERE LastName LIKE 'a%') AND OwnerId NOT IN (SELECT Id FROM User)";
    assert_eq!(p(q).to_string(), q);
    assert!(
        err("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact")
            .ends_with("unexpected token: <EOF>")
    );
}

#[test]
fn lexer_errors_surface_only_when_reached() {
    let m = err("SELECT Id FROM Account WHERE Name = 'O'Brien'");
    assert!(m.ends_with("unexpected token: 'Brien'"), "{m}");
    let m = err("SELECT Id FROM Account WHERE Name = 'open");
    assert!(
        m.ends_with("line 1:36 mismatched character '<EOF>' expecting '''"),
        "{m}"
    );
    let m = err("SELECT Id\nFROM Account WHERE Id = $x");
    assert!(
        m.ends_with("line 2:24 no viable alternative at character '$'"),
        "{m}"
    );
    assert!(m.contains("ERROR at Row:2:Column:25"), "{m}");
}
