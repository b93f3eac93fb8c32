//! Grouping sets in one scan: every rollup of a base dataset summed from
//! one pass over its rows.
//!
//! Each row's key columns (date, grain, ids) become one key code and each
//! dimension's value a small code (interned once per distinct value); then
//! for every grouping set a row adds its measures to the group of (key
//! code, the set's dimension codes). Per row and set that is one hash of
//! 16 bytes and a few additions, instead of a full scan, decode and
//! multi-column hash per set.
//!
//! Sums follow SQL: nulls are skipped, and a group whose values are all
//! null sums to null; integers wrap like the stored Int64 they came from.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, new_null_array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::row::SortField;
use foldhash::fast::RandomState;

use super::intern::{KeyInterner, ValueInterner};
use super::sums::{Measure, MeasureSums};

use crate::error::{EngineError, Result};

type Map<K> = HashMap<K, u32, RandomState>;

/// The most dimensions a grouping set has: a group is its key code and
/// this many dimension codes, packed into one `u128`.
pub const MAX_SET_DIMS: usize = 3;

/// Where the cube's inputs sit in the batches it is given.
#[derive(Debug, Clone)]
pub struct CubeInputs {
    pub keys: Vec<usize>,
    pub dims: Vec<usize>,
    /// Measure columns and whether they are integers (else floats).
    pub measures: Vec<(usize, bool)>,
}

/// The running sums of every grouping set.
///
/// A set with a dimension that has been null in every row so far has the
/// same groups and sums as the set of its other dimensions (with that
/// dimension null), so it is not summed row by row: it starts as a copy
/// of that smaller set when the dimension's first value arrives, or at
/// [`Cube::finish`] if none does. Data where most dimensions are unused
/// (an app's Xbox fields) costs only the sets it really has. (A set some
/// subset of which is not a set too is summed row by row from the start.)
pub struct Cube {
    inputs: CubeInputs,
    keys: KeyInterner,
    dims: Vec<ValueInterner>,
    /// Whether a dimension has had a value yet.
    seen: Vec<bool>,
    sets: Vec<SetSums>,
    /// The set column's value of the first set (the others follow).
    first_number: usize,
}

impl Cube {
    /// `sets` lists, per grouping set, the indices (into `inputs.dims`) of
    /// its dimensions: at most [`MAX_SET_DIMS`].
    pub fn new(inputs: CubeInputs, schema: &SchemaRef, sets: &[Vec<usize>]) -> Result<Cube> {
        let key_fields = inputs
            .keys
            .iter()
            .map(|&i| SortField::new(schema.field(i).data_type().clone()))
            .collect();
        let dims: Vec<ValueInterner> = inputs
            .dims
            .iter()
            .map(|&i| ValueInterner::new(schema.field(i).data_type().clone()))
            .collect();
        let measures: Vec<bool> = inputs.measures.iter().map(|(_, int)| *int).collect();
        let mut sets = sets
            .iter()
            .map(|dims| {
                if dims.len() > MAX_SET_DIMS || dims.iter().any(|&d| d >= inputs.dims.len()) {
                    return Err(EngineError::BadInput(format!(
                        "a rollup set has at most {MAX_SET_DIMS} of the cube's dimensions"
                    )));
                }
                let mut dims = dims.clone();
                dims.sort_unstable();
                dims.dedup();
                Ok(SetSums::new(dims, &measures))
            })
            .collect::<Result<Vec<_>>>()?;
        // A set starts as a copy of a subset: without every subset at hand,
        // it is summed from the first row.
        let dims_of: Vec<Vec<usize>> = sets.iter().map(|s| s.dims.clone()).collect();
        for set in &mut sets {
            let lacks_a_subset = set.dims.iter().any(|d| {
                let rest: Vec<usize> = set.dims.iter().copied().filter(|x| x != d).collect();
                !dims_of.contains(&rest)
            });
            set.active |= lacks_a_subset;
        }
        Ok(Cube {
            first_number: 0,
            keys: KeyInterner::new(key_fields)?,
            seen: vec![false; dims.len()],
            dims,
            sets,
            inputs,
        })
    }

