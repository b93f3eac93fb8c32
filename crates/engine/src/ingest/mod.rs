//! Loading rows into a dataset from CSV (header row, columns by name in any
//! case), NDJSON (one object a line, keys in any case) and Parquet (columns
//! by name in any case, cast to the catalog types).
//!
//! Every value is validated and converted to the catalog type; the first
//! bad values are reported as `file:line: column 'X': 'abc' is not a valid
//! int` (up to [`MAX_REPORTED`], then a count). Rows are streamed into part
//! files as they are read, but nothing becomes visible until the whole batch
//! is valid and the manifest commit succeeds: a bad row, an IO error or a
//! crash anywhere before the commit leaves the live data exactly as it was.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{Array, ArrayRef, Date32Array, RecordBatch};
use datafusion::arrow::compute::{CastOptions, cast_with_options, filter_record_batch};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::arrow::async_writer::AsyncArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use object_store::ObjectStoreExt;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use query::catalog::{Column, ColumnType, Dataset};

mod cells;
mod formats;
mod publish;

pub use cells::*;

use crate::error::{EngineError, Result};
use crate::schema::{dataset_schema, stored_columns};
use crate::storage::{DataStore, Manifest, PartFile, TenantId};

/// How many bad values are listed before the rest are only counted.
pub const MAX_REPORTED: usize = 20;

/// Rows held in column builders across all partitions before the fullest
/// partition's are encoded: a load spanning many months needs no more
/// memory than one spanning a few.
const MAX_BUFFERED_ROWS: usize = 4 * FLUSH_ROWS;

/// Bytes of encoded, not yet written row groups across all partitions
/// before the largest is closed early (smaller row groups, bounded memory).
const MAX_ENCODING_BYTES: usize = 64 << 20;

/// Rows buffered per partition before they are written as a row group.
const FLUSH_ROWS: usize = 128 * 1024;

/// The bad values of a rejected batch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BadValues {
    /// The first [`MAX_REPORTED`] problems, in input order.
    pub problems: Vec<String>,
    /// Every problem, listed or not.
    pub total: usize,
}

impl BadValues {
    fn push(&mut self, problem: impl FnOnce() -> String) {
        if self.problems.len() < MAX_REPORTED {
            self.problems.push(problem());
        }
        self.total += 1;
    }
}

impl fmt::Display for BadValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the batch was rejected and nothing was loaded:")?;
        for p in &self.problems {
            writeln!(f, "{p}")?;
        }
        let more = self.total - self.problems.len();
        if more > 0 {
            writeln!(f, "... and {more} more bad values")?;
        }
        Ok(())
    }
}

/// The input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Ndjson,
    Parquet,
}

impl Format {
    /// From a file name: `.csv`, `.ndjson`/`.jsonl`/`.json`, `.parquet`.
    pub fn from_path(path: &std::path::Path) -> Result<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("csv") => Ok(Format::Csv),
            Some("ndjson" | "jsonl" | "json") => Ok(Format::Ndjson),
            Some("parquet") => Ok(Format::Parquet),
            _ => Err(EngineError::BadInput(format!(
                "{}: unknown file type; use .csv, .ndjson (or .jsonl/.json) or .parquet",
                path.display()
            ))),
        }
    }
}

/// What a load does to the rows already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMode {
    Append,
    /// Replace the rows whose date lies in `[from, to]` (both inclusive).
    ReplaceRange {
        from: NaiveDate,
        to: NaiveDate,
    },
    /// Replace every row of the dataset for the tenant.
    ReplaceAll,
}

/// What a committed load did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadReport {
    pub rows: u64,
    pub files_written: usize,
    pub version: u64,
}
/// Part files that start with fewer rows than this are LZ4-compressed:
/// the parquet crate sets up a zstd compressor *and* decompressor context
/// per column chunk (and readers one per chunk read), which costs more
/// than zstd saves on small files — it was a fifth of the demo's start-up.
pub const SMALL_PART_ROWS: usize = 32 * 1024;

/// How part files are encoded: zstd level 1, or LZ4 for a part file whose
/// first batch has fewer than [`SMALL_PART_ROWS`] rows.
pub fn writer_properties_for(first_batch_rows: usize) -> WriterProperties {
    let compression = if first_batch_rows < SMALL_PART_ROWS {
        Compression::LZ4_RAW
    } else {
        Compression::ZSTD(ZstdLevel::try_new(1).unwrap_or_default())
    };
    WriterProperties::builder()
        .set_compression(compression)
        .set_max_row_group_row_count(Some(FLUSH_ROWS * 4))
        .build()
}

