//! Store analytics answers from the record batches a Store plan produced:
//! each cell as JSON typed as the method's field says (booleans, rounded
//! amounts, the method's date format, hours), rows in the method's wire
//! shape, one page of them (precomputed documents and insight details
//! unpacked), the cap on failure buckets at week and month level, the
//! funnel's four counts and the Xbox concurrency series. Pure functions
//! of their inputs (the time is passed in): the server wraps the results in
//! `proto::store` types.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use datafusion::arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Date32Type, Float64Type, Int64Type};
use datafusion::arrow::error::ArrowError;
use query::storeapi::methods::{DateFormat, Shape};
use query::storeapi::{FieldSource, Level, StoreQuery};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

/// Every row of the batches, as (batch, row index).
pub fn rows(batches: &[RecordBatch]) -> impl Iterator<Item = (&RecordBatch, usize)> {
    batches
        .iter()
        .flat_map(|b| (0..b.num_rows()).map(move |i| (b, i)))
}

/// A string cell (`None` when null or not a string).
pub fn string_at(b: &RecordBatch, col: usize, row: usize) -> Option<String> {
    match crate::preview::cell(b.column(col), row) {
        Value::String(s) => Some(s),
        _ => None,
    }
}

fn int_at(b: &RecordBatch, col: usize, row: usize) -> Option<i64> {
    match cell(b, col, row, false, DateFormat::Day) {
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// The value of one cell as JSON, typed as the field says.
pub fn cell(b: &RecordBatch, col: usize, row: usize, boolean: bool, fmt: DateFormat) -> Value {
    let a = b.column(col);
    if a.is_null(row) {
        return Value::Null;
    }
    match a.data_type() {
        DataType::Int64 => {
            let v = a.as_primitive::<Int64Type>().value(row);
            if boolean {
                Value::Bool(v != 0)
            } else {
                Value::from(v)
            }
        }
        DataType::Float64 => {
            let v = rounded(a.as_primitive::<Float64Type>().value(row));
            v.and_then(serde_json::Number::from_f64)
                .map_or(Value::Null, Value::Number)
        }
        DataType::Date32 => {
            let days = a.as_primitive::<Date32Type>().value(row);
            crate::ingest::days_to_date(days)
                .map_or(Value::Null, |d| Value::from(format_date(d, None, fmt)))
        }
        _ => crate::preview::cell(a, row),
    }
}

/// A date in the method's format; with an hour, `YYYY-MM-DD HH:00:00`.
pub fn format_date(d: NaiveDate, hour: Option<i64>, fmt: DateFormat) -> String {
    let day = d.format("%Y-%m-%d");
    match (fmt, hour) {
        (_, Some(h)) => format!("{day} {h:02}:00:00"),
        (DateFormat::Day, None) => day.to_string(),
        (DateFormat::DayTime, None) => format!("{day} 00:00:00"),
        (DateFormat::Iso7, None) => format!("{day}T00:00:00.0000000Z"),
        (DateFormat::IsoPlain, None) => format!("{day}T00:00:00"),
    }
}

/// The rows `skip..skip + top` in the method's shape: a precomputed
/// document is answered as stored; an insight's details are unpacked.
/// Serialised straight from the batches (no JSON tree per row), with each
/// row's fields in name order.
pub fn page<'a>(
    query: &'a StoreQuery,
    batches: &'a [RecordBatch],
    skip: usize,
    top: usize,
) -> Page<'a> {
    let mut order: Vec<usize> = (0..query.fields.len()).collect();
    // A repeated name keeps its last field, as a JSON map built field by
    // field would.
    order.sort_by(|&a, &b| {
        (query.fields[a].wire.as_str(), std::cmp::Reverse(a))
            .cmp(&(query.fields[b].wire.as_str(), std::cmp::Reverse(b)))
    });
    order.dedup_by(|a, b| query.fields[*a].wire == query.fields[*b].wire);
    Page {
        query,
        batches,
        skip,
        top,
        order,
    }
}

/// One page of a Store answer (see [`page`]).
pub struct Page<'a> {
    query: &'a StoreQuery,
    batches: &'a [RecordBatch],
    skip: usize,
    top: usize,
    /// `query.fields` in wire-name order.
    order: Vec<usize>,
}

impl Serialize for Page<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for (b, i) in rows(self.batches).skip(self.skip).take(self.top) {
            match self.query.method.shape {
                Shape::Document | Shape::Insights => {
                    seq.serialize_element(&unpacked(self, b, i))?
                }
                _ => seq.serialize_element(&RowRef {
                    page: self,
                    batch: b,
                    row: i,
                })?,
            }
        }
        seq.end()
    }
}