    /// Numbers the sets from `first` on (instead of from 0).
    pub fn numbered_from(mut self, first: usize) -> Cube {
        self.first_number = first;
        self
    }

    /// Adds a batch's rows to every set.
    pub fn add(&mut self, batch: &RecordBatch) -> Result<()> {
        let n = batch.num_rows();
        if n == 0 {
            return Ok(());
        }
        let key_columns: Vec<ArrayRef> = self
            .inputs
            .keys
            .iter()
            .map(|&i| batch.column(i).clone())
            .collect();
        let keys = self.keys.codes(&key_columns)?;
        let mut dim_codes: Vec<Vec<u32>> = Vec::with_capacity(self.dims.len());
        for (interner, &i) in self.dims.iter_mut().zip(&self.inputs.dims) {
            dim_codes.push(interner.codes(batch.column(i))?);
        }
        let measures: Vec<Measure> = self
            .inputs
            .measures
            .iter()
            .map(|&(i, int)| Measure::of(batch.column(i), int))
            .collect::<Result<_>>()?;
        // Sets whose last unseen dimension has values here start as a copy
        // of the set of their dimensions seen before this batch.
        let seen_before = self.seen.clone();
        for (d, codes) in dim_codes.iter().enumerate() {
            if !self.seen[d] && codes.iter().any(|&c| c != 0) {
                self.seen[d] = true;
            }
        }
        for i in 0..self.sets.len() {
            let set = &self.sets[i];
            if set.active || !set.dims.iter().all(|&d| self.seen[d]) {
                continue;
            }
            let from = self.set_of(&set.dims, &seen_before);
            self.sets[i] = self.sets[from].copy_as(self.sets[i].dims.clone());
        }
        let mut groups = vec![0u32; n];
        for set in self.sets.iter_mut().filter(|s| s.active) {
            set.group_rows(&keys, &dim_codes, &mut groups);
            set.add_measures(&groups, &measures);
        }
        Ok(())
    }

    /// The set of `dims`' dimensions that `seen` marks (it exists: every
    /// subset of a set is one).
    fn set_of(&self, dims: &[usize], seen: &[bool]) -> usize {
        let wanted: Vec<usize> = dims.iter().copied().filter(|&d| seen[d]).collect();
        self.sets
            .iter()
            .position(|s| s.dims == wanted)
            .unwrap_or_default()
    }

    /// The sets' rows, one batch per set (in the order the sets were
    /// given): the set's number, the key columns, every dimension (null
    /// outside the set) and the measures, in that order.
    pub fn finish(mut self, schema: &SchemaRef) -> Result<Vec<RecordBatch>> {
        for i in 0..self.sets.len() {
            if !self.sets[i].active {
                let from = self.set_of(&self.sets[i].dims, &self.seen);
                self.sets[i] = self.sets[from].copy_as(self.sets[i].dims.clone());
            }
        }
        let mut out = Vec::with_capacity(self.sets.len());
        for (number, set) in (self.first_number..).zip(&self.sets) {
            let rows = set.groups.len();
            let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
            columns.push(Arc::new(Int64Array::from(vec![number as i64; rows])));
            let key_codes: Vec<u32> = set.groups.iter().map(|g| g.0).collect();
            columns.extend(self.keys.decode(&key_codes)?);
            for (d, interner) in self.dims.iter().enumerate() {
                match set.dims.iter().position(|&x| x == d) {
                    Some(slot) => {
                        let codes: Vec<u32> = set.groups.iter().map(|g| g.1[slot]).collect();
                        columns.push(interner.decode(&codes)?);
                    }
                    None => columns.push(new_null_array(&interner.ty, rows)),
                }
            }
            columns.extend(set.sums.iter().map(MeasureSums::array));
            // To the stored types (strings as Utf8, as part files hold them).
            let columns = columns
                .iter()
                .zip(schema.fields())
                .map(|(c, f)| cast(c, f.data_type()))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            out.push(RecordBatch::try_new(schema.clone(), columns)?);
        }
        Ok(out)
    }

    /// Groups summed so far, over every set.
    pub fn groups(&self) -> usize {
        self.sets.iter().map(|s| s.groups.len()).sum()
    }
}

