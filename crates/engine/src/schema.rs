//! Arrow schemas of the datasets, derived from the catalog: selectable
//! columns in catalog order, then hidden columns. The mapping of catalog
//! types is string → Utf8, int → Int64, float → Float64, date → Date32.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use query::Catalog;
use query::catalog::{Column, ColumnType, Dataset};

use crate::error::{EngineError, Result};

pub fn arrow_type(ty: ColumnType) -> DataType {
    match ty {
        ColumnType::String => DataType::Utf8,
        ColumnType::Int => DataType::Int64,
        ColumnType::Float => DataType::Float64,
        ColumnType::Date => DataType::Date32,
    }
}

/// Every stored column of the dataset, selectable first, all nullable.
pub fn stored_columns(dataset: &Dataset) -> impl Iterator<Item = &Column> {
    dataset.columns.iter().chain(&dataset.hidden_columns)
}

/// The schema of the dataset's Parquet files.
pub fn dataset_schema(dataset: &Dataset) -> SchemaRef {
    let fields: Vec<Field> = stored_columns(dataset)
        .map(|c| Field::new(&c.name, arrow_type(c.ty), true))
        .collect();
    Arc::new(Schema::new(fields))
}

/// The schema the engine reads part files with: strings as `Utf8View`,
/// which DataFusion decodes and compares without copying string bytes.
pub fn read_schema(dataset: &Dataset) -> SchemaRef {
    let fields: Vec<Field> = stored_columns(dataset)
        .map(|c| {
            let ty = match c.ty {
                ColumnType::String => DataType::Utf8View,
                other => arrow_type(other),
            };
            Field::new(&c.name, ty, true)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// A dataset rows can be loaded into, by name or alias in any case: one of
/// the Insights catalog or of the Store API's (`store_*`); unknown, the
/// error names the closest.
pub fn dataset(name: &str) -> Result<&'static Dataset> {
    let insights = query::builtin();
    let store = query::storeapi::store_catalog();
    insights
        .dataset(name)
        .or_else(|| store.dataset(name))
        .ok_or_else(|| EngineError::UnknownDataset {
            name: name.to_string(),
            suggestion: query::suggest::closest(
                name,
                insights
                    .datasets()
                    .iter()
                    .chain(store.datasets())
                    .map(|d| d.name.as_str()),
            )
            .map(str::to_string),
        })
}