/// A document row's stored document, or an insight row with its details
/// unpacked.
fn unpacked(page: &Page, b: &RecordBatch, i: usize) -> Value {
    let row = RowRef {
        page,
        batch: b,
        row: i,
    };
    let Ok(Value::Object(mut row)) = serde_json::to_value(&row) else {
        return Value::Null;
    };
    match page.query.method.shape {
        Shape::Document => row
            .get("document")
            .and_then(Value::as_str)
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or(Value::Null),
        _ => {
            if let Some(Value::String(s)) = row.get("insightDetail") {
                let parsed = serde_json::from_str(s).unwrap_or(Value::Array(Vec::new()));
                row.insert("insightDetail".into(), parsed);
            }
            Value::Object(row)
        }
    }
}

/// One row of a page, written field by field.
struct RowRef<'p, 'a> {
    page: &'p Page<'a>,
    batch: &'p RecordBatch,
    row: usize,
}

impl Serialize for RowRef<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let query = self.page.query;
        let (b, i) = (self.batch, self.row);
        let mut map = serializer.serialize_map(Some(self.page.order.len()))?;
        for &k in &self.page.order {
            let f = &query.fields[k];
            let col = match &f.source {
                FieldSource::Output(col) => *col,
                FieldSource::All => {
                    map.serialize_entry(&f.wire, "All")?;
                    continue;
                }
                FieldSource::Null => {
                    map.serialize_entry(&f.wire, &())?;
                    continue;
                }
            };
            let a = b.column(col);
            if a.is_null(i) {
                map.serialize_entry(&f.wire, &())?;
                continue;
            }
            match a.data_type() {
                DataType::Int64 => {
                    let v = a.as_primitive::<Int64Type>().value(i);
                    if f.boolean {
                        map.serialize_entry(&f.wire, &(v != 0))?;
                    } else {
                        map.serialize_entry(&f.wire, &v)?;
                    }
                }
                DataType::Float64 => {
                    let v = a.as_primitive::<Float64Type>().value(i);
                    map.serialize_entry(&f.wire, &rounded(v))?;
                }
                DataType::Utf8 => map.serialize_entry(&f.wire, a.as_string::<i32>().value(i))?,
                DataType::Utf8View => map.serialize_entry(&f.wire, a.as_string_view().value(i))?,
                DataType::Date32 => {
                    let days = a.as_primitive::<Date32Type>().value(i);
                    let hour = query.hour_output.and_then(|h| int_at(b, h, i));
                    match crate::ingest::days_to_date(days) {
                        Some(d) => map.serialize_entry(
                            &f.wire,
                            &format_date(d, hour, query.method.date_format),
                        )?,
                        None => map.serialize_entry(&f.wire, &())?,
                    }
                }
                _ => map.serialize_entry(
                    &f.wire,
                    &cell(b, col, i, f.boolean, query.method.date_format),
                )?,
            }
        }
        map.end()
    }
}

/// An amount with at most 6 decimals (sums carry binary noise:
/// 39.879999999999995); a non-finite one is null.
fn rounded(v: f64) -> Option<f64> {
    let v = (v * 1e6).round() / 1e6;
    v.is_finite().then_some(v)
}

/// Week and month failure answers keep the `cap` failure buckets
/// (`failureHash`, else `failureName`) with the most events (spec §2.2).
pub fn cap_failure_buckets(
    query: &StoreQuery,
    batches: &[RecordBatch],
    cap: usize,
) -> Result<Vec<RecordBatch>, ArrowError> {
    let outputs = &query.plan.outputs;
    let key = ["failureHash", "failureName"]
        .iter()
        .find_map(|k| outputs.iter().position(|o| o.name == *k));
    let events = outputs.iter().position(|o| o.name == "eventCount");
    let (Some(key), Some(events)) = (key, events) else {
        return Ok(batches.to_vec());
    };
    let mut totals: HashMap<Option<String>, i64> = HashMap::new();
    for (b, i) in rows(batches) {
        *totals.entry(string_at(b, key, i)).or_default() += int_at(b, events, i).unwrap_or(0);
    }
    if totals.len() <= cap {
        return Ok(batches.to_vec());
    }
    let mut ranked: Vec<(Option<String>, i64)> = totals.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let kept: HashSet<Option<String>> = ranked.into_iter().take(cap).map(|(k, _)| k).collect();
    batches
        .iter()
        .map(|b| {
            let mask: BooleanArray = (0..b.num_rows())
                .map(|i| Some(kept.contains(&string_at(b, key, i))))
                .collect();
            datafusion::arrow::compute::filter_record_batch(b, &mask)
        })
        .collect()
}