/// One grouping set: its groups (key code, dimension codes) and sums.
#[derive(Clone)]
struct SetSums {
    dims: Vec<usize>,
    /// Summed row by row (else it awaits a copy, see [`Cube`]).
    active: bool,
    index: Map<u128>,
    groups: Vec<(u32, Codes)>,
    sums: Vec<MeasureSums>,
}

/// A group's dimension codes (0 past the set's dimensions).
type Codes = [u32; MAX_SET_DIMS];

fn pack(key: u32, codes: Codes) -> u128 {
    codes
        .iter()
        .fold(u128::from(key), |packed, &c| (packed << 32) | u128::from(c))
}

impl SetSums {
    fn new(dims: Vec<usize>, measures: &[bool]) -> SetSums {
        SetSums {
            active: dims.is_empty(),
            dims,
            index: Map::default(),
            groups: Vec::new(),
            sums: measures.iter().map(|&int| MeasureSums::new(int)).collect(),
        }
    }

    /// This set's groups and sums as those of a set with more dimensions
    /// (`dims`, a superset of this set's), whose other dimensions are null.
    fn copy_as(&self, dims: Vec<usize>) -> SetSums {
        let slots: Vec<Option<usize>> = dims
            .iter()
            .map(|d| self.dims.iter().position(|x| x == d))
            .collect();
        let groups: Vec<(u32, Codes)> = self
            .groups
            .iter()
            .map(|&(key, codes)| {
                let mut out = [0u32; MAX_SET_DIMS];
                for (o, slot) in out.iter_mut().zip(&slots) {
                    *o = slot.map_or(0, |s| codes[s]);
                }
                (key, out)
            })
            .collect();
        let index = groups
            .iter()
            .enumerate()
            .map(|(i, &(key, codes))| (pack(key, codes), i as u32))
            .collect();
        SetSums {
            dims,
            active: true,
            index,
            groups,
            sums: self.sums.clone(),
        }
    }

    /// Each row's group number in this set (new groups are added).
    fn group_rows(&mut self, keys: &[u32], dims: &[Vec<u32>], groups: &mut [u32]) {
        let columns: [Option<&[u32]>; MAX_SET_DIMS] =
            std::array::from_fn(|slot| self.dims.get(slot).map(|&d| dims[d].as_slice()));
        for (row, group) in groups.iter_mut().enumerate() {
            let codes: Codes = std::array::from_fn(|slot| columns[slot].map_or(0, |c| c[row]));
            let packed = pack(keys[row], codes);
            let next = self.groups.len() as u32;
            let number = *self.index.entry(packed).or_insert(next);
            if number == next {
                self.groups.push((keys[row], codes));
                for s in &mut self.sums {
                    s.grow();
                }
            }
            *group = number;
        }
    }

