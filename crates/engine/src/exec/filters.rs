//! A plan's row tests as DataFusion expressions: condition trees (an
//! AND's cheapest tests first), predicates (strings case-insensitive, see
//! [`crate::casefold`]) and the time window's day bounds.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Expr, lit};
use datafusion::prelude::lower;
use query::TimeWindow;
use query::catalog::ColumnType;
use query::plan::{CompareOp, Condition, Predicate, Test, Value};

use super::column;
use crate::casefold::Fold;
use crate::ingest::date_to_days;

/// A boolean tree of conditions as one expression.
pub(super) fn condition(c: &Condition) -> Expr {
    match c {
        Condition::Test(p) => predicate(p),
        Condition::And(cs) => {
            // Cheaper tests first: DataFusion evaluates the rest of an AND
            // only on the rows a selective first test keeps.
            let mut cs: Vec<&Condition> = cs.iter().collect();
            cs.sort_by_key(|c| test_cost(c));
            cs.into_iter()
                .map(condition)
                .reduce(Expr::and)
                .unwrap_or_else(|| lit(true))
        }
        Condition::Or(cs) => cs
            .iter()
            .map(condition)
            .reduce(Expr::or)
            .unwrap_or_else(|| lit(false)),
    }
}

/// How costly a condition is per row, relative to others: exact and
/// numeric tests, then folds by kind, then general LIKE patterns and
/// ordering comparisons of strings (lower-casing), then nested trees.
fn test_cost(c: &Condition) -> u8 {
    match c {
        Condition::Test(p) => predicate_cost(p),
        _ => 9,
    }
}

pub(super) fn predicate_cost(p: &Predicate) -> u8 {
    if p.ty != ColumnType::String {
        return 0;
    }
    match &p.test {
        Test::Exact { .. } => 0,
        Test::Like { pattern, .. } => Fold::of_like(pattern).map_or(6, |f| f.cost()),
        Test::In { .. } => 1,
        Test::Compare {
            op: CompareOp::Eq | CompareOp::NotEq,
            ..
        } => 1,
        Test::Compare { .. } => 5,
    }
}

fn literal(value: &Value) -> Expr {
    match value {
        Value::Str(s) => lit(s.to_lowercase()),
        Value::Int(i) => lit(*i),
        Value::Float(x) => lit(*x),
        Value::Date(d) => lit(ScalarValue::Date32(Some(date_to_days(*d)))),
    }
}

/// A string test as a fold, where one applies.
fn fold_test(p: &Predicate) -> Option<Expr> {
    let text = |v: &Value| match v {
        Value::Str(s) => Some(s.to_lowercase()),
        _ => None,
    };
    let (fold, negated) = match &p.test {
        Test::Compare {
            op: op @ (CompareOp::Eq | CompareOp::NotEq),
            value,
        } => (Fold::AnyOf(vec![text(value)?]), *op == CompareOp::NotEq),
        Test::In { negated, values } => (
            Fold::AnyOf(values.iter().map(text).collect::<Option<_>>()?),
            *negated,
        ),
        Test::Like { negated, pattern } => (Fold::of_like(pattern)?, *negated),
        _ => return None,
    };
    Some(fold.call(column(&p.field), negated))
}

/// One condition as an expression; strings compare case-insensitively.
/// Equality, IN and LIKE with `%` only at the ends are one-pass folds
/// ([`crate::casefold`]: no lower-cased copy of the column); other LIKE
/// patterns are ILIKE, ordering comparisons lower both sides.
pub(super) fn predicate(p: &Predicate) -> Expr {
    if p.ty == ColumnType::String
        && let Some(test) = fold_test(p)
    {
        return test;
    }
    let target = if p.ty == ColumnType::String {
        lower(column(&p.field))
    } else {
        column(&p.field)
    };
    match &p.test {
        Test::Compare { op, value } => {
            let v = literal(value);
            match op {
                CompareOp::Eq => target.eq(v),
                CompareOp::NotEq => target.not_eq(v),
                CompareOp::Lt => target.lt(v),
                CompareOp::LtEq => target.lt_eq(v),
                CompareOp::Gt => target.gt(v),
                CompareOp::GtEq => target.gt_eq(v),
            }
        }
        Test::In { negated, values } => {
            target.in_list(values.iter().map(literal).collect(), *negated)
        }
        Test::Exact { value } => column(&p.field).eq(lit(value.clone())),
        Test::Like { negated, pattern } => {
            let like = column(&p.field).ilike(lit(pattern.clone()));
            if *negated {
                // NOT (x ILIKE p) is null for a null x, so nulls stay out.
                Expr::Not(Box::new(like))
            } else {
                like
            }
        }
    }
}

/// The first day whose midnight is at or after `t`.
pub(super) fn first_day_at_or_after(t: DateTime<Utc>) -> NaiveDate {
    let d = t.date_naive();
    if t.time() == chrono::NaiveTime::MIN {
        d
    } else {
        d + Duration::days(1)
    }
}

/// `from <= day@00:00 < to` on a date column, as day bounds.
pub(super) fn window_filter(w: &TimeWindow) -> Vec<Expr> {
    let mut out = Vec::new();
    let date = |d: NaiveDate| lit(ScalarValue::Date32(Some(date_to_days(d))));
    if let Some(from) = w.from {
        out.push(column(&w.column).gt_eq(date(first_day_at_or_after(from))));
    }
    if let Some(to) = w.to {
        out.push(column(&w.column).lt(date(first_day_at_or_after(to))));
    }
    out
}
