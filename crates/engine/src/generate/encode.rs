//! Writes a generated chunk as one Parquet part file.
//!
//! Coded string columns (see [`Values::Coded`]) are written here as
//! dictionary-encoded column chunks: the dictionary is the chunk's distinct
//! values, found from the codes, and each page holds bit-packed indices,
//! so no string is hashed, compared or copied per row (the parquet crate's
//! writer interns every value it is given, a third of seeding's time).
//! Every other column goes through the parquet crate's Arrow column
//! writers. The file is what `ArrowWriter` writes for the same rows: one
//! row group, the Arrow schema in its metadata, column statistics and the
//! page index, pages of at most [`PAGE_ROWS`] rows.

use bytes::Bytes;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::parquet::arrow::arrow_writer::{ArrowRowGroupWriterFactory, compute_leaves};
use datafusion::parquet::arrow::{ArrowSchemaConverter, add_encoded_arrow_schema_to_metadata};
use datafusion::parquet::basic::{Compression, Encoding, EncodingMask, Type as PhysicalType};
use datafusion::parquet::column::page::{CompressedPage, Page, PageWriter};
use datafusion::parquet::column::writer::ColumnCloseResult;
use datafusion::parquet::data_type::ByteArray;
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::metadata::{
    ColumnChunkMetaData, ColumnIndexBuilder, OffsetIndexBuilder,
};
use datafusion::parquet::file::statistics::{Statistics, ValueStatistics};
use datafusion::parquet::file::writer::{SerializedFileWriter, SerializedPageWriter, TrackedWrite};
use datafusion::parquet::schema::types::{ColumnDescPtr, ColumnPath};

use super::hybrid::encode_hybrid;
use super::*;

/// Rows per data page of a coded column (the parquet crate's writer cuts
/// pages at 20,000 rows, checked every 1,024).
pub(super) const PAGE_ROWS: usize = 20_480;

type ParquetResult<T> = std::result::Result<T, ParquetError>;

/// The part file for one chunk: `properties` as for `ArrowWriter`, the
/// rows in one row group.
pub(super) fn part_file(
    universe: &Universe,
    schema: &SchemaRef,
    columns: &[(Gen, &Column)],
    chunk: Chunk,
    properties: WriterProperties,
) -> Result<Vec<u8>> {
    let mut properties = properties;
    let parquet_schema = ArrowSchemaConverter::new()
        .with_coerce_types(properties.coerce_types())
        .convert(schema)?;
    add_encoded_arrow_schema_to_metadata(schema, &mut properties);
    let properties = Arc::new(properties);
    let mut file = SerializedFileWriter::new(
        Vec::new(),
        parquet_schema.root_schema_ptr(),
        Arc::clone(&properties),
    )?;
    let writers =
        ArrowRowGroupWriterFactory::new(&file, Arc::clone(schema)).create_column_writers(0)?;
    let mut row_group = file.next_row_group()?;
    let parts = chunk.columns.into_iter().zip(columns).zip(writers);
    // Every column is flat: field `i` is leaf `i`.
    for (i, (((values, (kind, column)), mut writer), field)) in
        parts.zip(schema.fields()).enumerate()
    {
        let descr = parquet_schema.column(i);
        let compression = properties.compression(&ColumnPath::from(column.name.as_str()));
        let codec = match values {
            Values::Coded { .. } => Codec::new(compression)?,
            Values::Array(_) => None,
        };
        match (values, codec) {
            (Values::Coded { codes, nulls }, Some(codec)) => {
                let dictionary = Dictionary::of(
                    &codes,
                    nulls.as_ref(),
                    |code| text_of(universe, *kind, column, code),
                    &universe.ranks(*kind, column),
                );
                let (bytes, close) =
                    coded_column(descr, compression, codec, &dictionary, nulls.as_ref())?;
                row_group.append_column(&Bytes::from(bytes), close)?;
            }
            (values, _) => {
                let array = match values {
                    Values::Array(array) => array,
                    // A codec this module does not write: the generic path.
                    Values::Coded { codes, nulls } => {
                        coded_array(universe, *kind, column, &codes, nulls.as_ref())
                    }
                };
                for leaf in compute_leaves(field, &array)? {
                    writer.write(&leaf)?;
                }
                writer.close()?.append_to_row_group(&mut row_group)?;
            }
        }
    }
    row_group.close()?;
    Ok(file.into_inner()?)
}

