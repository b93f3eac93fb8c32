//! The spec's error list, message for message, with positions; and the
//! limits that keep hostile input cheap.

use query::DiagnosticCode;
use query::limits::{MAX_CONDITIONS, MAX_IN_VALUES, MAX_QUERY_BYTES, MAX_SELECT_ITEMS};

fn error(src: &str) -> (DiagnosticCode, u32, String) {
    match query::check(src, query::builtin()) {
        Ok(plan) => panic!("expected an error for {src}, got\n{plan}"),
        Err(e) => {
            let d = e.primary();
            (d.code, d.span.position(), d.to_string())
        }
    }
}

#[test]
fn spec_error_examples() {
    assert_eq!(
        error("SELECT CustomerTenantId FROM OficeUsage"),
        (
            DiagnosticCode::UnknownDataset,
            30,
            "Unknown dataset 'OficeUsage'. Did you mean 'OfficeUsage'?".into()
        )
    );
    assert_eq!(
        error("SELECT Custmer FROM OfficeUsage"),
        (
            DiagnosticCode::UnknownColumn,
            8,
            "Unknown column 'Custmer' in dataset 'OfficeUsage' at position 8. Did you mean 'CustomerName'?".into()
        )
    );
    assert_eq!(
        error("SELECT CustomerTenantId,Month FORM OfficeUsage"),
        (
            DiagnosticCode::Syntax,
            31,
            "Syntax error at position 31: expected FROM, found 'FORM'".into()
        )
    );
    assert_eq!(
        error("SELECT CustomerTenantId FROM OfficeUsage TIMESPAN LAST_7_DAYS"),
        (
            DiagnosticCode::TimespanNotAvailable,
            51,
            "TIMESPAN LAST_7_DAYS is not available for dataset 'OfficeUsage'; available: LAST_MONTH, LAST_3_MONTHS, LAST_6_MONTHS, LAST_1_YEAR".into()
        )
    );
    assert_eq!(
        error("SELECT CustomerTenantId FROM OfficeUsage ORDER BY Month"),
        (
            DiagnosticCode::OrderByNotSelected,
            51,
            "ORDER BY 'Month' must name a selected column or metric".into()
        )
    );
    let (code, position, message) =
        error("SELECT CustomerName FROM OfficeUsage WHERE PaidAvailableUnits = 'abc'");
    assert_eq!((code, position), (DiagnosticCode::InvalidValue, 65));
    assert!(
        message.starts_with("Value 'abc' is not a valid int for column 'PaidAvailableUnits'"),
        "{message}"
    );
}

#[test]
fn select_star_has_a_hint() {
    let (code, position, message) = error("SELECT * FROM OfficeUsage");
    assert_eq!((code, position), (DiagnosticCode::SelectStar, 8));
    assert!(message.contains("list the columns"), "{message}");
}

#[test]
fn limits() {
    assert_eq!(
        error("SELECT Month FROM OfficeUsage LIMIT 0").0,
        DiagnosticCode::InvalidLimit
    );
    assert_eq!(
        error("SELECT Month FROM OfficeUsage LIMIT -3").0,
        DiagnosticCode::InvalidLimit
    );
    assert_eq!(
        error("SELECT Month FROM OfficeUsage LIMIT 2.5").0,
        DiagnosticCode::InvalidLimit
    );
    let plan = query::check(
        "SELECT Month FROM OfficeUsage LIMIT 1000000000",
        query::builtin(),
    )
    .unwrap();
    assert_eq!(plan.limit, Some(1_000_000_000));
}

#[test]
fn case_insensitive_names_come_out_canonical() {
    let plan = query::check(
        "select customertenantid, CUSTOMERCOUNT from cloudproductsresellerperformance",
        query::builtin(),
    );
    assert!(
        plan.is_err(),
        "CustomerTenantId is not in ResellerPerformance"
    );
    let plan = query::check(
        "select resellername, CUSTOMERCOUNT from cloudproductsresellerperformance",
        query::builtin(),
    )
    .unwrap();
    assert_eq!(plan.dataset, "ResellerPerformance");
    let names: Vec<&str> = plan.outputs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["ResellerName", "CustomerCount"]);
    assert_eq!(plan.group_by, ["ResellerName"]);
}

