//! Parse + resolve of report queries against the built-in catalog, side by
//! side with a reference: sqlparser-rs (the SQL parser DataFusion uses)
//! parsing the equivalent SQL text, which only parses and resolves nothing.

use criterion::{Criterion, criterion_group, criterion_main};
use query::Catalog;
use sqlparser::dialect::GenericDialect;
use std::hint::black_box;

const TYPICAL: &str = "SELECT CustomerTenantId, PaidAvailableUnits, MonthlyActiveUsers FROM OfficeUsage \
     WHERE MonthlyActiveUsers > 100000 ORDER BY MonthlyActiveUsers TIMESPAN LAST_6_MONTHS";
const TYPICAL_SQL: &str = "SELECT CustomerTenantId, PaidAvailableUnits, MonthlyActiveUsers FROM OfficeUsage \
     WHERE MonthlyActiveUsers > 100000 AND Month >= '2024-01-01' ORDER BY MonthlyActiveUsers DESC";

fn bench(c: &mut Criterion) {
    let catalog = query::builtin();
    let wide = catalog.system_queries()[0].query.clone();
    let wide_sql = wide
        .split(" TIMESPAN ")
        .next()
        .unwrap_or_default()
        .to_string();

    let mut typical = c.benchmark_group("typical query");
    typical.bench_function("openinsights parse+resolve", |b| {
        b.iter(|| query::check(black_box(TYPICAL), catalog))
    });
    typical.bench_function("openinsights parse", |b| {
        b.iter(|| query::parse(black_box(TYPICAL)))
    });
    typical.bench_function("reference: sqlparser parse", |b| {
        b.iter(|| sqlparser::parser::Parser::parse_sql(&GenericDialect {}, black_box(TYPICAL_SQL)))
    });
    typical.finish();

    let mut wide_group = c.benchmark_group("wide system query (26 columns)");
    wide_group.bench_function("openinsights parse+resolve", |b| {
        b.iter(|| query::check(black_box(&wide), catalog))
    });
    wide_group.bench_function("reference: sqlparser parse", |b| {
        b.iter(|| sqlparser::parser::Parser::parse_sql(&GenericDialect {}, black_box(&wide_sql)))
    });
    wide_group.finish();

    c.bench_function("error: unknown column with suggestion", |b| {
        b.iter(|| query::check(black_box("SELECT Custmer FROM OfficeUsage"), catalog))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
