//! The built-in catalog is internally consistent, and the checks catch the
//! inconsistencies they claim to.

use query::catalog::StaticCatalog;
use query::{Catalog, DateRange};

#[test]
fn builtin_catalog_is_consistent() {
    let catalog = query::builtin();
    assert_eq!(catalog.datasets().len(), 23);
    assert_eq!(catalog.problems(), Vec::<(String, String)>::new());
    for d in catalog.datasets() {
        // Every metric's column exists (selectable or hidden).
        for m in &d.metrics {
            if let Some(c) = &m.column {
                assert!(d.stored_column(c).is_some(), "{}: {}", d.name, m.name);
            }
            // No name is both a column and a metric.
            assert!(d.column(&m.name).is_none(), "{}: {}", d.name, m.name);
        }
        // Date columns exist and are dates.
        if let Some(date) = &d.date_column {
            assert_eq!(
                d.column(date).map(|c| c.ty),
                Some(query::catalog::ColumnType::Date)
            );
            assert!(
                d.available_date_ranges.contains(&DateRange::DEFAULT),
                "{}",
                d.name
            );
        } else {
            assert_eq!(d.available_date_ranges, vec![DateRange::Lifetime]);
        }
    }
    // Every system query resolves against its own dataset.
    for q in catalog.system_queries() {
        let plan = query::check(&q.query, catalog).unwrap();
        assert_eq!(plan.dataset, catalog.dataset(&q.dataset).unwrap().name);
    }
}

#[test]
fn the_project_catalog_matches_the_spec_where_the_spec_is_present() {
    // The project owns its copy; the spec's copy sits beside the repository
    // in development and CI. When both exist they must agree.
    let spec = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(
            || env!("CARGO_MANIFEST_DIR").into(),
            std::path::PathBuf::from,
        )
        .join("../../../shared/spec/insights-datasets.json");
    if let Ok(text) = std::fs::read_to_string(&spec) {
        let spec = StaticCatalog::from_json(&text).unwrap();
        assert_eq!(&spec, query::builtin());
    }
}

fn catalog_with(dataset_json: &str) -> Result<StaticCatalog, String> {
    StaticCatalog::from_json(&format!(
        r#"{{"datasets": [{dataset_json}], "systemQueries": []}}"#
    ))
    .map_err(|e| e.to_string())
}

#[test]
fn inconsistencies_are_reported() {
    let base = |metrics: &str, date: &str| {
        format!(
            r#"{{"datasetName": "D", "aliases": [], "columns": [{{"name": "A", "type": "string"}}, {{"name": "M", "type": "date"}}],
            "hiddenColumns": [], "metrics": [{metrics}], "dateColumn": {date},
            "availableDateRanges": ["LAST_6_MONTHS"], "minimumRecurrenceInterval": 24}}"#
        )
    };
    assert!(catalog_with(&base("", r#""M""#)).is_ok());
    let m = r#""M""#;
    let cases = [
        (
            base(r#"{"name": "X", "kind": "sum", "column": "Nope"}"#, m),
            "dataset 'D': metric 'X' reads missing column 'Nope'",
        ),
        (
            base(
                r#"{"name": "A", "kind": "count_distinct", "column": "A"}"#,
                m,
            ),
            "dataset 'D': 'A' is both a column and a metric",
        ),
        (
            base("", r#""Missing""#),
            "dataset 'D': date column 'Missing' is not a selectable column",
        ),
        (
            base("", r#""A""#),
            "dataset 'D': date column 'A' has type string, not date",
        ),
        (
            base(r#"{"name": "S", "kind": "sum", "column": "A"}"#, m),
            "dataset 'D': metric 'S' sums column 'A' of type string",
        ),
        (
            base(r#"{"name": "S", "kind": "avg", "column": "A"}"#, m),
            "dataset 'D': metric 'S' has kind 'avg'; allowed: sum, count_distinct, count_rows",
        ),
    ];
    for (json, expected) in cases {
        assert_eq!(catalog_with(&json).unwrap_err(), expected);
    }
}

#[test]
fn system_query_naming_an_unknown_dataset_is_reported() {
    let err = StaticCatalog::from_json(
        r#"{"datasets": [], "systemQueries": [{"queryId": "1", "dataset": "Nope", "query": "SELECT a FROM Nope"}]}"#,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "dataset 'Nope': system query 1 names an unknown dataset"
    );
}
