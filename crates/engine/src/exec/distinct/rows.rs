//! The distinct rows as packed codes: one set per partition, merged.

use std::collections::HashSet;
use std::hash::Hash;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::memory_pool::MemoryReservation;
use foldhash::fast::RandomState;

use crate::exec::codes::{CodesCache, ColumnCodes};
use crate::exec::outside::PartitionState;

/// Rows per output batch.
const BATCH_ROWS: usize = 8192;

/// A row's codes packed into one integer, 32 bits per column.
pub(super) trait Key: Copy + Eq + Hash + Send + 'static {
    fn pack(codes: impl Iterator<Item = u32>) -> Self;
    fn code(self, column: usize) -> u32;
}

/// `Key` for an unsigned integer of 64 (two columns) or 128 bits (four).
macro_rules! packed_key {
    ($int:ty) => {
        impl Key for $int {
            fn pack(codes: impl Iterator<Item = u32>) -> $int {
                codes
                    .enumerate()
                    .fold(0, |key, (i, c)| key | (<$int>::from(c) << (32 * i)))
            }
            fn code(self, column: usize) -> u32 {
                (self >> (32 * column)) as u32
            }
        }
    };
}

packed_key!(u64);
packed_key!(u128);

/// Distinct packed rows. With two columns, a row whose second code is
/// under 64 is a bit of its first code's word: rows like (id, category)
/// cost a word per id, which stays in cache, instead of a hash-set entry
/// per row, which does not. Every other row is in the hash set.
struct RowSet<K> {
    pairs: bool,
    words: Vec<u64>,
    rest: HashSet<K, RandomState>,
}

impl<K: Key> RowSet<K> {
    fn new(columns: usize) -> RowSet<K> {
        RowSet {
            pairs: columns == 2,
            words: Vec::new(),
            rest: HashSet::default(),
        }
    }

    fn insert(&mut self, key: K) {
        if self.pairs {
            let (first, second) = (key.code(0) as usize, key.code(1));
            if second < 64 {
                if first >= self.words.len() {
                    self.words.resize(first + 1, 0);
                }
                self.words[first] |= 1 << second;
                return;
            }
        }
        self.rest.insert(key);
    }

    fn len(&self) -> usize {
        self.words
            .iter()
            .map(|w| w.count_ones() as usize)
            .sum::<usize>()
            + self.rest.len()
    }

    fn heap_bytes(&self) -> usize {
        self.words.capacity() * size_of::<u64>() + self.rest.capacity() * (size_of::<K>() + 1)
    }

    fn into_keys(self) -> impl Iterator<Item = K> + Send + 'static {
        let words = self
            .words
            .into_iter()
            .enumerate()
            .flat_map(|(first, mut bits)| {
                std::iter::from_fn(move || {
                    if bits == 0 {
                        return None;
                    }
                    let second = bits.trailing_zeros();
                    bits &= bits - 1;
                    Some(K::pack([first as u32, second].into_iter()))
                })
            });
        words.chain(self.rest)
    }
}

/// The distinct rows of one partition (or of several, merged), as codes
/// of the shared [`ColumnCodes`].
pub(super) struct DistinctRows<K> {
    codes: Arc<ColumnCodes>,
    rows: RowSet<K>,
    /// Per column, the codes of the batch being added.
    scratch: Vec<Vec<u32>>,
    cache: CodesCache,
    reservation: MemoryReservation,
}

impl<K: Key> PartitionState for DistinctRows<K> {
    type Done = DistinctRows<K>;

    fn add(&mut self, batch: RecordBatch) -> DfResult<bool> {
        DistinctRows::add(self, &batch)
    }

    fn finish(self) -> DfResult<Option<DistinctRows<K>>> {
        Ok(Some(self))
    }
}

impl<K: Key> DistinctRows<K> {
    pub(super) fn new(codes: Arc<ColumnCodes>, reservation: MemoryReservation) -> DistinctRows<K> {
        let columns = codes.columns();
        DistinctRows {
            cache: codes.cache(),
            codes,
            rows: RowSet::new(columns),
            scratch: vec![Vec::new(); columns],
            reservation,
        }
    }

    /// Adds a batch's rows; false when the memory pool refused what the
    /// codes or the rows now hold.
    pub(super) fn add(&mut self, batch: &RecordBatch) -> DfResult<bool> {
        if batch.num_columns() != self.scratch.len() {
            return Err(DataFusionError::Internal(format!(
                "DISTINCT: a batch of {} columns where {} were planned",
                batch.num_columns(),
                self.scratch.len()
            )));
        }
        if !self
            .codes
            .codes_of(batch.columns(), &mut self.scratch, &mut self.cache)?
        {
            return Ok(false);
        }
        let scratch = &self.scratch;
        for r in 0..batch.num_rows() {
            self.rows
                .insert(K::pack(scratch.iter().map(|codes| codes[r])));
        }
        Ok(self.reservation.try_resize(self.rows.heap_bytes()).is_ok())
    }