/// How large part files are encoded (zstd level 1).
pub fn writer_properties() -> WriterProperties {
    writer_properties_for(usize::MAX)
}

/// Streams rows into per-partition part files; nothing is visible until
/// [`Loader::commit`].
pub struct Loader<'a> {
    store: &'a DataStore,
    dataset: &'a Dataset,
    tenant: TenantId,
    schema: SchemaRef,
    columns: Vec<&'a Column>,
    date_index: Option<usize>,
    mode: LoadMode,
    partitions: BTreeMap<String, Partition>,
    bad: BadValues,
    rows: u64,
    /// Rows in the partitions' builders, not yet encoded.
    buffered: usize,
    /// At most this many rows per data page (the Parquet default, 20k,
    /// when `None`).
    page_rows: Option<usize>,
}

struct Partition {
    builders: Builders,
    writer: Option<AsyncArrowWriter<BufWriter>>,
    path: String,
    rows: u64,
}

impl<'a> Loader<'a> {
    pub fn new(
        store: &'a DataStore,
        dataset: &'a Dataset,
        tenant: TenantId,
        mode: LoadMode,
    ) -> Result<Self> {
        let columns: Vec<&Column> = stored_columns(dataset).collect();
        let date_index = dataset
            .date_column
            .as_ref()
            .and_then(|d| columns.iter().position(|c| c.name.eq_ignore_ascii_case(d)));
        if matches!(mode, LoadMode::ReplaceRange { .. }) && date_index.is_none() {
            return Err(EngineError::BadInput(format!(
                "dataset '{}' has no date column, so it has no time range to replace; use replace-all instead",
                dataset.name
            )));
        }
        if let LoadMode::ReplaceRange { from, to } = mode
            && from > to
        {
            return Err(EngineError::BadInput(format!(
                "replace range {from}..{to} is empty: the start must not be after the end"
            )));
        }
        Ok(Loader {
            store,
            dataset,
            tenant,
            schema: dataset_schema(dataset),
            columns,
            date_index,
            mode,
            partitions: BTreeMap::new(),
            bad: BadValues::default(),
            rows: 0,
            buffered: 0,
            page_rows: None,
        })
    }

    /// Writes data pages of at most `rows` rows, so that readers filtering
    /// on a sorted column (a rollup's set) skip more with the page index.
    pub fn with_page_rows(mut self, rows: usize) -> Self {
        self.page_rows = Some(rows.max(1));
        self
    }