/// The funnel's steps, always all four, in order.
pub const FUNNEL_STEPS: [&str; 4] = ["PageView", "Acquisition", "Install", "Usage"];

/// Users per funnel step (rows of metric type, user count), in
/// [`FUNNEL_STEPS`] order; a step without rows counts 0.
pub fn funnel(batches: &[RecordBatch]) -> Vec<(&'static str, i64)> {
    let mut counts: HashMap<String, i64> = HashMap::new();
    for (b, i) in rows(batches) {
        let metric = string_at(b, 0, i).unwrap_or_default();
        *counts.entry(metric).or_default() += int_at(b, 1, i).unwrap_or(0);
    }
    FUNNEL_STEPS
        .iter()
        .map(|m| (*m, counts.get(*m).copied().unwrap_or(0)))
        .collect()
}

/// One point of the Xbox concurrency series.
#[derive(Debug, Clone, PartialEq)]
pub struct ConcurrencyPoint {
    /// The bucket's start.
    pub at: DateTime<Utc>,
    /// The average concurrent users in the bucket, two decimals.
    pub average: f64,
}

/// Xbox concurrency (rows of date, minute of day, count): averages per
/// minute, hour or day (`level`), nothing after `now`; the last 60 minutes,
/// 24 hours or 7 days unless the caller gave dates (`dated`), then up to a
/// day of minutes, 30 days of hours or 60 days.
pub fn concurrency(
    level: Level,
    dated: bool,
    batches: &[RecordBatch],
    now: DateTime<Utc>,
) -> Vec<ConcurrencyPoint> {
    let (bucket_minutes, default_records, cap): (i64, usize, usize) = match level {
        Level::Minute => (1, 60, 1440),
        Level::Hour => (60, 24, 720),
        Level::Day | Level::Week | Level::Month => (1440, 7, 60),
    };
    let mut buckets: BTreeMap<i64, (f64, u32)> = BTreeMap::new();
    for (b, i) in rows(batches) {
        let Some(day) = b
            .column(0)
            .as_primitive_opt::<Date32Type>()
            .filter(|a| !a.is_null(i))
            .map(|a| i64::from(a.value(i)))
        else {
            continue;
        };
        let minute = int_at(b, 1, i).unwrap_or(0);
        let count = match cell(b, 2, i, false, DateFormat::Day) {
            Value::Number(n) => n.as_f64().unwrap_or(0.0),
            _ => 0.0,
        };
        let at = day * 1440 + minute;
        let e = buckets
            .entry(at - at.rem_euclid(bucket_minutes))
            .or_insert((0.0, 0));
        e.0 += count;
        e.1 += 1;
    }
    // Nothing after now (a day's series ends at the current minute).
    let now_minute = now.timestamp().div_euclid(60);
    buckets.retain(|at, _| *at <= now_minute);
    let keep = if dated { cap } else { default_records.min(cap) };
    let skip = buckets.len().saturating_sub(keep);
    buckets
        .into_iter()
        .skip(skip)
        .map(|(at, (sum, n))| ConcurrencyPoint {
            at: DateTime::<Utc>::from_timestamp(at * 60, 0).unwrap_or_default(),
            average: (sum / f64::from(n.max(1)) * 100.0).round() / 100.0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Date32Array, Float64Array, Int64Array, StringArray};
    use datafusion::arrow::datatypes::{Field, Schema};

    use super::*;

    fn batch(columns: Vec<(&str, Arc<dyn Array>)>) -> RecordBatch {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect();
        RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            columns.into_iter().map(|(_, a)| a).collect(),
        )
        .unwrap()
    }

    fn day(d: &str) -> i32 {
        let d = NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        (d - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
    }

    #[test]
    fn cells_follow_the_field_type_and_the_method_date_format() {
        let b = batch(vec![
            ("n", Arc::new(Int64Array::from(vec![Some(1), None]))),
            (
                "x",
                Arc::new(Float64Array::from(vec![39.879999999999995, 0.5])),
            ),
            ("d", Arc::new(Date32Array::from(vec![day("2024-02-29"), 0]))),
        ]);
        assert_eq!(cell(&b, 0, 0, true, DateFormat::Day), Value::Bool(true));
        assert_eq!(cell(&b, 0, 0, false, DateFormat::Day), Value::from(1));
        assert_eq!(cell(&b, 0, 1, false, DateFormat::Day), Value::Null);
        assert_eq!(cell(&b, 1, 0, false, DateFormat::Day), Value::from(39.88));
        assert_eq!(
            cell(&b, 2, 0, false, DateFormat::Iso7),
            Value::from("2024-02-29T00:00:00.0000000Z")
        );
        assert_eq!(
            format_date(
                NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
                Some(7),
                DateFormat::Day
            ),
            "2026-12-02 07:00:00"
        );
    }

    #[test]
    fn the_funnel_has_four_steps_in_order_even_without_rows() {
        let b = batch(vec![
            (
                "m",
                Arc::new(StringArray::from(vec!["Install", "PageView", "Install"])),
            ),
            ("u", Arc::new(Int64Array::from(vec![3, 10, 4]))),
        ]);
        assert_eq!(
            funnel(&[b]),
            [
                ("PageView", 10),
                ("Acquisition", 0),
                ("Install", 7),
                ("Usage", 0)
            ]
        );
        assert_eq!(funnel(&[]).len(), 4);
    }

    #[test]
    fn concurrency_averages_per_bucket_and_stops_at_now() {
        let d = day("2026-12-02");
        let b = batch(vec![
            ("date", Arc::new(Date32Array::from(vec![d, d, d, d]))),
            (
                "minute",
                Arc::new(Int64Array::from(vec![600, 601, 659, 720])),
            ),
            (
                "count",
                Arc::new(Float64Array::from(vec![10.0, 20.0, 31.0, 99.0])),
            ),
        ]);
        let now = "2026-12-02T11:30:00Z".parse().unwrap();
        let hours = concurrency(Level::Hour, false, std::slice::from_ref(&b), now);
        assert_eq!(hours.len(), 1, "12:00 is after now");
        assert_eq!(hours[0].at.to_rfc3339(), "2026-12-02T10:00:00+00:00");
        assert_eq!(hours[0].average, 20.33);
        let minutes = concurrency(Level::Minute, false, &[b], now);
        assert_eq!(minutes.len(), 3);
    }

    #[test]
    fn failure_buckets_are_capped_by_events() {
        let method = query::storeapi::methods::find("failurehits", None).unwrap();
        let params = query::storeapi::StoreParams::new(vec![
            ("applicationId".to_string(), "A".to_string()),
            ("groupby".to_string(), "failureHash".to_string()),
            ("aggregationLevel".to_string(), "week".to_string()),
        ]);
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let query = query::storeapi::resolve(method, &params, today).unwrap();
        // A batch shaped like the plan's outputs, strings for simplicity
        // where only the key and eventCount matter.
        let fields: Vec<Field> = query
            .plan
            .outputs
            .iter()
            .map(|o| match o.name.as_str() {
                "eventCount" | "deviceCount" => {
                    Field::new(&o.name, datafusion::arrow::datatypes::DataType::Int64, true)
                }
                _ => Field::new(&o.name, datafusion::arrow::datatypes::DataType::Utf8, true),
            })
            .collect();
        let hashes = ["a", "b", "c", "a", "c"];
        let events = [5i64, 1, 7, 5, 0];
        let columns: Vec<datafusion::arrow::array::ArrayRef> = fields
            .iter()
            .map(|f| -> datafusion::arrow::array::ArrayRef {
                match f.name().as_str() {
                    "failureHash" => Arc::new(StringArray::from(hashes.to_vec())),
                    "eventCount" | "deviceCount" => Arc::new(Int64Array::from(events.to_vec())),
                    _ => Arc::new(StringArray::from(vec!["x"; 5])),
                }
            })
            .collect();
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
        let kept = cap_failure_buckets(&query, std::slice::from_ref(&batch), 2).unwrap();
        let kept_hashes: Vec<String> = rows(&kept)
            .map(|(b, i)| {
                string_at(
                    b,
                    query
                        .plan
                        .outputs
                        .iter()
                        .position(|o| o.name == "failureHash")
                        .unwrap(),
                    i,
                )
                .unwrap()
            })
            .collect();
        // a = 10 events, c = 7, b = 1: b is dropped.
        assert_eq!(kept_hashes, ["a", "c", "a", "c"]);
        assert_eq!(
            cap_failure_buckets(&query, &[batch], 3).unwrap()[0].num_rows(),
            5
        );
    }
}
