//! The Store analytics API's request language, from query-string
//! parameters to the same [`Plan`] the report language produces.
//!
//! | stage | entry point | output |
//! |---|---|---|
//! | method table | [`methods::find`] | [`methods::Method`] |
//! | parameters | [`resolve`] | [`StoreQuery`] (a `Plan`, window, paging, row shape) |
//! | filter/orderby/groupby | [`filter`] | syntax trees with spans |
//! | dates | [`dates::parse_date_input`] | `NaiveDateTime` |
//!
//! Every failure is a [`ParamError`] naming the parameter and what is
//! allowed; the server renders them into the error JSON of spec §1.7.

pub mod dates;
pub mod filter;
pub mod methods;

use std::sync::LazyLock;

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveTime};

use crate::catalog::{Catalog, ColumnType, Dataset, StaticCatalog};
use crate::diagnostic::Diagnostic;
use crate::plan::{
    Aggregate, CompareOp, Condition, DateUnit, MetricKind, Output, Plan, Predicate, Rollup,
    SortKey, Source, Test, TimeFilter, Value,
};
use crate::timewindow::{DateRange, TimeWindow};
use methods::{Default, Method, Scope, Stored};

const STORE_JSON: &str = include_str!("../../catalog/store-datasets.json");

static STORE: LazyLock<StaticCatalog> = LazyLock::new(|| {
    // Part of the source tree and loaded by a unit test: a failure is a
    // build defect, not user input.
    #[allow(clippy::expect_used)]
    StaticCatalog::from_json(STORE_JSON).expect("the embedded Store catalog is valid")
});

/// The datasets behind the Store analytics API.
pub fn store_catalog() -> &'static StaticCatalog {
    &STORE
}

/// Fields whose stored 0/1 values are booleans on the wire.
pub const BOOL_FIELDS: &[&str] = &[
    "isRevised",
    "isTouchEnabled",
    "cabDownloadable",
    "isBlamedFrame",
];

/// The earliest date any method serves; earlier starts are clamped.
pub fn earliest_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2015, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// One invalid parameter: its name and a message that says what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParamError {
    pub param: String,
    pub message: String,
}

fn bad(param: &str, message: impl Into<String>) -> ParamError {
    ParamError {
        param: param.to_string(),
        message: message.into(),
    }
}

fn from_diagnostic(param: &str, d: &Diagnostic) -> ParamError {
    bad(
        param,
        format!(
            "{param}: {} (at character {})",
            d.message(),
            d.span.position()
        ),
    )
}

/// Where one answer field's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldSource {
    /// The plan output at this index.
    Output(usize),
    /// A dimension that was grouped away: `"All"`.
    All,
    /// The date of an answer whose dates were aggregated away: `null`.
    Null,
}

/// One field of an answer row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub wire: String,
    pub source: FieldSource,
    pub ty: ColumnType,
    pub boolean: bool,
}

/// A request resolved: the plan to run and how to shape the answer.
#[derive(Debug, Clone)]
pub struct StoreQuery {
    pub method: &'static Method,
    pub plan: Plan,
    pub window: Option<TimeWindow>,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub top: u64,
    pub skip: u64,
    pub level: String,
    /// Answer row fields in order.
    pub fields: Vec<Field>,
    /// Hourly answers: the plan output holding the hour of the day.
    pub hour_output: Option<usize>,
}

/// The query-string parameters of one call: names case-insensitive,
/// `$filter` etc. the same as `filter`, the first occurrence wins.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Params {
        Params(pairs.into_iter().collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.trim_start_matches('$').eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A non-empty value, trimmed.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// Replaces the value of every occurrence of `name`.
    pub fn set(&mut self, name: &str, value: &str) {
        for (k, v) in &mut self.0 {
            if k.trim_start_matches('$').eq_ignore_ascii_case(name) {
                *v = value.to_string();
            }
        }
    }
}

fn day_of(d: Default, today: NaiveDate) -> NaiveDate {
    match d {
        Default::Today => today,
        Default::DaysAgo(n) => today - Duration::days(n),
        Default::MonthsAgo(n) => today.checked_sub_months(Months::new(n)).unwrap_or(today),
        Default::Fixed(y, m, dd) => NaiveDate::from_ymd_opt(y, m, dd).unwrap_or(today),
    }
}