/// A coded column's values in one chunk as a dictionary: its distinct
/// strings in the order of their codes, and each row's index into them.
struct Dictionary<'u> {
    values: Vec<Cow<'u, str>>,
    /// Per row; 0 for null rows.
    indices: Vec<u32>,
    /// Orders the values as their bytes do (for statistics).
    rank: Vec<u32>,
}

impl<'u> Dictionary<'u> {
    /// The dictionary of a column's codes (distinct codes name distinct
    /// strings, see [`is_coded`]); `text` is called once per distinct code,
    /// `ranks` orders the codes by their texts.
    fn of(
        codes: &[u32],
        nulls: Option<&NullBuffer>,
        text: impl Fn(u32) -> Cow<'u, str>,
        ranks: &[u32],
    ) -> Dictionary<'u> {
        const UNUSED: u32 = u32::MAX;
        let valid = |i: usize| nulls.is_none_or(|n| n.is_valid(i));
        let size = codes.iter().max().map_or(0, |&m| m as usize + 1);
        let mut slot_of_code = vec![UNUSED; size];
        for (i, &code) in codes.iter().enumerate() {
            if valid(i) {
                slot_of_code[code as usize] = 0;
            }
        }
        // Entries in code order: the texts are read in the order they are
        // stored (a large universe's customers do not fit in cache).
        let mut values = Vec::new();
        let mut rank = Vec::new();
        for (code, slot) in slot_of_code.iter_mut().enumerate() {
            if *slot != UNUSED {
                *slot = values.len() as u32;
                values.push(text(code as u32));
                rank.push(ranks[code]);
            }
        }
        let indices = codes
            .iter()
            .enumerate()
            .map(|(i, &code)| {
                if valid(i) {
                    slot_of_code[code as usize]
                } else {
                    0
                }
            })
            .collect();
        Dictionary {
            values,
            indices,
            rank,
        }
    }

    /// The lower of two values' indices in byte order.
    fn lesser(&self, a: u32, b: u32) -> u32 {
        if self.rank[b as usize] < self.rank[a as usize] {
            b
        } else {
            a
        }
    }

    /// The greater of two values' indices in byte order.
    fn greater(&self, a: u32, b: u32) -> u32 {
        if self.rank[b as usize] > self.rank[a as usize] {
            b
        } else {
            a
        }
    }

    fn bytes(&self, index: u32) -> &[u8] {
        self.values[index as usize].as_bytes()
    }
}

/// The page compressions this module writes itself.
enum Codec {
    None,
    Zstd(zstd::bulk::Compressor<'static>),
    Lz4Raw,
}

impl Codec {
    /// The codec of `compression`, if this module writes it.
    fn new(compression: Compression) -> ParquetResult<Option<Codec>> {
        Ok(Some(match compression {
            Compression::UNCOMPRESSED => Codec::None,
            Compression::ZSTD(level) => Codec::Zstd(
                zstd::bulk::Compressor::new(level.compression_level())
                    .map_err(|e| ParquetError::External(Box::new(e)))?,
            ),
            Compression::LZ4_RAW => Codec::Lz4Raw,
            _ => return Ok(None),
        }))
    }

