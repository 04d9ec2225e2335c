//! Property tests: the parser and planner never panic; printed ASTs parse back to themselves.

use crate::query::{ctx, org};
use proptest::prelude::*;
use soql::*;

const SEEDS: &[&str] = &[
    "SELECT Id, Name, Owner.Name FROM Account WHERE Name LIKE 'a%' AND (Type = 'x' OR Type = null) ORDER BY Name DESC NULLS LAST LIMIT 5 OFFSET 1",
    "SELECT Id, (SELECT LastName FROM Contacts WHERE LastName != 'x' ORDER BY LastName LIMIT 2) FROM Account",
    "SELECT Type, COUNT(Id) c, SUM(AnnualRevenue) FROM Account WHERE CreatedDate = LAST_N_DAYS:30 GROUP BY Type HAVING COUNT(Id) > 1 ORDER BY COUNT(Id) DESC",
    "SELECT COUNT() FROM Contact WHERE Account.Name IN ('a', 'b') AND Email != null",
    "SELECT Name FROM Account WHERE Tags__c INCLUDES ('a;b', 'c') AND CreatedDate > 2024-01-01T00:00:00.000+01:00 AND Founded__c < 2020-01-01",
];

fn mutate(base: &str, edits: &[(usize, u8, char)]) -> String {
    let mut s: Vec<char> = base.chars().collect();
    for &(pos, kind, c) in edits {
        let at = pos % (s.len() + 1);
        match kind % 3 {
            0 => s.insert(at, c),
            1 if at < s.len() => {
                s.remove(at);
            }
            _ if at < s.len() => s[at] = c,
            _ => {}
        }
    }
    s.into_iter().collect()
}

fn run_all(q: &str) {
    let o = org();
    if let Ok(p) = plan(q, &o)
        && let Ok(Execution::Rows(rows)) = p.execute(&o, &ctx())
    {
        for r in rows {
            p.project(&o, r, &ctx());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_on_arbitrary_text(s in "\\PC{0,120}") {
        let _ = parse(&s);
        run_all(&s);
    }

    #[test]
    fn parse_never_panics_on_mutated_queries(
        seed in 0..SEEDS.len(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), prop::sample::select(vec!['(', ')', '\'', '\\', ',', '.', ' ', 'a', '1', '-', ':', '=', '%', 'é', '\n'])), 1..6),
    ) {
        let q = mutate(SEEDS[seed], &edits);
        let _ = parse(&q);
        run_all(&q);
    }

    #[test]
    fn errors_point_inside_the_text(s in "SELECT [A-Za-z(),. ']{0,40}") {
        if let Err(e) = parse(&s) {
            prop_assert!(e.message.starts_with('\n'));
            prop_assert!(e.message.contains("ERROR at Row:1:Column:"));
        }
    }

    #[test]
    fn printed_asts_round_trip(q in ast_gen::query()) {
        let text = q.to_string();
        let parsed = parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {}", e.message)))?;
        prop_assert_eq!(parsed.to_string(), text);
    }
}

/// Generators of syntax trees (spans are irrelevant to printing).
mod ast_gen {
    use proptest::prelude::*;
    use soql::ast::*;

    fn ident() -> impl Strategy<Value = Ident> {
        "[A-Za-z][A-Za-z0-9_]{0,8}"
            .prop_filter("reserved", |s| {
                ![
                    "SELECT",
                    "FROM",
                    "WHERE",
                    "WITH",
                    "GROUP",
                    "HAVING",
                    "ORDER",
                    "LIMIT",
                    "OFFSET",
                    "FOR",
                    "AND",
                    "OR",
                    "NOT",
                    "LIKE",
                    "IN",
                    "INCLUDES",
                    "EXCLUDES",
                    "ASC",
                    "DESC",
                    "NULLS",
                    "NULL",
                    "TRUE",
                    "FALSE",
                    "BY",
                    "USING",
                    "FIELDS",
                    "COUNT",
                    "MIN",
                    "MAX",
                    "SUM",
                    "AVG",
                    "COUNT_DISTINCT",
                ]
                .iter()
                .any(|k| k.eq_ignore_ascii_case(s))
            })
            .prop_map(|name| Ident {
                name,
                span: Span::default(),
            })
    }

    fn path() -> impl Strategy<Value = Path> {
        prop::collection::vec(ident(), 1..4).prop_map(|parts| Path { parts })
    }

    fn literal() -> impl Strategy<Value = Literal> {
        let kind = prop_oneof![
            Just(LitKind::Null),
            any::<bool>().prop_map(LitKind::Bool),
            any::<i64>().prop_map(LitKind::Int),
            (-100000i32..100000).prop_map(|n| LitKind::Double(f64::from(n) / 100.0 + 0.5)),
            "[a-z %_']{0,6}".prop_map(|v| LitKind::Str {
                raw: v.replace('\'', "\\'"),
                value: v
            }),
            (2000i32..2030, 1u32..13, 1u32..29).prop_map(|(y, m, d)| LitKind::Date(
                chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()
            )),
            (0i64..2_000_000_000, -12i32..13).prop_map(|(s, h)| {
                let off = chrono::FixedOffset::east_opt(h * 3600).unwrap();
                LitKind::DateTime(
                    chrono::DateTime::from_timestamp(s, 0)
                        .unwrap()
                        .with_timezone(&off),
                )
            }),
            Just(LitKind::Relative(RelDate::LastNDays(7))),
            Just(LitKind::Relative(RelDate::ThisQuarter)),
        ];
        kind.prop_map(|kind| Literal {
            kind,
            span: Span::default(),
        })
    }

