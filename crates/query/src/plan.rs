//! `Plan`: a resolved query, typed and engine-neutral. Every name is the
//! catalog's spelling, every value has its column's type, every default is
//! applied (ORDER BY direction, TIMESPAN). The engine turns a plan into its
//! own plan objects; nothing here knows how data is stored.
//!
//! Evaluation order a plan describes: time window and `row_filters` on
//! stored rows → grouping by `group_by` computing `aggregates` (only when
//! there are any) → `group_filters` → projection to `outputs` → DISTINCT →
//! ORDER BY (nulls last in both directions) → LIMIT. A null never satisfies
//! a predicate, negated ones included.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};

pub use crate::catalog::{ColumnType, MetricKind};
pub use crate::syntax::ast::CompareOp;
use crate::timewindow::{DateRange, TimeWindow};

/// A literal converted to the type of the column or metric it is compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Date(NaiveDate),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Date(d) => write!(f, "date '{}'", d.format("%Y-%m-%d")),
        }
    }
}

/// Where an output column's values come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A stored, selectable column of the same name.
    Column,
    /// The aggregate of the same name in [`Plan::aggregates`].
    Metric,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The catalog's spelling; also the header of the report file.
    pub name: String,
    pub ty: ColumnType,
    pub restricted: bool,
    pub source: Source,
}

/// One metric the query computes per group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregate {
    pub name: String,
    pub kind: MetricKind,
    /// The stored column read (`None` for count_rows).
    pub column: Option<String>,
    pub ty: ColumnType,
    pub restricted: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    Compare {
        op: CompareOp,
        value: Value,
    },
    In {
        negated: bool,
        values: Vec<Value>,
    },
    /// `%` matches any run of characters, `_` exactly one; case-insensitive.
    Like {
        negated: bool,
        pattern: String,
    },
}

/// A condition on one column (row filter) or one metric (group filter).
/// String comparisons are case-insensitive.
#[derive(Debug, Clone, PartialEq)]
pub struct Predicate {
    /// A stored column name, or an aggregate name for group filters.
    pub field: String,
    pub ty: ColumnType,
    pub test: Test,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    /// Index into [`Plan::outputs`].
    pub output: usize,
    pub descending: bool,
}

/// The TIMESPAN of a query, evaluated later at a reference instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeFilter {
    pub column: String,
    pub range: DateRange,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The dataset's canonical name (aliases resolved).
    pub dataset: String,
    pub distinct: bool,
    pub outputs: Vec<Output>,
    /// Every metric computed: selected ones and those only filtered on.
    pub aggregates: Vec<Aggregate>,
    /// The selected columns, when the query aggregates; empty otherwise.
    pub group_by: Vec<String>,
    pub row_filters: Vec<Predicate>,
    pub group_filters: Vec<Predicate>,
    pub order_by: Vec<SortKey>,
    pub limit: Option<u64>,
    /// `None` for datasets without a date column (LIFETIME).
    pub time: Option<TimeFilter>,
}

impl Plan {
    /// True when rows are grouped and metrics computed.
    pub fn is_aggregated(&self) -> bool {
        !self.aggregates.is_empty()
    }

    /// The window of the plan's TIMESPAN at reference instant `at`.
    pub fn time_window(&self, at: DateTime<Utc>) -> Option<TimeWindow> {
        let time = self.time.as_ref()?;
        let (from, to) = time.range.bounds(at);
        Some(TimeWindow {
            column: time.column.clone(),
            from,
            to,
        })
    }

