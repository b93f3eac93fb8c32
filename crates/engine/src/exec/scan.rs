//! The frame a plan starts from: the part files it reads, with the
//! columns it uses, their statistics gathered before planning
//! ([`super::footers`]).

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::prelude::{DataFrame, ParquetReadOptions, SessionContext};
use query::catalog::Dataset;

use super::FOOTER_READ_BYTES;
use super::footers;
use crate::error::Result;
use crate::schema::read_schema;
use crate::storage::{DataStore, PartFile};

/// A frame over part files of a dataset in `session` (an empty one
/// without files), with only the `columns` named, in the dataset's order,
/// when given (all, if one is not the dataset's or none is named).
pub(super) async fn read_files_in(
    session: &SessionContext,
    store: &DataStore,
    dataset: &Dataset,
    columns: Option<&[&str]>,
    files: impl Iterator<Item = &PartFile>,
) -> Result<DataFrame> {
    let schema = narrowed(read_schema(dataset), columns.unwrap_or_default());
    let urls: Vec<String> = files
        .map(|f| format!("{}/{}", store.url(), f.path))
        .collect();
    Ok(if urls.is_empty() {
        session.read_batch(RecordBatch::new_empty(schema))?
    } else {
        footers::warm(session, store, &schema, &urls, FOOTER_READ_BYTES).await;
        let options = ParquetReadOptions::default().schema(&schema);
        session.read_parquet(urls, options).await?
    })
}

/// `schema` with only the fields named in `columns` (any case), in its
/// order; all of it when `columns` is empty or names a field it lacks.
pub(super) fn narrowed(schema: SchemaRef, columns: &[&str]) -> SchemaRef {
    let fields: Vec<_> = schema
        .fields()
        .iter()
        .filter(|f| columns.iter().any(|c| c.eq_ignore_ascii_case(f.name())))
        .cloned()
        .collect();
    if columns.is_empty() || fields.len() != columns.len() {
        return schema;
    }
    Arc::new(Schema::new(fields))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{DataType, Field};

    #[test]
    fn a_schema_narrows_to_the_columns_named_in_its_own_order_and_case() {
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("Month", DataType::Date32, true),
            Field::new("CustomerTpid", DataType::Utf8View, true),
            Field::new("Seats", DataType::Int64, true),
        ]));
        let names = |s: &SchemaRef| -> Vec<String> {
            s.fields().iter().map(|f| f.name().clone()).collect()
        };
        let narrow = narrowed(schema.clone(), &["seats", "MONTH"]);
        assert_eq!(names(&narrow), ["Month", "Seats"]);
        // Nothing named, or a name the schema lacks: all of it.
        assert_eq!(narrowed(schema.clone(), &[]), schema);
        assert_eq!(narrowed(schema.clone(), &["Month", "Nope"]), schema);
    }
}
