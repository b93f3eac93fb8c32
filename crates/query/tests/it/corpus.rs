//! Data-driven snapshots: every `queries/ok/*.q` resolves and its plan is
//! pinned; every `queries/err/*.q` fails and its message and rendered
//! diagnostic are pinned. Add a case by adding a file.

use query::Catalog;

fn show_plan(src: &str) -> String {
    let plan = query::check(src, query::builtin())
        .unwrap_or_else(|e| panic!("query should resolve: {src}\n{}", e.render(src)));
    // The printer's canonical text must parse to the same tree.
    let ast = query::parse(src).unwrap();
    let printed = ast.to_string();
    assert_eq!(
        query::parse(&printed).unwrap().without_spans(),
        ast.without_spans()
    );
    format!("canonical: {printed}\n{plan}")
}

fn show_error(src: &str) -> String {
    let err = match query::check(src, query::builtin()) {
        Ok(plan) => panic!("query should be rejected: {src}\n{plan}"),
        Err(e) => e,
    };
    let primary = err.primary();
    format!(
        "message: {}\ncode: {}\nposition: {}\n\n{}",
        primary,
        primary.code,
        primary.span.position(),
        err.render(src)
    )
}

#[test]
fn accepted_queries() {
    insta::glob!("queries/ok/*.q", |path| {
        let src = std::fs::read_to_string(path).unwrap();
        insta::assert_snapshot!(show_plan(src.trim_end()));
    });
}

#[test]
fn rejected_queries() {
    insta::glob!("queries/err/*.q", |path| {
        let src = std::fs::read_to_string(path).unwrap();
        insta::assert_snapshot!(show_error(src.trim_end()));
    });
}

#[test]
fn system_queries() {
    let catalog = query::builtin();
    assert_eq!(catalog.system_queries().len(), 20);
    for q in catalog.system_queries() {
        let plan = show_plan(&q.query);
        insta::assert_snapshot!(format!("system_{}", q.dataset), plan);
        let resolved = query::check(&q.query, catalog).unwrap();
        assert_eq!(
            catalog.dataset(&q.dataset).map(|d| d.name.as_str()),
            Some(resolved.dataset.as_str())
        );
    }
}
