//! Result rows as JSON objects keyed by column name, for the test-query
//! preview: numbers stay numbers, dates are `yyyy-MM-dd`, nulls are `null`.

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Date32Type, Float64Type, Int64Type};
use serde_json::{Map, Value};

use crate::ingest::days_to_date;

/// Converts batches to at most `max_rows` JSON objects.
pub fn rows_json(batches: &[RecordBatch], max_rows: usize) -> Vec<Map<String, Value>> {
    let mut out = Vec::new();
    for batch in batches {
        let schema = batch.schema();
        for row in 0..batch.num_rows() {
            if out.len() >= max_rows {
                return out;
            }
            let mut obj = Map::with_capacity(batch.num_columns());
            for (field, column) in schema.fields().iter().zip(batch.columns()) {
                obj.insert(field.name().clone(), cell(column.as_ref(), row));
            }
            out.push(obj);
        }
    }
    out
}

/// One cell as JSON: strings, numbers, `yyyy-MM-dd` dates, `null`.
pub fn cell(column: &dyn Array, row: usize) -> Value {
    if column.is_null(row) {
        return Value::Null;
    }
    match column.data_type() {
        DataType::Utf8 => Value::String(column.as_string::<i32>().value(row).to_string()),
        DataType::LargeUtf8 => Value::String(column.as_string::<i64>().value(row).to_string()),
        DataType::Utf8View => Value::String(column.as_string_view().value(row).to_string()),
        DataType::Int64 => Value::from(column.as_primitive::<Int64Type>().value(row)),
        DataType::Float64 => {
            serde_json::Number::from_f64(column.as_primitive::<Float64Type>().value(row))
                .map_or(Value::Null, Value::Number)
        }
        DataType::Date32 => days_to_date(column.as_primitive::<Date32Type>().value(row))
            .map_or(Value::Null, |d| {
                Value::String(d.format("%Y-%m-%d").to_string())
            }),
        other => {
            // Types the catalog does not produce; shown as text rather than lost.
            let formatter = datafusion::arrow::util::display::ArrayFormatter::try_new(
                column,
                &Default::default(),
            );
            match formatter {
                Ok(f) => Value::String(f.value(row).to_string()),
                Err(_) => Value::String(format!("<{other}>")),
            }
        }
    }
}
