//! Parse + resolve of report queries against the built-in catalog, side by
//! side with a reference: sqlparser-rs (the SQL parser DataFusion uses)
//! parsing the equivalent SQL text, which only parses and resolves nothing.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
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

/// Cost against input size for hostile shapes: the time per byte should stay
/// flat from 4 KiB to 64 KiB (linear time).
fn scaling(c: &mut Criterion) {
    let catalog = query::builtin();
    let mut group = c.benchmark_group("scaling");
    for kib in [4usize, 16, 60] {
        let bytes = kib * 1024;
        let shapes = [
            ("in-list", {
                let n = bytes / 12;
                let values = vec!["'abcdefgh'"; n.min(1000)].join(",");
                let extra = "AND CustomerName = 'x' ".repeat(bytes.saturating_sub(values.len()) / 24);
                format!("SELECT Month FROM OfficeUsage WHERE CustomerName IN ({values}) {extra}")
            }),
            ("long-string", format!("SELECT Month FROM OfficeUsage WHERE CustomerName = '{}'", "x''".repeat(bytes / 3))),
            ("unknown-names", format!("SELECT {} FROM OfficeUsage", vec!["AbcdefghijklmnopqrstuvwxyzAbcdefghijklmnopqrstuvwxyzAbcdefghijklmnopqrstuvwxyzAbcdefghijklmnopqrstuvwxyzAbcdefghijklmnopqrstuvwxy"; bytes / 130].join(","))),
        ];
        for (name, src) in shapes {
            group.throughput(Throughput::Bytes(src.len() as u64));
            group.bench_with_input(
                BenchmarkId::new(name, format!("{kib}KiB")),
                &src,
                |b, src| b.iter(|| query::check(black_box(src), catalog)),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench, scaling);
criterion_main!(benches);
