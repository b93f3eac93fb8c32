//! Parse + resolve of typical queries against the built-in catalog.

use criterion::{Criterion, criterion_group, criterion_main};
use query::Catalog;
use std::hint::black_box;

const TYPICAL: &str = "SELECT CustomerTenantId, PaidAvailableUnits, MonthlyActiveUsers FROM OfficeUsage \
     WHERE MonthlyActiveUsers > 100000 ORDER BY MonthlyActiveUsers TIMESPAN LAST_6_MONTHS";

fn bench(c: &mut Criterion) {
    let catalog = query::builtin();
    let wide = &catalog.system_queries()[0].query;
    c.bench_function("check/typical", |b| {
        b.iter(|| query::check(black_box(TYPICAL), catalog))
    });
    c.bench_function("check/system_query_wide", |b| {
        b.iter(|| query::check(black_box(wide), catalog))
    });
    c.bench_function("parse/typical", |b| {
        b.iter(|| query::parse(black_box(TYPICAL)))
    });
    c.bench_function("check/error_unknown_column", |b| {
        b.iter(|| query::check(black_box("SELECT Custmer FROM OfficeUsage"), catalog))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