    /// Maps input column names to stored column indexes (case-insensitive);
    /// an unknown or repeated name is an error naming the allowed ones.
    fn map_header<'h>(
        &self,
        file: &str,
        names: impl Iterator<Item = &'h str>,
    ) -> Result<Vec<usize>> {
        let mut map = Vec::new();
        for name in names {
            let name = name.trim();
            let Some(idx) = self
                .columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(name))
            else {
                let suggestion =
                    query::suggest::closest(name, self.columns.iter().map(|c| c.name.as_str()));
                let hint = suggestion
                    .map(|s| format!(" Did you mean '{s}'?"))
                    .unwrap_or_default();
                return Err(EngineError::BadInput(format!(
                    "{file}: column '{name}' is not in dataset '{}'.{hint} Its columns are: {}",
                    self.dataset.name,
                    self.columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            if map.contains(&idx) {
                return Err(EngineError::BadInput(format!(
                    "{file}: column '{}' appears twice in the header",
                    self.columns[idx].name
                )));
            }
            map.push(idx);
        }
        Ok(map)
    }

    /// Adds one row of converted cells (indexed like the stored columns).
    async fn push_row(&mut self, file: &str, line: u64, cells: Vec<Cell>) -> Result<()> {
        let date = match self.date_index {
            None => None,
            Some(i) => match cells.get(i) {
                Some(Cell::Date(d)) => Some(*d),
                _ => {
                    let column = &self.columns[i].name;
                    self.bad.push(|| {
                        format!("{file}:{line}: column '{column}': a date is required (the dataset is partitioned by it)")
                    });
                    return Ok(());
                }
            },
        };
        if let (LoadMode::ReplaceRange { from, to }, Some(d)) = (self.mode, date)
            && (d < from || d > to)
        {
            let column = self
                .date_index
                .map(|i| self.columns[i].name.clone())
                .unwrap_or_default();
            self.bad.push(|| {
                format!("{file}:{line}: column '{column}': {d} is outside the replaced range {from}..{to}")
            });
            return Ok(());
        }
        if self.bad.total > 0 {
            // The batch is rejected; keep reading only to report problems.
            return Ok(());
        }
        let key = partition_of(date);
        let partition = open_partition(
            &mut self.partitions,
            &self.columns,
            &self.dataset.name,
            &self.tenant,
            &key,
        );
        partition.builders.push_row(cells.iter().map(Cell::as_ref));
        partition.rows += 1;
        self.rows += 1;
        self.buffered += 1;
        if partition.builders.rows >= FLUSH_ROWS {
            self.buffered -= partition.builders.rows;
            let batch = partition.builders.finish(&self.schema)?;
            write_batch(self.store, partition, &batch, self.page_rows).await?;
            self.bound_encoding().await?;
        } else if self.buffered >= MAX_BUFFERED_ROWS {
            self.encode_fullest().await?;
            self.bound_encoding().await?;
        }
        Ok(())
    }

    /// Encodes the rows of the partition holding the most.
    async fn encode_fullest(&mut self) -> Result<()> {
        let Some(partition) = self.partitions.values_mut().max_by_key(|p| p.builders.rows) else {
            return Ok(());
        };
        self.buffered -= partition.builders.rows;
        let batch = partition.builders.finish(&self.schema)?;
        write_batch(self.store, partition, &batch, self.page_rows).await
    }

    /// Closes the largest open row groups until the encoded bytes waiting
    /// in all writers are within [`MAX_ENCODING_BYTES`].
    async fn bound_encoding(&mut self) -> Result<()> {
        loop {
            let waiting: usize = self
                .partitions
                .values()
                .filter_map(|p| p.writer.as_ref())
                .map(AsyncArrowWriter::in_progress_size)
                .sum();
            if waiting <= MAX_ENCODING_BYTES {
                return Ok(());
            }
            let largest = self
                .partitions
                .values_mut()
                .filter_map(|p| p.writer.as_mut())
                .max_by_key(|w| w.in_progress_size());
            match largest {
                Some(writer) if writer.in_progress_size() > 0 => writer.flush().await?,
                _ => return Ok(()),
            }
        }
    }

    /// Adds already-typed batches (the demo generator's path): every column
    /// of the dataset schema, date column non-null for dated datasets.
    pub async fn push_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        let Some(date_index) = self.date_index else {
            return self.push_partition_batch("all".to_string(), batch).await;
        };
        let dates = batch
            .column(date_index)
            .as_any()
            .downcast_ref::<Date32Array>()
            .ok_or_else(|| {
                EngineError::BadInput("the date column is not a Date32 column".into())
            })?;
        // Fast path: a batch within one month goes to its partition whole.
        let (min, max) = (
            datafusion::arrow::compute::min(dates),
            datafusion::arrow::compute::max(dates),
        );
        if dates.null_count() == 0
            && let (Some(lo), Some(hi)) = (min.and_then(days_to_date), max.and_then(days_to_date))
            && (lo.year(), lo.month()) == (hi.year(), hi.month())
        {
            return self
                .push_partition_batch(partition_of(Some(lo)), batch)
                .await;
        }
        let mut months: BTreeMap<i32, Vec<bool>> = BTreeMap::new();
        for i in 0..dates.len() {
            let key = if dates.is_null(i) {
                return Err(EngineError::BadInput(format!(
                    "row {i}: the date column '{}' is null",
                    self.columns[date_index].name
                )));
            } else {
                let d = days_to_date(dates.value(i)).unwrap_or(NaiveDate::MIN);
                d.year() * 12 + d.month0() as i32
            };
            months
                .entry(key)
                .or_insert_with(|| vec![false; dates.len()])[i] = true;
        }
        for (key, mask) in months {
            let partition = format!(
                "month={:04}-{:02}",
                key.div_euclid(12),
                key.rem_euclid(12) + 1
            );
            let mask = datafusion::arrow::array::BooleanArray::from(mask);
            let part = filter_record_batch(batch, &mask)?;
            self.push_partition_batch(partition, &part).await?;
        }
        Ok(())
    }

    async fn push_partition_batch(&mut self, key: String, batch: &RecordBatch) -> Result<()> {
        let batch = RecordBatch::try_new(self.schema.clone(), batch.columns().to_vec())?;
        let partition = open_partition(
            &mut self.partitions,
            &self.columns,
            &self.dataset.name,
            &self.tenant,
            &key,
        );
        partition.rows += batch.num_rows() as u64;
        self.rows += batch.num_rows() as u64;
        write_batch(self.store, partition, &batch, self.page_rows).await?;
        self.bound_encoding().await
    }

    /// Finishes the batch: rejects it if any value was bad (deleting what
    /// was written), otherwise writes the last rows and commits.
    pub async fn commit(mut self) -> Result<LoadReport> {
        let new_files = self.finish_parts().await?;
        self.publish(new_files).await
    }

    /// The first half of a commit: every part file completely uploaded, but
    /// no manifest written. Public so that tests can stop here, exactly as
    /// a process that crashes between the uploads and the commit would.
    pub async fn finish_parts(&mut self) -> Result<Vec<PartFile>> {
        if self.bad.total > 0 {
            let bad = std::mem::take(&mut self.bad);
            self.abort().await;
            return Err(EngineError::BadValues(bad));
        }
        let mut new_files = Vec::new();
        let partitions = std::mem::take(&mut self.partitions);
        for (key, mut partition) in partitions {
            if partition.builders.rows > 0 {
                let batch = partition.builders.finish(&self.schema)?;
                write_batch(self.store, &mut partition, &batch, self.page_rows).await?;
            }
            if let Some(file) = close_partition(self.store, partition, key).await? {
                new_files.push(file);
            }
        }
        Ok(new_files)
    }

    /// Drops the part files written so far, nothing having been committed
    /// (best effort: garbage collection removes what a failure here leaves
    /// behind).
    pub async fn abort(&mut self) {
        for (_, mut partition) in std::mem::take(&mut self.partitions) {
            if let Some(writer) = partition.writer.take() {
                let _ = writer.close().await;
                let _ = self
                    .store
                    .object_store()
                    .delete(&Path::from(partition.path.as_str()))
                    .await;
            }
        }
    }

    /// Problems found so far.
    pub fn bad_values(&self) -> &BadValues {
        &self.bad
    }
}

/// The partition being written for `key`, started on first use.
fn open_partition<'p>(
    partitions: &'p mut BTreeMap<String, Partition>,
    columns: &[&Column],
    dataset: &str,
    tenant: &TenantId,
    key: &str,
) -> &'p mut Partition {
    partitions
        .entry(key.to_string())
        .or_insert_with(|| Partition {
            builders: Builders::new(columns),
            writer: None,
            path: crate::storage::layout::new_part_path(dataset, tenant, key),
            rows: 0,
        })
}