#[test]
fn defaults_are_applied() {
    let plan = query::check(
        "SELECT CustomerName, Month FROM OfficeUsage ORDER BY Month",
        query::builtin(),
    )
    .unwrap();
    assert!(plan.order_by[0].descending, "ORDER BY defaults to DESC");
    assert_eq!(
        plan.time.as_ref().map(|t| t.range),
        Some(query::DateRange::Last6Months)
    );
    let plan = query::check("SELECT MPNId FROM Profile", query::builtin()).unwrap();
    assert_eq!(plan.time, None, "no date column, no window");
}

#[test]
fn too_long_query_is_refused_before_lexing() {
    let src = format!("SELECT {} FROM OfficeUsage", "a".repeat(MAX_QUERY_BYTES));
    let (code, position, message) = error(&src);
    assert_eq!((code, position), (DiagnosticCode::QueryTooLong, 1));
    assert!(message.contains("the limit is 65536 bytes"), "{message}");
}

#[test]
fn lists_are_bounded() {
    let items = vec!["Month"; MAX_SELECT_ITEMS + 1].join(", ");
    assert_eq!(
        error(&format!("SELECT {items} FROM OfficeUsage")).0,
        DiagnosticCode::TooManyItems
    );
    let values = vec!["1"; MAX_IN_VALUES + 1].join(",");
    let (code, _, message) = error(&format!(
        "SELECT Month FROM OfficeUsage WHERE PaidAvailableUnits IN ({values})"
    ));
    assert_eq!(code, DiagnosticCode::TooManyItems);
    assert!(message.contains("at most 1000"), "{message}");
    let conditions = vec!["PaidAvailableUnits > 1"; MAX_CONDITIONS + 1].join(" AND ");
    assert_eq!(
        error(&format!("SELECT Month FROM OfficeUsage WHERE {conditions}")).0,
        DiagnosticCode::TooManyItems
    );
    // Exactly at the limits is fine.
    let values = vec!["1"; MAX_IN_VALUES].join(",");
    assert!(
        query::check(
            &format!("SELECT Month FROM OfficeUsage WHERE PaidAvailableUnits IN ({values})"),
            query::builtin()
        )
        .is_ok()
    );
}

#[test]
fn hostile_inputs_near_the_size_limit_are_answered() {
    // Each is just under 64 KiB; each must come back with a diagnostic or a
    // plan (no panic, no pathological slowness: the whole test runs in
    // milliseconds in release and well under a second in debug).
    let n = MAX_QUERY_BYTES - 64;
    let cases = [
        format!("SELECT {} FROM OfficeUsage", "x".repeat(n)),
        format!("SELECT {}", "a,".repeat(n / 2)),
        "(".repeat(n),
        "'".repeat(n),
        format!(
            "SELECT Month FROM OfficeUsage WHERE CustomerName = '{}'",
            "''".repeat(n / 2 - 40)
        ),
        format!("SELECT {} FROM OfficeUsage", "Custmer, ".repeat(n / 9 - 10)),
        "é".repeat(n / 2),
        "SELECT ".repeat(n / 7),
    ];
    for src in &cases {
        assert!(src.len() <= MAX_QUERY_BYTES);
        if let Err(e) = query::check(src, query::builtin()) {
            let _ = e.to_string();
        }
    }
}

#[test]
fn all_problems_are_reported_in_order() {
    let src = "SELECT Custmer, Markt FROM OfficeUsage WHERE PaidAvailableUnits = 'x' TIMESPAN LAST_7_DAYS";
    let err = query::check(src, query::builtin()).unwrap_err();
    let codes: Vec<DiagnosticCode> = err.diagnostics().iter().map(|d| d.code).collect();
    assert_eq!(
        codes,
        [
            DiagnosticCode::UnknownColumn,
            DiagnosticCode::UnknownColumn,
            DiagnosticCode::InvalidValue,
            DiagnosticCode::TimespanNotAvailable
        ]
    );
}

#[test]
fn diagnostics_are_capped() {
    let items: Vec<String> = (0..500).map(|i| format!("Custmer{i}")).collect();
    let src = format!("SELECT {} FROM OfficeUsage", items.join(", "));
    let err = query::check(&src, query::builtin()).unwrap_err();
    assert_eq!(err.diagnostics().len(), query::limits::MAX_DIAGNOSTICS);
    assert_eq!(err.primary().span.position(), 8);
}