    /// The union of both (the codes are the same).
    pub(super) fn merge(self, other: DistinctRows<K>) -> DistinctRows<K> {
        let (mut into, from) = if self.rows.len() >= other.rows.len() {
            (self, other)
        } else {
            (other, self)
        };
        for key in from.rows.into_keys() {
            into.rows.insert(key);
        }
        into
    }

    /// The rows decoded, `BATCH_ROWS` at a time (keeping the reservations
    /// until the last batch is made). The other partitions' rows must be
    /// merged into these (or dropped) first: the codes are taken over.
    pub(super) fn into_batches(
        self,
        schema: SchemaRef,
        offset: usize,
        limit: Option<usize>,
    ) -> DfResult<impl Iterator<Item = DfResult<RecordBatch>> + Send + 'static> {
        let codes = Arc::try_unwrap(self.codes).map_err(|_| {
            DataFusionError::Internal("DISTINCT: rows decoded before every partition ended".into())
        })?;
        let (values, codes_reservation) = codes.into_values()?;
        let reservations = (self.reservation, codes_reservation);
        let mut keys = self
            .rows
            .into_keys()
            .skip(offset)
            .take(limit.unwrap_or(usize::MAX));
        let mut codes = vec![0u32; 0];
        Ok(std::iter::from_fn(move || {
            let _held = &reservations;
            let chunk: Vec<K> = keys.by_ref().take(BATCH_ROWS).collect();
            if chunk.is_empty() {
                return None;
            }
            let columns = values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    codes.clear();
                    codes.extend(chunk.iter().map(|k| k.code(i)));
                    v.array(&codes)
                })
                .collect();
            Some(RecordBatch::try_new(schema.clone(), columns).map_err(DataFusionError::from))
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::exec::codes::Kind;
    use datafusion::arrow::array::{Array, AsArray, Float64Array, Int64Array, StringViewArray};
    use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema};
    use datafusion::execution::memory_pool::MemoryConsumer;
    use datafusion::execution::memory_pool::{MemoryPool, UnboundedMemoryPool};

    fn reservation() -> MemoryReservation {
        let pool: Arc<dyn MemoryPool> = Arc::new(UnboundedMemoryPool::default());
        MemoryConsumer::new("test").register(&pool)
    }