    /// The window `[from, to)` that replaces the TIMESPAN (ExecuteNow's
    /// QueryStartTime/QueryEndTime, a test query's startTime/endTime).
    /// `None` for datasets without a date column.
    pub fn explicit_window(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<TimeWindow> {
        let time = self.time.as_ref()?;
        Some(TimeWindow {
            column: time.column.clone(),
            from: Some(from),
            to: Some(to),
        })
    }

    /// Every stored column the plan reads, each once, in first-use order:
    /// what the engine must project from storage.
    pub fn stored_columns<'p>(&'p self) -> Vec<&'p str> {
        let mut columns: Vec<&str> = Vec::new();
        let mut add = |name: &'p str| {
            if !columns.iter().any(|c| c.eq_ignore_ascii_case(name)) {
                columns.push(name);
            }
        };
        for o in &self.outputs {
            if o.source == Source::Column {
                add(&o.name);
            }
        }
        for a in &self.aggregates {
            if let Some(c) = &a.column {
                add(c);
            }
        }
        for p in &self.row_filters {
            add(&p.field);
        }
        if let Some(t) = &self.time {
            add(&t.column);
        }
        columns
    }
}

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let not = |n: bool| if n { "NOT " } else { "" };
        match &self.test {
            Test::Compare { op, value } => write!(f, "{} {} {value}", self.field, op.as_str()),
            Test::In { negated, values } => {
                let list: Vec<String> = values.iter().map(ToString::to_string).collect();
                write!(
                    f,
                    "{} {}IN ({})",
                    self.field,
                    not(*negated),
                    list.join(", ")
                )
            }
            Test::Like { negated, pattern } => write!(
                f,
                "{} {}LIKE '{}'",
                self.field,
                not(*negated),
                pattern.replace('\'', "''")
            ),
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "dataset: {}", self.dataset)?;
        writeln!(f, "output:")?;
        for (i, o) in self.outputs.iter().enumerate() {
            let source = match o.source {
                Source::Column => "column".to_string(),
                Source::Metric => {
                    let a = self.aggregates.iter().find(|a| a.name == o.name);
                    match a {
                        Some(Aggregate {
                            kind: MetricKind::CountRows,
                            ..
                        }) => "count_rows".into(),
                        Some(a) => {
                            format!("{}({})", a.kind.as_str(), a.column.as_deref().unwrap_or(""))
                        }
                        None => "metric".into(),
                    }
                }
            };
            let restricted = if o.restricted { ", restricted" } else { "" };
            writeln!(
                f,
                "  {}. {} ({}{restricted}) = {source}",
                i + 1,
                o.name,
                o.ty
            )?;
        }
        if self.distinct {
            writeln!(f, "distinct: yes")?;
        }
        if self.is_aggregated() {
            let only_filtered: Vec<&str> = self
                .aggregates
                .iter()
                .filter(|a| !self.outputs.iter().any(|o| o.name == a.name))
                .map(|a| a.name.as_str())
                .collect();
            if self.group_by.is_empty() {
                writeln!(f, "group by: (all rows)")?;
            } else {
                writeln!(f, "group by: {}", self.group_by.join(", "))?;
            }
            if !only_filtered.is_empty() {
                writeln!(f, "also computed: {}", only_filtered.join(", "))?;
            }
        }
        let list = |ps: &[Predicate]| {
            ps.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        if !self.row_filters.is_empty() {
            writeln!(f, "where: {}", list(&self.row_filters))?;
        }
        if !self.group_filters.is_empty() {
            writeln!(f, "having: {}", list(&self.group_filters))?;
        }
        if !self.order_by.is_empty() {
            let keys: Vec<String> = self
                .order_by
                .iter()
                .map(|k| {
                    let name = self.outputs.get(k.output).map_or("?", |o| o.name.as_str());
                    let dir = if k.descending { "DESC" } else { "ASC" };
                    format!("{name} {dir} NULLS LAST")
                })
                .collect();
            writeln!(f, "order by: {}", keys.join(", "))?;
        }
        if let Some(limit) = self.limit {
            writeln!(f, "limit: {limit}")?;
        }
        match &self.time {
            Some(t) => writeln!(f, "time: {} in {}", t.column, t.range),
            None => writeln!(f, "time: none (dataset has no date column)"),
        }
    }
}