    fn compress(&mut self, data: Vec<u8>) -> ParquetResult<Vec<u8>> {
        match self {
            Codec::None => Ok(data),
            Codec::Zstd(compressor) => compressor
                .compress(&data)
                .map_err(|e| ParquetError::External(Box::new(e))),
            Codec::Lz4Raw => Ok(lz4_flex::block::compress(&data)),
        }
    }
}

/// One page's definition levels and present indices, gathered in one pass.
#[derive(Default)]
struct PageValues {
    levels: Vec<u32>,
    present: Vec<u32>,
    /// The page's least and greatest value (dictionary indices).
    bounds: Option<(u32, u32)>,
}

impl PageValues {
    fn gather(
        &mut self,
        dictionary: &Dictionary,
        nulls: Option<&NullBuffer>,
        rows: std::ops::Range<usize>,
    ) {
        self.levels.clear();
        self.present.clear();
        self.bounds = None;
        for i in rows {
            let valid = nulls.is_none_or(|n| n.is_valid(i));
            self.levels.push(u32::from(valid));
            if valid {
                let index = dictionary.indices[i];
                self.present.push(index);
                self.bounds = Some(match self.bounds {
                    None => (index, index),
                    Some((lo, hi)) => (dictionary.lesser(lo, index), dictionary.greater(hi, index)),
                });
            }
        }
    }