    fn codes(kinds: &[Kind]) -> Arc<ColumnCodes> {
        Arc::new(ColumnCodes::new(kinds, Some(reservation())))
    }

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8View, true),
            Field::new("n", DataType::Int64, true),
            Field::new("x", DataType::Float64, true),
        ]))
    }

    fn batch(names: &[Option<&str>], ns: &[Option<i64>], xs: &[Option<f64>]) -> RecordBatch {
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(StringViewArray::from(names.to_vec())),
                Arc::new(Int64Array::from(ns.to_vec())),
                Arc::new(Float64Array::from(xs.to_vec())),
            ],
        )
        .unwrap()
    }

    fn sorted_rows(rows: DistinctRows<u128>) -> Vec<String> {
        let batches: Vec<RecordBatch> = rows
            .into_batches(schema(), 0, None)
            .unwrap()
            .collect::<DfResult<_>>()
            .unwrap();
        let mut out = Vec::new();
        for b in &batches {
            let names = b.column(0).as_string_view();
            let ns = b.column(1).as_primitive::<Int64Type>();
            let xs = b.column(2).as_primitive::<Float64Type>();
            for r in 0..b.num_rows() {
                out.push(format!(
                    "{:?} {:?} {:?}",
                    names.is_valid(r).then(|| names.value(r)),
                    ns.is_valid(r).then(|| ns.value(r)),
                    xs.is_valid(r).then(|| xs.value(r)),
                ));
            }
        }
        out.sort();
        out
    }

    #[test]
    fn partitions_merge_into_the_distinct_rows_with_nulls_apart() {
        let codes = codes(&[Kind::StringView, Kind::Int64, Kind::Float64]);
        let mut a = DistinctRows::<u128>::new(codes.clone(), reservation());
        a.add(&batch(
            &[
                Some("x"),
                Some("x"),
                None,
                Some("a long string over twelve bytes"),
            ],
            &[Some(1), Some(1), Some(1), None],
            &[Some(0.5), Some(0.5), None, Some(-0.0)],
        ))
        .unwrap();
        let mut b = DistinctRows::<u128>::new(codes, reservation());
        b.add(&batch(
            &[
                Some("a long string over twelve bytes"),
                Some("y"),
                None,
                Some("x"),
            ],
            &[None, Some(2), Some(1), Some(1)],
            &[Some(0.0), Some(f64::NAN), None, Some(0.5)],
        ))
        .unwrap();
        let rows = sorted_rows(a.merge(b));
        assert_eq!(
            rows,
            [
                "None Some(1) None",
                "Some(\"a long string over twelve bytes\") None Some(-0.0)",
                "Some(\"a long string over twelve bytes\") None Some(0.0)",
                "Some(\"x\") Some(1) Some(0.5)",
                "Some(\"y\") Some(2) Some(NaN)",
            ]
        );
    }

    #[test]
    fn pairs_in_words_and_in_the_set_merge_exactly() {
        let pair_schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("b", DataType::Int64, true),
        ]));
        let pairs = |from: i64| {
            let (a, b): (Vec<Option<i64>>, Vec<Option<i64>>) = (from..from + 5_000)
                .map(|i| ((i % 70 != 0).then_some(i % 300), Some(i % 101)))
                .unzip();
            RecordBatch::try_new(
                pair_schema.clone(),
                vec![Arc::new(Int64Array::from(a)), Arc::new(Int64Array::from(b))],
            )
            .unwrap()
        };
        let codes = codes(&[Kind::Int64, Kind::Int64]);
        let mut x = DistinctRows::<u64>::new(codes.clone(), reservation());
        x.add(&pairs(0)).unwrap();
        let mut y = DistinctRows::<u64>::new(codes, reservation());
        y.add(&pairs(2_500)).unwrap();
        y.add(&pairs(0)).unwrap();
        assert!(!y.rows.words.is_empty() && !y.rows.rest.is_empty());
        let merged = x.merge(y);
        let mut got: Vec<(Option<i64>, Option<i64>)> = merged
            .into_batches(pair_schema.clone(), 0, None)
            .unwrap()
            .flat_map(|b| {
                let b = b.unwrap();
                let a = b.column(0).as_primitive::<Int64Type>().clone();
                let c = b.column(1).as_primitive::<Int64Type>().clone();
                (0..b.num_rows())
                    .map(|r| {
                        (
                            a.is_valid(r).then(|| a.value(r)),
                            c.is_valid(r).then(|| c.value(r)),
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        got.sort();
        let mut expected: Vec<(Option<i64>, Option<i64>)> = (0..7_500)
            .map(|i| ((i % 70 != 0).then_some(i % 300), Some(i % 101)))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        expected.sort();
        assert_eq!(got, expected);
    }

    #[test]
    fn offset_and_limit_cut_the_rows() {
        let codes = codes(&[Kind::StringView, Kind::Int64, Kind::Float64]);
        let mut a = DistinctRows::<u128>::new(codes, reservation());
        let names: Vec<String> = (0..20_000).map(|i| format!("name {}", i % 9_000)).collect();
        let names: Vec<Option<&str>> = names.iter().map(|s| Some(s.as_str())).collect();
        a.add(&batch(
            &names,
            &vec![Some(7); names.len()],
            &vec![None; names.len()],
        ))
        .unwrap();
        assert_eq!(a.rows.len(), 9_000);
        assert!(a.rows.words.is_empty(), "three columns: no words");
        let batches: Vec<RecordBatch> = a
            .into_batches(schema(), 100, Some(8_500))
            .unwrap()
            .collect::<DfResult<_>>()
            .unwrap();
        assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 8_500);
        assert_eq!(batches[0].num_rows(), BATCH_ROWS);
    }

    #[test]
    fn a_refusing_pool_is_reported() {
        use datafusion::execution::memory_pool::GreedyMemoryPool;
        let pool: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(64 * 1024));
        let batch = |n: i64| {
            RecordBatch::try_new(
                Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)])),
                vec![Arc::new(Int64Array::from_iter_values(0..n))],
            )
            .unwrap()
        };
        // The codes refuse first (their table is the larger), then the rows.
        let codes = Arc::new(ColumnCodes::new(
            &[Kind::Int64],
            Some(MemoryConsumer::new("codes").register(&pool)),
        ));
        let mut a = DistinctRows::<u64>::new(codes, MemoryConsumer::new("rows").register(&pool));
        assert!(a.add(&batch(100)).unwrap());
        assert!(!a.add(&batch(10_000)).unwrap());
    }
}
