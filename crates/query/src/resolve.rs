//! `ast::Query` + [`Catalog`] → [`Plan`]: names looked up (case-insensitive,
//! canonical spelling out), literals converted to column types, defaults
//! applied, and every rule of the language checked. All problems found are
//! reported together, in source order; the first is the primary message.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};

use crate::catalog::{Catalog, ColumnType, Dataset};
use crate::diagnostic::{Diagnostic, DiagnosticCode, QueryError, Span};
use crate::limits::{MAX_DIAGNOSTICS, MAX_LIMIT};
use crate::plan::{Aggregate, Output, Plan, Predicate, SortKey, Source, Test, TimeFilter, Value};
use crate::suggest;
use crate::syntax::ast::{self, Direction, Ident, Literal, LiteralKind};
use crate::timewindow::DateRange;

/// What a user-written name refers to.
enum Name<'a> {
    Column(&'a crate::catalog::Column),
    Metric(&'a crate::catalog::Metric),
}

impl Name<'_> {
    fn canonical(&self) -> &str {
        match self {
            Name::Column(c) => &c.name,
            Name::Metric(m) => &m.name,
        }
    }

    fn ty(&self) -> ColumnType {
        match self {
            Name::Column(c) => c.ty,
            Name::Metric(m) => m.ty,
        }
    }
}

/// Resolves a parsed query against a catalog.
pub fn resolve(query: &ast::Query, catalog: &dyn Catalog) -> Result<Plan, QueryError> {
    let dataset = find_dataset(&query.from, catalog)?;
    let mut ctx = Resolver {
        dataset,
        errors: Vec::new(),
        aggregates: Vec::new(),
    };

    let mut outputs: Vec<Output> = Vec::with_capacity(query.select.len());
    let mut output_spans: Vec<Span> = Vec::with_capacity(query.select.len());
    for item in &query.select {
        let Some(name) = ctx.lookup(item) else {
            continue;
        };
        if let Some(i) = outputs
            .iter()
            .position(|o| o.name.eq_ignore_ascii_case(name.canonical()))
        {
            let first = output_spans.get(i).copied().unwrap_or_default();
            ctx.errors.push(Diagnostic::new(
                DiagnosticCode::DuplicateColumn,
                item.span,
                format!(
                    "'{}' is selected twice (positions {} and {}); each column or metric may be selected once",
                    name.canonical(),
                    first.position(),
                    item.span.position()
                ),
            ));
            continue;
        }
        let output = match name {
            Name::Column(c) => Output {
                name: c.name.clone(),
                ty: c.ty,
                restricted: c.restricted,
                source: Source::Column,
            },
            Name::Metric(m) => {
                ctx.use_metric(m);
                Output {
                    name: m.name.clone(),
                    ty: m.ty,
                    restricted: m.restricted,
                    source: Source::Metric,
                }
            }
        };
        outputs.push(output);
        output_spans.push(item.span);
    }

    let mut row_filters = Vec::new();
    let mut group_filters = Vec::new();
    for condition in &query.conditions {
        let Some(name) = ctx.lookup(&condition.name) else {
            continue;
        };
        let Some(test) = ctx.test(&condition.test, &name, condition.name.span) else {
            continue;
        };
        let predicate = Predicate {
            field: name.canonical().to_string(),
            ty: name.ty(),
            test,
        };
        match name {
            Name::Column(_) => row_filters.push(predicate),
            Name::Metric(m) => {
                ctx.use_metric(m);
                group_filters.push(predicate);
            }
        }
    }

    let mut order_by = Vec::with_capacity(query.order_by.len());
    for item in &query.order_by {
        let position = outputs
            .iter()
            .position(|o| o.name.eq_ignore_ascii_case(&item.name.name));
        match position {
            Some(output) => order_by.push(SortKey {
                output,
                descending: item.direction != Some(Direction::Asc),
            }),
            None => {
                if ctx.lookup(&item.name).is_some() {
                    ctx.errors.push(Diagnostic::new(
                        DiagnosticCode::OrderByNotSelected,
                        item.name.span,
                        format!(
                            "ORDER BY '{}' must name a selected column or metric",
                            item.name.name
                        ),
                    ));
                }
            }
        }
    }

    let limit = query.limit.as_ref().and_then(|l| ctx.limit(&l.value));
    let time = ctx.time(query.timespan.as_ref());

    let Resolver {
        mut errors,
        aggregates,
        ..
    } = ctx;
    errors.truncate(MAX_DIAGNOSTICS);
    if let Some(err) = QueryError::from_diagnostics(errors) {
        return Err(err);
    }
    let group_by = if aggregates.is_empty() {
        Vec::new()
    } else {
        outputs
            .iter()
            .filter(|o| o.source == Source::Column)
            .map(|o| o.name.clone())
            .collect()
    };
    Ok(Plan {
        dataset: dataset.name.clone(),
        distinct: query.distinct,
        outputs,
        aggregates,
        group_by,
        row_filters,
        group_filters,
        order_by,
        limit,
        offset: 0,
        condition: None,
        rollup: None,
        time,
    })
}

