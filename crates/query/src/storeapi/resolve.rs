//! From one call's parameters to a [`StoreQuery`], one phase per concern
//! (product scope, dates, level, paging, filter, groupby, answer shape,
//! orderby), as the Insights `Resolver` is. Every phase records its
//! problems and goes on, so one answer names them all.

use chrono::{Duration, NaiveDate, NaiveTime};

use super::condition::{eq, exact, filter_condition};
use super::methods::{self, Method, Scope, Stored};
use super::params::{day_of, parse_count, parse_day_param};
use super::{
    Field, FieldSource, Level, ParamError, StoreParams, StoreQuery, bad, column, earliest_date,
    filter, from_diagnostic, is_bool, list, store_catalog,
};
use crate::catalog::{Catalog as _, Column, ColumnType, Dataset};
use crate::plan::{
    Aggregate, Condition, MetricKind, Output, Plan, Predicate, Rollup, SortKey, Source, TimeFilter,
};
use crate::timewindow::{DateRange, TimeWindow};

/// Resolves one call of `method` at `today` (UTC) into a [`StoreQuery`].
/// All problems are reported, each naming its parameter.
pub fn resolve(
    method: &'static Method,
    params: &StoreParams,
    today: NaiveDate,
) -> Result<StoreQuery, Vec<ParamError>> {
    let Some(dataset) = store_catalog().dataset(method.dataset) else {
        return Err(vec![bad("path", format!("no dataset {}", method.dataset))]);
    };
    let mut r = Resolver {
        method,
        dataset,
        params,
        today,
        errors: Vec::new(),
    };
    let mut row_filters = r.scope_filters();
    let (start, end) = r.date_range();
    let level = r.level();
    let start = r.level_start(start, level);
    let (top, skip) = r.paging();
    let condition = r.condition();
    let grouped = r.grouped();
    let date_bucketed = r.date_bucketed(&grouped);
    let shape = if method.stored == Stored::Rows {
        r.row_shape()
    } else {
        r.aggregate_shape(level, &grouped, date_bucketed)
    };
    if method.stored == Stored::PerGrain {
        row_filters.push(exact("grain", level.name()));
    }
    let order_by = r.order_by(&shape.outputs);
    if !r.errors.is_empty() {
        return Err(r.errors);
    }
    Ok(r.assemble(Resolved {
        row_filters,
        start,
        end,
        level,
        top,
        skip,
        condition,
        date_bucketed,
        shape,
        order_by,
    }))
}

/// One call being resolved, and the problems found so far.
struct Resolver<'a> {
    method: &'static Method,
    dataset: &'a Dataset,
    params: &'a StoreParams,
    today: NaiveDate,
    errors: Vec<ParamError>,
}

/// What the phases decided, put together by [`Resolver::assemble`].
struct Resolved {
    row_filters: Vec<Predicate>,
    start: NaiveDate,
    end: NaiveDate,
    level: Level,
    top: u64,
    skip: u64,
    condition: Option<Condition>,
    date_bucketed: bool,
    shape: RowShape,
    order_by: Vec<SortKey>,
}

/// The plan outputs and the answer row built from them.
#[derive(Default)]
struct RowShape {
    outputs: Vec<Output>,
    fields: Vec<Field>,
    group_by: Vec<String>,
    aggregates: Vec<Aggregate>,
    hour_output: Option<usize>,
}

impl RowShape {
    /// The output of a stored column, added once.
    fn output_of(&mut self, col: &Column) -> usize {
        if let Some(i) = self.outputs.iter().position(|o| o.name == col.name) {
            return i;
        }
        self.outputs.push(Output {
            name: col.name.clone(),
            ty: col.ty,
            restricted: false,
            source: Source::Column,
        });
        self.outputs.len() - 1
    }
}

