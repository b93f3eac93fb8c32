//! A `filter` expression checked against the method's table and turned
//! into a plan [`Condition`]; the exact-match predicates ids and fixed
//! values use.

use super::methods::Method;
use super::{ParamError, bad, column, dates, filter, is_bool, list};
use crate::catalog::{ColumnType, Dataset};
use crate::plan::{CompareOp, Condition, Predicate, Test, Value};

fn convert(wire: &str, ty: ColumnType, lit: &filter::Literal) -> Result<Value, String> {
    use filter::Literal as L;
    if is_bool(wire) {
        return match lit {
            L::Bool(b) => Ok(Value::Int(i64::from(*b))),
            L::Str(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Int(1)),
            L::Str(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Int(0)),
            other => Err(format!("'{wire}' is true or false, not {other}")),
        };
    }
    match (ty, lit) {
        (ColumnType::String, L::Str(s)) => Ok(Value::Str(s.clone())),
        (ColumnType::String, L::Number(n)) => Ok(Value::Str(n.clone())),
        (ColumnType::String, L::Bool(b)) => Ok(Value::Str(b.to_string())),
        (ColumnType::Int, L::Number(n) | L::Str(n)) => n
            .trim()
            .parse()
            .map(Value::Int)
            .map_err(|_| format!("'{wire}' is a whole number, not {lit}")),
        (ColumnType::Float, L::Number(n) | L::Str(n)) => n
            .trim()
            .parse()
            .map(Value::Float)
            .map_err(|_| format!("'{wire}' is a number, not {lit}")),
        (ColumnType::Date, L::Str(s)) => dates::parse_date_input(s)
            .map(|t| Value::Date(t.date()))
            .ok_or_else(|| format!("'{wire}' is a date ({}), not {lit}", dates::DATE_FORMS)),
        (ty, lit) => Err(format!("'{wire}' is a {ty}, not {lit}")),
    }
}

/// Numeric review fields accept ordering operators; others eq/ne only.
const ORDERED_FIELDS: &[&str] = &["deviceRAM", "deviceStorageCapacity", "rating", "date"];
/// Fields `contains()` applies to.
const TEXT_FIELDS: &[&str] = &["reviewTitle", "reviewText", "responseText"];

pub(super) fn filter_condition(
    method: &Method,
    dataset: &Dataset,
    expr: &filter::Expr,
) -> Result<Condition, ParamError> {
    let field_check = |name: &str, span: crate::Span| -> Result<(String, ColumnType), ParamError> {
        let allowed = method.filter.iter().find(|f| f.eq_ignore_ascii_case(name));
        let col = allowed.and_then(|w| column(method, dataset, w));
        match (allowed, col) {
            (Some(w), Some(c)) => Ok(((*w).to_string(), c.ty)),
            _ => Err(bad(
                "filter",
                format!(
                    "filter field '{name}' (at character {}) is not filterable; filterable: {}",
                    span.position(),
                    list(method.filter)
                ),
            )),
        }
    };
    Ok(match expr {
        filter::Expr::And(es) => Condition::And(
            es.iter()
                .map(|e| filter_condition(method, dataset, e))
                .collect::<Result<_, _>>()?,
        ),
        filter::Expr::Or(es) => Condition::Or(
            es.iter()
                .map(|e| filter_condition(method, dataset, e))
                .collect::<Result<_, _>>()?,
        ),
        filter::Expr::Contains {
            field,
            field_span,
            text,
        } => {
            let (wire, ty) = field_check(field, *field_span)?;
            if !TEXT_FIELDS.iter().any(|t| t.eq_ignore_ascii_case(&wire)) {
                return Err(bad(
                    "filter",
                    format!(
                        "contains() applies to {} only, not '{wire}'",
                        TEXT_FIELDS.join(", ")
                    ),
                ));
            }
            let mut pattern = String::from("%");
            for c in text.chars() {
                if matches!(c, '%' | '_' | '\\') {
                    pattern.push('\\');
                }
                pattern.push(c);
            }
            pattern.push('%');
            Condition::Test(Predicate {
                field: method.column_of(&wire),
                ty,
                test: Test::Like {
                    negated: false,
                    pattern,
                },
            })
        }
        filter::Expr::Compare {
            field,
            field_span,
            op,
            value,
            value_span,
        } => {
            let (wire, ty) = field_check(field, *field_span)?;
            if !matches!(op, CompareOp::Eq | CompareOp::NotEq)
                && !ORDERED_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(&wire))
            {
                return Err(bad(
                    "filter",
                    format!(
                        "operator '{}' does not apply to '{wire}' (at character {}); it takes eq or ne (gt, lt, ge, le apply to {})",
                        op_word(*op),
                        field_span.position(),
                        ORDERED_FIELDS.join(", ")
                    ),
                ));
            }
            let value = convert(&wire, ty, value).map_err(|m| {
                bad(
                    "filter",
                    format!("filter value at character {}: {m}", value_span.position()),
                )
            })?;
            Condition::Test(Predicate {
                field: method.column_of(&wire),
                ty,
                test: Test::Compare { op: *op, value },
            })
        }
    })
}

fn op_word(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "eq",
        CompareOp::NotEq => "ne",
        CompareOp::Lt => "lt",
        CompareOp::LtEq => "le",
        CompareOp::Gt => "gt",
        CompareOp::GtEq => "ge",
    }
}

/// Exact equality with a canonical value (ids the server checked against
/// the account, fixed values of the method table).
pub(super) fn exact(column: &str, value: &str) -> Predicate {
    Predicate {
        field: column.to_string(),
        ty: ColumnType::String,
        test: Test::Exact {
            value: value.to_string(),
        },
    }
}

pub(super) fn eq(column: &str, ty: ColumnType, value: &str) -> Predicate {
    Predicate {
        field: column.to_string(),
        ty,
        test: Test::Compare {
            op: CompareOp::Eq,
            value: Value::Str(value.to_string()),
        },
    }
}
