//! COUNT(), aggregate functions, GROUP BY, HAVING and ORDER BY over groups.

use crate::fixture::*;
use crate::query::{ctx, org};
use soql::*;

fn agg(q: &str) -> Vec<Vec<(String, Value)>> {
    let o = org();
    let plan = plan(q, &o).unwrap_or_else(|e| panic!("{q}: {}", e.message));
    let Execution::Aggregate(recs) = plan.execute(&o, &ctx()).unwrap() else {
        panic!("{q}")
    };
    recs.into_iter()
        .map(|r| {
            assert_eq!(
                (r.object.as_str(), r.id.as_ref()),
                ("AggregateResult", None)
            );
            r.fields
                .into_iter()
                .map(|(k, v)| match v {
                    OutValue::Scalar(v) => (k, v),
                    _ => panic!(),
                })
                .collect()
        })
        .collect()
}

fn kv(k: &str, v: Value) -> (String, Value) {
    (k.to_string(), v)
}

#[test]
fn count_and_aggregates() {
    let o = org();
    let p = plan("SELECT COUNT() FROM Account WHERE Type = 'Customer'", &o).unwrap();
    assert_eq!(p.execute(&o, &ctx()).unwrap(), Execution::Count(3));
    let p = plan("SELECT COUNT() FROM Account LIMIT 2", &o).unwrap();
    assert_eq!(p.execute(&o, &ctx()).unwrap(), Execution::Count(2));
    assert_eq!(
        agg(
            "SELECT COUNT(Id), COUNT(Type) t, SUM(AnnualRevenue), AVG(NumberOfEmployees), MIN(Name), MAX(CreatedDate), COUNT_DISTINCT(Type) FROM Account"
        ),
        vec![vec![
            kv("expr0", Value::Int(5)),
            kv("t", Value::Int(4)),
            kv("expr1", Value::Double(360.0)),
            kv("expr2", Value::Double(11.25)),
            kv("expr3", t("Acme")),
            kv("expr4", dt("2024-05-20T00:00:00Z")),
            kv("expr5", Value::Int(2)),
        ]]
    );
    // No rows: still one aggregate row.
    assert_eq!(
        agg("SELECT COUNT(Id), SUM(NumberOfEmployees) FROM Account WHERE Name = 'none'"),
        vec![vec![kv("expr0", Value::Int(0)), kv("expr1", Value::Null)]]
    );
}

#[test]
fn group_by_having_order() {
    assert_eq!(
        agg("SELECT Type, COUNT(Id) n FROM Account GROUP BY Type"),
        vec![
            vec![kv("Type", Value::Null), kv("n", Value::Int(1))],
            vec![kv("Type", t("Customer")), kv("n", Value::Int(3))],
            vec![kv("Type", t("Partner")), kv("n", Value::Int(1))],
        ]
    );
    assert_eq!(
        agg("SELECT Type, SUM(NumberOfEmployees) FROM Account GROUP BY Type HAVING COUNT(Id) > 1"),
        vec![vec![kv("Type", t("Customer")), kv("expr0", Value::Int(40))]]
    );
    assert_eq!(
        agg(
            "SELECT Type, Active__c, COUNT(Id) FROM Account WHERE Type != null GROUP BY Type, Active__c ORDER BY COUNT(Id) DESC, Type LIMIT 2"
        ),
        vec![
            vec![
                kv("Type", t("Customer")),
                kv("Active__c", Value::Bool(true)),
                kv("expr0", Value::Int(3))
            ],
            vec![
                kv("Type", t("Partner")),
                kv("Active__c", Value::Bool(false)),
                kv("expr0", Value::Int(1))
            ],
        ]
    );
    assert_eq!(
        agg(
            "SELECT Account.Name, COUNT(Id) FROM Contact WHERE AccountId != null GROUP BY Account.Name ORDER BY Account.Name DESC"
        ),
        vec![
            vec![kv("Name", t("acme corp")), kv("expr0", Value::Int(1))],
            vec![kv("Name", t("Acme")), kv("expr0", Value::Int(2))],
        ]
    );
}

#[test]
fn date_functions() {
    let o = org();
    let names = |w: &str| crate::query::col(&o, &format!("SELECT Name FROM Account WHERE {w}"));
    assert_eq!(names("CALENDAR_YEAR(CreatedDate) = 2023"), ["Gamma 100%"]);
    assert_eq!(names("DAY_ONLY(CreatedDate) = 2024-05-15"), ["Acme"]);
    assert_eq!(
        names("CALENDAR_MONTH(CreatedDate) IN (4, 12)"),
        ["Beta", "Gamma 100%"]
    );
    assert_eq!(
        names("HOUR_IN_DAY(CreatedDate) >= 10"),
        ["Acme", "acme corp", "Gamma 100%"]
    );
    assert_eq!(names("DAY_IN_WEEK(Founded__c) = 7"), ["Acme"]); // 2000-01-01 was a Saturday
    assert_eq!(
        names("CALENDAR_QUARTER(CreatedDate) = 2 AND WEEK_IN_MONTH(CreatedDate) = 3"),
        ["Acme", "delta_x"]
    );
    assert_eq!(
        agg(
            "SELECT CALENDAR_YEAR(CreatedDate), COUNT(Id) FROM Account GROUP BY CALENDAR_YEAR(CreatedDate)"
        ),
        vec![
            vec![kv("expr0", Value::Int(2023)), kv("expr1", Value::Int(1))],
            vec![kv("expr0", Value::Int(2024)), kv("expr1", Value::Int(4))],
        ]
    );
    assert_eq!(
        agg(
            "SELECT CALENDAR_MONTH(CreatedDate) m, COUNT(Id) n FROM Account WHERE CALENDAR_YEAR(CreatedDate) = 2024 GROUP BY CALENDAR_MONTH(CreatedDate) ORDER BY COUNT(Id) DESC"
        ),
        vec![
            vec![kv("m", Value::Int(5)), kv("n", Value::Int(3))],
            vec![kv("m", Value::Int(4)), kv("n", Value::Int(1))],
        ]
    );
}
