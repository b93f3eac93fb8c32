//! Property tests: printing a parsed query and parsing it again gives the
//! same tree; arbitrary text never panics the parser or resolver.

use proptest::prelude::*;
use query::Span;
use query::ast::{
    CompareOp, Condition, Direction, Ident, Limit, Literal, LiteralKind, OrderItem, Query, Test,
};

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,12}".prop_filter("not a reserved word", |s| {
        !query::syntax::parser::RESERVED
            .iter()
            .any(|r| r.eq_ignore_ascii_case(s))
    })
}

fn ident() -> impl Strategy<Value = Ident> {
    name().prop_map(|name| Ident {
        name,
        span: Span::default(),
    })
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        "-?[0-9]{1,6}(\\.[0-9]{1,3})?".prop_map(LiteralKind::Number),
        // Any characters, quotes and newlines included.
        "(?s).{0,12}".prop_map(LiteralKind::Str),
    ]
    .prop_map(|kind| Literal {
        kind,
        span: Span::default(),
    })
}

fn string_literal() -> impl Strategy<Value = Literal> {
    "(?s).{0,12}".prop_map(|s| Literal {
        kind: LiteralKind::Str(s),
        span: Span::default(),
    })
}

fn op() -> impl Strategy<Value = CompareOp> {
    prop_oneof![
        Just(CompareOp::Eq),
        Just(CompareOp::NotEq),
        Just(CompareOp::Lt),
        Just(CompareOp::LtEq),
        Just(CompareOp::Gt),
        Just(CompareOp::GtEq),
    ]
}

fn condition() -> impl Strategy<Value = Condition> {
    let test = prop_oneof![
        (op(), literal()).prop_map(|(op, value)| Test::Compare { op, value }),
        (any::<bool>(), prop::collection::vec(literal(), 1..5))
            .prop_map(|(negated, values)| Test::In { negated, values }),
        (any::<bool>(), string_literal())
            .prop_map(|(negated, pattern)| Test::Like { negated, pattern }),
    ];
    (ident(), test).prop_map(|(name, test)| Condition {
        name,
        test,
        span: Span::default(),
    })
}

fn order_item() -> impl Strategy<Value = OrderItem> {
    let direction = prop_oneof![
        Just(None),
        Just(Some(Direction::Asc)),
        Just(Some(Direction::Desc))
    ];
    (ident(), direction).prop_map(|(name, direction)| OrderItem { name, direction })
}

prop_compose! {
    fn query_ast()(
        distinct in any::<bool>(),
        select in prop::collection::vec(ident(), 1..6),
        from in ident(),
        conditions in prop::collection::vec(condition(), 0..4),
        order_by in prop::collection::vec(order_item(), 0..3),
        limit in prop::option::of("[0-9]{1,10}"),
        timespan in prop::option::of(ident()),
    ) -> Query {
        Query {
            distinct,
            select,
            from,
            conditions,
            order_by,
            limit: limit.map(|n| Limit { value: Literal { kind: LiteralKind::Number(n), span: Span::default() } }),
            timespan,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn print_then_parse_is_identity(ast in query_ast()) {
        let printed = ast.to_string();
        let parsed = query::parse(&printed);
        prop_assert!(parsed.is_ok(), "{printed}: {parsed:?}");
        prop_assert_eq!(parsed.unwrap().without_spans(), ast);
    }

    #[test]
    fn arbitrary_text_never_panics(src in "(?s).{0,200}") {
        if let Err(e) = query::check(&src, query::builtin()) {
            let rendered = e.render(&src);
            prop_assert!(!rendered.is_empty());
            let p = e.primary().span;
            prop_assert!(p.start <= p.end && p.end as usize <= src.chars().count());
        }
    }

    #[test]
    fn token_soup_never_panics(
        words in prop::collection::vec(
            prop_oneof![
                Just("SELECT"), Just("DISTINCT"), Just("FROM"), Just("WHERE"), Just("AND"), Just("NOT"),
                Just("IN"), Just("LIKE"), Just("ORDER"), Just("BY"), Just("ASC"), Just("DESC"), Just("LIMIT"),
                Just("TIMESPAN"), Just(","), Just("("), Just(")"), Just("*"), Just(";"), Just("="), Just("<>"),
                Just(">="), Just("'x'"), Just("42"), Just("-1.5"), Just("OfficeUsage"), Just("Month"),
                Just("CustomerCount"), Just("PaidAvailableUnits"), Just("LAST_MONTH"), Just("'2024-01-01'"),
            ],
            0..30,
        )
    ) {
        let src = words.join(" ");
        match query::check(&src, query::builtin()) {
            Ok(plan) => {
                // Anything that resolves prints and re-resolves to the same plan.
                let again = query::check(&query::parse(&src).unwrap().to_string(), query::builtin());
                prop_assert_eq!(again.ok(), Some(plan));
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