    fn agg() -> impl Strategy<Value = AggCall> {
        prop_oneof![
            Just(AggCall {
                func: AggFunc::Count,
                arg: None,
                span: Span::default()
            }),
            (
                prop::sample::select(vec![
                    AggFunc::Count,
                    AggFunc::CountDistinct,
                    AggFunc::Min,
                    AggFunc::Max,
                    AggFunc::Sum,
                    AggFunc::Avg
                ]),
                path()
            )
                .prop_map(|(func, p)| AggCall {
                    func,
                    arg: Some(p),
                    span: Span::default()
                }),
        ]
    }

    fn date_call() -> impl Strategy<Value = DateCall> {
        (
            prop::sample::select(vec![
                DateFunc::CalendarYear,
                DateFunc::DayOnly,
                DateFunc::HourInDay,
                DateFunc::WeekInYear,
            ]),
            path(),
            any::<bool>(),
        )
            .prop_map(|(func, arg, local)| DateCall {
                func,
                arg,
                local,
                span: Span::default(),
            })
    }

    fn operand() -> impl Strategy<Value = Operand> {
        prop_oneof![
            3 => path().prop_map(Operand::Field),
            1 => agg().prop_map(Operand::Agg),
            1 => date_call().prop_map(Operand::DateFn),
        ]
    }

    fn cmp() -> impl Strategy<Value = Cond> {
        let op = prop::sample::select(vec![
            CmpOp::Eq,
            CmpOp::Ne,
            CmpOp::Lt,
            CmpOp::Le,
            CmpOp::Gt,
            CmpOp::Ge,
            CmpOp::Like,
            CmpOp::In,
            CmpOp::NotIn,
            CmpOp::Includes,
            CmpOp::Excludes,
        ]);
        (operand(), op, prop::collection::vec(literal(), 1..4)).prop_map(|(lhs, op, mut rhs)| {
            if !op.takes_list() {
                rhs.truncate(1);
            }
            Cond::Cmp {
                lhs,
                op,
                rhs,
                span: Span::default(),
            }
        })
    }

    fn semi() -> impl Strategy<Value = Cond> {
        (
            path(),
            any::<bool>(),
            path(),
            ident(),
            prop::option::of(cmp()),
        )
            .prop_map(|(lhs, negated, field, from, where_)| {
                let query = Query {
                    select: vec![SelectItem::Field {
                        path: field,
                        alias: None,
                    }],
                    from,
                    alias: None,
                    where_,
                    group_by: vec![],
                    having: None,
                    order_by: vec![],
                    limit: None,
                    offset: None,
                    span: Span::default(),
                };
                Cond::SemiJoin {
                    lhs,
                    negated,
                    query: Box::new(query),
                    span: Span::default(),
                }
            })
    }

    pub fn cond() -> impl Strategy<Value = Cond> {
        prop_oneof![4 => cmp(), 1 => semi()].prop_recursive(3, 12, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..4).prop_map(Cond::And),
                prop::collection::vec(inner.clone(), 2..4).prop_map(Cond::Or),
                inner.prop_map(|c| Cond::Not(Box::new(c))),
            ]
        })
    }

    fn select_item() -> impl Strategy<Value = SelectItem> {
        prop_oneof![
            3 => (path(), prop::option::of(ident())).prop_map(|(path, alias)| SelectItem::Field { path, alias }),
            1 => (agg(), prop::option::of(ident())).prop_map(|(call, alias)| SelectItem::Agg { call, alias }),
            1 => (date_call(), prop::option::of(ident())).prop_map(|(call, alias)| SelectItem::DateFn { call, alias }),
            1 => prop::sample::select(vec![FieldsSet::All, FieldsSet::Standard, FieldsSet::Custom]).prop_map(|set| SelectItem::Fields { set, span: Span::default() }),
        ]
    }

    fn order() -> impl Strategy<Value = OrderItem> {
        (operand(), any::<bool>(), prop::option::of(any::<bool>())).prop_map(
            |(key, descending, nulls_first)| OrderItem {
                key,
                descending,
                nulls_first,
            },
        )
    }

    fn count() -> impl Strategy<Value = Option<Count>> {
        prop::option::of((0u64..5000).prop_map(|value| Count {
            value,
            span: Span::default(),
        }))
    }

    fn base(items: impl Strategy<Value = Vec<SelectItem>>) -> impl Strategy<Value = Query> {
        (
            items,
            (ident(), prop::option::of(ident())),
            prop::option::of(cond()),
            prop::collection::vec(
                prop_oneof![
                    path().prop_map(Operand::Field),
                    date_call().prop_map(Operand::DateFn)
                ],
                0..3,
            ),
            prop::option::of(cond()),
            prop::collection::vec(order(), 0..3),
            count(),
            count(),
        )
            .prop_map(
                |(select, (from, alias), where_, group_by, having, order_by, limit, offset)| {
                    Query {
                        select,
                        from,
                        alias,
                        where_,
                        group_by,
                        having,
                        order_by,
                        limit,
                        offset,
                        span: Span::default(),
                    }
                },
            )
    }

    pub fn query() -> impl Strategy<Value = Query> {
        let sub = base(prop::collection::vec(select_item(), 1..4))
            .prop_map(|q| SelectItem::Subquery(Box::new(q)));
        let items = prop::collection::vec(prop_oneof![4 => select_item(), 1 => sub], 1..5);
        base(items)
    }
}