fn find_dataset<'c>(from: &Ident, catalog: &'c dyn Catalog) -> Result<&'c Dataset, Diagnostic> {
    if let Some(d) = catalog.dataset(&from.name) {
        return Ok(d);
    }
    let names = catalog
        .datasets()
        .iter()
        .flat_map(|d| std::iter::once(d.name.as_str()).chain(d.aliases.iter().map(String::as_str)));
    let suggestion = suggest::closest(&from.name, names);
    let text = match suggestion {
        Some(_) => format!("Unknown dataset '{}'", from.name),
        None => {
            let all: Vec<&str> = catalog.datasets().iter().map(|d| d.name.as_str()).collect();
            format!(
                "Unknown dataset '{}'; available datasets: {}",
                from.name,
                all.join(", ")
            )
        }
    };
    Err(
        Diagnostic::new(DiagnosticCode::UnknownDataset, from.span, text)
            .with_suggestion(suggestion),
    )
}

struct Resolver<'c> {
    dataset: &'c Dataset,
    errors: Vec<Diagnostic>,
    aggregates: Vec<Aggregate>,
}

impl<'c> Resolver<'c> {
    /// A selectable column or metric by name; records an error if unknown.
    fn lookup(&mut self, ident: &Ident) -> Option<Name<'c>> {
        if let Some(c) = self.dataset.column(&ident.name) {
            return Some(Name::Column(c));
        }
        if let Some(m) = self.dataset.metric(&ident.name) {
            return Some(Name::Metric(m));
        }
        if self.errors.len() >= MAX_DIAGNOSTICS {
            // Enough to report; skip the cost of another suggestion.
            self.errors.truncate(MAX_DIAGNOSTICS);
            return None;
        }
        let suggestion = suggest::closest(&ident.name, self.dataset.addressable_names());
        self.errors.push(
            Diagnostic::new(
                DiagnosticCode::UnknownColumn,
                ident.span,
                format!(
                    "Unknown column '{}' in dataset '{}' at position {}.",
                    ident.name,
                    self.dataset.name,
                    ident.span.position()
                ),
            )
            .with_suggestion(suggestion),
        );
        None
    }

    fn use_metric(&mut self, m: &crate::catalog::Metric) {
        if !self.aggregates.iter().any(|a| a.name == m.name) {
            let column = m.column.as_ref().map(|c| {
                self.dataset
                    .stored_column(c)
                    .map_or_else(|| c.clone(), |col| col.name.clone())
            });
            self.aggregates.push(Aggregate {
                name: m.name.clone(),
                kind: m.kind,
                column,
                ty: m.ty,
                restricted: m.restricted,
            });
        }
    }

    fn test(&mut self, test: &ast::Test, name: &Name<'_>, name_span: Span) -> Option<Test> {
        let ty = name.ty();
        let column = name.canonical();
        match test {
            ast::Test::Compare { op, value } => {
                let value = self.convert(value, ty, column)?;
                Some(Test::Compare { op: *op, value })
            }
            ast::Test::In { negated, values } => {
                let converted: Vec<Option<Value>> =
                    values.iter().map(|v| self.convert(v, ty, column)).collect();
                let values = converted.into_iter().collect::<Option<Vec<_>>>()?;
                Some(Test::In {
                    negated: *negated,
                    values,
                })
            }
            ast::Test::Like { negated, pattern } => {
                if ty != ColumnType::String {
                    self.errors.push(Diagnostic::new(
                        DiagnosticCode::TypeMismatch,
                        name_span,
                        format!(
                            "LIKE needs a string column, but '{column}' is {ty} (position {}); \
                             compare numbers and dates with =, !=, <, <=, >, >= or IN",
                            name_span.position()
                        ),
                    ));
                    return None;
                }
                Some(Test::Like {
                    negated: *negated,
                    pattern: pattern.text().to_string(),
                })
            }
        }
    }

    /// Converts a literal to `ty`; records an error naming the column and value.
    fn convert(&mut self, literal: &Literal, ty: ColumnType, column: &str) -> Option<Value> {
        let value = convert_literal(literal, ty);
        if value.is_none() {
            let expected = match ty {
                ColumnType::String => "a string",
                ColumnType::Int => "a whole number",
                ColumnType::Float => "a number",
                ColumnType::Date => "a date written 'yyyy-MM-dd'",
            };
            self.errors.push(Diagnostic::new(
                DiagnosticCode::InvalidValue,
                literal.span,
                format!(
                    "Value '{}' is not a valid {ty} for column '{column}'; expected {expected}",
                    literal.text()
                ),
            ));
        }
        value
    }

    fn limit(&mut self, literal: &Literal) -> Option<u64> {
        let n = literal
            .text()
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n));
        if n.is_none() {
            self.errors.push(Diagnostic::new(
                DiagnosticCode::InvalidLimit,
                literal.span,
                format!(
                    "LIMIT {} is not allowed: LIMIT must be a whole number from 1 to {MAX_LIMIT}",
                    literal.text()
                ),
            ));
        }
        n
    }

    fn time(&mut self, timespan: Option<&Ident>) -> Option<TimeFilter> {
        let dataset = self.dataset;
        let range = match timespan {
            None => DateRange::DEFAULT,
            Some(ident) => {
                let range = DateRange::parse(&ident.name)
                    .filter(|r| dataset.available_date_ranges.contains(r));
                match range {
                    Some(r) => r,
                    None => {
                        let available: Vec<&str> = dataset
                            .available_date_ranges
                            .iter()
                            .map(|r| r.as_str())
                            .collect();
                        let code = if DateRange::parse(&ident.name).is_some() {
                            DiagnosticCode::TimespanNotAvailable
                        } else {
                            DiagnosticCode::UnknownTimespan
                        };
                        let suggestion = (code == DiagnosticCode::UnknownTimespan)
                            .then(|| suggest::closest(&ident.name, available.iter().copied()))
                            .flatten();
                        self.errors.push(
                            Diagnostic::new(
                                code,
                                ident.span,
                                format!(
                                    "TIMESPAN {} is not available for dataset '{}'; available: {}",
                                    ident.name,
                                    dataset.name,
                                    available.join(", ")
                                ),
                            )
                            .with_suggestion(suggestion),
                        );
                        return None;
                    }
                }
            }
        };
        // A dataset without a date column lists only LIFETIME, which bounds nothing.
        let column = dataset.date_column.clone()?;
        Some(TimeFilter { column, range })
    }
}

