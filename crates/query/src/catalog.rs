//! The dataset catalog: which datasets exist, their selectable and hidden
//! columns with types, metrics, date column, available TIMESPANs, minimum
//! recurrence interval, restricted columns, and the fixed system queries.
//!
//! The project owns the catalog as data (`catalog/insights-datasets.json`,
//! embedded at compile time). [`Catalog::from_json`] loads and checks any
//! catalog of that shape; [`builtin`] is the embedded one, parsed once.
//! Resolution sees a catalog only through the [`Catalog`] trait.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use crate::timewindow::DateRange;

/// The type of a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    String,
    Int,
    Float,
    Date,
}

impl ColumnType {
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::String => "string",
            ColumnType::Int => "int",
            ColumnType::Float => "float",
            ColumnType::Date => "date",
        }
    }

    fn parse(s: &str) -> Option<ColumnType> {
        match s {
            "string" => Some(ColumnType::String),
            "int" => Some(ColumnType::Int),
            "float" => Some(ColumnType::Float),
            "date" => Some(ColumnType::Date),
            _ => None,
        }
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub ty: ColumnType,
    /// Revenue/ACR columns that `ReportViewer` sees redacted.
    pub restricted: bool,
}

/// How a metric aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// `sum(column)`; 0 over no rows.
    Sum,
    /// `count_distinct(column)`; nulls are not counted.
    CountDistinct,
    /// `count_rows`: the number of rows in the group.
    CountRows,
}

impl MetricKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Sum => "sum",
            MetricKind::CountDistinct => "count_distinct",
            MetricKind::CountRows => "count_rows",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metric {
    pub name: String,
    pub kind: MetricKind,
    /// The stored column aggregated (selectable or hidden); `None` for count_rows.
    pub column: Option<String>,
    pub restricted: bool,
    /// The type of the metric's values: a sum has its column's type, a count is an int.
    pub ty: ColumnType,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    pub name: String,
    /// Other names the dataset answers to (older public names).
    pub aliases: Vec<String>,
    /// Columns users may select and filter, in catalog order.
    pub columns: Vec<Column>,
    /// Stored columns only metrics read.
    pub hidden_columns: Vec<Column>,
    pub metrics: Vec<Metric>,
    /// The column TIMESPAN filters; `None` for datasets without dates.
    pub date_column: Option<String>,
    pub available_date_ranges: Vec<DateRange>,
    /// Hours.
    pub minimum_recurrence_interval: u32,
}

impl Dataset {
    /// A selectable column by name, in any case.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// A stored column (selectable or hidden) by name, in any case.
    pub fn stored_column(&self, name: &str) -> Option<&Column> {
        self.columns
            .iter()
            .chain(&self.hidden_columns)
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics
            .iter()
            .find(|m| m.name.eq_ignore_ascii_case(name))
    }

    /// Every name a user may write: selectable columns, then metrics.
    pub fn addressable_names(&self) -> impl Iterator<Item = &str> {
        self.columns
            .iter()
            .map(|c| c.name.as_str())
            .chain(self.metrics.iter().map(|m| m.name.as_str()))
    }

    /// True when `name` is the dataset's name or one of its aliases.
    pub fn answers_to(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }
}

/// A query every tenant has, with a fixed id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemQuery {
    pub query_id: String,
    pub dataset: String,
    pub query: String,
}

/// What the resolver needs to know about datasets.
pub trait Catalog {
    fn datasets(&self) -> &[Dataset];

    fn system_queries(&self) -> &[SystemQuery];

    /// A dataset by name or alias, in any case.
    fn dataset(&self, name: &str) -> Option<&Dataset> {
        self.datasets().iter().find(|d| d.answers_to(name))
    }
}

/// A catalog held in memory, loaded from the JSON shape of
/// `insights-datasets.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticCatalog {
    datasets: Vec<Dataset>,
    system_queries: Vec<SystemQuery>,
}

impl Catalog for StaticCatalog {
    fn datasets(&self) -> &[Dataset] {
        &self.datasets
    }