fn parse_day_param(params: &Params, name: &str) -> Result<Option<NaiveDate>, ParamError> {
    let Some(text) = params.value(name) else {
        return Ok(None);
    };
    dates::parse_date_input(text)
        .map(|t| Some(t.date()))
        .ok_or_else(|| {
            bad(
                name,
                format!(
                    "{name} '{}' is not a date; accepted forms: {}",
                    text.chars().take(40).collect::<String>(),
                    dates::DATE_FORMS
                ),
            )
        })
}

fn parse_count(params: &Params, name: &str, default: u64, max: u64) -> Result<u64, ParamError> {
    let Some(text) = params.value(name) else {
        return Ok(default);
    };
    let n: u64 = text.parse().map_err(|_| {
        let range = if max >= u64::MAX / 4 {
            "0 or more".to_string()
        } else {
            format!("from 0 to {max}")
        };
        bad(
            name,
            format!(
                "{name} parameter must be a whole number {range}, not '{}'",
                text.chars().take(40).collect::<String>()
            ),
        )
    })?;
    if n > max {
        return Err(bad(
            name,
            format!("{name} parameter cannot be more than {max}"),
        ));
    }
    Ok(n)
}

fn list(items: &[&str]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// The catalog column for a wire field of the method.
fn column<'d>(
    method: &Method,
    dataset: &'d Dataset,
    wire: &str,
) -> Option<&'d crate::catalog::Column> {
    dataset.stored_column(&method.column_of(wire))
}

fn is_bool(wire: &str) -> bool {
    BOOL_FIELDS.iter().any(|b| b.eq_ignore_ascii_case(wire))
}

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