impl Resolver<'_> {
    /// The product the call is about (required parameters checked) and the
    /// conditions every row must meet: the id, the method's fixed values
    /// and its own parameters.
    fn scope_filters(&mut self) -> Vec<Predicate> {
        let (method, params) = (self.method, self.params);
        let application_id = params.value("applicationId");
        let product = method
            .product
            .and_then(|p| params.value(p.name).map(|v| (p.column, v)));
        match method.scope {
            Scope::App if application_id.is_none() => self.errors.push(bad(
                "applicationId",
                "applicationId is required: the Store ID of an app of this account (e.g. 9NBLGGGZ5QDR)",
            )),
            Scope::AppOrProduct if application_id.is_none() && product.is_none() => {
                let name = method.product.map_or("productId", |p| p.name);
                self.errors.push(bad(
                    "applicationId",
                    format!("applicationId or {name} is required"),
                ));
            }
            _ => {}
        }
        let mut row_filters = Vec::new();
        // Ids are compared exactly: the caller (the server) replaces them by
        // the account's spelling after checking ownership.
        if let Some((col, value)) = product {
            row_filters.push(exact(col, value));
        } else if method.scope != Scope::Account
            && let Some(app) = application_id
        {
            row_filters.push(exact("applicationId", app));
        }
        for (col, value) in method.fixed {
            row_filters.push(exact(col, value));
        }
        for p in method.params {
            match params.value(p.name) {
                Some(v) => {
                    let ty = self
                        .dataset
                        .stored_column(p.column)
                        .map_or(ColumnType::String, |c| c.ty);
                    row_filters.push(eq(p.column, ty, v));
                }
                None if p.required => self.errors.push(bad(
                    p.name,
                    format!("{} is required for {}", p.name, method.label()),
                )),
                None => {}
            }
        }
        row_filters
    }

    /// `startDate`..`endDate` (inclusive), defaulted from the method table
    /// and clamped to retention, the first data and today.
    fn date_range(&mut self) -> (NaiveDate, NaiveDate) {
        let (method, today) = (self.method, self.today);
        let start = self.recorded(parse_day_param(self.params, "startDate"));
        let end = self.recorded(parse_day_param(self.params, "endDate"));
        let start = start
            .flatten()
            .unwrap_or_else(|| day_of(method.start, today));
        let end_given = matches!(end, Some(Some(_)));
        let end = end.flatten().unwrap_or_else(|| day_of(method.end, today));
        if start > end && end_given {
            self.errors.push(bad(
                "startDate",
                format!("startDate {start} is after endDate {end}; the range is inclusive and must not be empty"),
            ));
        }
        // Clamp: retention and the dawn of data; an end in the far future
        // is just "up to now".
        let first = method
            .earliest
            .and_then(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
            .unwrap_or_else(earliest_date);
        let floor = method
            .retention_days
            .map_or(first, |d| (today - Duration::days(d)).max(first));
        (start.max(floor), end.min(today))
    }

    /// `aggregationLevel`: one of the method's levels (the first by
    /// default); `day` alone for methods without levels.
    fn level(&mut self) -> Level {
        let levels = self.method.levels;
        let default = levels.first().copied().unwrap_or(Level::Day);
        let Some(text) = self.params.value("aggregationLevel") else {
            return default;
        };
        let allowed_levels: &[Level] = if levels.is_empty() {
            &[Level::Day]
        } else {
            levels
        };
        match Level::parse(text).filter(|l| allowed_levels.contains(l)) {
            Some(level) => level,
            None => {
                let allowed = if levels.is_empty() {
                    "day (this method has no other level)".to_string()
                } else {
                    levels
                        .iter()
                        .map(|l| l.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                self.errors.push(bad(
                    "aggregationLevel",
                    format!(
                        "aggregationLevel must be one of {allowed}, not '{}'",
                        text.chars().take(40).collect::<String>()
                    ),
                ));
                default
            }
        }
    }

    /// The first day read at `level`: hourly data covers the previous 72
    /// hours only; week and month rows of per-grain data are dated on their
    /// bucket's first day, so a range starting inside a bucket includes
    /// that bucket (a user asking for November 4 to December 2 expects
    /// November's row).
    fn level_start(&self, start: NaiveDate, level: Level) -> NaiveDate {
        let start = if level == Level::Hour {
            start.max(self.today - Duration::days(3))
        } else {
            start
        };
        if self.method.stored == Stored::PerGrain {
            level.bucket_start(start)
        } else {
            start
        }
    }

    /// `top` and `skip`.
    fn paging(&mut self) -> (u64, u64) {
        let method = self.method;
        let top = parse_count(self.params, "top", method.top_default, method.top_max);
        let top = self.recorded(top).unwrap_or(method.top_default);
        let skip = parse_count(self.params, "skip", 0, u64::MAX / 2);
        (top, self.recorded(skip).unwrap_or(0))
    }

    /// `filter`, checked against the method's filterable fields.
    fn condition(&mut self) -> Option<Condition> {
        let text = self.params.value("filter")?;
        let expr = match filter::parse_filter(text) {
            Ok(expr) => expr,
            Err(d) => {
                self.errors.push(from_diagnostic("filter", &d));
                return None;
            }
        };
        if self.method.filter.is_empty() {
            self.errors.push(bad(
                "filter",
                format!("{} takes no filter", self.method.label()),
            ));
            return None;
        }
        let condition = filter_condition(self.method, self.dataset, &expr);
        self.recorded(condition)
    }

    /// `groupby`: the method's groupable fields in their canonical spelling,
    /// each once.
    fn grouped(&mut self) -> Vec<String> {
        let Some(text) = self.params.value("groupby") else {
            return Vec::new();
        };
        let items = match filter::parse_groupby(text) {
            Ok(items) => items,
            Err(d) => {
                self.errors.push(from_diagnostic("groupby", &d));
                return Vec::new();
            }
        };
        let method = self.method;
        let mut grouped: Vec<String> = Vec::new();
        for (name, span) in items {
            match method.group.iter().find(|g| g.eq_ignore_ascii_case(&name)) {
                Some(g) if column(method, self.dataset, g).is_some() => {
                    if !grouped.iter().any(|x| x == g) {
                        grouped.push((*g).to_string());
                    }
                }
                _ => self.errors.push(bad(
                    "groupby",
                    format!(
                        "groupby field '{name}' (at character {}) cannot be grouped by; groupable: {}",
                        span.position(),
                        list(method.group)
                    ),
                )),
            }
        }
        grouped
    }

    /// The date is bucketed when grouped by, or when the method always
    /// returns it and does not offer it as a groupby field (failurehits).
    fn date_bucketed(&self, grouped: &[String]) -> bool {
        let method = self.method;
        let named = |list: &[&str]| list.iter().any(|g| g.eq_ignore_ascii_case("date"));
        method.stored != Stored::Rows
            && (grouped.iter().any(|g| g.eq_ignore_ascii_case("date"))
                || (named(method.always) && !named(method.group)))
    }

    /// Aggregated answers: the fields always returned, the grouped ones
    /// (the others `"All"` or absent), the hour when hourly, the measures.
    fn aggregate_shape(&self, level: Level, grouped: &[String], date_bucketed: bool) -> RowShape {
        let (method, dataset) = (self.method, self.dataset);
        let mut shape = RowShape::default();
        // Fields returned at day level only (add-on names: they follow from
        // the add-on id, so they add no rows).
        let always: Vec<&str> = method
            .always
            .iter()
            .chain(if level == Level::Day {
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
            let is_date = dataset.date_column.as_deref() == Some(col.name.as_str());
            let in_always = always.iter().any(|a| a.eq_ignore_ascii_case(wire));
            let is_grouped = grouped.iter().any(|g| g.eq_ignore_ascii_case(wire));
            let source = if is_date {
                if date_bucketed {
                    FieldSource::Output(shape.output_of(col))
                } else {
                    FieldSource::Null
                }
            } else if in_always || is_grouped {
                if !shape.group_by.contains(&col.name) {
                    shape.group_by.push(col.name.clone());
                }
                FieldSource::Output(shape.output_of(col))
            } else if method.ungrouped_all {
                FieldSource::All
            } else {
                continue;
            };
            shape.fields.push(Field {
                wire: wire.to_string(),
                source,
                ty: col.ty,
                boolean: is_bool(wire),
            });
        }
        if level == Level::Hour
            && date_bucketed
            && let Some(col) = dataset.stored_column("hour")
        {
            shape.group_by.push(col.name.clone());
            shape.hour_output = Some(shape.output_of(col));
        }
        for (wire, _) in method.measures {
            let Some(col) = column(method, dataset, wire) else {
                continue;
            };
            let name = (*wire).to_string();
            shape.aggregates.push(Aggregate {
                name: name.clone(),
                kind: MetricKind::Sum,
                column: Some(col.name.clone()),
                ty: col.ty,
                restricted: false,
            });
            shape.outputs.push(Output {
                name: name.clone(),
                ty: col.ty,
                restricted: false,
                source: Source::Metric,
            });
            shape.fields.push(Field {
                wire: name,
                source: FieldSource::Output(shape.outputs.len() - 1),
                ty: col.ty,
                boolean: false,
            });
        }
        shape
    }

    /// Stored rows: the method's fields in answer order.
    fn row_shape(&self) -> RowShape {
        let (method, dataset) = (self.method, self.dataset);
        let mut shape = RowShape::default();
        for wire in method.fields {
            let Some(col) = column(method, dataset, wire) else {
                // Fields the shape adds itself (concurrency's SeriesName).
                continue;
            };
            let mut i = shape.output_of(col);
            let mut ty = col.ty;
            // The date shown may be a stored timestamp text (reviews); the
            // date column still orders and filters.
            if wire.eq_ignore_ascii_case("date")
                && let Some(shown) = method.date_from.and_then(|c| dataset.stored_column(c))
            {
                i = shape.output_of(shown);
                ty = shown.ty;
            }
            shape.fields.push(Field {
                wire: (*wire).to_string(),
                source: FieldSource::Output(i),
                ty,
                boolean: is_bool(wire),
            });
        }
        shape
    }

    /// `orderby` (fields in the answer only), then every output for a total
    /// order: pages must not overlap.
    fn order_by(&mut self, outputs: &[Output]) -> Vec<SortKey> {
        let mut order_by: Vec<SortKey> = Vec::new();
        if let Some(text) = self.params.value("orderby") {
            match filter::parse_orderby(text) {
                Err(d) => self.errors.push(from_diagnostic("orderby", &d)),
                Ok(keys) => {
                    for k in keys {
                        match self.sort_target(outputs, &k.field) {
                            Ok(i) => order_by.push(SortKey {
                                output: i,
                                descending: k.descending,
                            }),
                            Err(Some(w)) => self.errors.push(bad(
                                "orderby",
                                format!("orderby field '{w}' is not in the answer; add it to groupby to order by it"),
                            )),
                            Err(None) => self.errors.push(bad(
                                "orderby",
                                format!(
                                    "orderby field '{}' (at character {}) cannot be ordered by; orderable: {}",
                                    k.field,
                                    k.span.position(),
                                    list(self.method.order)
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
        order_by
    }

    /// The output an orderby field sorts on; `Err(Some(wire))` when the
    /// field is orderable but not in this answer, `Err(None)` when not
    /// orderable at all.
    fn sort_target(&self, outputs: &[Output], field: &str) -> Result<usize, Option<&'static str>> {
        let method = self.method;
        let wire = method
            .order
            .iter()
            .find(|o| o.eq_ignore_ascii_case(field))
            .ok_or(None)?;
        let col = method.column_of(wire);
        outputs
            .iter()
            .position(|o| o.name.eq_ignore_ascii_case(&col) || o.name.eq_ignore_ascii_case(wire))
            .ok_or(Some(*wire))
    }

    /// The plan and the query from what the phases decided.
    fn assemble(self, r: Resolved) -> StoreQuery {
        let method = self.method;
        let date_col = self.dataset.date_column.clone();
        // A CAB id names its file whatever the dates (the file expires by
        // itself).
        let dated = method.shape != methods::Shape::Redirect;
        let window = date_col.as_ref().filter(|_| dated).map(|c| TimeWindow {
            column: c.clone(),
            from: Some(r.start.and_time(NaiveTime::MIN).and_utc()),
            to: Some(
                (r.end + Duration::days(1))
                    .and_time(NaiveTime::MIN)
                    .and_utc(),
            ),
        });
        let aggregated = method.stored != Stored::Rows;
        let rollup = (aggregated && date_col.is_some()).then(|| Rollup {
            date_column: date_col.clone().unwrap_or_default(),
            unit: r.date_bucketed.then_some(r.level.date_unit()),
            combine: method
                .measures
                .iter()
                .map(|(w, c)| ((*w).to_string(), *c))
                .collect(),
        });
        let plan = Plan {
            dataset: self.dataset.name.clone(),
            distinct: false,
            outputs: r.shape.outputs,
            aggregates: r.shape.aggregates,
            group_by: r.shape.group_by,
            row_filters: r.row_filters,
            group_filters: Vec::new(),
            order_by: r.order_by,
            limit: None,
            offset: 0,
            condition: r.condition,
            rollup,
            time: date_col.map(|c| TimeFilter {
                column: c,
                range: DateRange::Lifetime,
            }),
        };
        StoreQuery {
            method,
            plan,
            window,
            start: r.start,
            end: r.end,
            top: r.top,
            skip: r.skip,
            level: r.level,
            fields: r.shape.fields,
            hour_output: r.shape.hour_output,
        }
    }

    /// A phase's result, its problem recorded.
    fn recorded<T>(&mut self, result: Result<T, ParamError>) -> Option<T> {
        result.map_err(|e| self.errors.push(e)).ok()
    }
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