/// Converts a literal to a value of `ty`, or `None` when it cannot be.
fn convert_literal(literal: &Literal, ty: ColumnType) -> Option<Value> {
    let text = literal.text();
    match ty {
        ColumnType::String => Some(Value::Str(text.to_string())),
        ColumnType::Int => text.trim().parse::<i64>().ok().map(Value::Int),
        ColumnType::Float => text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Value::Float),
        ColumnType::Date => match literal.kind {
            LiteralKind::Number(_) => None,
            LiteralKind::Str(_) => parse_date(text.trim()).map(Value::Date),
        },
    }
}

/// `yyyy-MM-dd`, or a timestamp at midnight (`2021-03-01T00:00:00Z`,
/// `2021-03-01 00:00:00`): a date column holds days, so a time of day
/// other than midnight would be ambiguous and is refused.
fn parse_date(text: &str) -> Option<NaiveDate> {
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(d);
    }
    let timestamp = DateTime::parse_from_rfc3339(text)
        .map(|t| t.naive_utc())
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f"))
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"))
        .ok()?;
    (timestamp.time() == NaiveTime::MIN).then(|| timestamp.date())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Literal {
        Literal {
            kind: LiteralKind::Str(s.into()),
            span: Span::default(),
        }
    }

    #[test]
    fn dates() {
        let d = |s: &str| convert_literal(&lit(s), ColumnType::Date);
        let march = NaiveDate::from_ymd_opt(2021, 3, 1).map(Value::Date);
        assert_eq!(d("2021-03-01"), march);
        assert_eq!(d("2021-03-01T00:00:00Z"), march);
        assert_eq!(d("2021-03-01 00:00:00"), march);
        assert_eq!(d("2021-03-01T12:00:00Z"), None);
        assert_eq!(d("2021-02-30"), None);
        assert_eq!(d("March"), None);
    }

    #[test]
    fn numbers() {
        let n = |s: &str, ty| {
            convert_literal(
                &Literal {
                    kind: LiteralKind::Number(s.into()),
                    span: Span::default(),
                },
                ty,
            )
        };
        assert_eq!(n("100", ColumnType::Int), Some(Value::Int(100)));
        assert_eq!(n("1.5", ColumnType::Int), None);
        assert_eq!(n("99999999999999999999", ColumnType::Int), None);
        assert_eq!(n("-1.5", ColumnType::Float), Some(Value::Float(-1.5)));
        assert_eq!(n("7", ColumnType::String), Some(Value::Str("7".into())));
        assert_eq!(
            convert_literal(&lit("100"), ColumnType::Int),
            Some(Value::Int(100))
        );
        assert_eq!(convert_literal(&lit("abc"), ColumnType::Int), None);
    }
}