fn filter_condition(
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
fn exact(column: &str, value: &str) -> Predicate {
    Predicate {
        field: column.to_string(),
        ty: ColumnType::String,
        test: Test::Exact {
            value: value.to_string(),
        },
    }
}

fn eq(column: &str, ty: ColumnType, value: &str) -> Predicate {
    Predicate {
        field: column.to_string(),
        ty,
        test: Test::Compare {
            op: CompareOp::Eq,
            value: Value::Str(value.to_string()),
        },
    }
}

/// Every field an answer row of `method` may carry, with its stored type
/// and whether it is a boolean on the wire (what the OpenAPI document
/// describes). Grouped-away dimensions are `"All"` or absent; `date` may be
/// null.
pub fn row_fields(method: &Method) -> Vec<(String, ColumnType, bool)> {
    let Some(dataset) = store_catalog().dataset(method.dataset) else {
        return Vec::new();
    };
    let names: Vec<&str> = if method.stored == Stored::Rows {
        method.fields.to_vec()
    } else {
        let mut v: Vec<&str> = method.always.to_vec();
        for g in method.group {
            if !v.iter().any(|x| x.eq_ignore_ascii_case(g)) {
                v.push(g);
            }
        }
        v.extend(method.measures.iter().map(|(w, _)| *w));
        v
    };
    names
        .into_iter()
        .filter_map(|w| column(method, dataset, w).map(|c| (w.to_string(), c.ty, is_bool(w))))
        .collect()
}

/// The first day of the week (Monday) or month holding `day`; `day` itself
/// at other levels.
fn bucket_start(day: NaiveDate, level: &str) -> NaiveDate {
    match level {
        "week" => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
        "month" => day.with_day(1).unwrap_or(day),
        _ => day,
    }
}

/// Resolves one call of `method` at `today` (UTC) into a [`StoreQuery`].
/// All problems are reported, each naming its parameter.
pub fn resolve(
    method: &'static Method,
    params: &Params,
    today: NaiveDate,
) -> Result<StoreQuery, Vec<ParamError>> {
    let mut errors = Vec::new();
    let Some(dataset) = store_catalog().dataset(method.dataset) else {
        return Err(vec![bad("path", format!("no dataset {}", method.dataset))]);
    };
    let string_col = |name: &str| {
        dataset
            .stored_column(name)
            .map_or(ColumnType::String, |c| c.ty)
    };

    // Which product.
    let application_id = params.value("applicationId").map(str::to_string);
    let product = method.product.and_then(|p| {
        params
            .value(p.name)
            .map(|v| (p.name.to_string(), p.column, v.to_string()))
    });
    let mut row_filters: Vec<Predicate> = Vec::new();
    match method.scope {
        Scope::App if application_id.is_none() => errors.push(bad(
            "applicationId",
            "applicationId is required: the Store ID of an app of this account (e.g. 9NBLGGGZ5QDR)",
        )),
        Scope::AppOrProduct if application_id.is_none() && product.is_none() => {
            let name = method.product.map_or("productId", |p| p.name);
            errors.push(bad(
                "applicationId",
                format!("applicationId or {name} is required"),
            ));
        }
        _ => {}
    }
    // Ids are compared exactly: the caller (the server) replaces them by the
    // account's spelling after checking ownership.
    if let Some((_, col, value)) = &product {
        row_filters.push(exact(col, value));
    } else if method.scope != Scope::Account
        && let Some(app) = &application_id
    {
        row_filters.push(exact("applicationId", app));
    }
    for (col, value) in method.fixed {
        row_filters.push(exact(col, value));
    }
    for p in method.params {
        match params.value(p.name) {
            Some(v) => row_filters.push(eq(p.column, string_col(p.column), v)),
            None if p.required => errors.push(bad(
                p.name,
                format!("{} is required for {}", p.name, method.label()),
            )),
            None => {}
        }
    }

    // Dates.
    let start = parse_day_param(params, "startDate").unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let end = parse_day_param(params, "endDate").unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let mut start = start.unwrap_or_else(|| day_of(method.start, today));
    let end_given = end.is_some();
    let end = end.unwrap_or_else(|| day_of(method.end, today));
    if start > end && end_given {
        errors.push(bad(
            "startDate",
            format!("startDate {start} is after endDate {end}; the range is inclusive and must not be empty"),
        ));
    }
    // Clamp: retention and the dawn of data; an end in the far future is
    // just "up to now".
    let first = method
        .earliest
        .and_then(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
        .unwrap_or_else(earliest_date);
    let floor = method
        .retention_days
        .map_or(first, |d| (today - Duration::days(d)).max(first));
    start = start.max(floor);
    let end = end.min(today);

    // Aggregation level.
    let level = match params.value("aggregationLevel") {
        None => method.levels.first().copied().unwrap_or("day").to_string(),
        Some(l) => {
            let lower = l.to_ascii_lowercase();
            let ok = if method.levels.is_empty() {
                lower == "day"
            } else {
                method.levels.contains(&lower.as_str())
            };
            if !ok {
                let allowed = if method.levels.is_empty() {
                    "day (this method has no other level)".to_string()
                } else {
                    method.levels.join(", ")
                };
                errors.push(bad(
                    "aggregationLevel",
                    format!(
                        "aggregationLevel must be one of {allowed}, not '{}'",
                        l.chars().take(40).collect::<String>()
                    ),
                ));
            }
            lower
        }
    };
    if level == "hour" {
        // Hourly data covers the previous 72 hours only.
        start = start.max(today - Duration::days(3));
    }
    // Week and month rows of per-grain data are dated on their bucket's
    // first day: a range starting inside a bucket includes that bucket (a
    // user asking for November 4 to December 2 expects November's row).
    if method.stored == Stored::PerGrain {
        start = bucket_start(start, &level);
    }

    // Paging.
    let top = parse_count(params, "top", method.top_default, method.top_max).unwrap_or_else(|e| {
        errors.push(e);
        method.top_default
    });
    let skip = parse_count(params, "skip", 0, u64::MAX / 2).unwrap_or_else(|e| {
        errors.push(e);
        0
    });

    // Filter.
    let mut condition = None;
    if let Some(text) = params.value("filter") {
        match filter::parse_filter(text) {
            Err(d) => errors.push(from_diagnostic("filter", &d)),
            Ok(expr) if method.filter.is_empty() => {
                let _ = expr;
                errors.push(bad("filter", format!("{} takes no filter", method.label())));
            }
            Ok(expr) => match filter_condition(method, dataset, &expr) {
                Ok(c) => condition = Some(c),
                Err(e) => errors.push(e),
            },
        }
    }

    // Group by.
    let mut grouped: Vec<String> = Vec::new();
    if let Some(text) = params.value("groupby") {
        match filter::parse_groupby(text) {
            Err(d) => errors.push(from_diagnostic("groupby", &d)),
            Ok(items) => {
                for (name, span) in items {
                    match method.group.iter().find(|g| g.eq_ignore_ascii_case(&name)) {
                        Some(g) if column(method, dataset, g).is_some() => {
                            if !grouped.iter().any(|x| x == g) {
                                grouped.push((*g).to_string());
                            }
                        }
                        _ => errors.push(bad(
                            "groupby",
                            format!(
                                "groupby field '{name}' (at character {}) cannot be grouped by; groupable: {}",
                                span.position(),
                                list(method.group)
                            ),
                        )),
                    }
                }
            }
        }
    }

    let aggregated = method.stored != Stored::Rows;
    let date_col = dataset.date_column.clone();
    // The date is bucketed when grouped by, or when the method always
    // returns it and does not offer it as a groupby field (failurehits).
    let named = |list: &[&str]| list.iter().any(|g| g.eq_ignore_ascii_case("date"));
    let date_bucketed = aggregated
        && (grouped.iter().any(|g| g.eq_ignore_ascii_case("date"))
            || (named(method.always) && !named(method.group)));

    // Outputs and the row shape.
    let mut outputs: Vec<Output> = Vec::new();
    let mut fields: Vec<Field> = Vec::new();
    let mut group_by: Vec<String> = Vec::new();
    let mut aggregates: Vec<Aggregate> = Vec::new();
    let push_output = |outputs: &mut Vec<Output>, col: &crate::catalog::Column, source: Source| {
        if let Some(i) = outputs.iter().position(|o| o.name == col.name) {
            return i;
        }
        outputs.push(Output {
            name: col.name.clone(),
            ty: col.ty,
            restricted: false,
            source,
        });
        outputs.len() - 1
    };
    let mut hour_output = None;
    if aggregated {
        // Fields returned at day level only (add-on names: they follow
        // from the add-on id, so they add no rows).
        let always: Vec<&str> = method
            .always
            .iter()
            .chain(if level == "day" {
                method.day_always
            } else {
                &[]
            })
            .copied()
            .collect();
        let mut wires: Vec<&str> = always.clone();
        for g in method.group {
            if !wires.iter().any(|w| w.eq_ignore_ascii_case(g)) {
                wires.push(g);
            }
        }
        for wire in wires {
            let Some(col) = column(method, dataset, wire) else {
                continue;
            };
            let is_date = date_col.as_deref() == Some(col.name.as_str());
            let in_always = always.iter().any(|a| a.eq_ignore_ascii_case(wire));
            let is_grouped = grouped.iter().any(|g| g.eq_ignore_ascii_case(wire));
            let source = if is_date {
                if date_bucketed {
                    FieldSource::Output(push_output(&mut outputs, col, Source::Column))
                } else {
                    FieldSource::Null
                }
            } else if in_always || is_grouped {
                if !group_by.contains(&col.name) {
                    group_by.push(col.name.clone());
                }
                FieldSource::Output(push_output(&mut outputs, col, Source::Column))
            } else if method.ungrouped_all {
                FieldSource::All
            } else {
                continue;
            };
            fields.push(Field {
                wire: wire.to_string(),
                source,
                ty: col.ty,
                boolean: is_bool(wire),
            });
        }
        if level == "hour"
            && date_bucketed
            && let Some(col) = dataset.stored_column("hour")
        {
            group_by.push(col.name.clone());
            hour_output = Some(push_output(&mut outputs, col, Source::Column));
        }
        for (wire, _) in method.measures {
            let Some(col) = column(method, dataset, wire) else {
                continue;
            };
            let name = (*wire).to_string();
            aggregates.push(Aggregate {
                name: name.clone(),
                kind: MetricKind::Sum,
                column: Some(col.name.clone()),
                ty: col.ty,
                restricted: false,
            });
            outputs.push(Output {
                name: name.clone(),
                ty: col.ty,
                restricted: false,
                source: Source::Metric,
            });
            fields.push(Field {
                wire: name,
                source: FieldSource::Output(outputs.len() - 1),
                ty: col.ty,
                boolean: false,
            });
        }
        if method.stored == Stored::PerGrain {
            let grain = if level == "hour" {
                "hour"
            } else {
                level.as_str()
            };
            row_filters.push(exact("grain", grain));
        }
    } else {
        for wire in method.fields {
            let Some(col) = column(method, dataset, wire) else {
                // Fields the shape adds itself (concurrency's SeriesName).
                continue;
            };
            let mut i = push_output(&mut outputs, col, Source::Column);
            let mut ty = col.ty;
            // The date shown may be a stored timestamp text (reviews); the
            // date column still orders and filters.
            if wire.eq_ignore_ascii_case("date")
                && let Some(shown) = method.date_from.and_then(|c| dataset.stored_column(c))
            {
                i = push_output(&mut outputs, shown, Source::Column);
                ty = shown.ty;
            }
            fields.push(Field {
                wire: (*wire).to_string(),
                source: FieldSource::Output(i),
                ty,
                boolean: is_bool(wire),
            });
        }
    }

    // Order by: what the caller asks, then every output for a total order
    // (pages must not overlap).
    let mut order_by: Vec<SortKey> = Vec::new();
    if let Some(text) = params.value("orderby") {
        match filter::parse_orderby(text) {
            Err(d) => errors.push(from_diagnostic("orderby", &d)),
            Ok(keys) => {
                for k in keys {
                    let allowed = method
                        .order
                        .iter()
                        .find(|o| o.eq_ignore_ascii_case(&k.field));
                    let target = allowed.and_then(|w| {
                        let col = method.column_of(w);
                        outputs.iter().position(|o| {
                            o.name.eq_ignore_ascii_case(&col) || o.name.eq_ignore_ascii_case(w)
                        })
                    });
                    match (allowed, target) {
                        (Some(_), Some(i)) => order_by.push(SortKey {
                            output: i,
                            descending: k.descending,
                        }),
                        (Some(w), None) => errors.push(bad(
                            "orderby",
                            format!("orderby field '{w}' is not in the answer; add it to groupby to order by it"),
                        )),
                        (None, _) => errors.push(bad(
                            "orderby",
                            format!(
                                "orderby field '{}' (at character {}) cannot be ordered by; orderable: {}",
                                k.field,
                                k.span.position(),
                                list(method.order)
                            ),
                        )),
                    }
                }
            }
        }
    }
    for i in 0..outputs.len() {
        if !order_by.iter().any(|k| k.output == i) {
            order_by.push(SortKey {
                output: i,
                descending: false,
            });
        }
    }

    if !errors.is_empty() {
        return Err(errors);
    }

    // A CAB id names its file whatever the dates (the file expires by itself).
    let dated = method.shape != methods::Shape::Redirect;
    let window = date_col.as_ref().filter(|_| dated).map(|c| TimeWindow {
        column: c.clone(),
        from: Some(start.and_time(NaiveTime::MIN).and_utc()),
        to: Some((end + Duration::days(1)).and_time(NaiveTime::MIN).and_utc()),
    });
    let rollup = (aggregated && date_col.is_some()).then(|| Rollup {
        date_column: date_col.clone().unwrap_or_default(),
        unit: date_bucketed.then_some(match level.as_str() {
            "week" => DateUnit::Week,
            "month" => DateUnit::Month,
            _ => DateUnit::Day,
        }),
        combine: method
            .measures
            .iter()
            .map(|(w, c)| ((*w).to_string(), *c))
            .collect(),
    });
    let plan = Plan {
        dataset: dataset.name.clone(),
        distinct: false,
        outputs,
        aggregates,
        group_by,
        row_filters,
        group_filters: Vec::new(),
        order_by,
        limit: None,
        offset: 0,
        condition,
        rollup,
        time: date_col.map(|c| TimeFilter {
            column: c,
            range: DateRange::Lifetime,
        }),
    };
    Ok(StoreQuery {
        method,
        plan,
        window,
        start,
        end,
        top,
        skip,
        level,
        fields,
        hour_output,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
    }

    fn params(q: &str) -> Params {
        Params::new(form_pairs(q))
    }

    fn form_pairs(q: &str) -> Vec<(String, String)> {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_catalog_loads_and_every_method_names_real_columns() {
        let catalog = store_catalog();
        for m in methods::METHODS {
            let d = catalog
                .dataset(m.dataset)
                .unwrap_or_else(|| panic!("{}: dataset {}", m.label(), m.dataset));
            let all = m
                .filter
                .iter()
                .chain(m.order)
                .chain(m.group)
                .chain(if m.stored == Stored::Rows {
                    &[][..]
                } else {
                    m.always
                })
                .chain(m.measures.iter().map(|(w, _)| w))
                .chain(m.fields);
            for wire in all {
                assert!(
                    d.stored_column(&m.column_of(wire)).is_some(),
                    "{}: field {wire} has no column in {}",
                    m.label(),
                    m.dataset
                );
            }
            for (c, _) in m.fixed {
                assert!(d.stored_column(c).is_some(), "{}: fixed {c}", m.label());
            }
        }
    }

    #[test]
    fn a_documented_request_resolves() {
        let m = methods::find("appacquisitions", None).unwrap();
        let q = resolve(
            m,
            &params("applicationId=9NBLGGGZ5QDR&startDate=1/1/2026&endDate=2/1/2026&top=10&skip=0&filter=market eq 'US' and gender eq 'm'&orderby=date desc&groupby=date,market&aggregationLevel=week"),
            today(),
        )
        .unwrap();
        assert_eq!(q.top, 10);
        assert_eq!(q.plan.group_by, ["applicationId", "market"]);
        assert_eq!(q.plan.rollup.as_ref().unwrap().unit, Some(DateUnit::Week));
        assert!(
            q.fields
                .iter()
                .any(|f| f.wire == "date" && matches!(f.source, FieldSource::Output(_)))
        );
    }

    #[test]
    fn errors_name_the_parameter_and_the_allowed_values() {
        let m = methods::find("appacquisitions", None).unwrap();
        let e = resolve(m, &params("applicationId=X&top=10001"), today()).unwrap_err();
        assert_eq!(e[0].message, "top parameter cannot be more than 10000");
        let e = resolve(m, &params("applicationId=X&aggregationLevel=year"), today()).unwrap_err();
        assert!(
            e[0].message
                .contains("aggregationLevel must be one of day, week, month")
        );
        let e = resolve(m, &params("applicationId=X&filter=foo eq 'x'"), today()).unwrap_err();
        assert!(
            e[0].message.starts_with(
                "filter field 'foo' (at character 1) is not filterable; filterable: acquisitionType"
            ),
            "{}",
            e[0].message
        );
        let e = resolve(
            m,
            &params("applicationId=X&startDate=2026-02-01&endDate=2026-01-01"),
            today(),
        )
        .unwrap_err();
        assert!(e[0].message.contains("after endDate"));
        let e = resolve(m, &params(""), today()).unwrap_err();
        assert_eq!(e[0].param, "applicationId");
    }

    #[test]
    fn retention_and_far_dates_are_clamped() {
        let m = methods::find("usagedaily", None).unwrap();
        let q = resolve(
            m,
            &params("applicationId=X&startDate=01/01/0001&endDate=12/31/9999"),
            today(),
        )
        .unwrap();
        assert_eq!(q.start, today() - Duration::days(90));
        assert_eq!(q.end, today());
        let m = methods::find("acquisitions", None).unwrap();
        let q = resolve(m, &params("applicationId=X&startDate=1/1/2015"), today()).unwrap();
        assert_eq!(q.start.to_string(), "2016-10-01");
    }

    #[test]
    fn week_and_month_levels_of_per_grain_data_start_at_their_bucket() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let m = methods::find("usagemonthly", None).unwrap();
        let q = resolve(
            m,
            &params("applicationId=X&startDate=2026-11-04&endDate=2026-12-02"),
            today,
        )
        .unwrap();
        assert_eq!(q.start.to_string(), "2026-11-01");
        let m = methods::find("failurehits", None).unwrap();
        let q = resolve(
            m,
            &params("applicationId=X&startDate=2026-11-26&aggregationLevel=week"),
            today,
        )
        .unwrap();
        assert_eq!(q.start.to_string(), "2026-11-23", "the Monday of that week");
        // Day-level and summed data keep the date asked for.
        let q = resolve(m, &params("applicationId=X&startDate=2026-11-26"), today).unwrap();
        assert_eq!(q.start.to_string(), "2026-11-26");
    }
}
