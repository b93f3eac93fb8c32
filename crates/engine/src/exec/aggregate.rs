//! Aggregations: the Insights metrics (sums, distinct counts, row counts
//! per group) and the Store API's two-stage rollup.

use datafusion::arrow::datatypes::DataType;
use datafusion::functions::expr_fn::date_trunc;
use datafusion::functions_aggregate::expr_fn::{count, count_distinct, last_value, max, sum};
use datafusion::logical_expr::{Expr, ExprSchemable, cast, lit};
use datafusion::prelude::{DataFrame, coalesce};
use query::catalog::{ColumnType, MetricKind};
use query::plan::{Combine, DateUnit, Plan, Rollup, Test};

use super::column;
use super::count_distinct::count_distinct_codes;
use super::filters::predicate;
use crate::error::Result;
use crate::schema::arrow_type;

/// The metrics of an aggregated Insights query over its groups, named and
/// typed as the plan says, with its filters on metrics applied.
pub(super) fn aggregated(mut df: DataFrame, plan: &Plan) -> Result<DataFrame> {
    // The aggregate calls first, then a projection for the defaults
    // and final names.
    let group: Vec<Expr> = plan.group_by.iter().map(|c| column(c)).collect();
    let aggregates: Vec<Expr> = plan
        .aggregates
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let input = a.column.as_deref().map(column);
            let call = match (a.kind, input) {
                (MetricKind::Sum, Some(c)) => sum(c),
                (MetricKind::CountDistinct, Some(c)) => {
                    let codes = c
                        .get_type(df.schema())
                        .ok()
                        .and_then(|ty| count_distinct_codes(&ty));
                    match codes {
                        Some(f) => f.call(vec![c]),
                        // A type without codes: DataFusion's sets of values.
                        None => count_distinct(c),
                    }
                }
                (_, _) => count(lit(1i64)),
            };
            call.alias(format!("__metric{i}"))
        })
        .collect();
    df = df.aggregate(group, aggregates)?;
    let mut named: Vec<Expr> = plan.group_by.iter().map(|c| column(c)).collect();
    named.extend(plan.aggregates.iter().enumerate().map(|(i, a)| {
        let value = column(&format!("__metric{i}"));
        let value = match a.kind {
            MetricKind::Sum => coalesce(vec![value, zero(a.ty)]),
            MetricKind::CountDistinct | MetricKind::CountRows => value,
        };
        cast(value, arrow_type(a.ty)).alias(&a.name)
    }));
    df = df.select(named)?;
    if let Some(f) = plan.group_filters.iter().map(predicate).reduce(Expr::and) {
        df = df.filter(f)?;
    }
    Ok(df)
}

/// The Store API's two-stage aggregation (see [`query::plan::Rollup`]).
pub(super) fn rolled_up(df: DataFrame, plan: &Plan, rollup: &Rollup) -> Result<DataFrame> {
    let date = &rollup.date_column;
    // Group columns pinned to one value by an exact row filter (the app id)
    // are constants: they are not hashed, only put back at the end.
    let constant = |c: &str| {
        plan.row_filters.iter().find_map(|p| match &p.test {
            Test::Exact { value } if p.field == c => Some(value.clone()),
            _ => None,
        })
    };
    let varying: Vec<&String> = plan
        .group_by
        .iter()
        .filter(|c| constant(c).is_none())
        .collect();
    // Stage 1: per stored date and group, sums over the dimensions grouped
    // away (they hold disjoint populations).
    let mut keys: Vec<Expr> = vec![column(date)];
    keys.extend(varying.iter().map(|c| column(c)));
    let sums: Vec<Expr> = plan
        .aggregates
        .iter()
        .map(|a| {
            let input = a.column.as_deref().map_or(lit(1i64), column);
            sum(input).alias(&a.name)
        })
        .collect();
    let df = df.aggregate(keys, sums)?;
    // Stage 2: per bucket (or the whole window) and group.
    let mut keys: Vec<Expr> = Vec::new();
    if let Some(unit) = rollup.unit {
        let bucket = match unit {
            DateUnit::Day => column(date),
            DateUnit::Week | DateUnit::Month => cast(
                date_trunc(lit(unit.as_str()), column(date)),
                DataType::Date32,
            ),
        };
        keys.push(bucket.alias(date));
    }
    keys.extend(varying.iter().map(|c| column(c)));
    let combined: Vec<Expr> = plan
        .aggregates
        .iter()
        .map(|a| {
            let how = rollup
                .combine
                .iter()
                .find(|(n, _)| *n == a.name)
                .map_or(Combine::Sum, |(_, c)| *c);
            let value = column(&a.name);
            let call = match how {
                Combine::Sum => sum(value),
                Combine::Peak => max(value),
                Combine::Last => last_value(value, vec![column(date).sort(true, false)]),
            };
            call.alias(format!("__combined_{}", a.name))
        })
        .collect();
    let df = df.aggregate(keys, combined)?;
    let mut named: Vec<Expr> = Vec::new();
    if rollup.unit.is_some() {
        named.push(column(date));
    }
    named.extend(plan.group_by.iter().map(|c| match constant(c) {
        Some(v) => lit(v).alias(c),
        None => column(c),
    }));
    named.extend(plan.aggregates.iter().map(|a| {
        let value = coalesce(vec![column(&format!("__combined_{}", a.name)), zero(a.ty)]);
        cast(value, arrow_type(a.ty)).alias(&a.name)
    }));
    Ok(df.select(named)?)
}

fn zero(ty: ColumnType) -> Expr {
    match ty {
        ColumnType::Float => lit(0.0f64),
        _ => lit(0i64),
    }
}