    fn nulls(&self) -> usize {
        self.levels.len() - self.present.len()
    }
}

/// One coded column chunk: a dictionary page, then data pages of
/// [`PAGE_ROWS`] rows (definition levels and bit-packed indices), with the
/// chunk's statistics and page index.
fn coded_column(
    descr: ColumnDescPtr,
    compression: Compression,
    mut codec: Codec,
    dictionary: &Dictionary,
    nulls: Option<&NullBuffer>,
) -> ParquetResult<(Vec<u8>, ColumnCloseResult)> {
    let rows = dictionary.indices.len();
    let mut sink = TrackedWrite::new(Vec::new());
    let mut pages = SerializedPageWriter::new(&mut sink);

    let mut plain = Vec::new();
    for value in &dictionary.values {
        plain.extend_from_slice(&(value.len() as u32).to_le_bytes());
        plain.extend_from_slice(value.as_bytes());
    }
    let uncompressed = plain.len();
    let dictionary_page = pages.write_page(CompressedPage::new(
        Page::DictionaryPage {
            buf: Bytes::from(codec.compress(plain)?),
            num_values: dictionary.values.len() as u32,
            encoding: Encoding::PLAIN,
            is_sorted: false,
        },
        uncompressed,
    ))?;
    let mut compressed_size = dictionary_page.compressed_size as i64;
    let mut uncompressed_size = dictionary_page.uncompressed_size as i64;

    let bit_width = bits_for(dictionary.values.len().saturating_sub(1) as u32).max(1);
    let mut column_index = ColumnIndexBuilder::new(PhysicalType::BYTE_ARRAY);
    let mut offset_index = OffsetIndexBuilder::new();
    let mut data_page_offset = None;
    let mut chunk_bounds: Option<(u32, u32)> = None;
    let mut null_count = 0u64;
    let mut page = PageValues::default();
    let mut start = 0;
    while start < rows {
        let end = (start + PAGE_ROWS).min(rows);
        page.gather(dictionary, nulls, start..end);
        let mut buf = Vec::with_capacity(16 + page.present.len() * usize::from(bit_width) / 8);
        // Definition levels (1 = present), length-prefixed (data page v1).
        let mut levels = Vec::with_capacity(8 + page.levels.len() / 8);
        encode_hybrid(&page.levels, 1, &mut levels);
        buf.extend_from_slice(&(levels.len() as u32).to_le_bytes());
        buf.extend_from_slice(&levels);
        buf.push(bit_width);
        encode_hybrid(&page.present, bit_width, &mut buf);
        let uncompressed = buf.len();
        let spec = pages.write_page(CompressedPage::new(
            Page::DataPage {
                buf: Bytes::from(codec.compress(buf)?),
                num_values: (end - start) as u32,
                encoding: Encoding::RLE_DICTIONARY,
                def_level_encoding: Encoding::RLE,
                rep_level_encoding: Encoding::RLE,
                statistics: None,
            },
            uncompressed,
        ))?;
        data_page_offset.get_or_insert(spec.offset as i64);
        compressed_size += spec.compressed_size as i64;
        uncompressed_size += spec.uncompressed_size as i64;
        offset_index.append_offset_and_size(spec.offset as i64, spec.compressed_size as i32);
        offset_index.append_row_count((end - start) as i64);
        let page_nulls = page.nulls();
        match page.bounds {
            Some((lo, hi)) => column_index.append(
                false,
                dictionary.bytes(lo).to_vec(),
                dictionary.bytes(hi).to_vec(),
                page_nulls as i64,
            ),
            None => column_index.append(true, Vec::new(), Vec::new(), page_nulls as i64),
        }
        chunk_bounds = match (chunk_bounds, page.bounds) {
            (None, b) | (b, None) => b,
            (Some((lo, hi)), Some((page_lo, page_hi))) => Some((
                dictionary.lesser(lo, page_lo),
                dictionary.greater(hi, page_hi),
            )),
        };
        null_count += page_nulls as u64;
        start = end;
    }
    pages.close()?;

    let statistics: Statistics = ValueStatistics::<ByteArray>::new(
        chunk_bounds.map(|(lo, _)| ByteArray::from(dictionary.bytes(lo).to_vec())),
        chunk_bounds.map(|(_, hi)| ByteArray::from(dictionary.bytes(hi).to_vec())),
        None,
        Some(null_count),
        false,
    )
    .with_backwards_compatible_min_max(false)
    .into();
    let encodings = [Encoding::PLAIN, Encoding::RLE, Encoding::RLE_DICTIONARY];
    let metadata = ColumnChunkMetaData::builder(descr)
        .set_compression(compression)
        .set_encodings_mask(EncodingMask::new_from_encodings(encodings.iter()))
        .set_total_compressed_size(compressed_size)
        .set_total_uncompressed_size(uncompressed_size)
        .set_num_values(rows as i64)
        .set_dictionary_page_offset(Some(dictionary_page.offset as i64))
        .set_data_page_offset(data_page_offset.unwrap_or(dictionary_page.offset as i64))
        .set_statistics(statistics)
        .build()?;
    let close = ColumnCloseResult {
        bytes_written: compressed_size as u64,
        rows_written: rows as u64,
        metadata,
        bloom_filter: None,
        column_index: Some(column_index.build()?),
        offset_index: Some(offset_index.build()),
    };
    Ok((sink.into_inner()?, close))
}

/// Bits needed to store `max`.
fn bits_for(max: u32) -> u8 {
    (32 - max.leading_zeros()) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dictionary_holds_each_used_code_once_in_code_order() {
        let names = ["b", "a", "c", "d"];
        let codes = [2, 0, 1, 2, 3];
        let nulls = NullBuffer::from(vec![true, true, false, true, true]);
        let d = Dictionary::of(
            &codes,
            Some(&nulls),
            |c| Cow::Borrowed(names[c as usize]),
            &[1, 0, 2, 3],
        );
        assert_eq!(d.values, ["b", "c", "d"]);
        assert_eq!(d.indices, [1, 0, 0, 1, 2]);
        let mut page = PageValues::default();
        page.gather(&d, Some(&nulls), 0..5);
        let (lo, hi) = page.bounds.unwrap();
        assert_eq!((d.bytes(lo), d.bytes(hi)), (&b"b"[..], &b"d"[..]));
        assert_eq!(
            (page.levels.as_slice(), page.nulls()),
            (&[1, 1, 0, 1, 1][..], 1)
        );
        page.gather(&d, Some(&nulls), 2..3);
        assert_eq!(page.bounds, None);
    }

    /// A chunk written by [`part_file`] reads back (with the parquet
    /// crate's reader) as exactly the rows [`Chunk::into_batch`] makes,
    /// and its statistics and page index bound every page's values.
    #[test]
    fn part_files_hold_the_generated_rows_with_true_statistics() {
        use datafusion::arrow::array::{Array, AsArray};
        use datafusion::parquet::arrow::arrow_reader::{
            ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
        };
        use datafusion::parquet::file::page_index::column_index::ColumnIndexMetaData;

        let through = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        let universe = Universe::new(3, 500_000, through);
        let dataset = crate::schema::dataset("CustomersAndTenants").unwrap();
        let columns: Vec<(Gen, &Column)> = stored_columns(dataset)
            .map(|c| (gen_for(c, dataset), c))
            .collect();
        let task = Task {
            month: 5,
            index: 0,
            rows: 2 * PAGE_ROWS + 1_000,
        };
        let rows = chunk(&universe, dataset, &columns, 3, task);
        // Distinct codes name distinct strings: a dictionary holds each once.
        for (values, (kind, column)) in rows.columns.iter().zip(&columns) {
            if let Values::Coded { codes, nulls } = values {
                let d = Dictionary::of(
                    codes,
                    nulls.as_ref(),
                    |code| text_of(&universe, *kind, column, code),
                    &universe.ranks(*kind, column),
                );
                let distinct: std::collections::HashSet<_> = d.values.iter().collect();
                assert_eq!(distinct.len(), d.values.len(), "{}", column.name);
            }
        }
        let expected = rows.into_batch(&universe, dataset, &columns).unwrap();
        for properties in [writer_properties(), WriterProperties::builder().build()] {
            let file = part_file(
                &universe,
                &dataset_schema(dataset),
                &columns,
                chunk(&universe, dataset, &columns, 3, task),
                properties,
            )
            .unwrap();
            let options = ArrowReaderOptions::new().with_page_index_policy(
                datafusion::parquet::file::metadata::PageIndexPolicy::Required,
            );
            let reader =
                ParquetRecordBatchReaderBuilder::try_new_with_options(Bytes::from(file), options)
                    .unwrap();
            let metadata = Arc::clone(reader.metadata());
            let batches: Vec<RecordBatch> = reader.build().unwrap().map(|b| b.unwrap()).collect();
            let got =
                datafusion::arrow::compute::concat_batches(&expected.schema(), &batches).unwrap();
            assert_eq!(got, expected);

            let row_group = metadata.row_group(0);
            let indexes = &metadata.column_index().unwrap()[0];
            for (i, (kind, column)) in columns.iter().enumerate() {
                if column.ty != ColumnType::String || !is_coded(*kind) {
                    continue;
                }
                let strings = expected.column(i).as_string::<i32>();
                let bounds = |rows: std::ops::Range<usize>| {
                    let present = rows
                        .filter(|&r| strings.is_valid(r))
                        .map(|r| strings.value(r));
                    (present.clone().min(), present.max())
                };
                let stats = row_group.column(i).statistics().unwrap();
                let (lo, hi) = bounds(0..task.rows);
                assert_eq!(stats.min_bytes_opt(), lo.map(str::as_bytes));
                assert_eq!(stats.max_bytes_opt(), hi.map(str::as_bytes));
                assert_eq!(stats.null_count_opt(), Some(strings.null_count() as u64));
                let ColumnIndexMetaData::BYTE_ARRAY(index) = &indexes[i] else {
                    panic!("column {i} has no byte-array page index");
                };
                assert_eq!(indexes[i].null_counts().map(|n| n.len()), Some(3));
                for page in 0..3 {
                    let rows = page * PAGE_ROWS..((page + 1) * PAGE_ROWS).min(task.rows);
                    let (lo, hi) = bounds(rows);
                    assert_eq!(index.min_value(page), lo.map(str::as_bytes));
                    assert_eq!(index.max_value(page), hi.map(str::as_bytes));
                }
            }
        }
    }
}