    fn add_measures(&mut self, groups: &[u32], measures: &[Measure]) {
        for (sums, measure) in self.sums.iter_mut().zip(measures) {
            sums.add(groups, measure);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Date32Array, Float64Array, StringViewArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    fn input() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("date", DataType::Date32, true),
            Field::new("market", DataType::Utf8View, true),
            Field::new("device", DataType::Utf8View, true),
            Field::new("qty", DataType::Int64, true),
            Field::new("usd", DataType::Float64, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Date32Array::from(vec![1, 1, 1, 2, 2])),
                Arc::new(StringViewArray::from(vec![
                    Some("US"),
                    Some("US"),
                    Some("DE"),
                    None,
                    Some("US"),
                ])),
                Arc::new(StringViewArray::from(vec!["PC", "Xbox", "PC", "PC", "PC"])),
                Arc::new(Int64Array::from(vec![
                    Some(1),
                    Some(2),
                    None,
                    Some(4),
                    Some(8),
                ])),
                Arc::new(Float64Array::from(vec![None, None, None, None, Some(0.5)])),
            ],
        )
        .unwrap()
    }

    fn output_schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("set", DataType::Int64, true),
            Field::new("date", DataType::Date32, true),
            Field::new("market", DataType::Utf8, true),
            Field::new("device", DataType::Utf8, true),
            Field::new("qty", DataType::Int64, true),
            Field::new("usd", DataType::Float64, true),
        ]))
    }

    fn rows(batch: &RecordBatch) -> Vec<String> {
        let options = datafusion::arrow::util::display::FormatOptions::default().with_null("∅");
        let formatters: Vec<_> = batch
            .columns()
            .iter()
            .map(|c| {
                datafusion::arrow::util::display::ArrayFormatter::try_new(c.as_ref(), &options)
                    .unwrap()
            })
            .collect();
        (0..batch.num_rows())
            .map(|r| {
                formatters
                    .iter()
                    .map(|f| f.value(r).to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect()
    }

    #[test]
    fn every_set_sums_its_groups_in_one_pass() {
        let batch = input();
        let inputs = CubeInputs {
            keys: vec![0],
            dims: vec![1, 2],
            measures: vec![(3, true), (4, false)],
        };
        let sets = [vec![], vec![0], vec![1], vec![0, 1]];
        let mut cube = Cube::new(inputs, &batch.schema(), &sets).unwrap();
        // Two halves: groups span batches.
        cube.add(&batch.slice(0, 2)).unwrap();
        cube.add(&batch.slice(2, 3)).unwrap();
        let out = cube.finish(&output_schema()).unwrap();
        let mut all = rows(&out[0]);
        all.sort();
        assert_eq!(all, ["0,1970-01-02,∅,∅,3,∅", "0,1970-01-03,∅,∅,12,0.5"]);
        let mut by_market = rows(&out[1]);
        by_market.sort();
        assert_eq!(
            by_market,
            [
                // A null market is a group of its own; DE's only value is null.
                "1,1970-01-02,DE,∅,∅,∅",
                "1,1970-01-02,US,∅,3,∅",
                "1,1970-01-03,US,∅,8,0.5",
                "1,1970-01-03,∅,∅,4,∅",
            ]
        );
        let mut pairs = rows(&out[3]);
        pairs.sort();
        assert_eq!(pairs.len(), 5);
        assert!(pairs.contains(&"3,1970-01-02,US,Xbox,2,∅".to_string()));
    }

    /// A dimension null in the first batch: its sets start as copies of
    /// the smaller sets when its values arrive; one never seen is null in
    /// every group of its sets, which equal the smaller sets.
    #[test]
    fn sets_of_a_dimension_seen_late_or_never_keep_every_row() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8View, true),
            Field::new("market", DataType::Utf8View, true),
            Field::new("device", DataType::Utf8View, true),
            Field::new("unused", DataType::Utf8View, true),
            Field::new("n", DataType::Int64, true),
        ]));
        let batch = |markets: Vec<&str>, devices: Vec<Option<&str>>, n: Vec<i64>| {
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringViewArray::from(vec!["a"; n.len()])),
                    Arc::new(StringViewArray::from(markets)),
                    Arc::new(StringViewArray::from(devices)),
                    Arc::new(StringViewArray::from(vec![None::<&str>; n.len()])),
                    Arc::new(Int64Array::from(n)),
                ],
            )
            .unwrap()
        };
        let inputs = CubeInputs {
            keys: vec![0],
            dims: vec![1, 2, 3],
            measures: vec![(4, true)],
        };
        let sets = [
            vec![],
            vec![0],
            vec![1],
            vec![2],
            vec![0, 1],
            vec![0, 2],
            vec![1, 2],
        ];
        let mut cube = Cube::new(inputs, &schema, &sets).unwrap();
        cube.add(&batch(vec!["US", "DE"], vec![None, None], vec![1, 2]))
            .unwrap();
        cube.add(&batch(vec!["US", "US"], vec![Some("PC"), None], vec![4, 8]))
            .unwrap();
        let out_schema = Arc::new(Schema::new(vec![
            Field::new("set", DataType::Int64, true),
            Field::new("k", DataType::Utf8, true),
            Field::new("market", DataType::Utf8, true),
            Field::new("device", DataType::Utf8, true),
            Field::new("unused", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
        ]));
        let out = cube.finish(&out_schema).unwrap();
        let sorted = |b: &RecordBatch| {
            let mut r = rows(b);
            r.sort();
            r
        };
        assert_eq!(sorted(&out[0]), ["0,a,∅,∅,∅,15"]);
        assert_eq!(sorted(&out[2]), ["2,a,∅,PC,∅,4", "2,a,∅,∅,∅,11"]);
        assert_eq!(
            sorted(&out[4]),
            ["4,a,DE,∅,∅,2", "4,a,US,PC,∅,4", "4,a,US,∅,∅,9"]
        );
        // Never seen: the same groups as the market alone.
        assert_eq!(sorted(&out[5]), ["5,a,DE,∅,∅,2", "5,a,US,∅,∅,13"]);
        assert_eq!(sorted(&out[6]), ["6,a,∅,PC,∅,4", "6,a,∅,∅,∅,11"]);
    }

    #[test]
    fn integer_dimensions_come_back_as_integers() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8View, true),
            Field::new("isRevised", DataType::Int64, true),
            Field::new("n", DataType::Int64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringViewArray::from(vec!["a", "a", "a"])),
                Arc::new(Int64Array::from(vec![Some(0), Some(1), Some(1)])),
                Arc::new(Int64Array::from(vec![1, 2, 3])),
            ],
        )
        .unwrap();
        let inputs = CubeInputs {
            keys: vec![0],
            dims: vec![1],
            measures: vec![(2, true)],
        };
        let mut cube = Cube::new(inputs, &schema, &[vec![], vec![0]]).unwrap();
        cube.add(&batch).unwrap();
        let out_schema = Arc::new(Schema::new(vec![
            Field::new("set", DataType::Int64, true),
            Field::new("k", DataType::Utf8, true),
            Field::new("isRevised", DataType::Int64, true),
            Field::new("n", DataType::Int64, true),
        ]));
        let out = cube.finish(&out_schema).unwrap();
        assert_eq!(rows(&out[1]), ["1,a,0,1", "1,a,1,5"]);
    }

    /// A set of three dimensions alone (none of its subsets), numbered
    /// after the cube's own sets: summed row by row from the start.
    #[test]
    fn a_set_of_three_dimensions_without_its_subsets() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8View, true),
            Field::new("age", DataType::Utf8View, true),
            Field::new("gender", DataType::Utf8View, true),
            Field::new("os", DataType::Utf8View, true),
            Field::new("n", DataType::Int64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringViewArray::from(vec!["a"; 5])),
                Arc::new(StringViewArray::from(vec![
                    Some("18-24"),
                    Some("18-24"),
                    Some("18-24"),
                    None,
                    Some("25-34"),
                ])),
                Arc::new(StringViewArray::from(vec!["f", "f", "m", "f", "f"])),
                Arc::new(StringViewArray::from(vec![
                    Some("10"),
                    Some("10"),
                    Some("10"),
                    Some("11"),
                    None,
                ])),
                Arc::new(Int64Array::from(vec![1, 2, 4, 8, 16])),
            ],
        )
        .unwrap();
        let inputs = CubeInputs {
            keys: vec![0],
            dims: vec![1, 2, 3],
            measures: vec![(4, true)],
        };
        let mut cube = Cube::new(inputs, &schema, &[vec![2, 0, 1]])
            .unwrap()
            .numbered_from(40);
        cube.add(&batch.slice(0, 2)).unwrap();
        cube.add(&batch.slice(2, 3)).unwrap();
        let out_schema = Arc::new(Schema::new(vec![
            Field::new("set", DataType::Int64, true),
            Field::new("k", DataType::Utf8, true),
            Field::new("age", DataType::Utf8, true),
            Field::new("gender", DataType::Utf8, true),
            Field::new("os", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
        ]));
        let out = cube.finish(&out_schema).unwrap();
        let mut rows = rows(&out[0]);
        rows.sort();
        assert_eq!(
            rows,
            [
                "40,a,18-24,f,10,3",
                "40,a,18-24,m,10,4",
                "40,a,25-34,f,∅,16",
                "40,a,∅,f,11,8"
            ]
        );
        let four = CubeInputs {
            keys: vec![0],
            dims: vec![1, 2, 3, 4],
            measures: vec![],
        };
        let error = Cube::new(four, &schema, &[vec![0, 1, 2, 3]]).err().unwrap();
        assert!(error.to_string().contains("at most 3"), "{error}");
    }
}
