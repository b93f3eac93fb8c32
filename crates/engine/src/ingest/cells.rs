//! Values on their way into a dataset: the typed cell a text, JSON or
//! Arrow value converts to, the conversions by catalog type, dates as
//! Arrow's day numbers, the partition a date falls in, and `Builders`, the
//! typed Arrow column builders filled a row at a time.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{
    ArrayRef, Date32Builder, Float64Builder, Int64Builder, RecordBatch, StringBuilder,
};
use datafusion::arrow::datatypes::SchemaRef;
use query::catalog::{Column, ColumnType};

use crate::error::Result;

/// Typed Arrow builders for the stored columns of a dataset, filled a row
/// at a time (the loader's path and the demo generators').
pub(crate) struct Builders {
    columns: Vec<ColumnBuilder>,
    pub(crate) rows: usize,
}

enum ColumnBuilder {
    Str(StringBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Date(Date32Builder),
}

impl Builders {
    pub(crate) fn new(columns: &[&Column]) -> Builders {
        Builders {
            columns: columns
                .iter()
                .map(|c| match c.ty {
                    ColumnType::String => ColumnBuilder::Str(StringBuilder::new()),
                    ColumnType::Int => ColumnBuilder::Int(Int64Builder::new()),
                    ColumnType::Float => ColumnBuilder::Float(Float64Builder::new()),
                    ColumnType::Date => ColumnBuilder::Date(Date32Builder::new()),
                })
                .collect(),
            rows: 0,
        }
    }

    /// True when `cell` is null or of column `i`'s type.
    pub(crate) fn accepts(&self, i: usize, cell: CellRef<'_>) -> bool {
        matches!(
            (self.columns.get(i), cell),
            (Some(_), CellRef::Null)
                | (Some(ColumnBuilder::Str(_)), CellRef::Str(_))
                | (Some(ColumnBuilder::Int(_)), CellRef::Int(_))
                | (Some(ColumnBuilder::Float(_)), CellRef::Float(_))
                | (Some(ColumnBuilder::Date(_)), CellRef::Date(_))
        )
    }

    /// Appends one row, a value per column in order; a value of another
    /// type than its column is stored as null.
    pub(crate) fn push_row<'a>(&mut self, cells: impl IntoIterator<Item = CellRef<'a>>) {
        for (builder, cell) in self.columns.iter_mut().zip(cells) {
            match (builder, cell) {
                (ColumnBuilder::Str(b), CellRef::Str(s)) => b.append_value(s),
                (ColumnBuilder::Int(b), CellRef::Int(i)) => b.append_value(i),
                (ColumnBuilder::Float(b), CellRef::Float(x)) => b.append_value(x),
                (ColumnBuilder::Date(b), CellRef::Date(d)) => b.append_value(date_to_days(d)),
                (ColumnBuilder::Str(b), _) => b.append_null(),
                (ColumnBuilder::Int(b), _) => b.append_null(),
                (ColumnBuilder::Float(b), _) => b.append_null(),
                (ColumnBuilder::Date(b), _) => b.append_null(),
            }
        }
        self.rows += 1;
    }

    pub(crate) fn finish(&mut self, schema: &SchemaRef) -> Result<RecordBatch> {
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
                    ColumnBuilder::Str(b) => Arc::new(b.finish()),
                    ColumnBuilder::Int(b) => Arc::new(b.finish()),
                    ColumnBuilder::Float(b) => Arc::new(b.finish()),
                    ColumnBuilder::Date(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        self.rows = 0;
        Ok(RecordBatch::try_new(schema.clone(), arrays)?)
    }
}

/// A converted value of one cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Str(String),
    Int(i64),
    Float(f64),
    Date(NaiveDate),
}

/// A cell's value borrowed, as builders take it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CellRef<'a> {
    Null,
    Str(&'a str),
    Int(i64),
    Float(f64),
    Date(NaiveDate),
}

impl Cell {
    pub fn as_ref(&self) -> CellRef<'_> {
        match self {
            Cell::Null => CellRef::Null,
            Cell::Str(s) => CellRef::Str(s),
            Cell::Int(i) => CellRef::Int(*i),
            Cell::Float(x) => CellRef::Float(*x),
            Cell::Date(d) => CellRef::Date(*d),
        }
    }
}

/// Days from 1970-01-01, as Arrow's Date32 stores them.
pub fn date_to_days(d: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(NaiveDate::MIN);
    (d - epoch).num_days() as i32
}

pub fn days_to_date(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::Duration::days(days.into()))
}

/// Parses a date cell: `yyyy-MM-dd`, optionally followed by a time
/// (`T` or space, any time, `Z` or offset), whose date part is kept.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    let date_part = t.get(..10)?;
    let d = NaiveDate::parse_from_str(date_part, "%Y-%m-%d").ok()?;
    let rest = &t[10..];
    if rest.is_empty() || rest.starts_with(['T', ' ']) {
        Some(d)
    } else {
        None
    }
}

/// Converts one text cell to the column type; `None` if it cannot be.
pub fn convert_text(text: &str, ty: ColumnType) -> Option<Cell> {
    if text.is_empty() {
        return Some(Cell::Null);
    }
    match ty {
        ColumnType::String => Some(Cell::Str(text.to_string())),
        ColumnType::Int => text.trim().parse::<i64>().ok().map(Cell::Int),
        ColumnType::Float => text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Cell::Float),
        ColumnType::Date => parse_date(text).map(Cell::Date),
    }
}

pub(super) fn convert_json(value: &serde_json::Value, ty: ColumnType) -> Option<Cell> {
    use serde_json::Value as J;
    match (value, ty) {
        (J::Null, _) => Some(Cell::Null),
        (J::String(s), _) => convert_text(s, ty),
        (J::Number(n), ColumnType::Int) => n.as_i64().map(Cell::Int),
        (J::Number(n), ColumnType::Float) => n.as_f64().filter(|x| x.is_finite()).map(Cell::Float),
        (J::Number(n), ColumnType::String) => Some(Cell::Str(n.to_string())),
        (J::Bool(b), ColumnType::String) => Some(Cell::Str(b.to_string())),
        (J::Bool(b), ColumnType::Int) => Some(Cell::Int(i64::from(*b))),
        _ => None,
    }
}

pub(super) fn json_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `month=YYYY-MM` for a date, `all` for datasets without dates.
pub fn partition_of(date: Option<NaiveDate>) -> String {
    match date {
        Some(d) => format!("month={:04}-{:02}", d.year(), d.month()),
        None => "all".to_string(),
    }
}

/// The first day of the month a `month=YYYY-MM` partition holds.
pub fn partition_month(partition: &str) -> Option<NaiveDate> {
    let ym = partition.strip_prefix("month=")?;
    NaiveDate::parse_from_str(&format!("{ym}-01"), "%Y-%m-%d").ok()
}