    fn system_queries(&self) -> &[SystemQuery] {
        &self.system_queries
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog is not valid JSON of the expected shape: {0}")]
    Json(#[from] serde_json::Error),
    #[error("dataset '{dataset}': {problem}")]
    Invalid { dataset: String, problem: String },
}

const BUILTIN_JSON: &str = include_str!("../catalog/insights-datasets.json");

static BUILTIN: LazyLock<StaticCatalog> = LazyLock::new(|| {
    // The embedded file is part of the source tree and a unit test proves it
    // loads, so failing here is a build defect, not bad user input.
    #[allow(clippy::expect_used)]
    StaticCatalog::from_json(BUILTIN_JSON).expect("the embedded catalog is valid")
});

/// The catalog shipped with the project: 23 Insights datasets, 20 system queries.
pub fn builtin() -> &'static StaticCatalog {
    &BUILTIN
}

mod raw {
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct File {
        pub datasets: Vec<Dataset>,
        pub system_queries: Vec<SystemQuery>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct Dataset {
        pub dataset_name: String,
        #[serde(default)]
        pub aliases: Vec<String>,
        pub columns: Vec<Column>,
        #[serde(default)]
        pub hidden_columns: Vec<Column>,
        #[serde(default)]
        pub metrics: Vec<Metric>,
        pub date_column: Option<String>,
        pub available_date_ranges: Vec<String>,
        pub minimum_recurrence_interval: u32,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Column {
        pub name: String,
        #[serde(rename = "type")]
        pub ty: String,
        #[serde(default)]
        pub restricted: bool,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Metric {
        pub name: String,
        #[serde(default)]
        pub restricted: bool,
        pub kind: String,
        pub column: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct SystemQuery {
        pub query_id: String,
        pub dataset: String,
        pub query: String,
    }
}

impl StaticCatalog {
    /// Builds a catalog from datasets and system queries already in memory,
    /// checking that it is consistent.
    pub fn new(
        datasets: Vec<Dataset>,
        system_queries: Vec<SystemQuery>,
    ) -> Result<Self, CatalogError> {
        let catalog = StaticCatalog {
            datasets,
            system_queries,
        };
        match catalog.problems().into_iter().next() {
            None => Ok(catalog),
            Some((dataset, problem)) => Err(CatalogError::Invalid { dataset, problem }),
        }
    }

    /// Loads a catalog of the `insights-datasets.json` shape and checks it.
    pub fn from_json(json: &str) -> Result<Self, CatalogError> {
        let file: raw::File = serde_json::from_str(json)?;
        let mut datasets = Vec::with_capacity(file.datasets.len());
        for d in file.datasets {
            let invalid = |problem: String| CatalogError::Invalid {
                dataset: d.dataset_name.clone(),
                problem,
            };
            let column = |c: &raw::Column| {
                ColumnType::parse(&c.ty)
                    .map(|ty| Column {
                        name: c.name.clone(),
                        ty,
                        restricted: c.restricted,
                    })
                    .ok_or_else(|| {
                        invalid(format!(
                            "column '{}' has type '{}'; allowed: string, int, float, date",
                            c.name, c.ty
                        ))
                    })
            };
            let columns = d
                .columns
                .iter()
                .map(column)
                .collect::<Result<Vec<_>, _>>()?;
            let hidden_columns = d
                .hidden_columns
                .iter()
                .map(column)
                .collect::<Result<Vec<_>, _>>()?;
            let mut metrics = Vec::with_capacity(d.metrics.len());
            for m in &d.metrics {
                let kind = match m.kind.as_str() {
                    "sum" => MetricKind::Sum,
                    "count_distinct" => MetricKind::CountDistinct,
                    "count_rows" => MetricKind::CountRows,
                    other => {
                        return Err(invalid(format!(
                            "metric '{}' has kind '{other}'; allowed: sum, count_distinct, count_rows",
                            m.name
                        )));
                    }
                };
                let source = m.column.as_deref().and_then(|c| {
                    columns
                        .iter()
                        .chain(&hidden_columns)
                        .find(|col| col.name.eq_ignore_ascii_case(c))
                });
                let ty = match (kind, source) {
                    (MetricKind::Sum, Some(col)) => col.ty,
                    // Problems (a missing column) are reported by `problems`.
                    (MetricKind::Sum, None) => ColumnType::Float,
                    (MetricKind::CountDistinct | MetricKind::CountRows, _) => ColumnType::Int,
                };
                metrics.push(Metric {
                    name: m.name.clone(),
                    kind,
                    column: m.column.clone(),
                    restricted: m.restricted,
                    ty,
                });
            }
            let mut available_date_ranges = Vec::new();
            for r in &d.available_date_ranges {
                let range = DateRange::parse(r).ok_or_else(|| {
                    invalid(format!("availableDateRanges lists unknown range '{r}'"))
                })?;
                available_date_ranges.push(range);
            }
            datasets.push(Dataset {
                name: d.dataset_name,
                aliases: d.aliases,
                columns,
                hidden_columns,
                metrics,
                date_column: d.date_column,
                available_date_ranges,
                minimum_recurrence_interval: d.minimum_recurrence_interval,
            });
        }
        let system_queries = file
            .system_queries
            .into_iter()
            .map(|q| SystemQuery {
                query_id: q.query_id,
                dataset: q.dataset,
                query: q.query,
            })
            .collect();
        StaticCatalog::new(datasets, system_queries)
    }

    /// Every internal inconsistency, as (dataset, problem). Empty for a good
    /// catalog. System queries are checked by resolving them.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut dataset_names = HashSet::new();
        for d in &self.datasets {
            let mut report = |p: String| problems.push((d.name.clone(), p));
            for name in std::iter::once(&d.name).chain(&d.aliases) {
                if !dataset_names.insert(name.to_ascii_lowercase()) {
                    report(format!("the name '{name}' is used by two datasets"));
                }
            }
            let mut names = HashSet::new();
            for c in d.columns.iter().chain(&d.hidden_columns) {
                if !names.insert(c.name.to_ascii_lowercase()) {
                    report(format!("column '{}' is defined twice", c.name));
                }
                if crate::syntax::parser::RESERVED
                    .iter()
                    .any(|r| r.eq_ignore_ascii_case(&c.name))
                {
                    report(format!("column '{}' is a reserved word", c.name));
                }
            }
            for m in &d.metrics {
                if d.column(&m.name).is_some() {
                    report(format!("'{}' is both a column and a metric", m.name));
                }
                if d.metrics
                    .iter()
                    .filter(|o| o.name.eq_ignore_ascii_case(&m.name))
                    .count()
                    > 1
                {
                    report(format!("metric '{}' is defined twice", m.name));
                }
                match (&m.column, m.kind) {
                    (None, MetricKind::CountRows) => {}
                    (None, _) => report(format!("metric '{}' names no column", m.name)),
                    (Some(c), kind) => match d.stored_column(c) {
                        None => report(format!("metric '{}' reads missing column '{c}'", m.name)),
                        Some(col) => {
                            if kind == MetricKind::Sum
                                && !matches!(col.ty, ColumnType::Int | ColumnType::Float)
                            {
                                report(format!(
                                    "metric '{}' sums column '{c}' of type {}",
                                    m.name, col.ty
                                ));
                            }
                            if col.restricted && !m.restricted {
                                report(format!(
                                    "metric '{}' aggregates restricted column '{c}' but is not restricted",
                                    m.name
                                ));
                            }
                        }
                    },
                }
            }
            for h in &d.hidden_columns {
                if !d.metrics.iter().any(|m| {
                    m.column
                        .as_deref()
                        .is_some_and(|c| c.eq_ignore_ascii_case(&h.name))
                }) {
                    report(format!("hidden column '{}' is read by no metric", h.name));
                }
            }
            match &d.date_column {
                Some(date) => match d.column(date) {
                    Some(col) if col.ty == ColumnType::Date => {
                        if !d.available_date_ranges.contains(&DateRange::DEFAULT) {
                            report(format!(
                                "the default TIMESPAN {} is not in availableDateRanges",
                                DateRange::DEFAULT
                            ));
                        }
                    }
                    Some(col) => report(format!(
                        "date column '{date}' has type {}, not date",
                        col.ty
                    )),
                    None => report(format!("date column '{date}' is not a selectable column")),
                },
                None => {
                    if d.available_date_ranges != [DateRange::Lifetime] {
                        report("a dataset without a date column may only list LIFETIME".into());
                    }
                }
            }
            if d.available_date_ranges.is_empty() {
                report("availableDateRanges is empty".into());
            }
        }
        let mut ids = HashSet::new();
        for q in &self.system_queries {
            if !ids.insert(q.query_id.to_ascii_lowercase()) {
                problems.push((
                    q.dataset.clone(),
                    format!("system query id {} is used twice", q.query_id),
                ));
            }
            if self.dataset(&q.dataset).is_none() {
                problems.push((
                    q.dataset.clone(),
                    format!("system query {} names an unknown dataset", q.query_id),
                ));
            }
        }
        problems
    }
}
