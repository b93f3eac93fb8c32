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
    /// Byte-for-byte equality with a canonical value the server supplies
    /// (a product id as the account spells it, a fixed product type) —
    /// never user text, which compares case-insensitively.
    Exact {
        value: String,
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

/// A boolean tree of row conditions (the Store API's `filter`, where `or`
/// and parentheses exist). Applied together with `row_filters`.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Test(Predicate),
    And(Vec<Condition>),
    Or(Vec<Condition>),
}

/// A calendar unit date buckets are truncated to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DateUnit {
    Day,
    /// Weeks start on Monday (ISO 8601).
    Week,
    Month,
}

impl DateUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            DateUnit::Day => "day",
            DateUnit::Week => "week",
            DateUnit::Month => "month",
        }
    }
}

/// How an aggregate combines the per-date values of one group into a bucket
/// (or the whole window).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Combine {
    /// Additive measures: the sum.
    Sum,
    /// Distinct counts stored per grain: the largest bucket value, never a sum.
    Peak,
    /// States (active subscriptions): the value on the bucket's last date.
    Last,
}

/// The Store API's two-stage aggregation. Stage 1 groups the stored rows by
/// (`date_column`, `Plan::group_by`) with the plan's aggregates (sums over
/// dimensions grouped away, which hold disjoint populations); stage 2 groups
/// stage 1 by (`date_column` truncated to `unit`, `group_by`) — or by
/// `group_by` alone when `unit` is `None`, the date being grouped away —
/// combining each aggregate as `combine` says. The date output, if any,
/// keeps the column's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollup {
    pub date_column: String,
    pub unit: Option<DateUnit>,
    /// One entry per aggregate, by aggregate name.
    pub combine: Vec<(String, Combine)>,
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
    /// Rows skipped before `limit` applies (the Store API's `skip`).
    pub offset: u64,
    /// Extra row conditions with `or` (the Store API's `filter`).
    pub condition: Option<Condition>,
    /// The Store API's bucketed aggregation; `None` for report queries.
    pub rollup: Option<Rollup>,
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

    /// The restricted columns and metrics the plan filters or sorts on, each
    /// once. A caller who sees restricted values redacted must not run such
    /// a plan: which rows come back, or in what order, would disclose the
    /// values (a `WHERE BilledRevenueUSD > N` binary search). `dataset` is
    /// the plan's dataset, which says which stored columns are restricted.
    pub fn restricted_conditions(&self, dataset: &crate::catalog::Dataset) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        let mut add = |name: &str| {
            if !found.iter().any(|f| f.eq_ignore_ascii_case(name)) {
                found.push(name.to_string());
            }
        };
        let restricted_column =
            |name: &str| dataset.stored_column(name).is_some_and(|c| c.restricted);
        let mut fields: Vec<&str> = self.row_filters.iter().map(|p| p.field.as_str()).collect();
        let mut stack: Vec<&Condition> = self.condition.iter().collect();
        while let Some(c) = stack.pop() {
            match c {
                Condition::Test(p) => fields.push(&p.field),
                Condition::And(cs) | Condition::Or(cs) => stack.extend(cs),
            }
        }
        for f in fields {
            if restricted_column(f) {
                add(f);
            }
        }
        for p in &self.group_filters {
            if self
                .aggregates
                .iter()
                .any(|a| a.restricted && a.name.eq_ignore_ascii_case(&p.field))
            {
                add(&p.field);
            }
        }
        for k in &self.order_by {
            if let Some(o) = self.outputs.get(k.output)
                && o.restricted
            {
                add(&o.name);
            }
        }
        found
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
        let mut stack: Vec<&'p Condition> = self.condition.iter().collect();
        while let Some(c) = stack.pop() {
            match c {
                Condition::Test(p) => add(&p.field),
                Condition::And(cs) | Condition::Or(cs) => stack.extend(cs),
            }
        }
        if let Some(r) = &self.rollup {
            add(&r.date_column);
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
            Test::Exact { value } => write!(f, "{} == '{}'", self.field, value.replace('\'', "''")),
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

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |f: &mut fmt::Formatter<'_>, cs: &[Condition], op: &str| {
            f.write_str("(")?;
            for (i, c) in cs.iter().enumerate() {
                if i > 0 {
                    write!(f, " {op} ")?;
                }
                write!(f, "{c}")?;
            }
            f.write_str(")")
        };
        match self {
            Condition::Test(p) => write!(f, "{p}"),
            Condition::And(cs) => join(f, cs, "AND"),
            Condition::Or(cs) => join(f, cs, "OR"),
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
        if let Some(c) = &self.condition {
            writeln!(f, "filter: {c}")?;
        }
        if let Some(r) = &self.rollup {
            let unit = r.unit.map_or("(whole window)", DateUnit::as_str);
            let combine: Vec<String> = r
                .combine
                .iter()
                .map(|(name, c)| format!("{name}={c:?}"))
                .collect();
            writeln!(
                f,
                "rollup: {} by {unit}; {}",
                r.date_column,
                combine.join(", ")
            )?;
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
        if self.offset > 0 {
            writeln!(f, "offset: {}", self.offset)?;
        }
        match &self.time {
            Some(t) => writeln!(f, "time: {} in {}", t.column, t.range),
            None => writeln!(f, "time: none (dataset has no date column)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::catalog::Catalog as _;

    fn restricted(text: &str) -> Vec<String> {
        let catalog = crate::builtin();
        let plan = crate::check(text, catalog).unwrap();
        let dataset = catalog.dataset(&plan.dataset).unwrap();
        plan.restricted_conditions(dataset)
    }

    #[test]
    fn filters_and_sorts_on_restricted_values_are_named() {
        assert_eq!(
            restricted(
                "SELECT CustomerName, BilledRevenueUSD FROM CustomersAndTenants WHERE CustomerName = 'X' AND BilledRevenueUSD > 1000 ORDER BY BilledRevenueUSD DESC"
            ),
            ["BilledRevenueUSD"]
        );
        // Selecting a restricted column is allowed (it comes back redacted).
        assert!(
            restricted("SELECT CustomerName, BilledRevenueUSD FROM CustomersAndTenants WHERE CustomerName = 'X'")
                .is_empty()
        );
    }
}