/// Closes a partition's writer and describes the finished part file
/// (`None` when nothing was written).
async fn close_partition(
    store: &DataStore,
    mut partition: Partition,
    key: String,
) -> Result<Option<PartFile>> {
    let Some(writer) = partition.writer.take() else {
        return Ok(None);
    };
    writer.close().await?;
    let bytes = store
        .object_store()
        .head(&Path::from(partition.path.as_str()))
        .await?
        .size;
    Ok(Some(PartFile {
        path: partition.path,
        partition: key,
        rows: partition.rows,
        bytes,
    }))
}

async fn write_batch(
    store: &DataStore,
    partition: &mut Partition,
    batch: &RecordBatch,
    page_rows: Option<usize>,
) -> Result<()> {
    if partition.writer.is_none() {
        // The smallest part an S3 multipart upload allows: each open
        // partition holds at most this much before it is uploaded.
        let object = BufWriter::with_capacity(
            store.object_store().clone(),
            Path::from(partition.path.as_str()),
            5 << 20,
        );
        partition.writer = Some(AsyncArrowWriter::try_new(
            object,
            batch.schema(),
            Some(match page_rows {
                Some(rows) => writer_properties_for(batch.num_rows())
                    .into_builder()
                    .set_data_page_row_count_limit(rows)
                    .set_write_batch_size(rows)
                    .build(),
                None => writer_properties_for(batch.num_rows()),
            }),
        )?);
    }
    if let Some(writer) = partition.writer.as_mut() {
        writer.write(batch).await?;
    }
    Ok(())
}

fn bad_value(file: &str, line: u64, column: &str, value: &str, ty: ColumnType) -> String {
    let shown: String = value.chars().take(100).collect();
    let expected = match ty {
        ColumnType::Date => " (expected yyyy-MM-dd)",
        _ => "",
    };
    format!("{file}:{line}: column '{column}': '{shown}' is not a valid {ty}{expected}")
}

/// Loads files into a dataset in one atomic batch.
pub async fn load_files(
    store: &DataStore,
    dataset: &Dataset,
    tenant: &TenantId,
    files: &[std::path::PathBuf],
    mode: LoadMode,
) -> Result<LoadReport> {
    let mut loader = Loader::new(store, dataset, tenant.clone(), mode)?;
    for file in files {
        if let Err(e) = loader.read_file(file).await {
            loader.abort().await;
            return Err(e);
        }
    }
    loader.commit().await
}
